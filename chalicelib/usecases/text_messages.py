"""The outcome SMS (SPEC §15): one text per outcome to the number given at submit; its fate goes in the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.clock import Clock, iso
from chalicelib.domain import history as events
from chalicelib.domain.limits import RECIPIENT_CAP, STAGE_CAP
from chalicelib.domain.ports import HistoryStore, SubmissionStore, TextMessages
from chalicelib.domain.submission import Submission
from chalicelib.errors import LimiterUnavailable, TextMessageNotSent
from chalicelib.integrations.sms import outcome_text
from chalicelib.log import log_event
from chalicelib.usecases.limits import RecipientCap, StageDailyCap
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)


class OutcomeTextMessage:
    """One SMS per outcome, never the number in a log line or the history.

    Like the e-mail, a retried final task finds the outcome's ``sms`` marker set and sends
    nothing again (SPEC §19); a message that could not be sent gives its marker back, and a
    failure is a ``delivery_failed`` event that never changes the decision. Past the number's
    daily cap (NOTIFY_MAX_PER_RECIPIENT_PER_DAY) or the stage's (SMS_MAX_PER_DAY) the text is
    skipped (``delivery_skipped``, SPEC §18) and its marker kept, so a retry does not send it either.
    """

    CHANNEL = "sms"

    def __init__(
        self,
        *,
        submissions: SubmissionStore,
        history: HistoryStore,
        sender: Callable[[], TextMessages],
        clock: Clock,
        count: CountEvents,
        text: Callable[[Submission], str] = outcome_text,
        recipient_cap: RecipientCap | None = None,
        stage_cap: StageDailyCap | None = None,
    ) -> None:
        self._recipient_cap = recipient_cap
        self._stage_cap = stage_cap
        self._submissions = submissions
        self._history = history
        self._sender = sender
        self._clock = clock
        self._count = count
        self._text = text

    def send(self, submission: Submission) -> None:
        """Text the outcome to ``submission.notify_phone`` at most once; never raises for a failed send."""
        if not submission.notify_phone:
            return
        outcome = f"{submission.decision}#{submission.decided_at}"
        if not self._submissions.mark_sent(submission.submission_id, channel=self.CHANNEL, outcome=outcome):
            log_event(logger, "sms.already_sent", submissionId=submission.submission_id, outcome=outcome)
            return
        at = iso(self._clock())
        try:
            skipped = self._over_a_cap(submission.notify_phone)
            if skipped is not None:
                self._skip(submission, at=at, reason=skipped)
                return
            message_id = self._sender().send(
                to=submission.notify_phone, text=self._text(submission), submission_id=submission.submission_id
            )
        except TextMessageNotSent as error:
            self._submissions.unmark_sent(submission.submission_id, channel=self.CHANNEL, outcome=outcome)
            log_event(
                logger, "sms.failed", level=logging.WARNING, submissionId=submission.submission_id, error=str(error)
            )
            if self._history.append(
                submission.submission_id,
                events.DELIVERY_FAILED,
                at=at,
                key=self.CHANNEL,
                channel=self.CHANNEL,
                error=str(error),
            ):
                self._count.delivery_failed(self.CHANNEL)
            return
        self._history.append(
            submission.submission_id,
            events.DELIVERED,
            at=at,
            key=self.CHANNEL,
            channel=self.CHANNEL,
            messageId=message_id,
        )

    def _over_a_cap(self, number: str) -> str | None:
        """Count this text against the number's and the stage's daily caps: the cap it is past, or None.

        Raises TextMessageNotSent when a cap cannot be counted (fail closed: it could be the one past it).
        """
        try:
            if self._recipient_cap is not None and not self._recipient_cap.allows(self.CHANNEL, number):
                return RECIPIENT_CAP
            if self._stage_cap is not None and not self._stage_cap.allows():
                return STAGE_CAP
        except LimiterUnavailable as error:
            raise TextMessageNotSent(f"the text message caps could not be counted ({error})") from None
        return None

    def _skip(self, submission: Submission, *, at: str, reason: str) -> None:
        log_event(logger, "sms.skipped", submissionId=submission.submission_id, reason=reason)
        if self._history.append(
            submission.submission_id,
            events.DELIVERY_SKIPPED,
            at=at,
            key=self.CHANNEL,
            channel=self.CHANNEL,
            reason=reason,
        ):
            self._count.notification_skipped(at, channel=self.CHANNEL)
