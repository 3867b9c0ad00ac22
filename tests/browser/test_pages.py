"""Both pages in a real browser (headless Chromium) against the local runtime, under the strict CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PageWatch, first, request_urls
from tests.local_runtime.conftest import RunningRuntime, http, start_runtime, wait_for

PUBLISHED = "Published"
WAITING = "Waiting for a moderator…"
FORGOTTEN = "The service no longer knows this submission"


def submit_in_page(page: Page, title: str) -> str:
    """Submit through the form; the id of the entry the page adds for it (newest first)."""
    entries = page.locator("#submissions > li")
    count = entries.count()
    page.fill("#title", title)
    page.click("#submit-form button[type=submit]")
    expect(entries).to_have_count(count + 1)
    submission_id = entries.first.get_attribute("data-submission-id")
    assert submission_id, "the new entry names its submission"
    return submission_id


def entry(page: Page, submission_id: str, part: str = "") -> Locator:
    return page.locator(f'#submissions > li[data-submission-id="{submission_id}"] {part}'.strip())


def pending_review(runtime: RunningRuntime, submission_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        result = http("GET", f"{runtime.rest_url}/reviews?status=pending&limit=100", headers=runtime.admin_headers)
        assert result.status == 200, result
        return first(result.body["items"], submissionId=submission_id)

    return wait_for(find)


def submission(runtime: RunningRuntime, submission_id: str) -> dict[str, Any]:
    result = http("GET", f"{runtime.rest_url}/submissions/{submission_id}")
    assert result.status == 200, result
    return dict(result.body)


def test_each_submission_in_the_tab_keeps_its_own_live_status(runtime: RunningRuntime, watched_page: PageWatch):
    page = watched_page.page
    page.goto(f"{runtime.rest_url}/")
    page.evaluate("window.notReloaded = true")

    clean = submit_in_page(page, "A calm walk in the park")
    expect(entry(page, clean, ".status")).to_have_text(PUBLISHED)
    flagged = submit_in_page(page, "This is forbidden")
    expect(entry(page, flagged, ".status")).to_have_text(WAITING)
    expect(entry(page, clean, ".status")).to_have_text(PUBLISHED)  # the second socket changed nothing here

    review = pending_review(runtime, flagged)
    approved = http(
        "POST",
        f"{runtime.rest_url}/reviews/{review['reviewId']}/approve",
        {"reason": "satire, fine"},
        runtime.admin_headers,
    )
    assert approved.status == 200, approved

    expect(entry(page, flagged, ".status")).to_have_text(PUBLISHED)
    expect(entry(page, flagged, ".reason")).to_have_text("Reason: satire, fine")
    expect(entry(page, flagged)).to_have_class("submission APPROVED")
    expect(entry(page, clean, ".status")).to_have_text(PUBLISHED)
    expect(entry(page, clean, ".reason")).to_have_text("")  # the flagged one's reason stayed with it
    expect(entry(page, clean, ".title")).to_have_text("A calm walk in the park")
    expect(entry(page, flagged, ".title")).to_have_text("This is forbidden")
    assert page.evaluate("window.notReloaded") is True, "the decision arrived without a reload"
    watched_page.screenshot("submit.png")
    watched_page.assert_clean()


def test_a_script_title_renders_as_text(runtime: RunningRuntime, watched_page: PageWatch):
    page = watched_page.page
    page.goto(f"{runtime.rest_url}/")
    title = '<script>window.injected = 1</script><img src=x onerror="window.injected = 2">'

    submitted = submit_in_page(page, title)

    expect(entry(page, submitted, ".title")).to_have_text(title)
    expect(entry(page, submitted, ".status")).to_have_text(PUBLISHED)
    assert page.locator("#submissions script, #submissions img").count() == 0
    assert page.evaluate("window.injected") is None
    watched_page.assert_clean()


def test_the_policy_blocks_inline_script_and_the_tests_see_it(runtime: RunningRuntime, watched_page: PageWatch):
    """The no-violation checks above mean something: an inline script is blocked and reported."""
    page = watched_page.page
    page.goto(f"{runtime.rest_url}/")

    page.evaluate(
        "() => { const script = document.createElement('script');"
        " script.textContent = 'window.inlineRan = true'; document.body.append(script); }"
    )

    assert page.evaluate("window.inlineRan") is None
    wait_for(lambda: watched_page.violations, timeout=5.0)
    assert "script-src" in watched_page.violations[0]


@pytest.mark.parametrize(("path", "width"), [("/", "672px"), ("/admin", "1280px")])
def test_page_loads_its_files_under_the_policy(runtime: RunningRuntime, watched_page: PageWatch, path: str, width: str):
    page = watched_page.page
    response = page.goto(f"{runtime.rest_url}{path}")

    assert response is not None and response.status == 200
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == width  # the stylesheet applied
    watched_page.assert_clean()


def test_signed_link_page_style_is_allowed_by_its_hash(runtime: RunningRuntime, watched_page: PageWatch):
    flagged = http("POST", f"{runtime.rest_url}/submissions", {"title": "forbidden link check"}).body["submissionId"]
    review = pending_review(runtime, flagged)
    page = watched_page.page

    page.goto(f"{runtime.rest_url}{review['approveUrl'].removeprefix(runtime.rest_url)}")

    button = page.locator("button.approve")
    expect(button).to_have_css("background-color", "rgb(229, 246, 232)")
    watched_page.assert_clean()


def test_dashboard_loads_under_the_policy_and_approves(runtime: RunningRuntime, watched_page: PageWatch):
    flagged = http("POST", f"{runtime.rest_url}/submissions", {"title": "Forbidden fruit, reviewed"})
    submission_id = flagged.body["submissionId"]
    pending_review(runtime, submission_id)
    page = watched_page.page
    page.goto(f"{runtime.rest_url}/admin")

    expect(page.locator("#workspace")).to_be_hidden()
    page.fill("#token", runtime.admin_token)
    page.keyboard.press("Enter")
    expect(page.locator("#who")).to_have_text("Signed in as admin (admin)")
    item = page.locator("#queue > li", has_text="Forbidden fruit, reviewed")
    item.get_by_role("button").click()
    expect(page.locator("#review-title mark")).to_have_text("Forbidden")
    page.get_by_role("button", name="Approve", exact=True).click()

    expect(page.locator("#decision-result")).to_have_text("Approved by you (admin).")
    expect(item).to_have_count(0)
    wait_for(lambda: submission(runtime, submission_id)["status"] == "APPROVED")
    watched_page.assert_clean()


def test_submit_page_says_when_a_restarted_service_no_longer_knows_a_submission(
    watched_page: PageWatch, tmp_path: Path
):
    """A real restart of the local runtime (state lives in memory): the page stops waiting and says so."""
    before = start_runtime(tmp_path / "before")
    try:
        page = watched_page.page
        page.goto(f"{before.rest_url}/")
        waiting = submit_in_page(page, "Forbidden, then forgotten")
        expect(entry(page, waiting, ".status")).to_have_text(WAITING)

        assert before.stop() == 0, before.output()[-3000:]
        expect(entry(page, waiting, ".connection")).to_contain_text("trying again in")  # the user is told
        after = start_runtime(tmp_path / "after", ports=before.ports)
        try:
            expect(entry(page, waiting, ".status")).to_contain_text(FORGOTTEN, timeout=60_000)
            expect(entry(page, waiting)).to_have_class("submission UNKNOWN")
            expect(entry(page, waiting, ".connection")).to_have_text("")

            # It stopped trying: no more requests or sockets for that submission.
            urls = request_urls(page)
            page.wait_for_timeout(3_000)
            assert [url for url in urls if waiting in url] == []

            page.reload()  # the tab keeps its submissions, and the verdict with them
            expect(entry(page, waiting, ".status")).to_contain_text(FORGOTTEN)
            watched_page.screenshot("submit-forgotten.png")
            watched_page.assert_clean()
        finally:
            after.stop()
    finally:
        before.stop()
