"""The reviewers' dashboard in a real browser: two reviewers, the live queue, decisions, history and the team."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from tests.browser.conftest import PageWatch, request_urls
from tests.browser.test_pages import entry, pending_review
from tests.local_runtime.conftest import RunningRuntime, http, submit

PUBLISHED = "Published"
WAITING = "Waiting for a moderator…"
# The service's default RISK_REVIEW_THRESHOLD, which the dashboard marks as high risk.
HIGH_RISK = 0.5


def create_reviewer(runtime: RunningRuntime, name: str, role: str = "reviewer") -> str:
    """A reviewer created with the API, as an admin would with curl; their personal token."""
    created = http("POST", f"{runtime.rest_url}/reviewers", {"name": name, "role": role}, runtime.admin_headers)
    assert created.status == 201, created
    return str(created.body["token"])


def sign_in(page: Page, runtime: RunningRuntime, token: str, name: str, role: str = "reviewer") -> None:
    page.goto(f"{runtime.rest_url}/admin")
    page.fill("#token", token)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#who")).to_have_text(f"Signed in as {name} ({role})")  # the socket's "watching" reply
    expect(page.locator("#live")).to_have_text("Live")


def queued(page: Page, title: str) -> Locator:
    return page.locator("#queue > li", has_text=title)


def decided(page: Page, title: str) -> Locator:
    return page.locator("#decided > li", has_text=title)


def open_review(page: Page, title: str) -> None:
    queued(page, title).get_by_role("button").click()
    expect(page.locator("#review")).to_be_focused()


def submit_article(page: Page, title: str, body: str = "") -> str:
    """Submit through the submit page's form; the id of the entry it adds (newest first)."""
    entries = page.locator("#submissions > li")
    count = entries.count()
    page.fill("#title", title)
    page.fill("#body", body)
    page.get_by_role("button", name="Submit").click()
    expect(entries).to_have_count(count + 1)
    submission_id = entries.first.get_attribute("data-submission-id")
    assert submission_id
    return submission_id


def history_events(page: Page) -> list[str]:
    return [str(item.get_attribute("data-event")) for item in page.locator("#history > li").all()]


def test_two_reviewers_work_the_queue_live_and_the_submitter_sees_the_decision(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    alice_watch, bob_watch, submitter_watch = open_page(), open_page(), open_page()
    alice, bob, submitter = alice_watch.page, bob_watch.page, submitter_watch.page
    sign_in(alice, runtime, create_reviewer(runtime, "alice"), "alice")
    sign_in(bob, runtime, create_reviewer(runtime, "bob"), "bob")
    expect(alice.locator("#team")).to_be_hidden()  # the team is for admins
    submitter.goto(f"{runtime.rest_url}/")
    for page in (alice, bob, submitter):
        page.evaluate("window.notReloaded = true")
    title = "A forbidden recipe"
    flagged = submit_article(submitter, title, "Grandma's soup.\nThe secret is FORBIDDEN: a pinch of salt.")
    expect(entry(submitter, flagged, ".status")).to_have_text(WAITING)

    # Both queues get it live: they were loaded before it existed.
    expect(queued(alice, title)).to_have_count(1)
    expect(queued(bob, title)).to_have_count(1)
    expect(queued(bob, title)).to_contain_text("matched: forbidden")

    open_review(alice, title)  # alice claims it; bob reads it while she decides (SPEC §14)
    expect(queued(bob, title).locator(".claimed-by")).to_have_text("alice is reviewing")
    open_review(bob, title)
    expect(bob.locator("#review-title mark")).to_have_text("forbidden")
    expect(bob.locator("#review-body")).to_contain_text("Grandma's soup.")
    expect(bob.locator("#review-body mark")).to_have_text("FORBIDDEN")
    expect(bob.locator("#review-claim")).to_contain_text("alice is reviewing this review")

    alice.fill("#reason", "A recipe, not a threat")
    alice.get_by_role("button", name="Approve", exact=True).click()
    expect(alice.locator("#decision-result")).to_have_text(
        "Approved by you (alice) with the reason “A recipe, not a threat”."
    )
    expect(alice.locator("#announcer")).to_have_text(
        "Approved by you (alice) with the reason “A recipe, not a threat”."
    )

    # bob sees it leave the queue and join the decided list, with who and why; his open copy says so.
    expect(queued(bob, title)).to_have_count(0)
    expect(queued(alice, title)).to_have_count(0)
    expect(decided(bob, title)).to_contain_text("approved by alice")
    expect(decided(bob, title)).to_contain_text("“A recipe, not a threat”")
    expect(bob.locator("#decision-result")).to_have_text(
        "Meanwhile, this review was approved by alice: “A recipe, not a threat”"
    )
    expect(bob.get_by_role("button", name="Reject", exact=True)).to_be_disabled()

    # The submitter's page shows the outcome without a reload; a second submission keeps its own status.
    expect(entry(submitter, flagged, ".status")).to_have_text(PUBLISHED)
    expect(entry(submitter, flagged, ".reason")).to_have_text("Reason: A recipe, not a threat")
    clean = submit_article(submitter, "A calm walk in the park")
    expect(entry(submitter, clean, ".status")).to_have_text(PUBLISHED)
    expect(entry(submitter, clean, ".reason")).to_have_text("")
    expect(entry(submitter, flagged, ".reason")).to_have_text("Reason: A recipe, not a threat")

    # The decided submission's history, in the order it happened.
    expect(alice.locator("#history > li[data-event=decided]")).to_contain_text("approved by alice")
    assert history_events(alice)[:5] == ["submitted", "checked", "review_requested", "claimed", "decided"]
    expect(alice.locator("#history > li[data-event=checked]")).to_contain_text("flagged: forbidden")

    for page in (alice, bob, submitter):
        assert page.evaluate("window.notReloaded") is True, "everything arrived without a reload"
    next_title = "Forbidden knowledge, volume 2"
    http("POST", f"{runtime.rest_url}/submissions", {"title": next_title})
    expect(queued(alice, next_title)).to_contain_text("deadline in 7 days")  # the queue stays live
    alice_watch.screenshot("dashboard.png")  # README: docs/images/ holds a copy
    submitter_watch.screenshot("submit-page.png")
    for watch in (alice_watch, bob_watch, submitter_watch):
        watch.assert_clean()


def hold_review_decisions(page: Page, events: tuple[str, ...] = ("decided",)) -> list[dict[str, Any]]:
    """Keep the "decided" events (or ``events``) from this page's socket, as if they were still on their way.

    That is the moment two reviewers click at once: the page cannot know yet, and only the API can
    say who was first. Everything else passes through unchanged.
    """
    held: list[dict[str, Any]] = []

    def route(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def from_server(message: str | bytes) -> None:
            parsed = json.loads(message)
            if parsed.get("type") == "review" and parsed.get("event") in events:
                held.append(parsed)
            else:
                socket.send(message)

        server.on_message(from_server)

    page.route_web_socket("**", route)
    return held


def test_a_reviewer_who_decides_second_is_told_who_decided_first(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    carol_watch, dave_watch = open_page(), open_page()
    carol, dave = carol_watch.page, dave_watch.page
    # dave's claim never reaches the service (as if it failed) and carol's claim has not reached his
    # page yet, so his buttons stay usable: a claim he knew of would keep him from deciding (SPEC §14).
    held = hold_review_decisions(dave, ("decided", "claimed"))
    dave.route("**/claim", lambda route: route.fulfill(status=503, json={"error": {"code": "x", "message": "down"}}))
    sign_in(carol, runtime, create_reviewer(runtime, "carol"), "carol")
    sign_in(dave, runtime, create_reviewer(runtime, "dave"), "dave")
    title = "Forbidden twice over"
    http("POST", f"{runtime.rest_url}/submissions", {"title": title})
    open_review(dave, title)
    expect(dave.locator("#review-claim")).to_contain_text("Could not claim it (down)")
    open_review(carol, title)

    carol.get_by_role("button", name="Reject", exact=True).click()
    expect(carol.locator("#decision-result")).to_have_text("Rejected by you (carol).")
    dave.fill("#reason", "Looks fine to me")
    dave.get_by_role("button", name="Approve", exact=True).click()

    expect(dave.locator("#decision-result")).to_have_text(
        "Someone decided first: the review was already rejected by carol. Your decision was not recorded."
    )
    assert [event["review"]["decidedBy"] for event in held if event["event"] == "decided"] == ["carol"]
    expect(dave.get_by_role("button", name="Approve", exact=True)).to_be_disabled()
    carol_watch.assert_clean()
    dave_watch.assert_clean()


def test_a_script_title_renders_as_text_in_the_dashboard(runtime: RunningRuntime, open_page: Callable[[], PageWatch]):
    watch = open_page()
    page = watch.page
    sign_in(page, runtime, create_reviewer(runtime, "erin"), "erin")
    title = '<script>window.injected = 1</script><img src=x onerror="window.injected = 2"> forbidden'
    http("POST", f"{runtime.rest_url}/submissions", {"title": title, "body": "<b>bold?</b> <script>1</script>"})

    expect(queued(page, title)).to_have_count(1)
    expect(queued(page, title).locator(".title")).to_have_text(title)
    open_review(page, title)

    expect(page.locator("#review-title")).to_have_text(title)
    expect(page.locator("#review-title mark")).to_have_text("forbidden")
    expect(page.locator("#review-body")).to_have_text("<b>bold?</b> <script>1</script>")
    assert page.locator("#workspace script, #workspace img, #workspace b").count() == 0
    assert page.evaluate("window.injected") is None
    watch.assert_clean()


def test_a_wrong_token_is_refused_at_sign_in(runtime: RunningRuntime, open_page: Callable[[], PageWatch]):
    watch = open_page()
    page = watch.page
    page.goto(f"{runtime.rest_url}/admin")

    page.fill("#token", "cmr_not-a-real-token")
    page.keyboard.press("Enter")

    expect(page.locator("#sign-in-error")).to_have_text(
        "That token was not accepted. Check it, or ask an admin for a new one."
    )
    expect(page.locator("#workspace")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    watch.assert_clean()


def test_an_admin_creates_and_removes_a_reviewer_and_signs_out(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    watch = open_page()
    page = watch.page
    sign_in(page, runtime, runtime.admin_token, "admin", "admin")
    expect(page.locator("#team")).to_be_visible()

    page.fill("#reviewer-name", "frank")
    page.select_option("#reviewer-role", "reviewer")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#new-token-name")).to_have_text("frank (reviewer)")
    token = page.locator("#new-token-value").inner_text()
    assert token.startswith("cmr_")
    expect(page.locator("#reviewers tr[data-reviewer=frank]")).to_contain_text("reviewer")
    frank = {"Authorization": f"Bearer {token}"}
    assert http("GET", f"{runtime.rest_url}/reviews?status=pending", headers=frank).status == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove frank").click()
    expect(page.locator("#reviewers tr[data-reviewer=frank]")).to_have_count(0)
    assert http("GET", f"{runtime.rest_url}/reviews?status=pending", headers=frank).status == 401

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#token")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0
    watch.assert_clean()


def queue_in_order(page: Page, *titles: str) -> Locator:
    """The queue's entries for these titles (and no others), in the order the page lists them."""
    pattern = re.compile("|".join(re.escape(title) for title in titles))
    return page.locator("#queue > li").filter(has=page.locator(".title", has_text=pattern))


def expect_queue_order(page: Page, *titles: str) -> None:
    expect(queue_in_order(page, *titles)).to_have_text([re.compile(re.escape(title)) for title in titles])


def shown_score(score: float) -> str:
    """How the dashboard writes a score: two decimals, cut (so nothing under the mark reads 0.50)."""
    return f"{math.floor(score * 100 + 1e-9) / 100:.2f}"


def shown_labels(risk: dict[str, Any]) -> list[str]:
    """The top three labels above zero as the dashboard writes them ("insult 0.99")."""
    ranked = sorted(
        ((name, score) for name, score in risk["labels"].items() if score > 0), key=lambda item: (-item[1], item[0])
    )
    return [f"{name.lower().replace('_', ' ')} {shown_score(score)}" for name, score in ranked[:3]]


def test_a_flagged_review_shows_its_risk_score_and_labels(runtime: RunningRuntime, open_page: Callable[[], PageWatch]):
    watch = open_page()
    page = watch.page
    sign_in(page, runtime, create_reviewer(runtime, "grace"), "grace")
    abusive = "you are a worthless idiot and I hate you"  # no listed word: the model's score sends it to review
    mild = "forbidden fruit sorbet"  # a listed word, and a score under the threshold
    abusive_risk = pending_review(runtime, submit(runtime, abusive))["risk"]
    mild_risk = pending_review(runtime, submit(runtime, mild))["risk"]
    assert abusive_risk["score"] >= HIGH_RISK > mild_risk["score"], (abusive_risk, mild_risk)
    assert shown_labels(abusive_risk), abusive_risk  # the model named what it found

    high = queued(page, abusive).locator(".risk")
    expect(high).to_have_class(re.compile(r"\bhigh\b"))
    expect(high).to_have_text(
        f"high risk {shown_score(abusive_risk['score'])} · " + ", ".join(shown_labels(abusive_risk))
    )
    low = queued(page, mild).locator(".risk")
    expect(low).not_to_have_class(re.compile(r"\bhigh\b"))
    expect(low).to_contain_text(f"risk {shown_score(mild_risk['score'])}")
    expect(queued(page, mild)).to_contain_text("matched: forbidden")

    open_review(page, abusive)
    expect(page.locator("#review-risk .risk.high")).to_contain_text(f"high risk {shown_score(abusive_risk['score'])}")
    for label in shown_labels(abusive_risk):
        expect(page.locator("#review-risk")).to_contain_text(label)
    expect(page.locator("#review-risk")).to_contain_text(f"scored by {abusive_risk['model']}")
    checked = page.locator("#history > li[data-event=checked]")
    expect(checked).to_contain_text(f"risk {shown_score(abusive_risk['score'])}")
    expect(checked).to_contain_text("route: review")
    watch.screenshot("dashboard-risk.png")
    watch.assert_clean()


def test_the_queue_sorted_by_risk_lists_high_scores_first_and_stays_live(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    watch = open_page()
    page = watch.page
    urls = request_urls(page)
    sign_in(page, runtime, create_reviewer(runtime, "henry"), "henry")
    low, high = "forbidden fruit salad recipe", "shut up you worthless idiot"
    score = {title: pending_review(runtime, submit(runtime, title))["risk"]["score"] for title in (low, high)}
    assert score[high] >= HIGH_RISK > score[low], score
    expect_queue_order(page, low, high)  # oldest first by default
    page.evaluate("window.notReloaded = true")

    page.locator("#queue-order").focus()
    page.keyboard.press("End")  # the last option: highest risk first
    expect(page.locator("#queue-order")).to_have_value("risk")
    expect_queue_order(page, high, low)
    assert any("status=pending" in url and "order=risk" in url for url in urls), urls

    # New reviews arriving over the socket take their place in the risk order, not the end of the list.
    middle, higher = "a forbidden fruit tart for Sunday", "what a worthless idiot you are"
    score[middle] = pending_review(runtime, submit(runtime, middle))["risk"]["score"]
    assert HIGH_RISK > score[middle] > score[low], score
    expect_queue_order(page, high, middle, low)
    score[higher] = pending_review(runtime, submit(runtime, higher))["risk"]["score"]
    assert score[higher] >= HIGH_RISK, score
    expect_queue_order(page, higher, middle, low)
    expect(queue_in_order(page, high, higher).locator(".risk.high")).to_have_count(2)

    page.select_option("#queue-order", "oldest")
    expect_queue_order(page, low, high, middle, higher)
    assert page.evaluate("window.notReloaded") is True, "the order changed without a reload"
    watch.assert_clean()


def test_a_review_the_model_could_not_score_says_so_and_sorts_first_by_risk(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    """The local model always answers, so the socket brings the one review it could not score (SPEC §13's error shape)."""
    watch = open_page()
    page = watch.page
    unscored = {
        "reviewId": "00000000-0000-4000-8000-000000000001",
        "submissionId": "00000000-0000-4000-8000-000000000002",
        "title": "Throttled while checking",
        "matches": [],
        "status": "PENDING",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "deadline": "2026-01-08T00:00:00.000Z",
        "risk": {"error": "ThrottlingException"},
    }

    created = json.dumps({"type": "review", "event": "created", "review": unscored})
    sockets: list[WebSocketRoute] = []

    def route(socket: WebSocketRoute) -> None:
        sockets.append(socket)
        server = socket.connect_to_server()

        def from_server(message: str | bytes) -> None:
            socket.send(message)
            if json.loads(message).get("type") == "watching":
                socket.send(created)

        server.on_message(from_server)

    page.route_web_socket("**", route)
    sign_in(page, runtime, create_reviewer(runtime, "ivy"), "ivy")
    scored = "you are a worthless idiot, and I hate you"
    pending_review(runtime, submit(runtime, scored))

    expect(queued(page, unscored["title"]).locator(".risk.unscored")).to_have_text(
        "risk: not scored (ThrottlingException)"
    )
    page.select_option("#queue-order", "risk")
    expect(queued(page, scored).locator(".risk.high")).to_be_visible()
    expect(queued(page, unscored["title"])).to_have_count(0)  # not stored, so the reloaded list lacks it
    sockets[-1].send(created)  # as if it had just been created
    expect_queue_order(page, unscored["title"], scored)  # errors first: a human must look
    watch.assert_clean()


def shown_figure(page: Page, label: str) -> Locator:
    return page.locator("#stats-figures > div", has_text=label).locator("dd")


def test_the_figures_panel_agrees_with_get_stats_and_follows_the_queue_live(
    runtime: RunningRuntime, open_page: Callable[[], PageWatch]
):
    """SPEC §16: the panel shows GET /stats, and a review created or decided elsewhere updates it in place."""
    watch = open_page()
    page = watch.page
    sign_in(page, runtime, create_reviewer(runtime, "heidi"), "heidi")

    def stats() -> dict[str, Any]:
        answer = http("GET", f"{runtime.rest_url}/stats", headers=runtime.admin_headers)
        assert answer.status == 200, answer
        return dict(answer.body)

    before = stats()
    expect(shown_figure(page, "Pending")).to_have_text(str(before["pending"]))
    expect(shown_figure(page, "Submitted (24 h)")).to_have_text(str(before["last24h"]["submitted"]))
    expect(shown_figure(page, "Rate limited (24 h)")).to_have_text(str(before["last24h"]["rateLimited"]))
    expect(shown_figure(page, "Notifications skipped (24 h)")).to_have_text(
        str(before["last24h"]["notificationsSkipped"])
    )

    title = "forbidden figures for the panel"
    review = pending_review(runtime, submit(runtime, title))
    expect(queued(page, title)).to_be_visible()
    expect(shown_figure(page, "Pending")).to_have_text(str(before["pending"] + 1))
    expect(shown_figure(page, "Submitted (24 h)")).to_have_text(str(before["last24h"]["submitted"] + 1))
    expect(shown_figure(page, "Flagged (24 h)")).to_have_text(str(before["last24h"]["flagged"] + 1))

    decided_by_admin = http(
        "POST", f"{runtime.rest_url}/reviews/{review['reviewId']}/approve", None, runtime.admin_headers
    )
    assert decided_by_admin.status == 200, decided_by_admin
    expect(queued(page, title)).to_have_count(0)
    expect(shown_figure(page, "Pending")).to_have_text(str(before["pending"]))
    expect(shown_figure(page, "Approved (24 h)")).to_have_text(str(before["last24h"]["approved"] + 1))
    expect(page.locator("#stats-reviewers")).to_contain_text("admin")
    after = stats()
    assert after["pending"] == before["pending"]
    assert after["last24h"]["approved"] == before["last24h"]["approved"] + 1
    expect(shown_figure(page, "Approved (24 h)")).to_have_text(str(after["last24h"]["approved"]))
    watch.assert_clean()
