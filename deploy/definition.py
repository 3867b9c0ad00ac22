"""The one place that turns ``statemachine.json`` into a deployable definition.

Tests, the local runtime and the CloudFormation template all call :func:`render_definition`,
so the state machine that runs locally is byte-for-byte the one deployed.

>>> definition = render_definition(function_arns("dev", region="us-east-1", account_id="123456789012"))
>>> "${" in definition
False
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "content-moderation"
DEFINITION_PATH = Path(__file__).resolve().parent.parent / "statemachine.json"
# Placeholder name -> the Chalice function (``@app.lambda_function(name=...)``) it points at.
FUNCTION_PLACEHOLDERS = {
    "CheckContentFunctionArn": "check_content",
    "RequestApprovalFunctionArn": "request_approval",
    "RecordOutcomeFunctionArn": "record_outcome",
}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def function_name(stage: str, function: str) -> str:
    """Chalice's deterministic Lambda name: ``content-moderation-{stage}-{function}``."""
    return f"{APP_NAME}-{stage}-{function}"


def function_arns(stage: str, *, region: str, account_id: str, partition: str = "aws") -> dict[str, str]:
    """The value of every function placeholder for one stage, region and account."""
    return {
        placeholder: f"arn:{partition}:lambda:{region}:{account_id}:function:{function_name(stage, function)}"
        for placeholder, function in FUNCTION_PLACEHOLDERS.items()
    }


def placeholders(text: str | None = None) -> set[str]:
    """The ``${...}`` names used in the definition."""
    return set(_PLACEHOLDER.findall(text if text is not None else DEFINITION_PATH.read_text()))


def render_definition(values: Mapping[str, str], *, source: str | None = None) -> str:
    """Substitute every ``${Name}`` placeholder and return compact JSON.

    Raises KeyError naming any placeholder without a value, and ValueError if the result is
    not valid JSON, so a broken definition never reaches Step Functions.
    """
    text = source if source is not None else DEFINITION_PATH.read_text()
    missing = placeholders(text) - set(values)
    if missing:
        raise KeyError(f"no value for placeholder(s): {', '.join(sorted(missing))}")
    rendered = _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
    return json.dumps(json.loads(rendered), separators=(",", ":"))
