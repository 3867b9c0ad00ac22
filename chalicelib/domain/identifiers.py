"""Identifiers: every id is a UUID, and the ones derived from something else always derive alike."""

from __future__ import annotations

import hashlib
import uuid

from chalicelib.errors import BadRequestError

IDEMPOTENCY_KEY_MAX_CHARACTERS = 128
# Ids derived from an Idempotency-Key, and reviews derived from an execution, live in their own namespaces.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10")
_REVIEW_NAMESPACE = uuid.UUID("0b4f5c4e-8d7e-4f43-a1b9-6a7f4b6e2c11")


def validate_uuid(value: str, *, field: str) -> str:
    """Raise BadRequestError (naming ``field``) unless ``value`` is a UUID, as all our ids are."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise BadRequestError(f"{field} must be a UUID") from None


def validate_submission_id(submission_id: str) -> str:
    return validate_uuid(submission_id, field="submissionId")


def validate_review_id(review_id: str) -> str:
    return validate_uuid(review_id, field="reviewId")


def validated_idempotency_key(idempotency_key: str | None) -> str | None:
    """The stripped key, or None; raises BadRequestError for an empty or over-long one."""
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_CHARACTERS:
        raise BadRequestError(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_CHARACTERS} characters")
    return key


def submission_id_for(idempotency_key: str | None) -> str:
    """A fresh id, or the id a given Idempotency-Key always maps to.

    Raises BadRequestError for an empty or over-long key.
    """
    key = validated_idempotency_key(idempotency_key)
    if key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, key))


def review_id_for(execution_arn: str) -> str:
    """One review per execution: a retried request-approval task rewrites the same review."""
    return str(uuid.uuid5(_REVIEW_NAMESPACE, execution_arn))


def claim_id_for(decided_by: str, idempotency_key: str | None) -> str:
    """Who owns a claimed decision: one request, or every retry of it sent with the same key.

    The key is scoped to the person deciding, so nobody can take over another's claim by
    reusing their key. Without a key the claim belongs to this request alone.
    """
    if idempotency_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{decided_by}\n{idempotency_key}".encode()).hexdigest()
