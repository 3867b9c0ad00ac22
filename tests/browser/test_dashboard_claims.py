"""The dashboard's claims, bulk decisions and deadline order (SPEC §14) in real browsers, on the local runtime."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Response, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_dashboard import create_reviewer, history_events, open_review, queued, sign_in
from tests.browser.test_pages import pending_review, submission
from tests.local_runtime.conftest import RunningRuntime, http, submit, wait_for


def test_one_reviewer_sees_the_others_claim_live_and_takes_it_when_released(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    alice_watch, bob_watch = open_page(), open_page()
    alice, bob = alice_watch.page, bob_watch.page
    sign_in(alice, runtime, create_reviewer(runtime, "alice"), "alice")
    sign_in(bob, runtime, create_reviewer(runtime, "bob"), "bob")
    title = "A forbidden claim in the queue"
    submission_id = submit(runtime, title)
    expect(queued(alice, title)).to_have_count(1)
    expect(queued(bob, title)).to_have_count(1)

    open_review(alice, title)

    expect(alice.locator("#review-claim")).to_have_text(
        "You are reviewing this: others see “alice is reviewing” until you close it."
    )
    expect(queued(bob, title).locator(".claimed-by")).to_have_text("alice is reviewing")  # live, no reload
    expect(queued(alice, title).locator(".claimed-by")).to_have_text("you are reviewing")
    review = pending_review(runtime, submission_id)
    assert review["claimedBy"] == "alice"

    open_review(bob, title)  # bob may read it, not decide it
    expect(bob.locator("#review-claim")).to_contain_text("alice is reviewing this review")
    expect(bob.get_by_role("button", name="Approve", exact=True)).to_be_disabled()
    expect(bob.get_by_role("button", name="Reject", exact=True)).to_be_disabled()

    alice.keyboard.press("Escape")  # closing releases the claim; bob's open page takes it at once
    expect(alice.locator("#review")).to_be_hidden()
    expect(bob.locator("#review-claim")).to_have_text(
        "You are reviewing this: others see “bob is reviewing” until you close it."
    )
    expect(bob.get_by_role("button", name="Reject", exact=True)).to_be_enabled()
    expect(queued(alice, title).locator(".claimed-by")).to_have_text("bob is reviewing")

    bob.fill("#reason", "spam")
    bob.get_by_role("button", name="Reject", exact=True).click()
    expect(bob.locator("#decision-result")).to_have_text("Rejected by you (bob) with the reason “spam”.")
    expect(queued(alice, title)).to_have_count(0)
    expect(bob.locator("#review-claim")).to_have_text("")
    assert wait_for(lambda: submission(runtime, submission_id)["status"] == "REJECTED")
    expect(bob.locator("#history > li[data-event=decided]")).to_contain_text("rejected (other) by bob")
    events = history_events(bob)
    assert events.count("claimed") == 2 and "released" in events
    assert events.index("claimed") < events.index("released") < events.index("decided")
    for watch in (alice_watch, bob_watch):
        watch.assert_clean()


def test_a_closed_tab_releases_its_claim(runtime: RunningRuntime, open_page: Callable[[], PageWatch]):
    carol_watch, dave_watch = open_page(), open_page()
    carol, dave = carol_watch.page, dave_watch.page
    sign_in(carol, runtime, create_reviewer(runtime, "carol"), "carol")
    sign_in(dave, runtime, create_reviewer(runtime, "dave"), "dave")
    title = "A forbidden tab closed"
    submission_id = submit(runtime, title)
    open_review(carol, title)
    expect(queued(dave, title).locator(".claimed-by")).to_have_text("carol is reviewing")

    carol.close()

    expect(queued(dave, title).locator(".claimed-by")).to_have_count(0)
    assert "claimedBy" not in pending_review(runtime, submission_id)
    dave_watch.assert_clean()


def test_several_reviews_are_selected_by_keyboard_and_rejected_with_one_reason(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    erin_watch, frank_watch = open_page(), open_page()
    erin, frank = erin_watch.page, frank_watch.page
    sign_in(erin, runtime, create_reviewer(runtime, "erin"), "erin")
    sign_in(frank, runtime, create_reviewer(runtime, "frank"), "frank")
    titles = ["Forbidden spam one", "Forbidden spam two", "Forbidden spam three"]
    ids = [submit(runtime, title) for title in titles]
    for title in titles:
        expect(queued(erin, title)).to_have_count(1)
    open_review(frank, titles[2])  # frank holds the third: erin's batch cannot decide it
    expect(queued(erin, titles[2]).locator(".claimed-by")).to_have_text("frank is reviewing")

    for title in titles:
        box = erin.get_by_role("checkbox", name=f"Select “{title}”")
        box.focus()
        erin.keyboard.press("Space")
        expect(box).to_be_checked()
    expect(erin.locator("#bulk-count")).to_have_text("3 selected")
    erin.fill("#bulk-reason", "spam")
    erin.get_by_role("button", name="Reject selected").click()

    expect(erin.locator("#bulk-result")).to_have_text(
        "2 rejected with the reason “spam”; not decided: “Forbidden spam three” "
        "(frank is reviewing this review (it is claimed by frank))."
    )
    for title in titles[:2]:
        expect(queued(erin, title)).to_have_count(0)
        expect(queued(frank, title)).to_have_count(0)
    expect(queued(erin, titles[2])).to_have_count(1)
    expect(erin.locator("#bulk-count")).to_have_text("1 selected")
    for submission_id in ids[:2]:
        assert wait_for(lambda submission_id=submission_id: submission(runtime, submission_id)["status"] == "REJECTED")
        assert submission(runtime, submission_id)["reason"] == "spam"
    assert submission(runtime, ids[2])["status"] == "IN_REVIEW"

    erin.get_by_role("button", name="Clear selection").click()
    expect(erin.locator("#bulk-count")).to_have_text("none selected")
    expect(erin.locator("#select-all")).to_be_focused()
    for watch in (erin_watch, frank_watch):
        watch.assert_clean()


def test_the_queue_orders_by_soonest_deadline(runtime: RunningRuntime, open_page: Callable[[], PageWatch]):
    watch = open_page()
    page = watch.page
    sign_in(page, runtime, create_reviewer(runtime, "grace"), "grace")
    title = "Forbidden by deadline"
    submit(runtime, title)
    expect(queued(page, title)).to_have_count(1)
    with page.expect_response(lambda response: "order=deadline" in response.url) as reordered:
        page.select_option("#queue-order", "deadline")
    assert reordered.value.status == 200
    expect(queued(page, title)).to_have_count(1)
    listed = http(
        "GET", f"{runtime.rest_url}/reviews?status=pending&order=deadline&limit=100", headers=runtime.admin_headers
    )
    expected = [item["reviewId"] for item in listed.body["items"]]
    expect(page.locator("#queue > li")).to_have_count(len(expected))
    for position, review_id in enumerate(expected):
        expect(page.locator("#queue > li").nth(position)).to_have_attribute("data-review-id", review_id)
    late = "Forbidden and new"
    submit(runtime, late)
    expect(page.locator("#queue > li").last).to_contain_text(late)  # the same timeout: the latest deadline
    watch.assert_clean()


def test_an_open_review_renews_its_claim_every_third_of_claim_seconds(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    watch = open_page()
    page = watch.page
    page.clock.install()  # the page's timers on a clock the test moves: no waiting for the renewal
    sign_in(page, runtime, create_reviewer(runtime, "heidi"), "heidi")
    title = "Forbidden and read slowly"
    submission_id = submit(runtime, title)

    def claim_answer(method: str) -> Callable[[Response], bool]:
        return lambda response: response.url.endswith("/claim") and response.request.method == method

    with page.expect_response(claim_answer("POST")) as claimed:
        open_review(page, title)
    assert claimed.value.status == 200
    first = pending_review(runtime, submission_id)["claimExpiresAt"]

    with page.expect_response(claim_answer("POST")) as renewal:
        page.clock.fast_forward("05:01")  # a third of CLAIM_SECONDS (900 s) and a second
    assert renewal.value.status == 200
    renewed = pending_review(runtime, submission_id)
    assert renewed["claimedBy"] == "heidi" and renewed["claimExpiresAt"] >= first

    with page.expect_response(claim_answer("DELETE")) as released:
        page.keyboard.press("Escape")
    assert released.value.status == 204
    assert "claimedBy" not in pending_review(runtime, submission_id)
    watch.assert_clean()
