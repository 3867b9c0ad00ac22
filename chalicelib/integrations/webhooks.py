"""Webhook deliveries per the Standard Webhooks specification: the URL rule, the message, the signature, one POST.

The state machine owns the retries (SPEC §12): each attempt is one Lambda call that POSTs
once, with the same ``webhook-id`` and a fresh ``webhook-timestamp`` and signature (receivers
refuse stale timestamps), and raises :class:`WebhookDeliveryFailed` for anything but a 2xx.
The stdlib does the HTTP and the HMAC: no dependency ships to Lambda for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import WebhookDeliveryFailed, WebhookUrlError
from chalicelib.log import log_event

logger = logging.getLogger(__name__)

EVENT_TYPE = "submission.decided"
APPEAL_EVENT_TYPE = "submission.appeal_decided"
SECRET_PREFIX = "whsec_"
# One attempt: a receiver has this long to answer (the state machine's task timeout is longer).
ATTEMPT_TIMEOUT_SECONDS = 10.0
_LOOPBACK_NAMES = frozenset({"localhost"})


def validate_webhook_url(url: str) -> str:
    """Return ``url`` if it is ``https://``, or plain ``http://`` to a loopback host; raise WebhookUrlError.

    Loopback is the only plain-HTTP exception: nothing listens there for a Lambda function,
    so on AWS every delivery is HTTPS, while a receiver on your own machine needs no certificate.
    """
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise WebhookUrlError("must be an absolute https:// URL")
    if parts.scheme == "https":
        return url.strip()
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return url.strip()
    raise WebhookUrlError("must use https:// (plain http:// only to 127.0.0.1, ::1 or localhost)")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_id_for(submission_id: str, *, appeal: bool = False) -> str:
    """The message id: one outcome per submission and one per its appeal, each stable across every retry."""
    return f"msg_{submission_id.replace('-', '')}" + ("_appeal" if appeal else "")


def message_body(detail: dict[str, Any]) -> bytes:
    """``{"type": "submission.decided"|"submission.appeal_decided", "timestamp", "data"}``: the same bytes on every attempt."""
    event_type = APPEAL_EVENT_TYPE if detail.get("appeal") else EVENT_TYPE
    message = {"type": event_type, "timestamp": detail.get("decidedAt"), "data": detail}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``, keyed by the base64 part of ``whsec_…``.

    Raises ValueError (without the secret in the message) when the secret is not base64.
    """
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise ValueError("the webhook secret must be whsec_ followed by base64") from None
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Attempt:
    """What one POST got back (for the log and the audit trail)."""

    status: int
    elapsed_seconds: float


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not an instruction: following it could send the signed body elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_RefuseRedirects)


class WebhookSender:
    """Signs and POSTs one message; ``clock`` gives Unix seconds (tests pin it)."""

    def __init__(
        self,
        *,
        url: str,
        secret: Callable[[], str],
        clock: Callable[[], float],
        timeout: float = ATTEMPT_TIMEOUT_SECONDS,
    ) -> None:
        self._url = validate_webhook_url(url)
        self._secret = secret
        self._clock = clock
        self._timeout = timeout

    @property
    def url(self) -> str:
        return self._url

    def send(self, *, webhook_id: str, body: bytes) -> Attempt:
        """POST once; return the 2xx answer, or raise WebhookDeliveryFailed naming what went wrong."""
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "content-moderation-webhooks/1",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(self._secret(), webhook_id=webhook_id, timestamp=timestamp, body=body),
        }
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        started = self._clock()
        try:
            with _opener.open(request, timeout=self._timeout) as response:
                status = response.status
        except urllib.error.HTTPError as error:  # 3xx (never followed), 4xx, 5xx
            error.close()
            raise WebhookDeliveryFailed(f"the receiver answered {error.code}") from None
        except (urllib.error.URLError, OSError) as error:  # refused, reset, DNS, TLS, timeout
            reason = getattr(error, "reason", error)
            raise WebhookDeliveryFailed(f"no answer from the receiver ({type(reason).__name__})") from None
        if not 200 <= status < 300:
            raise WebhookDeliveryFailed(f"the receiver answered {status}")
        attempt = Attempt(status=status, elapsed_seconds=round(self._clock() - started, 3))
        log_event(logger, "webhook.delivered", webhookId=webhook_id, status=status, seconds=attempt.elapsed_seconds)
        return attempt
