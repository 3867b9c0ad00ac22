"""The outcome e-mail to a submitter who asked for one (SES, from SENDER_EMAIL); the address is never logged."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.domain.submission import Submission
from chalicelib.errors import MailNotSent
from chalicelib.log import log_event

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

logger = logging.getLogger(__name__)

_SUBJECTS = {
    "approved": "Your article was approved",
    "rejected": "Your article was rejected",
    "expired": "Your article was not reviewed in time",
    "failed": "Your article could not be moderated",
}


_APPEAL_SUBJECTS = {
    "overturned": "Your appeal succeeded: your article was approved",
    "upheld": "Your appeal was turned down",
}


def outcome_message(submission: Submission) -> tuple[str, str]:
    """The subject and plain-text body: the decision, its category and reason, who decided (and an appeal's outcome)."""
    appeal = submission.appeal.outcome if submission.appeal is not None else None
    subject = (
        _APPEAL_SUBJECTS[appeal] if appeal else _SUBJECTS.get(submission.decision or "", "Your article was moderated")
    )
    lines = [
        f"Title: {submission.title}",
        f"Decision: {submission.decision}",
    ]
    if submission.category:
        lines.append(f"Category: {submission.category}")
    if appeal:
        lines.append(f"Appeal: {appeal}")
    if submission.reason:
        lines.append(f"Reason: {submission.reason}")
    lines += [
        f"Decided by: {decider_text(submission)}",
        f"Decided at: {submission.decided_at}",
        f"Submission: {submission.submission_id}",
        "",
    ]
    return subject, "\n".join(lines)


def decider_text(submission: Submission) -> str:
    """Who decided, as the submitter reads it: a person, or which automatic step (SPEC §15's ``automated``)."""
    if submission.automated:
        return f"{submission.decided_by or 'workflow'} (automated)"
    return f"{submission.decided_by} (a person)"


class Mailer:
    """Sends one message per call with SES ``SendEmail`` from ``sender``."""

    def __init__(self, ses: SESClient, *, sender: str | None) -> None:
        self._ses = ses
        self._sender = sender

    def send_outcome(self, submission: Submission, *, to: str) -> str:
        """Send the outcome to ``to``; return SES's message id. Raises MailNotSent."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self._sender:
            raise MailNotSent("SENDER_EMAIL is not configured")
        subject, text = outcome_message(submission)
        try:
            response = self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        except ClientError as error:
            raise MailNotSent(error.response["Error"]["Code"]) from None
        except BotoCoreError as error:
            raise MailNotSent(type(error).__name__) from None
        log_event(logger, "email.sent", submissionId=submission.submission_id, messageId=response["MessageId"])
        return str(response["MessageId"])
