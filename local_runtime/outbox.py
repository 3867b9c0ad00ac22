"""The local outbox: every e-mail the app sends through (moto's) SES is also written as an ``.eml`` file.

On AWS, SES delivers the message; locally there is nowhere to deliver it, so the runtime wraps
moto's ``SESBackend.send_email`` and writes each accepted message to ``LOCAL_OUTBOX``, where any
mail client opens it. The app's code is unchanged: it calls SES as it would on AWS. The log line
names the file, never the address.
"""

from __future__ import annotations

import functools
import logging
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_outbox: Path | None = None
_original_send_email: Any = None


def write_message(
    outbox: Path, *, message_id: str, source: str, destinations: dict[str, list[str]], subject: str, body: str
) -> Path:
    """Write one message as ``{message_id}.eml`` under ``outbox``; return the path."""
    message = EmailMessage()
    message["From"] = source
    for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
        if destinations.get(key):
            message[header] = ", ".join(destinations[key])
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=message_id, domain="content-moderation.localhost")
    message.set_content(body)
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{message_id}.eml"
    path.write_bytes(bytes(message))
    return path


def install(outbox: Path) -> None:
    """Write every message moto's SES accepts to ``outbox`` (idempotent; the last outbox wins)."""
    global _outbox, _original_send_email
    from moto.ses.models import SESBackend

    with _lock:
        _outbox = outbox
        if _original_send_email is not None:
            return
        _original_send_email = SESBackend.send_email

        @functools.wraps(_original_send_email)
        def send_email(backend: Any, source: str, subject: str, body: str, destinations: dict[str, list[str]]) -> Any:
            message = _original_send_email(backend, source, subject, body, destinations)
            target = _outbox
            if target is not None:
                path = write_message(
                    target, message_id=message.id, source=source, destinations=destinations, subject=subject, body=body
                )
                logger.info("e-mail %r written to %s", subject, path)
            return message

        SESBackend.send_email = send_email


def uninstall() -> None:
    """Stop writing files (moto's SES keeps its own in-memory record)."""
    global _outbox
    with _lock:
        _outbox = None
