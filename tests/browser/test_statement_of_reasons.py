"""SPEC §15's statement of reasons in a real browser: a reviewer rejects with a category; the author's page shows it."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import PageWatch
from tests.browser.test_dashboard import create_reviewer, decided, open_review, queued, sign_in, submit_article
from tests.browser.test_pages import entry
from tests.local_runtime.conftest import RunningRuntime


def test_a_rejection_with_a_category_reaches_the_authors_page_live_and_after_a_reload(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    reviewer_watch, author_watch = open_page(), open_page()
    reviewer, author = reviewer_watch.page, author_watch.page
    sign_in(reviewer, runtime, create_reviewer(runtime, "dora"), "dora")
    author.goto(f"{runtime.rest_url}/")
    title = "Forbidden deals, today only"
    flagged = submit_article(author, title, "Buy now!")
    expect(queued(reviewer, title)).to_have_count(1)

    open_review(reviewer, title)
    category = reviewer.locator("#category")
    expect(category.locator("option")).to_have_text(
        ["spam", "hate", "harassment", "violence", "sexual", "illegal", "off-topic", "other"]
    )
    expect(category).to_have_value("other")  # what a rejection without a choice gets
    reviewer.fill("#reason", "Advertising")
    category.select_option("spam")
    reviewer.get_by_role("button", name="Reject", exact=True).click()
    expect(reviewer.locator("#decision-result")).to_have_text(
        "Rejected as spam by you (dora) with the reason “Advertising”."
    )
    expect(decided(reviewer, title)).to_contain_text("spam")
    expect(reviewer.locator("#history > li[data-event=decided]")).to_contain_text("rejected (spam) by dora")

    # The author's page, live over its WebSocket: the decision, its category and reason, and that a person made it.
    expect(entry(author, flagged, ".status")).to_have_text("Rejected")
    expect(entry(author, flagged, ".category")).to_have_text("Category: spam")
    expect(entry(author, flagged, ".reason")).to_have_text("Reason: Advertising")
    expect(entry(author, flagged, ".decided-by")).to_have_text("Decided by a moderator")
    author.reload()
    expect(entry(author, flagged, ".category")).to_have_text("Category: spam")
    expect(entry(author, flagged, ".decided-by")).to_have_text("Decided by a moderator")

    # A clean article is published by the check itself: the page says so.
    clean = submit_article(author, "A calm walk along the river")
    expect(entry(author, clean, ".status")).to_have_text("Published")
    expect(entry(author, clean, ".decided-by")).to_have_text("Decided automatically (the automatic content check)")
    expect(entry(author, clean, ".category")).to_have_text("")
    for watch in (reviewer_watch, author_watch):
        watch.assert_clean()
