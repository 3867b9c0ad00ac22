"""Use cases: one module per job (intake, workflow tasks, decisions, outcomes, queries), each a few small classes."""
