"""Fixtures for the browser tests: the local runtime (tests/local_runtime's own fixture) and Debian's headless Chromium.

Playwright drives /usr/bin/chromium (installed by ``make test``); it never downloads a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.local_runtime.conftest import ROOT, runtime  # noqa: F401  (the runtime fixture, shared per module)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
# What works on these machines: no sandbox as root, no GPU, and no background traffic to a closed network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"
TIMEOUT_MS = 30_000

# Runs before any page script, outside the page's CSP: every violation becomes a console error the watch sees.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
}, true);
"""


@dataclass
class PageWatch:
    """A page and what went wrong on it: CSP violations (console or event) and uncaught script errors."""

    page: Page
    violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("CSP violation"):
            self.violations.append(message.text)

    def assert_clean(self) -> None:
        assert self.violations == [], self.violations
        assert self.script_errors == [], self.script_errors

    def screenshot(self, name: str) -> Path:
        """Saved under .artifacts/screenshots (git-ignored) for a person to look at."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per module; each test gets its own context (fresh storage).

    Not per session: Playwright's sync API marks this thread as running an asyncio loop until it
    stops, and later tests (tests/local_runtime) call ``asyncio.run``.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, empty user-data-dir of its own.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[], PageWatch]]:
    """Opens watched pages, each in its own context (its own storage: one person each); all closed after the test."""
    contexts: list[BrowserContext] = []

    def open_one() -> PageWatch:
        context = browser.new_context()
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(_REPORT_VIOLATIONS)
        page = context.new_page()
        watch = PageWatch(page)
        page.on("console", watch.on_console)
        page.on("pageerror", lambda error: watch.script_errors.append(str(error)))
        return watch

    try:
        yield open_one
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def watched_page(open_page: Callable[[], PageWatch]) -> PageWatch:
    return open_page()


def request_urls(page: Page) -> list[str]:
    """Every URL the page asks for from now on (HTTP requests and WebSocket handshakes), in order."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    return urls


def first(items: list[dict[str, Any]], **wanted: Any) -> dict[str, Any] | None:
    return next((item for item in items if all(item.get(key) == value for key, value in wanted.items())), None)
