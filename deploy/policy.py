"""Render the Lambda functions' IAM policy (hand-written in lambda-policy.json) for one stage and account."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from deploy.names import Target

POLICY_TEMPLATE_PATH = Path(__file__).resolve().parent / "lambda-policy.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


# The statement that lets the functions send e-mail; left out when the stage has no SENDER_EMAIL.
SEND_EMAIL_SID = "SendOutcomeEmailsFromTheSenderIdentityOnly"


def policy_values(target: Target, *, websocket_stage: str, sender_email: str | None = None) -> dict[str, str]:
    """The value of every ``${...}`` placeholder in the policy template."""
    sender = sender_email or "no-sender@invalid"  # only in the statement that is then dropped
    return {
        "SenderEmail": sender,
        "SenderDomain": sender.rsplit("@", 1)[-1],
        "Partition": target.partition,
        "Region": target.region,
        "AccountId": target.account_id,
        "Stage": target.stage,
        "WebsocketStage": websocket_stage,
        "DnsSuffix": target.dns_suffix,
    }


def render_policy(
    target: Target, *, websocket_stage: str, sender_email: str | None = None, source: str | None = None
) -> dict[str, Any]:
    """The policy document with every placeholder filled; KeyError names an unknown placeholder.

    ``ses:SendEmail`` is granted only with a ``sender_email``, and then only from that address
    (its own identity or its domain's): a stage without a sender cannot send mail at all.
    """
    text = source if source is not None else POLICY_TEMPLATE_PATH.read_text()
    values = policy_values(target, websocket_stage=websocket_stage, sender_email=sender_email)
    unknown = set(_PLACEHOLDER.findall(text)) - set(values)
    if unknown:
        raise KeyError(f"no value for policy placeholder(s): {', '.join(sorted(unknown))}")
    policy = json.loads(_PLACEHOLDER.sub(lambda match: values[match.group(1)], text))
    if not sender_email:
        policy["Statement"] = [statement for statement in policy["Statement"] if statement.get("Sid") != SEND_EMAIL_SID]
    return policy


def policy_text(policy: dict[str, Any]) -> str:
    """The file format of ``.chalice/policy-{stage}.json``."""
    return json.dumps(policy, indent=2) + "\n"
