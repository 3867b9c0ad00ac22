"""Who decides: the names a decision records as ``decidedBy`` besides a reviewer's own name.

Kept in one small module (no imports) so the adapter, the domain and the tests share them
without loading the domain on a cold start. ``statemachine.json`` spells the last three too.
"""

from __future__ import annotations

ADMIN = "admin"  # the bootstrap admin token
SIGNED_LINK = "signed-link"  # an approve/reject link
CONTENT_CHECK = "content-check"  # clean content, published by the check itself (the default outcome)
DEADLINE = "deadline"  # nobody decided in time (MarkExpired state)
WORKFLOW = "workflow"  # a task failed for good (MarkFailed state)

# Who is not a person: their outcomes say ``"automated": true`` (SPEC §15's statement of reasons).
AUTOMATED_DECIDERS = frozenset({CONTENT_CHECK, DEADLINE, WORKFLOW})


def is_automated(decided_by: str | None) -> bool:
    """Whether a machine made the decision (the check, the deadline, a failed workflow), not a person."""
    return decided_by is None or decided_by in AUTOMATED_DECIDERS
