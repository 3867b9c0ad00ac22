"""API Gateway's idle timeout end to end: the runtime closes quiet sockets, the app forgets them, and both pages reconnect and stay live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocket, expect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.browser.conftest import PageWatch
from tests.browser.test_dashboard import create_reviewer, queued, sign_in
from tests.browser.test_pages import PUBLISHED, WAITING, entry, pending_review, submit_in_page
from tests.local_runtime.conftest import RunningRuntime, http, start_runtime, wait_for
from tests.local_runtime.test_runtime import app_ping, stored_connection_ids, stored_items, submit_and_wait_for_review

# Short enough to watch a socket time out, long enough for a decision to reach the socket that replaced it.
IDLE_TIMEOUT_SECONDS = 4
SOCKET_WAIT_MS = IDLE_TIMEOUT_SECONDS * 5_000


@pytest.fixture(scope="module")
def idle_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    running = start_runtime(tmp_path_factory.mktemp("idle"), WS_IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT_SECONDS))
    try:
        yield running
    finally:
        exit_status = running.stop()
    assert exit_status == 0, running.output()[-3000:]


class Frames:
    """The JSON messages the server sent on one of the page's sockets."""

    def __init__(self, socket: WebSocket) -> None:
        self.socket = socket
        self.received: list[dict[str, Any]] = []
        socket.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    def has(self, **wanted: Any) -> bool:
        return any(all(message.get(key) == value for key, value in wanted.items()) for message in self.received)


def sockets_of(page: Page, url_part: str = "") -> list[Frames]:
    """Every WebSocket the page opens from now on (whose URL contains ``url_part``), with its frames."""
    opened: list[Frames] = []
    page.on("websocket", lambda socket: opened.append(Frames(socket)) if url_part in socket.url else None)
    return opened


def wait_until(page: Page, condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` while the page's events keep flowing (Playwright dispatches them while it waits)."""
    for _ in range(SOCKET_WAIT_MS // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting until {what}")


def idle_closes(runtime: RunningRuntime) -> int:
    return runtime.output().count(f"no message for {IDLE_TIMEOUT_SECONDS} s")


def test_an_idle_connection_is_closed_with_1001_and_forgotten_by_the_app(idle_runtime: RunningRuntime) -> None:
    submission_id = submit_and_wait_for_review(idle_runtime, "A forbidden title nobody decides yet")

    async def connect_then_idle() -> tuple[str, int | None]:
        async with connect(f"{idle_runtime.ws_url}/?submissionId={submission_id}") as socket:
            await app_ping(socket)  # $connect has stored it by now
            (connection_id,) = await asyncio.to_thread(stored_connection_ids, idle_runtime, submission_id)
            try:
                async with asyncio.timeout(IDLE_TIMEOUT_SECONDS * 3):
                    await socket.recv()
            except ConnectionClosed as closed:
                return connection_id, closed.rcvd.code if closed.rcvd else None
        raise AssertionError("the idle connection stayed open")

    connection_id, code = asyncio.run(connect_then_idle())
    assert code == 1001  # what API Gateway closes idle connections with
    wait_for(lambda: not stored_items(idle_runtime, connection_id))  # $disconnect ran
    assert not stored_connection_ids(idle_runtime, submission_id)


def test_the_submit_page_reconnects_after_the_idle_timeout_and_still_gets_its_decision(
    idle_runtime: RunningRuntime, watched_page: PageWatch
) -> None:
    page = watched_page.page
    page.goto(f"{idle_runtime.rest_url}/")
    page.evaluate("window.notReloaded = true")
    sockets = sockets_of(page, "submissionId=")
    closes_before = idle_closes(idle_runtime)
    waiting = submit_in_page(page, "Forbidden, and left to wait")
    expect(entry(page, waiting, ".status")).to_have_text(WAITING)

    # The first socket says nothing for the idle timeout: the gateway closes it, the page opens another.
    wait_until(page, lambda: len(sockets) >= 2 and sockets[0].socket.is_closed(), "the page reconnected")
    assert idle_closes(idle_runtime) > closes_before
    reconnected = sockets[-1]
    wait_until(page, lambda: reconnected.has(type="status", submissionId=waiting), "the new socket subscribed")

    review = pending_review(idle_runtime, waiting)
    approved = http(
        "POST",
        f"{idle_runtime.rest_url}/reviews/{review['reviewId']}/approve",
        {"reason": "patience rewarded"},
        idle_runtime.admin_headers,
    )
    assert approved.status == 200, approved

    expect(entry(page, waiting, ".status")).to_have_text(PUBLISHED)
    expect(entry(page, waiting, ".reason")).to_have_text("Reason: patience rewarded")
    assert any(frames.has(type="decision", submissionId=waiting) for frames in sockets[1:]), (
        "the decision came on a reconnected socket"
    )
    assert page.evaluate("window.notReloaded") is True
    watched_page.assert_clean()


def test_the_dashboard_reconnects_after_the_idle_timeout_and_new_reviews_still_appear(
    idle_runtime: RunningRuntime, watched_page: PageWatch
) -> None:
    page = watched_page.page
    sockets = sockets_of(page)
    sign_in(page, idle_runtime, create_reviewer(idle_runtime, "erin"), "erin")
    page.evaluate("window.notReloaded = true")

    wait_until(page, lambda: len(sockets) >= 2 and sockets[0].socket.is_closed(), "the dashboard reconnected")
    reconnected = sockets[-1]
    wait_until(page, lambda: reconnected.has(type="watching"), "the new socket watches the queue again")
    expect(page.locator("#live")).to_have_text("Live")

    title = "Forbidden news after a reconnect"
    assert http("POST", f"{idle_runtime.rest_url}/submissions", {"title": title}).status == 202
    expect(queued(page, title)).to_have_count(1)
    assert any(frames.has(type="review", event="created") for frames in sockets[1:]), (
        "the new review came on a reconnected socket"
    )
    assert page.evaluate("window.notReloaded") is True
    watched_page.assert_clean()
