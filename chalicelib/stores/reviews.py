"""The reviews table: review items, the sparse indexes that page them, and the conditional writes of a decision.

Two different ownerships live on an item, under different attributes: the decision lease
(``claimId``/``claimExpiresAt``, one request's minute to hand its decision to the execution, SPEC
§10) and a reviewer's claim while reading (``heldBy``/``holdExpiresAt``, CLAIM_SECONDS, SPEC §14;
``claimedBy``/``claimExpiresAt`` in the API). Only a decision's write looks at the hold.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.domain.appeal import KIND_SUBMISSION, Appeal
from chalicelib.domain.review import (
    CLAIM_LEASE_SECONDS,
    REVIEW_STATUS_BY_DECISION,
    Review,
    ReviewStatus,
)
from chalicelib.errors import BadRequestError
from chalicelib.integrations.aws import conditional_write, dynamodb_value, plain
from chalicelib.stores import review_waits
from chalicelib.stores.decision_writes import decision_update

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PENDING_INDEX = "pending-by-created"
# The sparse index key: present only while a review is pending, so the index holds nothing else.
PENDING_PARTITION = "PENDING"
# Decided reviews, newest first: all of them (a sparse key set once decided), or one status.
DECIDED_INDEX = "decided-by-time"
DECIDED_PARTITION = "DECIDED"
STATUS_INDEX = "status-by-decided"
# Pending reviews by the risk model's score, highest first: the same sparse partition key as the
# pending index, so a review leaves both when it is decided.
RISK_INDEX = "pending-by-risk"
# Pending reviews by deadline (epoch seconds), soonest first: the same sparse partition key again.
DEADLINE_INDEX = "pending-by-deadline"
_PENDING_INDEX_BY_ORDER = {
    "oldest": PENDING_INDEX,
    "newest": PENDING_INDEX,
    "risk": RISK_INDEX,
    "deadline": DEADLINE_INDEX,
}
# Ascending for these orders; the others page their index backwards (newest, highest risk first).
_ASCENDING_ORDERS = frozenset({"oldest", "deadline"})
# A reviewer's hold: who may still decide when someone else holds it, and the condition that says so.
NOT_HELD_BY_ANOTHER = "(attribute_not_exists(heldBy) OR heldBy = :decided_by OR holdExpiresAt <= :now)"


def review_to_item(review: Review) -> dict[str, Any]:
    item: dict[str, Any] = {
        "reviewId": review.review_id,
        "submissionId": review.submission_id,
        "executionArn": review.execution_arn,
        "title": review.title,
        "matches": review.matches,
        "status": review.status,
        "createdAt": review.created_at,
        "deadline": review.deadline,
        "deadlineAt": review.deadline_at,
        "approvePath": review.approve_path,
        "rejectPath": review.reject_path,
        "taskToken": review.task_token,
        "decision": review.decision,
        "reason": review.reason,
        "decidedBy": review.decided_by,
        "decidedAt": review.decided_at,
        "remindedAt": review.reminded_at,
        "category": review.category,
    }
    if review.status == ReviewStatus.PENDING:
        item["pendingPartition"] = PENDING_PARTITION
    elif review.decided_at:
        item["decidedPartition"] = DECIDED_PARTITION
    if review.callback_pending:
        item["callbackPending"] = True
    if review.claim_id is not None:
        item["claimId"] = review.claim_id
        item["claimExpiresAt"] = review.claim_expires_at
    if review.held_by is not None:
        item["heldBy"] = review.held_by
        item["holdExpiresAt"] = review.hold_expires_at
    if review.risk is not None:
        item["risk"] = dynamodb_value(review.risk)
    item["riskRank"] = Decimal(str(review.risk_rank))
    item["kind"] = review.kind
    if review.appeal is not None:
        item["appeal"] = review.appeal.to_item()
    if review.excluded_decider is not None:  # top-level, for the claim's condition
        item["excludedDecider"] = review.excluded_decider
    return {key: value for key, value in item.items() if value is not None}


def review_from_item(item: dict[str, Any]) -> Review:
    return Review(
        review_id=item["reviewId"],
        submission_id=item["submissionId"],
        execution_arn=item["executionArn"],
        title=item.get("title", ""),
        matches=plain(item.get("matches", [])),
        status=ReviewStatus(item["status"]),
        created_at=item["createdAt"],
        deadline=int(item["deadline"]),
        deadline_at=item["deadlineAt"],
        approve_path=item["approvePath"],
        reject_path=item["rejectPath"],
        task_token=item["taskToken"],
        decision=item.get("decision"),
        reason=item.get("reason"),
        decided_by=item.get("decidedBy"),
        decided_at=item.get("decidedAt"),
        category=item.get("category"),
        callback_pending=bool(item.get("callbackPending", False)),
        claim_id=item.get("claimId"),
        claim_expires_at=int(item["claimExpiresAt"]) if item.get("claimExpiresAt") is not None else None,
        risk=plain(item["risk"]) if item.get("risk") is not None else None,
        kind=item.get("kind", KIND_SUBMISSION),
        appeal=Appeal.from_item(item["appeal"]) if item.get("appeal") else None,
        held_by=item.get("heldBy"),
        hold_expires_at=int(item["holdExpiresAt"]) if item.get("holdExpiresAt") is not None else None,
        reminded_at=item.get("remindedAt"),
    )


def encode_page_token(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(plain(last_evaluated_key), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The attributes of each index's LastEvaluatedKey: a page token must carry exactly these.
_PAGE_KEYS = {
    PENDING_INDEX: {"reviewId", "pendingPartition", "createdAt"},
    DECIDED_INDEX: {"reviewId", "decidedPartition", "decidedAt"},
    STATUS_INDEX: {"reviewId", "status", "decidedAt"},
    RISK_INDEX: {"reviewId", "pendingPartition", "riskRank"},
    DEADLINE_INDEX: {"reviewId", "pendingPartition", "deadline"},
}
# Key attributes that are numbers (every other one is a string), and the range a token may carry.
_NUMBER_KEYS = {"riskRank": (-1, 2), "deadline": (0, 2**42)}


def decode_page_token(token: str | None, index: str = PENDING_INDEX) -> dict[str, Any] | None:
    """Raise BadRequestError for a token we did not issue for this index."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: a crafted, deeply nested token
        raise BadRequestError("nextToken is not valid") from None
    expected = _PAGE_KEYS[index]
    if not isinstance(key, dict) or set(key) != expected:
        raise BadRequestError("nextToken is not valid")
    for name, value in key.items():
        if name in _NUMBER_KEYS:
            low, high = _NUMBER_KEYS[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise BadRequestError("nextToken is not valid")
            key[name] = Decimal(str(value))
        elif not isinstance(value, str):
            raise BadRequestError("nextToken is not valid")
    return key


class DynamoDBReviewStore:
    """Reviews in DynamoDB, keyed by ``reviewId``; pending ones also in a sparse index (``ports.ReviewStore``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_pending(self, review: Review) -> bool:
        """Store a pending review; a retry of the same task rewrites it unless it was decided.

        Returns False when the review exists and is no longer pending.
        """
        written = conditional_write(
            self._table.put_item,
            Item=review_to_item(review),
            ConditionExpression="attribute_not_exists(reviewId) OR #status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":pending": ReviewStatus.PENDING},
        )
        return written is not None

    def get(self, review_id: str) -> Review | None:
        item = self._table.get_item(Key={"reviewId": review_id}, ConsistentRead=True).get("Item")
        return review_from_item(item) if item else None

    def list_pending(self, *, limit: int, page_token: str | None, order: str) -> tuple[list[Review], str | None]:
        """One page of pending reviews: a Query on a sparse index (by creation, risk or deadline), never a Scan."""
        query: dict[str, Any] = {
            "IndexName": _PENDING_INDEX_BY_ORDER[order],
            "KeyConditionExpression": "pendingPartition = :pending",
            "ExpressionAttributeValues": {":pending": PENDING_PARTITION},
            "ScanIndexForward": order in _ASCENDING_ORDERS,
            "Limit": limit,
        }
        return self._page(query, page_token)

    def oldest_pending(self) -> Review | None:
        """The pending review created first: one Query with Limit 1 on the pending index."""
        reviews, _next = self.list_pending(limit=1, page_token=None, order="oldest")
        return reviews[0] if reviews else None

    def count_pending(self) -> int:
        """A Query with ``Select=COUNT`` on the sparse pending index (it holds pending reviews only).

        DynamoDB still reads the matching index items to count them (1 MB a page, then the next
        page): about 0.5 read unit per 4 KB of the queue, e.g. some 60 units for 500 pending reviews.
        """
        query: dict[str, Any] = {
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "pendingPartition = :pending",
            "ExpressionAttributeValues": {":pending": PENDING_PARTITION},
            "Select": "COUNT",
        }
        count = 0
        while True:
            response = self._table.query(**query)
            count += response["Count"]
            if "LastEvaluatedKey" not in response:
                return count
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def list_decided(
        self, *, status: str, limit: int, page_token: str | None, newest_first: bool
    ) -> tuple[list[Review], str | None]:
        """One page of decided reviews by ``decidedAt``: all of them, or those of one status (a Query, never a Scan)."""
        query: dict[str, Any] = {"ScanIndexForward": not newest_first, "Limit": limit}
        if status == "decided":
            query |= {
                "IndexName": DECIDED_INDEX,
                "KeyConditionExpression": "decidedPartition = :decided",
                "ExpressionAttributeValues": {":decided": DECIDED_PARTITION},
            }
        else:
            query |= {
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": REVIEW_STATUS_BY_DECISION[status]},
            }
        return self._page(query, page_token)

    def _page(self, query: dict[str, Any], page_token: str | None) -> tuple[list[Review], str | None]:
        start_key = decode_page_token(page_token, query["IndexName"])
        if start_key:
            query["ExclusiveStartKey"] = start_key
        response = self._table.query(**query)
        reviews = [review_from_item(item) for item in response.get("Items", [])]
        return reviews, encode_page_token(response.get("LastEvaluatedKey"))

    def claim_decision(
        self,
        review_id: str,
        *,
        decision: str,
        reason: str | None,
        decided_by: str,
        decided_at: str,
        claim_id: str,
        now: int,
        category: str | None = None,
    ) -> Review | None:
        """Atomically move a pending, unexpired review to ``decision``; None if another write won
        (or ``decided_by`` made the decision this review's appeal contests).

        The write also fails while another reviewer holds the review (a live hold not by
        ``decided_by``), and it gives the decider's own hold back. Returns the review as claimed, with the task token current at that moment. The claim
        belongs to ``claim_id`` until ``now + CLAIM_LEASE_SECONDS``; the item keeps
        ``callbackPending`` until the execution has been told, so the claim's owner (or, after
        the lease, a later request) can finish a claim whose callback never completed.
        """
        update = decision_update(
            status=REVIEW_STATUS_BY_DECISION[decision],
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
            category=category,
            also_set={
                "callbackPending": True,
                "claimId": claim_id,
                "claimExpiresAt": now + CLAIM_LEASE_SECONDS,
                "decidedPartition": DECIDED_PARTITION,
            },
            remove=("pendingPartition", "heldBy", "holdExpiresAt"),
        )
        response = conditional_write(
            self._table.update_item,
            Key={"reviewId": review_id},
            UpdateExpression=update.expression,
            ConditionExpression=(
                "#status = :pending AND deadline > :now"
                " AND (attribute_not_exists(excludedDecider) OR excludedDecider <> :decided_by)"
                " AND " + NOT_HELD_BY_ANOTHER
            ),
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values | {":pending": ReviewStatus.PENDING, ":now": now},
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return review_from_item(response["Attributes"])

    def renew_abandoned_claim(self, review: Review, *, now: int) -> Review | None:
        """Extend the lease of a claim whose request died, so exactly one later request finishes it.

        The claim keeps its owner (a retry with the owner's Idempotency-Key still gets 200).
        None when another request renewed it first or its callback has finished meanwhile.
        """
        response = conditional_write(
            self._table.update_item,
            Key={"reviewId": review.review_id},
            UpdateExpression="SET claimExpiresAt = :lease",
            ConditionExpression="callbackPending = :true AND claimExpiresAt = :seen AND claimExpiresAt <= :now",
            ExpressionAttributeValues={
                ":lease": now + CLAIM_LEASE_SECONDS,
                ":true": True,
                ":seen": review.claim_expires_at,
                ":now": now,
            },
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return review_from_item(response["Attributes"])

    def finish_decision(self, review_id: str) -> None:
        """The execution accepted the decision: nothing is left to retry.

        Writes only when ``callbackPending`` is still set (never creating an item), so the final
        task can call it after the deciding request already has.
        """
        conditional_write(
            self._table.update_item,
            Key={"reviewId": review_id},
            UpdateExpression="REMOVE callbackPending",
            ConditionExpression="attribute_exists(callbackPending)",
        )

    def release_decision(self, review_id: str, *, claim_id: str, task_token: str) -> None:
        """Roll our own claim back to PENDING after a callback that Step Functions refused.

        Only while the review still holds ``task_token``, the token the refused callback went to: once
        the execution waits on a new token (after a reminder) it has been handed this claim already.
        """
        conditional_write(
            self._table.update_item,
            Key={"reviewId": review_id},
            UpdateExpression=(
                "SET #status = :pending, pendingPartition = :partition"
                " REMOVE decision, #reason, category, decidedBy, decidedAt, decidedPartition, callbackPending, claimId,"
                " claimExpiresAt"
            ),
            ConditionExpression="claimId = :claim AND callbackPending = :true AND taskToken = :token",
            ExpressionAttributeNames={"#status": "status", "#reason": "reason"},
            ExpressionAttributeValues={
                ":pending": ReviewStatus.PENDING,
                ":partition": PENDING_PARTITION,
                ":claim": claim_id,
                ":true": True,
                ":token": task_token,
            },
        )

    def mark_reminded(self, review_id: str, *, at: str) -> Review | None:
        """See :func:`review_waits.mark_reminded`."""
        item = review_waits.mark_reminded(self._table, review_id, at=at)
        return review_from_item(item) if item is not None else None

    def renew_task_token(self, review_id: str, *, task_token: str) -> Review | None:
        """See :func:`review_waits.renew_task_token`."""
        item = review_waits.renew_task_token(self._table, review_id, task_token=task_token)
        return review_from_item(item) if item is not None else None

    def record_final(
        self, review_id: str, *, decision: str, reason: str | None, decided_by: str, decided_at: str
    ) -> Review | None:
        """Write an outcome the review does not hold yet (expired, failed) onto it and return it.

        None if the execution had no review. Only the final task calls this, and it wins over a
        claim whose callback never reached the execution. A reviewer's decision is already on
        the review (:meth:`claim_decision` wrote it first); the final task only finishes it.
        """
        update = decision_update(
            status=REVIEW_STATUS_BY_DECISION[decision],
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
            also_set={"decidedPartition": DECIDED_PARTITION},
            remove=("pendingPartition", "callbackPending", "heldBy", "holdExpiresAt"),
        )
        response = conditional_write(
            self._table.update_item,
            Key={"reviewId": review_id},
            UpdateExpression=update.expression,
            ConditionExpression="attribute_exists(reviewId)",
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
            ReturnValues="ALL_NEW",
        )
        return review_from_item(response["Attributes"]) if response is not None else None
