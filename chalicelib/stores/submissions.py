"""The submissions table: one item per submission, and the conditional writes that move its status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.appeal import Appeal
from chalicelib.domain.submission import Submission, SubmissionStatus
from chalicelib.integrations.aws import conditional_write
from chalicelib.stores.decision_writes import decision_update

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def submission_to_item(submission: Submission) -> dict[str, Any]:
    item = {
        "submissionId": submission.submission_id,
        "title": submission.title,
        "body": submission.body,
        "status": submission.status,
        "createdAt": submission.created_at,
        "requestFingerprint": submission.request_fingerprint,
        "executionArn": submission.execution_arn,
        "decision": submission.decision,
        "reason": submission.reason,
        "decidedBy": submission.decided_by,
        "decidedAt": submission.decided_at,
        "category": submission.category,
        "notifyEmail": submission.notify_email,
        "notifyPhone": submission.notify_phone,
        "submitterTokenHash": submission.submitter_token_hash,
        "appeal": submission.appeal.to_item() if submission.appeal is not None else None,
    }
    return {key: value for key, value in item.items() if value is not None}


def submission_from_item(item: dict[str, Any]) -> Submission:
    return Submission(
        submission_id=item["submissionId"],
        title=item["title"],
        body=item.get("body", ""),
        status=SubmissionStatus(item["status"]),
        created_at=item["createdAt"],
        request_fingerprint=item.get("requestFingerprint", ""),
        execution_arn=item.get("executionArn"),
        decision=item.get("decision"),
        reason=item.get("reason"),
        decided_by=item.get("decidedBy"),
        decided_at=item.get("decidedAt"),
        category=item.get("category"),
        subscribers=frozenset(item.get("subscribers", ())),
        notify_email=item.get("notifyEmail"),
        notify_phone=item.get("notifyPhone"),
        submitter_token_hash=item.get("submitterTokenHash"),
        appeal=Appeal.from_item(item["appeal"]) if item.get("appeal") else None,
    )


class DynamoDBSubmissionStore:
    """Submissions in DynamoDB, keyed by ``submissionId`` (implements ``ports.SubmissionStore``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, submission: Submission) -> bool:
        """Store a new submission; False when one with that id already exists."""
        written = conditional_write(
            self._table.put_item,
            Item=submission_to_item(submission),
            ConditionExpression="attribute_not_exists(submissionId)",
        )
        return written is not None

    def get(self, submission_id: str) -> Submission | None:
        item = self._table.get_item(Key={"submissionId": submission_id}, ConsistentRead=True).get("Item")
        return submission_from_item(item) if item else None

    def delete(self, submission_id: str) -> None:
        self._table.delete_item(Key={"submissionId": submission_id})

    def add_subscriber(self, submission_id: str, connection_id: str) -> Submission | None:
        """Follow a submission; returns it as of this write, or None if it does not exist.

        The subscriber set lives on the submission item, so DynamoDB orders this write against
        the decision: either the decision's write returns this subscriber, or this write
        returns the decision. No decision can slip between the two.
        """
        response = conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression="ADD subscribers :connection",
            ConditionExpression="attribute_exists(submissionId)",
            ExpressionAttributeValues={":connection": {connection_id}},
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return submission_from_item(response["Attributes"])

    def remove_subscriber(self, submission_id: str, connection_id: str) -> None:
        self._table.update_item(
            Key={"submissionId": submission_id},
            UpdateExpression="DELETE subscribers :connection",
            ExpressionAttributeValues={":connection": {connection_id}},
        )

    def mark_in_review(self, submission_id: str) -> Submission | None:
        """Move CHECKING to IN_REVIEW and return the submission; None if it was not CHECKING.

        A final status is never overwritten, and a retried task does not report twice.
        """
        response = conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression="SET #status = :in_review",
            ConditionExpression="#status = :checking",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":in_review": SubmissionStatus.IN_REVIEW,
                ":checking": SubmissionStatus.CHECKING,
            },
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return submission_from_item(response["Attributes"])

    def mark_sent(self, submission_id: str, *, channel: str, outcome: str) -> bool:
        """A conditional marker per outcome and channel: a retried final task sends nothing twice (SPEC §19)."""
        written = conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression="SET #marker = :outcome",
            ConditionExpression="attribute_exists(submissionId) AND (attribute_not_exists(#marker) OR #marker <> :outcome)",
            ExpressionAttributeNames={"#marker": _sent_marker(channel)},
            ExpressionAttributeValues={":outcome": outcome},
        )
        return written is not None

    def unmark_sent(self, submission_id: str, *, channel: str, outcome: str) -> None:
        conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression="REMOVE #marker",
            ConditionExpression="#marker = :outcome",
            ExpressionAttributeNames={"#marker": _sent_marker(channel)},
            ExpressionAttributeValues={":outcome": outcome},
        )

    def start_appeal(self, submission_id: str, *, appeal: Appeal, token_hash: str) -> Submission | None:
        """Record the one appeal of a submission and put it back IN_REVIEW; None if any rule says no.

        One conditional write checks the token, that there is no appeal yet, and that the decision
        is still the one the appeal contests (status and decidedAt as read), so of many racing
        appeals exactly one is stored.
        """
        response = conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression="SET #status = :in_review, #appeal = :appeal",
            ConditionExpression=(
                "submitterTokenHash = :hash AND attribute_not_exists(#appeal)"
                " AND #status = :original_status AND decidedAt = :original_decided_at"
            ),
            ExpressionAttributeNames={"#status": "status", "#appeal": "appeal"},
            ExpressionAttributeValues={
                ":in_review": SubmissionStatus.IN_REVIEW,
                ":appeal": appeal.to_item(),
                ":hash": token_hash,
                ":original_status": appeal.original_status,
                ":original_decided_at": appeal.original_decided_at,
            },
            ReturnValues="ALL_NEW",
        )
        return submission_from_item(response["Attributes"]) if response is not None else None

    def cancel_appeal(self, submission_id: str, *, appeal: Appeal) -> None:
        """Undo :meth:`start_appeal` after its execution could not be started (only that appeal)."""
        conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression="SET #status = :original_status REMOVE #appeal",
            ConditionExpression="#appeal.appealId = :appeal_id AND #status = :in_review",
            ExpressionAttributeNames={"#status": "status", "#appeal": "appeal"},
            ExpressionAttributeValues={
                ":original_status": appeal.original_status,
                ":appeal_id": appeal.appeal_id,
                ":in_review": SubmissionStatus.IN_REVIEW,
            },
        )

    def record_outcome(
        self,
        submission_id: str,
        *,
        status: str,
        decision: str,
        reason: str | None,
        decided_by: str,
        decided_at: str,
        category: str | None = None,
        appeal_outcome: str | None = None,
    ) -> Submission | None:
        """Write the final outcome and return the submission with its subscribers as of that write.

        ``appeal_outcome`` (``overturned``/``upheld``) marks the outcome of the submission's appeal.
        Idempotent (a retried final state writes the same values); None if the submission is gone.
        """
        update = decision_update(
            status=status,
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
            category=category,
            clear_missing_reason=True,
        )
        expression, names, values = update.expression, update.names, update.values
        condition = "attribute_exists(submissionId)"
        if appeal_outcome is not None:
            head, removal, tail = expression.partition(" REMOVE ")
            expression = head + ", #appeal.outcome = :appeal_outcome" + removal + tail
            names = names | {"#appeal": "appeal"}
            values = values | {":appeal_outcome": appeal_outcome}
            condition += " AND attribute_exists(#appeal)"
        response = conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return submission_from_item(response["Attributes"])


def _sent_marker(channel: str) -> str:
    """The item attribute that remembers which outcome ``channel``'s message was sent for."""
    return f"sent_{channel}"
