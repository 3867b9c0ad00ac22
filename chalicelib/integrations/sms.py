"""The outcome text message to a submitter who gave a number (Amazon SNS ``Publish`` with ``PhoneNumber``).

The number is never logged: the log line names the submission and SNS's message id only.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from chalicelib.domain.submission import Submission
from chalicelib.errors import TextMessageNotSent
from chalicelib.log import log_event

logger = logging.getLogger(__name__)

# One SMS segment holds 160 GSM characters; the outcome stays short so it costs one or two, and
# the free-text reason (up to 1,000 characters) is cut to fit.
SMS_REASON_MAX_CHARACTERS = 120
SMS_TITLE_MAX_CHARACTERS = 40
# Transactional: SNS favours delivery over price, as an outcome the submitter waits for deserves.
SMS_TYPE = "Transactional"
_OUTCOMES = {
    "approved": "was approved",
    "rejected": "was rejected",
    "expired": "was rejected: not reviewed in time",
    "failed": "could not be moderated; please resubmit",
}


class SnsClient(Protocol):
    """The one SNS call used (boto3's client; its type stubs are not a dependency)."""

    def publish(self, **kwargs: Any) -> dict[str, Any]: ...


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def outcome_text(submission: Submission) -> str:
    """The text: the decision, its category and (shortened) reason, and who decided."""
    what = _OUTCOMES.get(submission.decision or "", f"was {submission.decision}")
    parts = [f'"{_shortened(submission.title, SMS_TITLE_MAX_CHARACTERS)}" {what}']
    if submission.appeal is not None and submission.appeal.outcome:
        parts.append(f"appeal: {submission.appeal.outcome}")
    if submission.category:
        parts.append(f"category: {submission.category}")
    if submission.reason:
        parts.append(f"reason: {_shortened(submission.reason, SMS_REASON_MAX_CHARACTERS)}")
    decider = "automatically" if submission.automated else "by a moderator"
    return f"{'; '.join(parts)} ({decider}). Ref {submission.submission_id[:8]}"


class TextMessenger:
    """Sends one SMS per call with SNS ``Publish`` (implements ``ports.TextMessages``)."""

    def __init__(self, sns: SnsClient) -> None:
        self._sns = sns

    def send(self, *, to: str, text: str, submission_id: str) -> str:
        """Send ``text`` to the E.164 number ``to``; return SNS's message id. Raises TextMessageNotSent."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._sns.publish(
                PhoneNumber=to,
                Message=text,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": SMS_TYPE}},
            )
        except ClientError as error:
            raise TextMessageNotSent(error.response["Error"]["Code"]) from None
        except BotoCoreError as error:
            raise TextMessageNotSent(type(error).__name__) from None
        log_event(logger, "sms.sent", submissionId=submission_id, messageId=response["MessageId"])
        return str(response["MessageId"])
