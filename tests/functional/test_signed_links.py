"""Signed approve/reject links: GET only shows a page, POST decides, any tampering gets 403."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.web.links import signed_path
from tests.conftest import pending_review_for, submit, wait_for_status

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _flagged_review(client, admin_headers) -> dict:
    created = submit(client, "forbidden link test")
    return pending_review_for(client, admin_headers, created["submissionId"])


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def _status(client, admin_headers, review) -> str:
    return client.http.get(f"/reviews/{review['reviewId']}", headers=admin_headers).json_body["status"]


def test_get_shows_a_confirmation_page_and_changes_nothing(client, admin_headers):
    review = _flagged_review(client, admin_headers)

    for _ in range(3):  # mail scanners prefetch links, sometimes more than once
        page = client.http.get(_path(review["approveUrl"]))
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert b'<form method="post"' in page.body
        assert b"forbidden link test" in page.body

    assert _status(client, admin_headers, review) == "PENDING"


def test_post_of_the_approve_link_approves(client, admin_headers):
    review = _flagged_review(client, admin_headers)

    response = client.http.post(_path(review["approveUrl"]), headers=FORM, body=b"")

    assert response.status_code == 200
    assert b"approved" in response.body
    assert wait_for_status(client, review["submissionId"], "APPROVED")["status"] == "APPROVED"


def test_post_of_the_reject_link_rejects(client, admin_headers):
    review = _flagged_review(client, admin_headers)

    response = client.http.post(_path(review["rejectUrl"]), headers=FORM, body=b"")

    assert response.status_code == 200
    assert wait_for_status(client, review["submissionId"], "REJECTED")["status"] == "REJECTED"


def _tampered(review: dict, how: str) -> str:
    url = urlsplit(_path(review["approveUrl"]))
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    if how == "action-swapped":
        query["action"] = "reject"
    elif how == "signature-changed":
        query["signature"] = ("0" if query["signature"][0] != "0" else "1") + query["signature"][1:]
    elif how == "expiry-extended":
        query["expires"] = str(int(query["expires"]) + 3600)
    elif how == "signature-missing":
        del query["signature"]
    elif how == "non-ascii":
        query["signature"] = "%C3%A9" + query["signature"][1:]
    elif how == "other-review":
        return f"/reviews/8c1a3a55-8f4f-4a0d-9a55-000000000000/decide?{url.query}"
    return url.path + "?" + "&".join(f"{key}={value}" for key, value in query.items())


@pytest.mark.parametrize(
    "how", ["action-swapped", "signature-changed", "expiry-extended", "signature-missing", "other-review", "non-ascii"]
)
def test_tampered_link_gets_403_and_changes_nothing(client, admin_headers, how):
    review = _flagged_review(client, admin_headers)
    path = _tampered(review, how)

    shown = client.http.get(path)
    posted = client.http.post(path, headers=FORM, body=b"")

    assert shown.status_code == 403
    assert posted.status_code == 403
    assert _status(client, admin_headers, review) == "PENDING"


def test_expired_link_gets_403_and_changes_nothing(client, admin_headers):
    review = _flagged_review(client, admin_headers)
    expired = signed_path(
        "test-link-secret", review_id=review["reviewId"], action="approve", expires=int(time.time()) - 1
    )

    assert client.http.get(expired).status_code == 403
    assert client.http.post(expired, headers=FORM, body=b"").status_code == 403
    assert _status(client, admin_headers, review) == "PENDING"


def test_link_used_twice_gets_409_the_second_time(client, admin_headers):
    review = _flagged_review(client, admin_headers)

    assert client.http.post(_path(review["approveUrl"]), headers=FORM, body=b"").status_code == 200
    assert client.http.post(_path(review["rejectUrl"]), headers=FORM, body=b"").status_code == 409
