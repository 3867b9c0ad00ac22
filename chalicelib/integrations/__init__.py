"""Integrations: AWS clients, Step Functions, @connections, SES, webhooks and secrets."""
