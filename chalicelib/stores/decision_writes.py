"""The DynamoDB update that records a decision on an item: status, decision, who, when and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DecisionUpdate:
    """Arguments for ``update_item``: the expression and exactly the names and values it uses."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]


def decision_update(
    *,
    status: str,
    decision: str,
    reason: str | None,
    decided_by: str,
    decided_at: str,
    category: str | None = None,
    also_set: Mapping[str, Any] | None = None,
    remove: Iterable[str] = (),
    clear_missing_reason: bool = False,
) -> DecisionUpdate:
    """Build the update; ``clear_missing_reason`` removes a stale reason (and category) when there is none now.

    DynamoDB rejects expression names or values the expression does not use, so only the
    ones needed are included.
    """
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":status": status,
        ":decision": decision,
        ":decided_by": decided_by,
        ":decided_at": decided_at,
    }
    assignments = ["#status = :status", "decision = :decision", "decidedBy = :decided_by", "decidedAt = :decided_at"]
    for attribute, value in (also_set or {}).items():
        assignments.append(f"{attribute} = :{attribute}")
        values[f":{attribute}"] = value
    removals = list(remove)
    if reason:
        names["#reason"] = "reason"
        assignments.append("#reason = :reason")
        values[":reason"] = reason
    elif clear_missing_reason:
        names["#reason"] = "reason"
        removals.append("#reason")
    if category:
        assignments.append("category = :category")
        values[":category"] = category
    elif clear_missing_reason:
        removals.append("category")
    expression = "SET " + ", ".join(assignments)
    if removals:
        expression += " REMOVE " + ", ".join(removals)
    return DecisionUpdate(expression=expression, names=names, values=values)
