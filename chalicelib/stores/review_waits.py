"""The review item's writes between the two waits of a review reminded before its deadline (SPEC §14).

Each returns the item as written (``ALL_NEW``), or None when its condition failed; the store
turns it into a Review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.review import ReviewStatus
from chalicelib.integrations.aws import conditional_write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def mark_reminded(table: Table, review_id: str, *, at: str) -> dict[str, Any] | None:
    """Mark a still-pending review as announced due soon at ``at``; None when it is no longer pending.

    The same ``at`` (a retried reminder task) marks it again, so a retry announces what the first
    attempt may not have finished announcing; another reminder time never does.
    """
    response = conditional_write(
        table.update_item,
        Key={"reviewId": review_id},
        UpdateExpression="SET remindedAt = :at",
        ConditionExpression="#status = :pending AND (attribute_not_exists(remindedAt) OR remindedAt = :at)",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":pending": ReviewStatus.PENDING, ":at": at},
        ReturnValues="ALL_NEW",
    )
    return response["Attributes"] if response is not None else None


def renew_task_token(table: Table, review_id: str, *, task_token: str) -> dict[str, Any] | None:
    """Hand the review the token of the execution's next wait (after a reminder); the review as written.

    Written while the review is pending, or while a claimed decision has not yet reached the
    execution (``callbackPending``): that claim read the old token, whose task has ended, and
    must find the new one. None once a decision has been delivered (or there is no review).
    """
    response = conditional_write(
        table.update_item,
        Key={"reviewId": review_id},
        UpdateExpression="SET taskToken = :token",
        ConditionExpression="#status = :pending OR callbackPending = :true",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":pending": ReviewStatus.PENDING, ":true": True, ":token": task_token},
        ReturnValues="ALL_NEW",
    )
    return response["Attributes"] if response is not None else None
