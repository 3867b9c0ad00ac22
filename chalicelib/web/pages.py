"""The HTML pages (submit page, admin dashboard, signed-link confirmation) and the static files they load."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from html import escape
from pathlib import Path

from chalicelib.errors import NotFoundError

_STATIC = Path(__file__).resolve().parent / "static"

# The only files GET /static/{name} serves: a fixed allow-list, so no name can reach another file.
_STATIC_TYPES = {
    "submit.js": "text/javascript; charset=utf-8",
    "submit.css": "text/css; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}
# Where an HTML page names its scripts and styles: replaced by the stage's base path ("" locally).
_BASE_PATH_MARK = "{{basePath}}"
# API Gateway's stage names: letters, digits, hyphens and underscores.
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
# The names are not versioned and the HTML is no-store: a short lifetime lets a deploy reach browsers soon.
STATIC_CACHE_CONTROL = "public, max-age=300"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "button{font-size:1rem;padding:.5rem 1.25rem;border-radius:.3rem;border:1px solid #888;cursor:pointer}"
    ".approve{background:#e5f6e8}.reject{background:#fbe6e6}.muted{color:#666}"
)


def _style_hash(style: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii") + "'"


# Scripts and styles come only from our own files; the one inline <style> (the signed-link pages, whose
# URL depth varies) is allowed by its hash. Data is rendered with textContent, never as HTML.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'self'; style-src 'self' {_style_hash(_STYLE)}; "
    "connect-src 'self' ws: wss:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class StaticFile:
    """A script or stylesheet of the pages, with the Content-Type it is served as."""

    content: str
    content_type: str


@cache
def static_page(name: str) -> str:
    """A file shipped in ``chalicelib/web/static``, as it is (read once per cold start)."""
    return (_STATIC / name).read_text(encoding="utf-8")


def stage_base_path(*, stage: str | None, request_path: str) -> str:
    """The path the API is served under for this request: ``"/api"`` through the stage URL of stage ``api``.

    ``""`` locally (no stage) and on a custom domain, whose URL has no stage in it (API Gateway still
    names the stage, so the request's own path decides). A stage name outside API Gateway's
    alphabet is never echoed back.
    """
    if not stage or _STAGE_NAME.fullmatch(stage) is None:
        return ""
    prefix = f"/{stage}"
    return prefix if request_path == prefix or request_path.startswith(prefix + "/") else ""


@lru_cache(maxsize=16)
def page(name: str, *, base_path: str) -> str:
    """The HTML page ``name`` with its scripts and styles under ``base_path`` (see :func:`stage_base_path`).

    Absolute paths, so the page finds them whether its URL ends in a slash or not (``…/api`` resolves
    ``static/x.js`` to ``/static/x.js``, outside the stage). Built once per cold start per base path.
    Raises ValueError for a base path :func:`stage_base_path` would not return.
    """
    if base_path and not (base_path.startswith("/") and _STAGE_NAME.fullmatch(base_path[1:])):
        raise ValueError(f"not a stage base path: {base_path!r}")
    return static_page(name).replace(_BASE_PATH_MARK, base_path)


def static_file(name: str) -> StaticFile:
    """The allow-listed file ``name`` from ``chalicelib/static``.

    Raises NotFoundError for any other name (never touches the file system for it).
    """
    content_type = _STATIC_TYPES.get(name)
    if content_type is None:
        raise NotFoundError(f"no static file {name!r}")
    return StaticFile(content=static_page(name), content_type=content_type)


def _page(title: str, content: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
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
        f'<p class="muted">Current status: {escape(status)}</p>'
        f'<form method="post" action="?{escape(form_query)}">'
        f'<button type="submit" class="{escape(action)}">{verb}</button></form>',
    )


def message_page(heading: str, message: str) -> str:
    """A plain result or error page."""
    return _page(heading, f"<h1>{escape(heading)}</h1><p>{escape(message)}</p>")
