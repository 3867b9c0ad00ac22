"""Deployment tooling: the stateful CloudFormation stack and the state machine definition."""
