"""The submit page and the admin dashboard are served as HTML with a strict policy and no data baked in."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("path", "marker"), [("/", b'id="submit-form"'), ("/admin", b'id="reviews"')])
def test_page_is_html_with_security_headers(client, path, marker):
    response = client.http.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert marker in response.body


def test_dashboard_page_needs_no_token_but_contains_no_reviews(client, admin_headers):
    from tests.conftest import pending_review_for, submit

    created = submit(client, "forbidden page check")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    page = client.http.get("/admin")

    assert review["reviewId"].encode() not in page.body
    assert b"forbidden page check" not in page.body


def test_pages_render_untrusted_text_with_textcontent_only(client):
    for path in ("/", "/admin"):
        assert b"innerHTML" not in client.http.get(path).body
