"""The decision update names exactly what it uses (DynamoDB refuses unused names and values)."""

from __future__ import annotations

from chalicelib.stores.decision_writes import decision_update

FIELDS = {"status": "APPROVED", "decision": "approved", "decided_by": "admin", "decided_at": "2026-11-24T00:00:00.000Z"}


def test_without_a_reason_the_reason_name_is_absent():
    update = decision_update(reason=None, **FIELDS)
    assert update.expression == (
        "SET #status = :status, decision = :decision, decidedBy = :decided_by, decidedAt = :decided_at"
    )
    assert update.names == {"#status": "status"}
    assert set(update.values) == {":status", ":decision", ":decided_by", ":decided_at"}


def test_a_reason_is_set_and_a_missing_one_can_be_cleared_with_any_stale_category():
    assert "#reason = :reason" in decision_update(reason="spam", **FIELDS).expression
    cleared = decision_update(reason=None, clear_missing_reason=True, **FIELDS)
    assert cleared.expression.endswith(" REMOVE #reason, category")
    assert cleared.names["#reason"] == "reason"
    assert ":reason" not in cleared.values
    assert ":category" not in cleared.values


def test_a_category_is_set_beside_the_reason():
    update = decision_update(reason="spam", category="spam", clear_missing_reason=True, **FIELDS)
    assert "category = :category" in update.expression
    assert update.values[":category"] == "spam"
    assert "REMOVE" not in update.expression


def test_extra_assignments_and_removals():
    update = decision_update(reason=None, also_set={"callbackPending": True}, remove=("pendingPartition",), **FIELDS)
    assert "callbackPending = :callbackPending" in update.expression
    assert update.values[":callbackPending"] is True
    assert update.expression.endswith(" REMOVE pendingPartition")
