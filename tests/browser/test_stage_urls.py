"""Both pages in a real browser under an API Gateway stage URL (``…/api``), with and without the trailing slash.

The local runtime serves at ``/``; here the app runs in-process (moto, as in tests/functional) behind
Chalice's local gateway made to answer as a stage URL does (tests/stage_gateway.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PageWatch, request_urls
from tests.browser.test_pages import entry, submit_in_page
from tests.conftest import ADMIN_TOKEN

WAITING = "Waiting for a moderator…"


@pytest.fixture
def stage_url(monkeypatch: pytest.MonkeyPatch, dispatcher: Any, chalice_app: Any) -> Iterator[str]:
    """``http://127.0.0.1:<port>/api``; no WebSocket is configured, so the pages poll and list over HTTP only."""
    from chalicelib import service
    from tests.stage_gateway import serving_under_stage

    monkeypatch.delenv("WEBSOCKET_URL")
    service.reset()
    with serving_under_stage(chalice_app, "api") as url:
        yield url


def _outside(urls: list[str], stage_url: str) -> list[str]:
    return [url for url in urls if url != stage_url and not url.startswith(stage_url + "/")]


@pytest.mark.parametrize(("submit_path", "admin_path"), [("", "/admin"), ("/", "/admin/")])
def test_pages_work_under_a_stage_with_or_without_the_trailing_slash(
    stage_url: str, open_page: Callable[[], PageWatch], submit_path: str, admin_path: str
):
    submitter_watch, reviewer_watch = open_page(), open_page()
    submitter, reviewer = submitter_watch.page, reviewer_watch.page
    submitter_urls, reviewer_urls = request_urls(submitter), request_urls(reviewer)

    submitter.goto(stage_url + submit_path)
    flagged = submit_in_page(submitter, "This is forbidden")  # the script ran and its POST reached the API
    expect(entry(submitter, flagged, ".status")).to_have_text(WAITING)  # and its status polling too

    reviewer.goto(stage_url + admin_path)
    reviewer.fill("#token", ADMIN_TOKEN)
    reviewer.get_by_role("button", name="Sign in", exact=True).click()
    queued = reviewer.locator("#queue > li", has_text="This is forbidden")
    expect(queued).to_have_count(1)
    queued.get_by_role("button").click()
    expect(reviewer.locator("#review-title")).to_have_text("This is forbidden")
    expect(reviewer.locator("#history > li").first).to_be_visible()  # GET /api/submissions/{id}/history

    for urls in (submitter_urls, reviewer_urls):
        assert _outside(urls, stage_url) == [], urls
    assert f"{stage_url}/static/submit.js" in submitter_urls and f"{stage_url}/submissions" in submitter_urls
    assert f"{stage_url}/static/admin.css" in reviewer_urls
    assert any(url.startswith(f"{stage_url}/reviews?") for url in reviewer_urls), reviewer_urls
    submitter_watch.assert_clean()
    reviewer_watch.assert_clean()
