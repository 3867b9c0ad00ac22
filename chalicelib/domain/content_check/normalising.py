"""Normalising text for the automaton: candidate letters per character, word breaks, glued spellings."""

from __future__ import annotations

import unicodedata

from chalicelib.domain.content_check.characters import (
    CONFUSABLE,
    DIGIT,
    LATIN,
    OTHER,
    SPACE,
    SYMBOL,
    Item,
    items_for,
)

BREAK = " "
"""The word-break symbol between tokens, in patterns and in normalised text."""

_MAX_GLUE_GAP = 4
"""At most this many separator characters between the single letters of a spelled-out word."""

_SINGLE_PUNCTUATION = (1, False)
"""The gap (separator count, has whitespace) of a single punctuation character between two tokens."""


def normalise(text: str) -> tuple[list[tuple[str, ...]], list[bool], list[int]]:
    """Candidate letters, skippable flags and original indices, with a BREAK around every token."""
    tokens: list[list[tuple[Item, int]]] = []
    gaps: list[tuple[int, bool]] = []  # gaps[n]: separators between tokens n and n+1
    current: list[tuple[Item, int]] = []
    gap_length, gap_has_space = 0, False
    has_latin = False
    native_scripts: set[str] = set()
    for index, character in enumerate(text):
        for item in items_for(character):
            kind = item[0]
            if kind >= SPACE:
                if current:
                    tokens.append(current)
                    current = []
                    gap_length, gap_has_space = 0, False
                gap_length += 1
                gap_has_space = gap_has_space or kind == SPACE
                continue
            if not current and tokens:
                gaps.append((gap_length, gap_has_space))
            current.append((item, index))
            if kind == LATIN:
                has_latin = True
            elif kind == OTHER:
                native_scripts.add(item[3])
    if current:
        tokens.append(current)

    candidates: list[tuple[str, ...]] = [(BREAK,)]
    skippable: list[bool] = [False]
    origins: list[int] = [-1]
    glued, glued_gaps = _glue(tokens, gaps)
    for position, token in enumerate(glued):
        # One punctuation character between two words (rare: check the gap before calling).
        if (
            position > 0
            and glued_gaps[position - 1] == _SINGLE_PUNCTUATION
            and _splits_a_word(glued[position - 1], token)
        ):
            skippable[-1] = True  # the break before this token may also be read as nothing
        maps_lookalikes = _maps_lookalikes(token, has_latin, native_scripts)
        latin_like = maps_lookalikes or any(item[0] == LATIN for item, _ in token)
        for (kind, plain, mapped, _script), index in token:
            if kind == SYMBOL:
                if not latin_like:
                    continue  # "$$$" or "@" on its own is punctuation, not a word
                candidates.append(mapped)
                skippable.append(True)
            elif (kind == DIGIT and latin_like) or (kind == CONFUSABLE and maps_lookalikes):
                candidates.append(mapped)
                skippable.append(False)
            else:
                candidates.append(plain)
                skippable.append(False)
            origins.append(index)
        candidates.append((BREAK,))
        skippable.append(False)
        origins.append(-1)
    return candidates, skippable, origins


def _glue(
    tokens: list[list[tuple[Item, int]]], gaps: list[tuple[int, bool]]
) -> tuple[list[list[tuple[Item, int]]], list[tuple[int, bool]]]:
    """Join runs of single-character tokens ("f.o.r.b.i.d.d.e.n") and nothing else; also the gaps left between the joined tokens.

    Two ordinary words are never joined ("For Biden", "for bid den"). A spelled-out run also
    takes in a longer token it touches without whitespace ("f0r.b.i.d.d.e.n").
    """
    count = len(tokens)
    if count < 2:
        return tokens, gaps
    # Substitution symbols do not count: "n!" ends "f o r b i d d e n!" as a single letter.
    single = [sum(item[0] != SYMBOL for item, _ in token) <= 1 for token in tokens]
    joins_previous = [False] * count
    index = 0
    while index < count:
        if not single[index]:
            index += 1
            continue
        end = index
        while end + 1 < count and single[end + 1] and gaps[end][0] <= _MAX_GLUE_GAP:
            end += 1
        if end > index:
            for member in range(index + 1, end + 1):
                joins_previous[member] = True
            # Only a run that spells with letters takes in its neighbours: "+ 1)*ts" is arithmetic.
            if _letter_count(tokens[index : end + 1]) >= 2:
                if index > 0 and _tight(gaps[index - 1]):
                    joins_previous[index] = True
                if end + 1 < count and _tight(gaps[end]):
                    joins_previous[end + 1] = True
        index = end + 1
    glued: list[list[tuple[Item, int]]] = []
    glued_gaps: list[tuple[int, bool]] = []
    for position, (token, joins) in enumerate(zip(tokens, joins_previous, strict=True)):
        if joins:
            glued[-1].extend(token)
        else:
            if position > 0:
                glued_gaps.append(gaps[position - 1])
            glued.append(list(token))
    return glued, glued_gaps


def _splits_a_word(before: list[tuple[Item, int]], after: list[tuple[Item, int]]) -> bool:
    """Whether one punctuation character between these tokens may be an evasion ("f-orbidden", "forb.idden").

    Such a break is read both ways, so "scam-free" still has the whole word "scam". Only a gap of
    _SINGLE_PUNCTUATION qualifies, never whitespace ("for bidden" is two words), and only between
    tokens with letters ("13-37", "$-cam" stay apart).
    """
    return _has_letter(before) and _has_letter(after)


def _has_letter(token: list[tuple[Item, int]]) -> bool:
    return any(item[0] in (LATIN, CONFUSABLE, OTHER) for item, _ in token)


def _letter_count(tokens: list[list[tuple[Item, int]]]) -> int:
    return sum(item[0] in (LATIN, CONFUSABLE) for token in tokens for item, _ in token)


def _tight(gap: tuple[int, bool]) -> bool:
    return not gap[1] and gap[0] <= _MAX_GLUE_GAP


def _maps_lookalikes(token: list[tuple[Item, int]], text_has_latin: bool, native_scripts: set[str]) -> bool:
    """Whether the look-alikes from other scripts (Cyrillic, Greek, Cherokee...) of a token are read as Latin letters.

    Yes when the token mixes them with Latin letters ("fоrbidden" with a Cyrillic о). Yes when
    the token is made only of look-alikes, the text has Latin letters elsewhere and no letter of
    that script that looks unlike Latin ("This is ѕех"). Otherwise no: real Russian or Greek
    text nearly always has letters such as л, д, я, λ, π, so "Все ок, спасибо" stays Russian
    and cannot hit "ok". A title made only of look-alikes with no Latin letter at all is left
    alone too: that is the short Russian word ("ок") far more often than an evasion.
    """
    lookalike_scripts: set[str] = set()
    has_latin = has_other = False
    for (kind, _plain, _mapped, script), _index in token:
        if kind == CONFUSABLE:
            lookalike_scripts.add(script)
        elif kind == LATIN:
            has_latin = True
        elif kind == OTHER:
            has_other = True
    if not lookalike_scripts:
        return False
    if has_latin:
        return True
    if has_other:
        return False
    return text_has_latin and not (lookalike_scripts & native_scripts)


def end_of_character(text: str, index: int) -> int:
    """The index after a character and the marks that belong to it (accents, variation selectors)."""
    end = index + 1
    while end < len(text) and unicodedata.category(text[end]) in ("Mn", "Me", "Mc"):
        end += 1
    return end
