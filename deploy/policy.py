"""Render the Lambda functions' IAM policies (hand-written in lambda-policy.json and function-policies.json) for one stage and account.

Every function gets the shared policy; a function named in function-policies.json gets the
shared policy plus its own statements, in a file of its own (chalice's per-function
``iam_policy_file``), so a permission only one function needs is granted to that one only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from deploy.names import Target

POLICY_TEMPLATE_PATH = Path(__file__).resolve().parent / "lambda-policy.json"
FUNCTION_STATEMENTS_PATH = Path(__file__).resolve().parent / "function-policies.json"
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


def function_statements(source: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Chalice function name -> the statements it gets on top of the shared policy."""
    text = source if source is not None else FUNCTION_STATEMENTS_PATH.read_text()
    statements: dict[str, list[dict[str, Any]]] = json.loads(text)
    return statements


def functions_with_own_policy() -> tuple[str, ...]:
    """The chalice functions (``@app.lambda_function`` names) that get a policy file of their own."""
    return tuple(sorted(function_statements()))


def render_function_policy(
    target: Target, function: str, *, websocket_stage: str, sender_email: str | None = None
) -> dict[str, Any]:
    """The shared policy plus ``function``'s own statements; KeyError for a function without any."""
    own = function_statements()[function]
    values = policy_values(target, websocket_stage=websocket_stage, sender_email=sender_email)
    rendered = json.loads(_PLACEHOLDER.sub(lambda match: values[match.group(1)], json.dumps(own)))
    policy = render_policy(target, websocket_stage=websocket_stage, sender_email=sender_email)
    policy["Statement"] = [*policy["Statement"], *rendered]
    return policy


def policy_text(policy: dict[str, Any]) -> str:
    """The file format of ``.chalice/policy-{stage}.json``."""
    return json.dumps(policy, indent=2) + "\n"
