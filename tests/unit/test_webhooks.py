"""The Standard Webhooks signature, message and URL rule, checked against the reference library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.errors import WebhookUrlError
from chalicelib.integrations.webhooks import message_body, signature, validate_webhook_url, webhook_id_for

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
DETAIL = {
    "submissionId": "6f0c9d0e-3c1b-4c55-9d4e-2b8f3f1f5a10",
    "title": "Été",
    "decision": "rejected",
    "reason": "off-topic",
    "decidedBy": "admin",
    "decidedAt": "2026-01-02T03:04:05.678Z",
}


def test_the_signature_verifies_with_the_standardwebhooks_library():
    now = int(datetime.now(tz=UTC).timestamp())
    body = message_body(DETAIL)
    webhook_id = webhook_id_for(DETAIL["submissionId"])
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(now),
        "webhook-signature": signature(SECRET, webhook_id=webhook_id, timestamp=now, body=body),
    }

    payload = Webhook(SECRET).verify(body, headers)

    assert payload == {"type": "submission.decided", "timestamp": DETAIL["decidedAt"], "data": DETAIL}


def test_a_signature_with_another_secret_or_body_is_refused():
    now = int(datetime.now(tz=UTC).timestamp())
    body = message_body(DETAIL)
    other = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": signature(other, webhook_id="msg_1", timestamp=now, body=body),
    }

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, headers)
    headers["webhook-signature"] = signature(SECRET, webhook_id="msg_1", timestamp=now, body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"rejected", b"approved"), headers)


def test_the_id_is_stable_and_the_body_is_the_same_bytes_every_time():
    assert webhook_id_for(DETAIL["submissionId"]) == webhook_id_for(DETAIL["submissionId"])
    assert message_body(dict(DETAIL)) == message_body(dict(DETAIL))
    assert json.loads(message_body(DETAIL))["data"]["title"] == "Été"


def test_a_secret_that_is_not_base64_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as refused:
        signature("whsec_not base64!!", webhook_id="msg_1", timestamp=1, body=b"{}")

    assert "not base64!!" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    ["https://platform.example.com/hooks", "http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:8080/"],
)
def test_https_anywhere_and_plain_http_to_loopback_are_accepted(url):
    assert validate_webhook_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://platform.example.com/hooks",
        "http://10.0.0.1/",
        "ftp://127.0.0.1/",
        "https:///no-host",
        "platform.example.com",
        "http://127.0.0.1.example.com/",
    ],
)
def test_anything_else_is_refused(url):
    with pytest.raises(WebhookUrlError):
        validate_webhook_url(url)
