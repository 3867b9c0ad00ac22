"""The stateful stack's template, with the state machine definition rendered into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploy.definition import DeliverySettings, definition_values, render_definition

TEMPLATE_PATH = Path(__file__).resolve().parent / "stateful-stack.json"


def stack_name(stage: str) -> str:
    return f"content-moderation-{stage}-state"


def build_template(
    *, stage: str, region: str, account_id: str, partition: str = "aws", delivery: DeliverySettings | None = None
) -> dict[str, Any]:
    """The template as deployed: ``statemachine.json`` rendered by the shared helper.

    ``delivery`` (the event bus, the webhook retry schedule) is rendered into the definition;
    the bus name is also the EventBusName parameter's default, which scopes the role's PutEvents.

    The definition is rendered here rather than with ``DefinitionSubstitutions`` because
    moto's CloudFormation reads only ``DefinitionString``; the result is the same on AWS.
    """
    template = json.loads(TEMPLATE_PATH.read_text())
    delivery = delivery or DeliverySettings()
    definition = render_definition(
        definition_values(stage, region=region, account_id=account_id, partition=partition, delivery=delivery)
    )
    template["Resources"]["StateMachine"]["Properties"]["DefinitionString"] = definition
    template["Parameters"]["Stage"]["Default"] = stage  # the definition names this stage's functions
    template["Parameters"]["EventBusName"]["Default"] = delivery.event_bus_name  # and puts events on this bus
    return template


def access_log_retention_choices() -> tuple[int, ...]:
    """The retention periods (days) the stack's AccessLogRetentionDays parameter allows."""
    template = json.loads(TEMPLATE_PATH.read_text())
    return tuple(template["Parameters"]["AccessLogRetentionDays"]["AllowedValues"])
