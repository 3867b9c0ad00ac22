"""The local outbox: every e-mail the app sends through (moto's) SES is also written as an ``.eml`` file,
and every text message it sends through (moto's) SNS as an ``.sms`` file.

On AWS, SES and SNS deliver the message; locally there is nowhere to deliver it, so the runtime
wraps moto's ``SESBackend.send_email`` and ``SNSBackend.publish`` and writes each accepted message
to ``LOCAL_OUTBOX``, where any mail client (or text editor) opens it. The app's code is unchanged:
it calls SES and SNS as it would on AWS. The log line names the file, never the address or number.
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
_original_publish: Any = None


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


def write_text_message(outbox: Path, *, message_id: str, phone_number: str, text: str) -> Path:
    """Write one SMS as ``{message_id}.sms`` under ``outbox`` (the number, a blank line, the text); return the path."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{message_id}.sms"
    path.write_text(f"{phone_number}\n\n{text}\n", encoding="utf-8")
    return path


def install(outbox: Path) -> None:
    """Write every message moto's SES and every SMS moto's SNS accepts to ``outbox`` (idempotent; the last outbox wins)."""
    global _outbox
    with _lock:
        _outbox = outbox
        _wrap_send_email()
        _wrap_publish()


def _wrap_publish() -> None:
    """SNS ``Publish`` with a ``PhoneNumber`` (an SMS): also an ``.sms`` file. Topic publishes are untouched."""
    global _original_publish
    from moto.sns.models import SNSBackend

    if _original_publish is not None:
        return
    _original_publish = SNSBackend.publish

    @functools.wraps(_original_publish)
    def publish(backend: Any, message: str, arn: str | None, phone_number: str | None = None, **kwargs: Any) -> Any:
        message_id = _original_publish(backend, message, arn, phone_number, **kwargs)
        target = _outbox
        if phone_number and target is not None:
            path = write_text_message(target, message_id=message_id, phone_number=phone_number, text=message)
            logger.info("text message written to %s", path)
        return message_id

    SNSBackend.publish = publish


def _wrap_send_email() -> None:
    global _original_send_email
    from moto.ses.models import SESBackend

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
    """Stop writing files (moto's SES and SNS keep their own in-memory record)."""
    global _outbox
    with _lock:
        _outbox = None
