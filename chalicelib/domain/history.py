"""The audit trail's vocabulary: the kinds of event (SPEC §11) and one event as read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUBMITTED = "submitted"
CHECKED = "checked"
REVIEW_REQUESTED = "review_requested"
DECIDED = "decided"
REMINDED = "reminded"
EXPIRED = "expired"
FAILED = "failed"
DELIVERED = "delivered"
DELIVERY_FAILED = "delivery_failed"
APPEALED = "appealed"
APPEAL_DECIDED = "appeal_decided"
# A message not sent on purpose (SPEC §18: past the recipient's cap): ``channel`` and ``reason``.
DELIVERY_SKIPPED = "delivery_skipped"
# A reviewer's claim on a review (SPEC §14): taken (not each renewal), and given back.
CLAIMED = "claimed"
RELEASED = "released"
# Never stored, whatever a caller passes (the audit trail is readable by every reviewer).
FORBIDDEN_FIELDS = frozenset(
    {
        "taskToken",
        "token",
        "signature",
        "secret",
        "notifyEmail",
        "email",
        "notifyPhone",
        "phone",
        "phoneNumber",
        "approveUrl",
        "rejectUrl",
    }
)


@dataclass(frozen=True)
class HistoryEvent:
    at: str
    event: str
    fields: dict[str, Any]
