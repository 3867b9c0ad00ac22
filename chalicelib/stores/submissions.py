"""Submissions: the article a submitter sent, its status, and how it is stored."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.errors import BadRequestError, PayloadTooLargeError
from chalicelib.integrations.aws import conditional_write
from chalicelib.stores.decision_writes import decision_update

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TITLE_MAX_CHARACTERS = 300
BODY_MAX_BYTES = 100 * 1024
IDEMPOTENCY_KEY_MAX_CHARACTERS = 128
SUBMISSION_FIELDS = frozenset({"title", "body", "notifyEmail"})
# RFC 5321's limit on a forward path. The pattern is deliberately plain (and the same in the OpenAPI
# document): one @, no spaces or control characters, a dotted domain of letters, digits and hyphens.
EMAIL_MAX_CHARACTERS = 254
EMAIL_PATTERN = (
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_EMAIL = re.compile(EMAIL_PATTERN)
# Ids derived from an Idempotency-Key live in their own namespace.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10")


class SubmissionStatus:
    CHECKING = "CHECKING"
    IN_REVIEW = "IN_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"

    FINAL = frozenset({APPROVED, REJECTED, EXPIRED, FAILED})


@dataclass(frozen=True)
class ArticleRequest:
    """A validated ``POST /submissions`` body."""

    title: str
    body: str
    notify_email: str | None = None

    def fingerprint(self) -> str:
        """Hash of the request, to tell a retry from a different request reusing a key."""
        fields = {"title": self.title, "body": self.body}
        if self.notify_email is not None:  # absent keeps the hashes of earlier submissions unchanged
            fields["notifyEmail"] = self.notify_email
        canonical = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    submission_id: str
    title: str
    body: str
    status: str
    created_at: str
    request_fingerprint: str
    execution_arn: str | None = None
    decision: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    # Connection ids following this submission; private, never shown.
    subscribers: frozenset[str] = frozenset()
    # Where the outcome is e-mailed; private: never returned, logged or put in the audit trail.
    notify_email: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in SubmissionStatus.FINAL

    def to_public(self) -> dict[str, Any]:
        """The submission as ``GET /submissions/{id}`` shows it (no body, no internals)."""
        public: dict[str, Any] = {
            "submissionId": self.submission_id,
            "title": self.title,
            "status": self.status,
            "createdAt": self.created_at,
        }
        for key, value in (("decision", self.decision), ("reason", self.reason), ("decidedAt", self.decided_at)):
            if value is not None:
                public[key] = value
        return public

    def to_item(self) -> dict[str, Any]:
        item = {
            "submissionId": self.submission_id,
            "title": self.title,
            "body": self.body,
            "status": self.status,
            "createdAt": self.created_at,
            "requestFingerprint": self.request_fingerprint,
            "executionArn": self.execution_arn,
            "decision": self.decision,
            "reason": self.reason,
            "decidedBy": self.decided_by,
            "decidedAt": self.decided_at,
            "notifyEmail": self.notify_email,
        }
        return {key: value for key, value in item.items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Submission:
        return cls(
            submission_id=item["submissionId"],
            title=item["title"],
            body=item.get("body", ""),
            status=item["status"],
            created_at=item["createdAt"],
            request_fingerprint=item.get("requestFingerprint", ""),
            execution_arn=item.get("executionArn"),
            decision=item.get("decision"),
            reason=item.get("reason"),
            decided_by=item.get("decidedBy"),
            decided_at=item.get("decidedAt"),
            subscribers=frozenset(item.get("subscribers", ())),
            notify_email=item.get("notifyEmail"),
        )


def parse_article_request(payload: Any) -> ArticleRequest:
    """Validate a submission body.

    Raises BadRequestError (wrong shape, types, unknown fields, empty or over-long title)
    or PayloadTooLargeError (body over 100 KB).
    """
    if not isinstance(payload, dict):
        raise BadRequestError("the request body must be a JSON object")
    unknown = sorted(set(payload) - SUBMISSION_FIELDS)
    if unknown:
        raise BadRequestError(f"unknown field(s): {', '.join(unknown)}")
    title = payload.get("title")
    if not isinstance(title, str):
        raise BadRequestError("'title' is required and must be a string")
    if not title.strip():
        raise BadRequestError("'title' must not be empty")
    if len(title) > TITLE_MAX_CHARACTERS:
        raise BadRequestError(f"'title' must be at most {TITLE_MAX_CHARACTERS} characters")
    body = payload.get("body", "")
    if not isinstance(body, str):
        raise BadRequestError("'body' must be a string")
    if len(body.encode("utf-8")) > BODY_MAX_BYTES:
        raise PayloadTooLargeError(f"'body' must be at most {BODY_MAX_BYTES} bytes")
    return ArticleRequest(title=title.strip(), body=body, notify_email=_notify_email(payload))


def _notify_email(payload: dict[str, Any]) -> str | None:
    """The optional ``notifyEmail``; the error message never echoes the value (it is personal data)."""
    if "notifyEmail" not in payload:
        return None
    value = payload["notifyEmail"]
    if not isinstance(value, str):
        raise BadRequestError("'notifyEmail' must be a string")
    # No stripping: the address is used exactly as validated (and as the OpenAPI pattern says).
    if len(value) > EMAIL_MAX_CHARACTERS:
        raise BadRequestError(f"'notifyEmail' must be at most {EMAIL_MAX_CHARACTERS} characters")
    if not _EMAIL.fullmatch(value):
        raise BadRequestError("'notifyEmail' must be an e-mail address such as name@example.com")
    return value


def submission_id_for(idempotency_key: str | None) -> str:
    """A fresh id, or the id a given Idempotency-Key always maps to.

    Raises BadRequestError for an empty or over-long key.
    """
    if idempotency_key is None:
        return str(uuid.uuid4())
    key = idempotency_key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_CHARACTERS:
        raise BadRequestError(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_CHARACTERS} characters")
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, key))


def validate_uuid(value: str, *, field: str) -> str:
    """Raise BadRequestError (naming ``field``) unless ``value`` is a UUID, as all our ids are."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise BadRequestError(f"{field} must be a UUID") from None


def validate_submission_id(submission_id: str) -> str:
    return validate_uuid(submission_id, field="submissionId")


class SubmissionStore:
    """Submissions in DynamoDB, keyed by ``submissionId``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, submission: Submission) -> bool:
        """Store a new submission; False when one with that id already exists."""
        written = conditional_write(
            self._table.put_item, Item=submission.to_item(), ConditionExpression="attribute_not_exists(submissionId)"
        )
        return written is not None

    def get(self, submission_id: str) -> Submission | None:
        item = self._table.get_item(Key={"submissionId": submission_id}, ConsistentRead=True).get("Item")
        return Submission.from_item(item) if item else None

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
        return Submission.from_item(response["Attributes"])

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
        return Submission.from_item(response["Attributes"])

    def record_outcome(
        self, submission_id: str, *, status: str, decision: str, reason: str | None, decided_by: str, decided_at: str
    ) -> Submission | None:
        """Write the final outcome and return the submission with its subscribers as of that write.

        Idempotent (a retried final state writes the same values); None if the submission is gone.
        """
        update = decision_update(
            status=status,
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            decided_at=decided_at,
            clear_missing_reason=True,
        )
        response = conditional_write(
            self._table.update_item,
            Key={"submissionId": submission_id},
            UpdateExpression=update.expression,
            ConditionExpression="attribute_exists(submissionId)",
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return Submission.from_item(response["Attributes"])
