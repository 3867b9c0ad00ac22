"""Reviewers' claims on reviews (SPEC §14), called *holds* here: who is reading a pending review, until when.

A hold lives on the review item (``heldBy``, ``holdExpiresAt``) beside, and apart from, the
decision lease of :mod:`chalicelib.stores.reviews` (``claimId``/``claimExpiresAt``). Every write
is conditional, so concurrent holds have exactly one winner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.review import Review, ReviewStatus
from chalicelib.integrations.aws import conditional_write
from chalicelib.stores.reviews import NOT_HELD_BY_ANOTHER, review_from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoDBReviewHoldStore:
    """Holds on the reviews table (``ports.ReviewHoldStore``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def hold(self, review_id: str, *, reviewer: str, now: int, until: int) -> Review | None:
        """Let ``reviewer`` hold a pending, unexpired review until ``until`` (a new hold, or a renewal of theirs).

        One conditional write, so of any number of concurrent holds exactly one wins. Returns
        the review as it was before this write (to tell a renewal from a new hold), or None
        when the review is unknown, no longer pending, past its deadline, held by someone else, or
        an appeal of ``reviewer``'s own decision (who may not decide it may not hold it either).
        """
        response = conditional_write(
            self._table.update_item,
            Key={"reviewId": review_id},
            UpdateExpression="SET heldBy = :decided_by, holdExpiresAt = :until",
            ConditionExpression=(
                "#status = :pending AND deadline > :now"
                " AND (attribute_not_exists(excludedDecider) OR excludedDecider <> :decided_by)"
                " AND " + NOT_HELD_BY_ANOTHER
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":decided_by": reviewer,
                ":until": until,
                ":pending": ReviewStatus.PENDING,
                ":now": now,
            },
            ReturnValues="ALL_OLD",
        )
        if response is None:
            return None
        return review_from_item(response["Attributes"])

    def release_hold(self, review_id: str, *, holder: str | None, now: int) -> Review | None:
        """Remove a live hold (``holder``'s only, or anyone's when None); the review as it was, or None if none was."""
        condition = "attribute_exists(heldBy) AND holdExpiresAt > :now"
        values: dict[str, Any] = {":now": now}
        if holder is not None:
            condition += " AND heldBy = :holder"
            values[":holder"] = holder
        response = conditional_write(
            self._table.update_item,
            Key={"reviewId": review_id},
            UpdateExpression="REMOVE heldBy, holdExpiresAt",
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        if response is None:
            return None
        return review_from_item(response["Attributes"])
