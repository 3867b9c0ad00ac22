"""Tests of chalicelib.markup: what a reader sees of HTML, what the author wrote, and where each character came from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.content_check.markup import Reading, read


@pytest.mark.parametrize(
    ("markup", "rendered"),
    [
        pytest.param("f<b>o</b>rbidden", "forbidden", id="inline tags render as nothing"),
        pytest.param("<p>for</p><p>bidden</p>", "\nfor\n\nbidden\n", id="block tags render as line breaks"),
        pytest.param("a<br/>b<BR>c<hr />d", "a\nb\nc\nd", id="void and upper-case block tags"),
        pytest.param("for<!-- x -->bidden", "forbidden", id="comment"),
        pytest.param("a<!-->b<!--->c", "abc", id="abruptly closed comments"),
        pytest.param("a<!-- never closed", "a", id="unterminated comment hides the rest"),
        pytest.param("<!DOCTYPE html><?xml x?>a", "a", id="doctype and processing instruction"),
        pytest.param("forbi&#100;den", "forbidden", id="decimal reference"),
        pytest.param("forbi&#x64;den &#X44;", "forbidden D", id="hexadecimal reference"),
        pytest.param("forbi&#100den", "forbidden", id="reference without semicolon"),
        pytest.param("&#0000000000000100;", "d", id="leading zeros"),
        pytest.param("caf&eacute; &amp; cr&egrave;me", "café & crème", id="named references"),
        pytest.param("forbidd&eacuten &ampx", "forbiddén &x", id="legacy names without semicolon"),
        pytest.param("&notit; &NotEqualTilde;", "¬it; ≂̸", id="longest legacy prefix and a two-character reference"),
        pytest.param("&#0;&#xD800;&#99999999999;&#x110000;", "\ufffd" * 4, id="NUL, surrogate and out of range"),
        pytest.param("&#150;&#x81;", "\u2013\x81", id="Windows-1252 range"),
        pytest.param("&lt;b&gt;x&lt;/b&gt;", "<b>x</b>", id="escaped tags stay text"),
    ],
)
def test_renders_like_a_browser(markup: str, rendered: str) -> None:
    readings = read(markup)
    assert readings is not None
    assert readings.rendered.text == rendered
    _assert_traceable(markup, readings.rendered)
    _assert_traceable(markup, readings.source)


@pytest.mark.parametrize(
    ("markup", "source"),
    [
        pytest.param("<b>for</b> <b>bidden</b>", "   for        bidden    ", id="element names are syntax"),
        pytest.param('<img alt="f&#111;rbidden"/>', '     alt="forbidden"  ', id="attribute values stay, decoded"),
        pytest.param("<!-- f&#111;rbidden -->", "     forbidden    ", id="comment text stays, decoded"),
        pytest.param("<forbidden>x</forbidden>", " forbidden x  forbidden ", id="unknown element names stay"),
        pytest.param("caf&eacute;", "café", id="references decoded"),
    ],
)
def test_source_reading_keeps_what_the_author_wrote(markup: str, source: str) -> None:
    readings = read(markup)
    assert readings is not None
    assert readings.source.text == source
    _assert_traceable(markup, readings.source)


@pytest.mark.parametrize("markup", ["", "plain text", "AT&T", "a < b > c", "1 <2", "&unknown; &#;", "<<<", "a <a"])
def test_reads_text_without_markup_as_none(markup: str) -> None:
    assert read(markup) is None


def test_traces_each_character_to_the_markup_it_came_from() -> None:
    readings = read("x<b>y</b>&eacute;z")
    assert readings is not None
    assert readings.rendered == Reading("xyéz", [0, 4, 9, 17], [1, 5, 17, 18])


@pytest.mark.parametrize(
    "markup",
    [
        "<" * 100_000,
        "<!--" * 25_000,
        "<a " * 33_000,
        "<a>" * 33_000,
        "&" * 100_000,
        "&#" + "9" * 100_000 + ";",
        "&" + "a" * 100_000,
        "&#xD800;" * 12_000,
    ],
    ids=["<", "<!--", "<a ", "<a>", "&", "long number", "long name", "surrogates"],
)
def test_reads_pathological_markup(markup: str) -> None:
    readings = read(markup)
    if readings is not None:
        _assert_traceable(markup, readings.rendered)
        _assert_traceable(markup, readings.source)


@given(st.text(alphabet="<>/!-&#;x0123456789abAB \"'=", max_size=60) | st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_readings_are_always_traceable(markup: str) -> None:
    readings = read(markup)
    if readings is not None:
        _assert_traceable(markup, readings.rendered)
        _assert_traceable(markup, readings.source)


def _assert_traceable(markup: str, reading: Reading) -> None:
    assert len(reading.starts) == len(reading.ends) == len(reading.text)
    previous_start = 0
    for start, end in zip(reading.starts, reading.ends, strict=True):
        assert previous_start <= start < end <= len(markup)
        previous_start = start
