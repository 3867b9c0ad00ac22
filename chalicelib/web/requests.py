"""Request parsing: JSON bodies and query parameters turned into validated domain values.

Every function raises BadRequestError (or PayloadTooLargeError) with a message that names the
field, and never echoes personal data back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.bulk_decisions import BULK_MAX_ITEMS, DecisionItem
from chalicelib.domain.identifiers import validate_review_id
from chalicelib.domain.review import (
    DECIDED_ORDERS,
    DECIDED_STATUSES,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PENDING_ORDERS,
    ReviewListing,
    validated_reason,
)
from chalicelib.domain.sms import check_allowed_number
from chalicelib.domain.submission import (
    BODY_MAX_BYTES,
    EMAIL_MAX_CHARACTERS,
    EMAIL_PATTERN,
    PHONE_PATTERN,
    TITLE_MAX_CHARACTERS,
    ArticleRequest,
)
from chalicelib.domain.team import REVIEWER, ROLES, NewReviewer, validate_name
from chalicelib.errors import BadRequestError, PayloadTooLargeError

SUBMISSION_FIELDS = frozenset({"title", "body", "notifyEmail", "notifyPhone"})
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)
_DECISION_REQUEST_FIELDS = frozenset({"reason", "category"})
_NEW_REVIEWER_FIELDS = frozenset({"name", "role"})
_APPEAL_FIELDS = frozenset({"message"})
_NEW_CLIENT_FIELDS = frozenset({"name"})
_BULK_ITEM_FIELDS = frozenset({"reviewId", "decision", "reason", "category"})
_BULK_ACTIONS = {"approve": "approve", "reject": "reject"}
CATEGORY_MAX_CHARACTERS = 100


def parse_article_request(payload: Any, *, sms_prefixes: tuple[str, ...] = ()) -> ArticleRequest:
    """Validate a ``POST /submissions`` body; a ``notifyPhone`` must start with one of ``sms_prefixes`` when given.

    Raises BadRequestError (wrong shape, types, unknown fields, empty or over-long title, a number
    outside SMS_ALLOWED_PREFIXES) or PayloadTooLargeError (body over 100 KB).
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
    return ArticleRequest(
        title=title.strip(),
        body=body,
        notify_email=_notify_email(payload),
        notify_phone=_notify_phone(payload, sms_prefixes),
    )


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


def _notify_phone(payload: dict[str, Any], sms_prefixes: tuple[str, ...]) -> str | None:
    """The optional ``notifyPhone`` (E.164); the error message never echoes the value (it is personal data)."""
    if "notifyPhone" not in payload:
        return None
    value = payload["notifyPhone"]
    if not isinstance(value, str):
        raise BadRequestError("'notifyPhone' must be a string")
    if not _PHONE.fullmatch(value):  # no stripping or reformatting: the number is used as validated
        raise BadRequestError("'notifyPhone' must be an E.164 number: + then 8 to 15 digits, the first not 0")
    return check_allowed_number(value, sms_prefixes)  # SPEC §18: only where the platform sends texts


@dataclass(frozen=True)
class DecisionRequest:
    """An approve/reject body: the free-text reason and (rejections only) the category."""

    reason: str | None = None
    category: str | None = None


def parse_decision_request(payload: object) -> DecisionRequest:
    """An approve/reject body, ``{"reason"?: str, "category"?: str}`` (no body at all is fine).

    Raises BadRequestError for another shape, an unknown field or a reason or category that is
    not a string; the reason's length and the category's name are rules of the decision
    (``domain.review.validated_reason``, ``validated_category``).
    """
    if payload is None:
        return DecisionRequest()
    if not isinstance(payload, dict) or set(payload) - _DECISION_REQUEST_FIELDS:
        raise BadRequestError('the body may only be {"reason": string, "category": string}')
    for name in ("reason", "category"):
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequestError(f"'{name}' must be a string")
    return DecisionRequest(reason=payload.get("reason"), category=payload.get("category"))


def parse_appeal_request(payload: object) -> object:
    """The message of ``{"message": string}`` (its length is a rule of the appeal: ``domain.appeal``).

    Raises BadRequestError for another shape or an unknown field.
    """
    if not isinstance(payload, dict) or set(payload) - _APPEAL_FIELDS:
        raise BadRequestError('the body must be {"message": string}')
    return payload.get("message")


def parse_new_reviewer(payload: Any) -> NewReviewer:
    """Raises BadRequestError for a wrong shape, unknown fields, a bad or reserved name, or an unknown role."""
    if not isinstance(payload, dict):
        raise BadRequestError('the request body must be {"name": string, "role": "reviewer" | "admin"}')
    unknown = sorted(set(payload) - _NEW_REVIEWER_FIELDS)
    if unknown:
        raise BadRequestError(f"unknown field(s): {', '.join(unknown)}")
    name = validate_name(payload.get("name"))
    role = payload.get("role", REVIEWER)
    if role not in ROLES:
        raise BadRequestError("'role' must be 'reviewer' or 'admin'")
    return NewReviewer(name=name, role=role)


def parse_new_client(payload: Any) -> str:
    """``POST /clients``'s name (the reviewers' naming rules). Raises BadRequestError for anything else."""
    if not isinstance(payload, dict):
        raise BadRequestError('the request body must be {"name": string}')
    unknown = sorted(set(payload) - _NEW_CLIENT_FIELDS)
    if unknown:
        raise BadRequestError(f"unknown field(s): {', '.join(unknown)}")
    return validate_name(payload.get("name"))


def parse_review_listing(params: Mapping[str, str]) -> ReviewListing:
    """``GET /reviews``'s ``status``, ``limit``, ``order`` and ``nextToken``.

    Raises BadRequestError for a bad status, limit or order (a bad nextToken is found by the store).
    """
    limit = _page_size(params.get("limit"))
    order = params.get("order")
    if order is not None and order not in PENDING_ORDERS:
        raise BadRequestError("order must be one of " + ", ".join(PENDING_ORDERS))
    status = params.get("status")
    status = "pending" if status is None else status.lower()
    if status != "pending" and status not in DECIDED_STATUSES:
        raise BadRequestError("status must be one of pending, " + ", ".join(DECIDED_STATUSES))
    if status != "pending" and order is not None and order not in DECIDED_ORDERS:
        raise BadRequestError("decided reviews are ordered by 'oldest' or 'newest' only")
    return ReviewListing(status=status, limit=limit, page_token=params.get("nextToken"), order=order)


def _page_size(limit: str | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(limit)
    except ValueError:
        raise BadRequestError("limit must be an integer") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return size


def parse_bulk_decisions(payload: Any) -> list[DecisionItem]:
    """``POST /reviews/decisions``'s ``{"items": [{"reviewId", "decision", "reason"?, "category"?}]}``.

    The whole batch is refused (BadRequestError, nothing decided) for another shape, 0 or more
    than 50 items, an unknown field, a malformed id, a decision other than approve/reject, a bad
    reason or category, or one review twice. Unknown, decided or expired reviews are the items' own
    results, not a malformed batch.
    """
    if not isinstance(payload, dict) or set(payload) != {"items"} or not isinstance(payload["items"], list):
        raise BadRequestError('the body must be {"items": [{"reviewId", "decision", "reason"?, "category"?}]}')
    items = payload["items"]
    if not 1 <= len(items) <= BULK_MAX_ITEMS:
        raise BadRequestError(f"'items' must hold 1 to {BULK_MAX_ITEMS} decisions, not {len(items)}")
    parsed = [_bulk_item(item, position) for position, item in enumerate(items)]
    seen: set[str] = set()
    for item in parsed:
        if item.review_id in seen:
            raise BadRequestError(f"review {item.review_id} is in the batch more than once")
        seen.add(item.review_id)
    return parsed


def _bulk_item(item: Any, position: int) -> DecisionItem:
    where = f"items[{position}]"
    if not isinstance(item, dict):
        raise BadRequestError(f"{where} must be an object")
    unknown = sorted(set(item) - _BULK_ITEM_FIELDS)
    if unknown:
        raise BadRequestError(f"{where} has unknown field(s): {', '.join(unknown)}")
    review_id = item.get("reviewId")
    if not isinstance(review_id, str):
        raise BadRequestError(f"{where}.reviewId is required and must be a string")
    try:
        review_id = validate_review_id(review_id)
    except BadRequestError:
        raise BadRequestError(f"{where}.reviewId must be a UUID") from None
    action = _BULK_ACTIONS.get(item.get("decision"))  # type: ignore[arg-type]
    if action is None:
        raise BadRequestError(f"{where}.decision must be 'approve' or 'reject'")
    try:
        reason = validated_reason(item.get("reason"))
    except BadRequestError as error:
        raise BadRequestError(f"{where}: {error.message}") from None
    category = item.get("category")
    if category is not None and (not isinstance(category, str) or len(category) > CATEGORY_MAX_CHARACTERS):
        raise BadRequestError(f"{where}.category must be a string of at most {CATEGORY_MAX_CHARACTERS} characters")
    return DecisionItem(review_id=review_id, action=action, reason=reason, category=category)
