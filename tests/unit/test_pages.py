"""Where the pages find their scripts: the stage's base path, from the request's stage and path."""

from __future__ import annotations

import pytest

from chalicelib.web.pages import page, stage_base_path


@pytest.mark.parametrize(
    ("stage", "request_path", "expected"),
    [
        ("api", "/api", "/api"),
        ("api", "/api/", "/api"),
        ("api", "/api/admin", "/api"),
        ("api", "/api/admin/", "/api"),
        ("prod_2", "/prod_2/admin", "/prod_2"),
        (None, "/admin", ""),  # locally: chalice's server has no stage
        ("api", "/admin", ""),  # a custom domain: the stage is named but not in the URL
        ("api", "/apix/admin", ""),
        ("a/b", "/a/b/admin", ""),  # never a name API Gateway could not have given
        ('"><script>', '/"><script>/admin', ""),
    ],
)
def test_stage_base_path(stage, request_path, expected):
    assert stage_base_path(stage=stage, request_path=request_path) == expected


@pytest.mark.parametrize("base_path", ["", "/api"])
def test_page_names_its_files_under_the_base_path(base_path):
    html = page("admin.html", base_path=base_path)

    assert f'<script src="{base_path}/static/admin.js" defer></script>' in html
    assert f'<link rel="stylesheet" href="{base_path}/static/admin.css">' in html


@pytest.mark.parametrize("base_path", ["api", "/a/b", '/"x', "//evil.example"])
def test_page_refuses_a_base_path_that_is_not_a_stage(base_path):
    with pytest.raises(ValueError):
        page("submit.html", base_path=base_path)
