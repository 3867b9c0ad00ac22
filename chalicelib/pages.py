"""The HTML pages: the submit page, the admin dashboard, and the signed-link confirmation."""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path

_STATIC = Path(__file__).resolve().parent / "static"
# Inline scripts and styles only; data is rendered with textContent, never as HTML.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@cache
def static_page(name: str) -> str:
    """A page shipped in ``chalicelib/static`` (read once per cold start)."""
    return (_STATIC / name).read_text(encoding="utf-8")

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "button{font-size:1rem;padding:.5rem 1.25rem;border-radius:.3rem;border:1px solid #888;cursor:pointer}"
    ".approve{background:#e5f6e8}.reject{background:#fbe6e6}.muted{color:#666}"
)


def _page(title: str, content: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{content}</body></html>"
    )


def confirmation_page(*, action: str, title: str, status: str, form_query: str) -> str:
    """Ask a human to confirm; only the form's POST decides, since mail scanners prefetch GET links."""
    verb = "Approve" if action == "approve" else "Reject"
    return _page(
        f"{verb} submission",
        f"<h1>{verb} this submission?</h1>"
        f"<p><strong>{escape(title)}</strong></p>"
        f"<p class=\"muted\">Current status: {escape(status)}</p>"
        f"<form method=\"post\" action=\"?{escape(form_query)}\">"
        f"<button type=\"submit\" class=\"{escape(action)}\">{verb}</button></form>",
    )


def message_page(heading: str, message: str) -> str:
    """A plain result or error page."""
    return _page(heading, f"<h1>{escape(heading)}</h1><p>{escape(message)}</p>")
