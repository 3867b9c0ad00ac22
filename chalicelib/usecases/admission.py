"""Admission: who may submit, and how often (SPEC §18), decided before anything is parsed, stored or started.

A platform client's token names it; a wrong one is never anonymous. Anonymous submissions are
limited per source IP (the address API Gateway saw, never a header) and fail closed when the limit
cannot be counted; a client's are limited per client and fail open (it is a known, revocable caller).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.clock import Clock, iso, system_clock
from chalicelib.domain.clients import CLIENT_TOKEN_PREFIX
from chalicelib.domain.limits import MINUTE
from chalicelib.domain.ports import ClientStore
from chalicelib.errors import LimiterUnavailable, RateLimitedError, UnauthorizedError, UnavailableError
from chalicelib.log import log_event
from chalicelib.usecases.limits import FixedWindowLimiter
from chalicelib.usecases.stats import CountEvents

logger = logging.getLogger(__name__)

ANONYMOUS_SCOPE = "submissions#ip"
CLIENT_SCOPE = "submissions#client"
# A request without a source address (never on API Gateway) shares one anonymous counter.
UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True)
class SubmissionLimits:
    """RATE_LIMIT_SUBMISSIONS_PER_MINUTE (per source IP, anonymous) and CLIENT_SUBMISSIONS_PER_MINUTE; 0 = off."""

    anonymous_per_minute: int = 0
    client_per_minute: int = 0


class AdmitSubmission:
    """``POST /submissions``'s gate: the caller (a client or anonymous), then its rate limit."""

    def __init__(
        self,
        *,
        clients: ClientStore,
        requires_client: bool,
        limiter: FixedWindowLimiter | None = None,
        limits: SubmissionLimits = SubmissionLimits(),
        count: CountEvents | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._clients = clients
        self._requires_client = requires_client
        self._limiter = limiter
        self._limits = limits
        self._count = count
        self._clock = clock

    def admit(self, *, token: str | None, presented: bool, source_ip: str | None = None) -> str | None:
        """The submitting client's name, or None for an anonymous submission.

        ``presented``: the request carried an ``Authorization`` header (``token`` is its Bearer
        token, if it had one). Raises UnauthorizedError for a credential that is not a current
        client's token (a reviewer's, a revoked or a made-up one) and for an anonymous caller when
        SUBMIT_REQUIRES_CLIENT is on; RateLimitedError over the caller's limit; UnavailableError when
        an anonymous caller's limit could not be counted.
        """
        client = self._client(token, presented=presented)
        if client is None:
            self._limit_anonymous(source_ip or UNKNOWN_SOURCE)
        else:
            self._limit_client(client)
        return client

    def _client(self, token: str | None, *, presented: bool) -> str | None:
        if not presented:
            if self._requires_client:
                raise UnauthorizedError("submissions need a platform client's Bearer token")
            return None
        # Only tokens with the client prefix are looked up: a guess costs no DynamoDB read.
        name = self._clients.identify(token) if token and token.startswith(CLIENT_TOKEN_PREFIX) else None
        if name is None:
            log_event(logger, "submission.unknown_client", level=logging.WARNING)
            raise UnauthorizedError("the Bearer token is not a current platform client's token")
        return name

    def _limit_anonymous(self, source_ip: str) -> None:
        if self._limiter is None or self._limits.anonymous_per_minute <= 0:
            return
        try:
            verdict = self._limiter.take(
                ANONYMOUS_SCOPE, source_ip, limit=self._limits.anonymous_per_minute, window_seconds=MINUTE
            )
        except LimiterUnavailable as error:
            # Fail closed: an unknown caller is not let through uncounted.
            log_event(logger, "rate_limit.unavailable", level=logging.ERROR, caller="anonymous", error=str(error))
            raise UnavailableError("submissions cannot be counted right now; retry") from None
        if not verdict.allowed:
            log_event(logger, "submission.rate_limited", caller="anonymous", retryAfter=verdict.retry_after)
            self._counted("anonymous")
            raise RateLimitedError(
                f"more than {self._limits.anonymous_per_minute} submissions a minute from this address",
                retry_after=verdict.retry_after,
            )

    def _limit_client(self, client: str) -> None:
        if self._limiter is None or self._limits.client_per_minute <= 0:
            return
        try:
            verdict = self._limiter.take(
                CLIENT_SCOPE, client, limit=self._limits.client_per_minute, window_seconds=MINUTE
            )
        except LimiterUnavailable as error:
            # Fail open: a known client's submissions go on; the operator sees the log line.
            log_event(
                logger, "rate_limit.unavailable", level=logging.ERROR, caller="client", client=client, error=str(error)
            )
            return
        if not verdict.allowed:
            log_event(logger, "submission.rate_limited", caller="client", client=client, retryAfter=verdict.retry_after)
            self._counted("client")
            raise RateLimitedError(
                f"more than {self._limits.client_per_minute} submissions a minute from client {client}",
                retry_after=verdict.retry_after,
            )

    def _counted(self, caller: str) -> None:
        """``/stats`` and the ``RateLimited`` metric (a failed count is logged, never raised: see CountEvents)."""
        if self._count is not None:
            self._count.rate_limited(iso(self._clock()), caller=caller)
