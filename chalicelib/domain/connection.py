"""A WebSocket connection: where a message for one client goes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    """API Gateway's connection id, API id, stage and domain: enough to post to the client."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
