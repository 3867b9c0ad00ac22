"""The submit page and the admin dashboard are served as HTML with a strict policy and no data baked in."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("path", "marker"), [("/", b'id="submit-form"'), ("/admin", b'id="queue"')])
def test_page_is_html_with_security_headers(client, path, marker):
    response = client.http.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert marker in response.body


def test_dashboard_page_needs_no_token_but_contains_no_reviews(client, admin_headers):
    from tests.conftest import pending_review_for, submit

    created = submit(client, "forbidden page check")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    page = client.http.get("/admin")

    assert review["reviewId"].encode() not in page.body
    assert b"forbidden page check" not in page.body


def test_pages_render_untrusted_text_with_textcontent_only(client):
    for path in ("/", "/admin", "/static/submit.js", "/static/admin.js"):
        body = client.http.get(path).body
        assert b"innerHTML" not in body and b"outerHTML" not in body and b"insertAdjacentHTML" not in body, path


def test_websocket_url_is_public_so_the_dashboard_can_watch_the_queue(client):
    response = client.http.get("/websocket-url")

    assert response.status_code == 200
    assert response.json_body == {"websocketUrl": "ws://testserver/ws"}


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = (directive.split() for directive in policy.split(";") if directive.strip())
    return {words[0]: words[1:] for words in parsed}


@pytest.mark.parametrize("path", ["/", "/admin"])
def test_page_policy_allows_no_inline_script_or_style(client, path):
    directives = _directives(client.http.get(path).headers["Content-Security-Policy"])

    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert "'unsafe-eval'" not in directives["script-src"]


@pytest.mark.parametrize(
    ("path", "script", "stylesheet"),
    [("/", b"/static/submit.js", b"/static/submit.css"), ("/admin", b"/static/admin.js", b"/static/admin.css")],
)
def test_pages_load_their_script_and_style_from_files(client, path, script, stylesheet):
    import re

    body = client.http.get(path).body

    assert f'<script src="{script.decode()}" defer></script>'.encode() in body
    assert f'<link rel="stylesheet" href="{stylesheet.decode()}">'.encode() in body
    assert re.search(rb"<script(?![^>]*\bsrc=)[^>]*>", body) is None  # no inline script
    assert b"<style" not in body
    assert re.search(rb"\son[a-z]+\s*=", body) is None  # no inline event handlers
    assert re.search(rb"\sstyle\s*=", body) is None


def _through_stage(chalice_app, path: str, stage: str = "api") -> dict:
    from tests.conftest import BASE_URL
    from tests.stage_gateway import stage_gateway

    return stage_gateway(chalice_app, stage).handle_request(
        method="GET", path=path, headers={"host": BASE_URL.removeprefix("http://")}, body=None
    )


@pytest.mark.parametrize(
    ("path", "script", "stylesheet"),
    [
        ("/api", "/api/static/submit.js", "/api/static/submit.css"),
        ("/api/", "/api/static/submit.js", "/api/static/submit.css"),
        ("/api/admin", "/api/static/admin.js", "/api/static/admin.css"),
        ("/api/admin/", "/api/static/admin.js", "/api/static/admin.css"),
    ],
)
def test_pages_through_a_stage_url_load_their_files_under_the_stage(dispatcher, chalice_app, path, script, stylesheet):
    # "static/x.js" from ".../api" would be ".../static/x.js", outside the stage: the page names the stage.
    response = _through_stage(chalice_app, path)

    assert response["statusCode"] == 200
    assert f'<script src="{script}" defer></script>' in response["body"]
    assert f'<link rel="stylesheet" href="{stylesheet}">' in response["body"]
    assert "{{" not in response["body"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("submit.js", "text/javascript; charset=utf-8"), ("admin.css", "text/css; charset=utf-8")],
)
def test_static_files_are_served_under_the_stage(dispatcher, chalice_app, name, content_type):
    response = _through_stage(chalice_app, f"/api/static/{name}")

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == content_type


def test_page_through_a_stage_url_keeps_its_policy(dispatcher, chalice_app):
    response = _through_stage(chalice_app, "/api/admin")

    directives = _directives(response["headers"]["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"] and directives["base-uri"] == ["'none'"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("submit.js", "text/javascript; charset=utf-8"),
        ("submit.css", "text/css; charset=utf-8"),
        ("admin.js", "text/javascript; charset=utf-8"),
        ("admin.css", "text/css; charset=utf-8"),
    ],
)
def test_static_file_is_served_with_its_type_and_cache_headers(client, name, content_type):
    from pathlib import Path

    response = client.http.get(f"/static/{name}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    shipped = Path(__file__).resolve().parents[2] / "chalicelib" / "web" / "static" / name
    assert response.body == shipped.read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "nothing.js",
        "submit.html",  # in the folder, but not a static file: pages have their own routes and CSP
        "SUBMIT.JS",
        "submit.js.map",
        "..%2Fpages.py",
        "%2e%2e%2f%2e%2e%2fapp.py",
        "..%5Cpages.py",
        "%2Fetc%2Fpasswd",
        "submit.js%00.css",
    ],
)
def test_static_name_outside_the_allow_list_is_404(client, name):
    response = client.http.get(f"/static/{name}")

    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "NotFound"
    assert b"import" not in response.body and b"root:" not in response.body


def test_static_path_traversal_is_never_served(client):
    for path in ("/static/../app.py", "/static/../chalicelib/pages.py", "/static/./submit.js/../../app.py"):
        response = client.http.get(path)
        assert response.status_code in (403, 404), path
        assert b"Chalice" not in response.body


def test_signed_link_pages_inline_style_is_allowed_by_its_hash_only(client):
    import base64
    import hashlib
    import re

    from chalicelib.web import pages

    html = pages.message_page("Done", "The submission was approved.")
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()

    style_sources = _directives(pages.CONTENT_SECURITY_POLICY)["style-src"]
    assert style_sources == ["'self'", f"'sha256-{digest}'"]
