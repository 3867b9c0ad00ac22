"""Render the Lambda functions' IAM policy (hand-written in lambda-policy.json) for one stage and account."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from deploy.names import Target

POLICY_TEMPLATE_PATH = Path(__file__).resolve().parent / "lambda-policy.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


def policy_values(target: Target, *, websocket_stage: str) -> dict[str, str]:
    """The value of every ``${...}`` placeholder in the policy template."""
    return {
        "Partition": target.partition,
        "Region": target.region,
        "AccountId": target.account_id,
        "Stage": target.stage,
        "WebsocketStage": websocket_stage,
        "DnsSuffix": target.dns_suffix,
    }


def render_policy(target: Target, *, websocket_stage: str, source: str | None = None) -> dict[str, Any]:
    """The policy document with every placeholder filled; KeyError names an unknown placeholder."""
    text = source if source is not None else POLICY_TEMPLATE_PATH.read_text()
    values = policy_values(target, websocket_stage=websocket_stage)
    unknown = set(_PLACEHOLDER.findall(text)) - set(values)
    if unknown:
        raise KeyError(f"no value for policy placeholder(s): {', '.join(sorted(unknown))}")
    return json.loads(_PLACEHOLDER.sub(lambda match: values[match.group(1)], text))


def policy_text(policy: dict[str, Any]) -> str:
    """The file format of ``.chalice/policy-{stage}.json``."""
    return json.dumps(policy, indent=2) + "\n"
