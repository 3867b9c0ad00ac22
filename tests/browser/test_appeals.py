"""An appeal in a real browser: rejected in the dashboard, appealed from the submit page, overturned by someone else."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import PageWatch
from tests.browser.test_dashboard import create_reviewer, open_review, queued, sign_in, submit_article
from tests.browser.test_pages import entry, submission
from tests.local_runtime.conftest import RunningRuntime

MESSAGE = "It is a recipe: forbidden rice is a kind of black rice."


def test_a_rejection_is_appealed_from_the_submit_page_and_overturned_by_a_second_reviewer_live(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    carol_watch, dave_watch, author_watch = open_page(), open_page(), open_page()
    carol, dave, author = carol_watch.page, dave_watch.page, author_watch.page
    sign_in(carol, runtime, create_reviewer(runtime, "carol"), "carol")
    sign_in(dave, runtime, create_reviewer(runtime, "dave"), "dave")
    author.goto(f"{runtime.rest_url}/")
    author.evaluate("window.notReloaded = true")
    title = "Forbidden rice with mushrooms"
    submission_id = submit_article(author, title, "Soak the rice overnight.")

    # carol rejects it in the dashboard; the author's page shows it, and offers an appeal.
    open_review(carol, title)
    carol.fill("#reason", "Looks like spam")
    carol.get_by_role("button", name="Reject", exact=True).click()
    expect(carol.locator("#decision-result")).to_have_text("Rejected by you (carol) with the reason “Looks like spam”.")
    expect(entry(author, submission_id, ".status")).to_have_text("Rejected")
    expect(entry(author, submission_id, ".reason")).to_have_text("Reason: Looks like spam")
    entry(author, submission_id).get_by_role("button", name="Appeal").click()
    entry(author, submission_id).get_by_label("Why should the decision change?").fill(MESSAGE)
    entry(author, submission_id).get_by_role("button", name="Send appeal").click()
    expect(entry(author, submission_id, ".status")).to_have_text("Appealed: waiting for another moderator…")
    expect(entry(author, submission_id).get_by_role("button", name="Appeal")).to_have_count(0)  # once only

    # The appeal arrives in both queues live, marked, with the decision it contests and the author's message.
    expect(queued(dave, title)).to_contain_text("appeal")
    expect(queued(dave, title)).to_contain_text("appeal of: rejected by carol (other): “Looks like spam”")
    open_review(carol, title)
    expect(carol.locator("#review-appeal")).to_contain_text("You made the original decision")
    carol.get_by_role("button", name="Approve", exact=True).click()
    expect(carol.locator("#decision-result")).to_contain_text("Not yours to decide")
    open_review(dave, title)
    appeal = dave.locator("#review-appeal")
    expect(appeal).to_contain_text("The author appeals: rejected by carol")
    expect(appeal).to_contain_text("Why: category other · “Looks like spam”")
    expect(appeal.locator(".appeal-message")).to_have_text(MESSAGE)
    dave.get_by_role("button", name="Approve", exact=True).click()
    expect(dave.locator("#decision-result")).to_have_text("Approved by you (dave).")

    # The author's page follows the appeal live to its outcome.
    expect(entry(author, submission_id, ".status")).to_have_text("Appeal accepted: your article is published")
    assert author.evaluate("window.notReloaded") is True
    shown = submission(runtime, submission_id)
    assert (shown["status"], shown["appeal"]) == ("APPROVED", "overturned")
    expect(dave.locator("#history > li[data-event=appeal_decided]")).to_contain_text("overturned (approved by dave)")
    for watch in (carol_watch, dave_watch, author_watch):
        watch.assert_clean()
