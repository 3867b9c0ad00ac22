"""The one place that turns ``statemachine.json`` into a deployable definition.

Tests, the local runtime and the CloudFormation template all call :func:`render_definition`,
so the state machine that runs locally is the one deployed, with only its settings (the event
bus, the webhook retry schedule) differing.

>>> definition = render_definition(definition_values("dev", region="us-east-1", account_id="123456789012"))
>>> "${" in definition
False
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_NAME = "content-moderation"
DEFINITION_PATH = Path(__file__).resolve().parent.parent / "statemachine.json"
# Placeholder name -> the Chalice function (``@app.lambda_function(name=...)``) it points at.
FUNCTION_PLACEHOLDERS = {
    "CheckContentFunctionArn": "check_content",
    "RequestApprovalFunctionArn": "request_approval",
    "RemindReviewFunctionArn": "remind_review",
    "RecordOutcomeFunctionArn": "record_outcome",
    "DeliverWebhookFunctionArn": "deliver_webhook",
    "RecordDeliveryFailureFunctionArn": "record_delivery_failure",
}
SETTING_PLACEHOLDERS = frozenset(
    {
        "EventBusName",
        "WebhookRetryIntervalSeconds",
        "WebhookRetryMaxAttempts",
        "WebhookRetryBackoffRate",
        "WebhookRetryMaxDelaySeconds",
    }
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
PlaceholderValue = str | int | float


@dataclass(frozen=True)
class DeliverySettings:
    """Where outcomes go and how long a webhook is retried (SPEC §12).

    The defaults are AWS's: first retry after 3 s, doubling up to one hour between attempts,
    34 retries: about 24.7 hours in all. Locally (and in tests) a shorter schedule is rendered.
    """

    event_bus_name: str = "default"
    webhook_retry_interval_seconds: int = 3
    webhook_retry_max_attempts: int = 34
    webhook_retry_backoff_rate: float = 2.0
    webhook_retry_max_delay_seconds: int = 3600

    def placeholder_values(self) -> dict[str, PlaceholderValue]:
        return {
            "EventBusName": self.event_bus_name,
            "WebhookRetryIntervalSeconds": self.webhook_retry_interval_seconds,
            "WebhookRetryMaxAttempts": self.webhook_retry_max_attempts,
            "WebhookRetryBackoffRate": float(self.webhook_retry_backoff_rate),
            "WebhookRetryMaxDelaySeconds": self.webhook_retry_max_delay_seconds,
        }

    def total_retry_seconds(self) -> float:
        """How long the retries span (without the attempts' own time): the schedule Step Functions follows."""
        total, interval = 0.0, float(self.webhook_retry_interval_seconds)
        for _retry in range(self.webhook_retry_max_attempts):
            total += min(interval, self.webhook_retry_max_delay_seconds)
            interval *= self.webhook_retry_backoff_rate
        return total


def function_name(stage: str, function: str) -> str:
    """Chalice's deterministic Lambda name: ``content-moderation-{stage}-{function}``."""
    return f"{APP_NAME}-{stage}-{function}"


def function_arns(stage: str, *, region: str, account_id: str, partition: str = "aws") -> dict[str, str]:
    """The value of every function placeholder for one stage, region and account."""
    return {
        placeholder: f"arn:{partition}:lambda:{region}:{account_id}:function:{function_name(stage, function)}"
        for placeholder, function in FUNCTION_PLACEHOLDERS.items()
    }


def definition_values(
    stage: str,
    *,
    region: str,
    account_id: str,
    partition: str = "aws",
    delivery: DeliverySettings | None = None,
) -> dict[str, PlaceholderValue]:
    """Every placeholder's value: the stage's function ARNs and its delivery settings."""
    return {
        **function_arns(stage, region=region, account_id=account_id, partition=partition),
        **(delivery or DeliverySettings()).placeholder_values(),
    }


def placeholders(text: str | None = None) -> set[str]:
    """The ``${...}`` names used in the definition."""
    return set(_PLACEHOLDER.findall(text if text is not None else DEFINITION_PATH.read_text()))


def render_definition(values: Mapping[str, PlaceholderValue], *, source: str | None = None) -> str:
    """Substitute every ``${Name}`` placeholder and return compact JSON.

    A string that is exactly one placeholder takes the value's JSON type, so numbers such as
    ``"IntervalSeconds": "${WebhookRetryIntervalSeconds}"`` render as numbers while the file
    itself stays valid JSON. Raises KeyError naming any placeholder without a value, and
    ValueError if the source is not valid JSON, so a broken definition never reaches Step Functions.
    """
    text = source if source is not None else DEFINITION_PATH.read_text()
    missing = placeholders(text) - set(values)
    if missing:
        raise KeyError(f"no value for placeholder(s): {', '.join(sorted(missing))}")
    return json.dumps(_substitute(json.loads(text), values), separators=(",", ":"))


def _substitute(node: Any, values: Mapping[str, PlaceholderValue]) -> Any:
    if isinstance(node, dict):
        return {key: _substitute(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(item, values) for item in node]
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), node)
    return node
