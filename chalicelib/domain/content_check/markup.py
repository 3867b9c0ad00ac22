"""Two readings of text with HTML markup for the content check: as written, and as a reader sees it (SPEC section 5)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.entities import html5

# The elements of HTML. Their names in a tag are syntax, not words the author wrote: "<b>for</b>
# <b>bidden</b>" must not read as the letters b, f, o, r, b, b, ... An unknown name ("<forbidden>")
# is kept as text.
_ELEMENTS = frozenset(
    """
    a abbr acronym address area article aside audio b base bdi bdo big blockquote body br button canvas
    caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em embed
    fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr
    html i iframe img input ins kbd label legend li link main map mark marquee math menu meta meter nav
    nobr noscript object ol optgroup option output p param picture pre progress q rp rt ruby s samp script
    search section select slot small source span strike strong style sub summary sup svg table tbody td
    template textarea tfoot th thead time title tr track tt u ul var video wbr
    """.split()
)

# Elements a browser lays out on lines of their own: their tags part words like a line break
# does, so "<p>for</p><p>bidden</p>" stays two words. Every other tag (<b>, <span>, <a>, an
# unknown name) renders as nothing and does not split the word it sits in.
_BLOCK_ELEMENTS = frozenset(
    """
    address article aside blockquote body br caption center dd details dialog dir div dl dt fieldset
    figcaption figure footer form frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html legend li main
    menu nav ol optgroup option p pre section summary table tbody td tfoot th thead title tr ul
    """.split()
)

# Where a construct may start; found by one regex search each, so a run of text that cannot be
# markup ("<<<<", "&&&&", "a < b") costs no Python step per character.
_REFERENCE_START = r"&(?:[A-Za-z]|#[0-9xX])"
_ANY_START = re.compile(rf"<(?:[A-Za-z!?]|/[A-Za-z])|{_REFERENCE_START}")
_COMMENT_OR_REFERENCE_START = re.compile(rf"<!--|{_REFERENCE_START}")  # once no '>' is left for a tag
_REFERENCE_ONLY_START = re.compile(_REFERENCE_START)
_TAG_NAME = re.compile(r"</?([A-Za-z][^\s/>]*)")
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));?")
_LONGEST_NAME = max(len(name.rstrip(";")) for name in html5)
_NAMED_REFERENCE = re.compile(rf"&([A-Za-z][A-Za-z0-9]{{0,{_LONGEST_NAME - 1}}})(;?)")
_LONGEST_LEGACY_NAME = max(len(name) for name in html5 if not name.endswith(";"))
"""Names a browser also decodes without the semicolon ("&eacute", "&amp"), and only these."""

_REPLACEMENT = "\ufffd"
_MAX_CODE_POINT_DIGITS = 7  # 1114111 (U+10FFFF) in decimal; longer is out of range, not worth an int


@dataclass(frozen=True)
class Reading:
    """Text read from markup; text[k] came from markup[starts[k]:ends[k]]."""

    text: str
    starts: list[int]
    ends: list[int]


@dataclass(frozen=True)
class Readings:
    """Text with HTML markup read two ways, character references decoded in both.

    source: everything the author wrote, the syntax of tags and comments (brackets, element
    names, comment delimiters) blanked to spaces; attribute values and comment text stay.
    rendered: what a browser shows.
    """

    source: Reading
    rendered: Reading


@dataclass(frozen=True)
class _Construct:
    """One tag, comment or character reference: where it is, what it renders as, what of it is kept as written."""

    start: int
    end: int
    rendered: str
    kept_start: int
    kept_end: int


class _Builder:
    """Accumulates one reading with the origin of each of its characters."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def copy(self, markup: str, start: int, end: int) -> None:
        if end > start:
            self.pieces.append(markup[start:end])
            self.starts.extend(range(start, end))
            self.ends.extend(range(start + 1, end + 1))

    def blank(self, start: int, end: int) -> None:
        if end > start:
            self.pieces.append(" " * (end - start))
            self.starts.extend(range(start, end))
            self.ends.extend(range(start + 1, end + 1))

    def emit(self, text: str, start: int, end: int) -> None:
        self.pieces.append(text)
        self.starts.extend([start] * len(text))
        self.ends.extend([end] * len(text))

    def reading(self) -> Reading:
        return Reading("".join(self.pieces), self.starts, self.ends)


def read(markup: str) -> Readings | None:
    """Both readings of markup, or None when it has no tag, comment or character reference (plain text: read it as is).

    Tags and comments render as nothing (block-level tags as a line break), character
    references (named, decimal, hexadecimal) as their characters, the way HTML parsers decode
    them, malformed ones included. One pass, linear in the length of markup whatever it holds:
    an unterminated comment hides the rest from the rendered reading, as in a browser; a '<'
    with no '>' after it is text.
    """
    if "<" not in markup and "&" not in markup:
        return None
    source, rendered = _Builder(), _Builder()
    position = 0
    for construct in _constructs(markup, tags=True):
        source.copy(markup, position, construct.start)
        rendered.copy(markup, position, construct.start)
        rendered.emit(construct.rendered, construct.start, construct.end)
        if construct.kept_start == construct.start and construct.kept_end == construct.end:  # a reference
            source.emit(construct.rendered, construct.start, construct.end)
        else:
            source.blank(construct.start, construct.kept_start)
            _decode_references(markup, construct.kept_start, construct.kept_end, source)
            source.blank(construct.kept_end, construct.end)
        position = construct.end
    if position == 0:
        return None
    source.copy(markup, position, len(markup))
    rendered.copy(markup, position, len(markup))
    return Readings(source.reading(), rendered.reading())


def _decode_references(markup: str, start: int, end: int, builder: _Builder) -> None:
    """Copy markup[start:end] (an attribute list, a comment) with its character references decoded."""
    position = start
    for construct in _constructs(markup, tags=False, start=start, end=end):
        builder.copy(markup, position, construct.start)
        builder.emit(construct.rendered, construct.start, construct.end)
        position = construct.end
    builder.copy(markup, position, end)


def _constructs(markup: str, *, tags: bool, start: int = 0, end: int | None = None) -> Iterator[_Construct]:
    """The tags and comments (when tags) and character references in markup[start:end], left to right."""
    may_close_tag = True  # false once a search for '>' failed: no later '<' can start a tag
    position, stop = start, len(markup) if end is None else end
    while position < stop:
        if not tags:
            starts = _REFERENCE_ONLY_START
        else:
            starts = _ANY_START if may_close_tag else _COMMENT_OR_REFERENCE_START
        special = starts.search(markup, position, stop)
        if special is None:
            return
        at = special.start()
        if markup[at] == "<":
            construct = _tag_or_comment(markup, at, may_close_tag)
            if construct is not None and construct.end < 0:
                may_close_tag, construct = False, None
        else:
            construct = _character_reference(markup, at, stop)
        if construct is None:  # not markup after all: the character is text
            position = at + 1
            continue
        yield construct
        position = construct.end


def _tag_or_comment(markup: str, start: int, may_close_tag: bool) -> _Construct | None:
    """The tag or comment at start; None when there is none, one ending at -1 when no '>' follows."""
    if markup.startswith("<!--", start):  # an unterminated one runs to the end: searched at most once
        close = markup.find("-->", start + 2)  # "<!-->" and "<!--->" are complete comments too
        if close < 0:
            return _Construct(start, len(markup), "", start + 4, len(markup))
        return _Construct(start, close + 3, "", min(start + 4, close), close)
    if not may_close_tag:
        return None
    following = markup[start + 1 : start + 3]
    if following[:1] in ("!", "?"):  # "<!DOCTYPE html>", "<?xml ...?>": comments to a browser
        content_start = start + 2
    elif _is_letter(following[:1]) or (following[:1] == "/" and _is_letter(following[1:2])):
        content_start = start + 1
    else:
        return None
    close = markup.find(">", start)
    if close < 0:
        return _Construct(start, -1, "", start, start)
    kept_end = close - 1 if markup[close - 1] == "/" and close - 1 >= content_start else close
    name = _TAG_NAME.match(markup, start, close)
    if name is None:
        return _Construct(start, close + 1, "", content_start, kept_end)
    element = name.group(1).lower()
    kept_start = name.end() if element in _ELEMENTS else name.start(1)
    rendered = "\n" if element in _BLOCK_ELEMENTS else ""
    return _Construct(start, close + 1, rendered, kept_start, max(kept_start, kept_end))


def _is_letter(character: str) -> bool:
    return character.isascii() and character.isalpha()


def _character_reference(markup: str, start: int, end: int) -> _Construct | None:
    """The character reference at start (ending by end), decoded; None when there is none."""
    numeric = _NUMERIC_REFERENCE.match(markup, start, end)
    if numeric is not None:
        hexadecimal, decimal = numeric.groups()
        decoded = _code_point(hexadecimal, 16) if hexadecimal else _code_point(decimal, 10)
        return _Construct(start, numeric.end(), decoded, start, numeric.end())
    named = _NAMED_REFERENCE.match(markup, start, end)
    if named is None:
        return None
    name, semicolon = named.groups()
    if semicolon and name + ";" in html5:
        return _Construct(start, named.end(), html5[name + ";"], start, named.end())
    for length in range(min(len(name), _LONGEST_LEGACY_NAME), 1, -1):  # "&eacuten" is "én" to a browser
        legacy = html5.get(name[:length])
        if legacy is not None:
            return _Construct(start, start + 1 + length, legacy, start, start + 1 + length)
    return None


def _code_point(digits: str, base: int) -> str:
    """The character a numeric reference stands for; U+FFFD for NUL, surrogates and values beyond Unicode, as in HTML."""
    significant = digits.lstrip("0")
    if len(significant) > _MAX_CODE_POINT_DIGITS:
        return _REPLACEMENT
    value = int(significant or "0", base)
    if value == 0 or value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return _REPLACEMENT
    if 0x80 <= value <= 0x9F:  # HTML reads these as Windows-1252 ("&#150;" is an en dash)
        return bytes([value]).decode("cp1252", errors="ignore") or chr(value)
    return chr(value)
