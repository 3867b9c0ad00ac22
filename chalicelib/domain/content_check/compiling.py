"""Compiling the configured words: parsing the setting, normalising each word, building the word list."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain.content_check.automaton import Automaton
from chalicelib.domain.content_check.normalising import BREAK, normalise
from chalicelib.domain.content_check.word_list import Pattern, WordList

EMBED_MIN_LETTERS = 5
"""Words shorter than this only match whole tokens ("ok" must not flag "book"), plural forms
included ("scams"); longer ones also match inside tokens ("forbiddenfruit"). Short words
inside longer ones are the Scunthorpe problem: almost every 3-letter word occurs inside some
ordinary word."""

_WHOLE_TOKEN_SUFFIXES = ("", "s", "es")


def parse_words(raw: str) -> list[str]:
    """Split a configured list: comma- or newline-separated, trims blanks, skips empty entries and lines starting with '#'.

    One setting (an environment variable or a file) holds the whole list, so it has to be
    forgiving about layout.
    """
    words: list[str] = []
    for line in raw.splitlines():
        if line.strip().startswith("#"):
            continue
        for entry in line.split(","):
            word = entry.strip()
            if word:
                words.append(word)
    return words


def compile_word_list(words: Iterable[str]) -> WordList:
    """Normalise each configured word once and build the matcher. Raises ValueError on an empty list or a word that normalises to nothing.

    Configured words go through the same normalisation as checked text, so "Forbídden" in the
    configuration means the same as "forbidden". A configured word that normalises to nothing
    would either match nothing or everything, so it is a configuration error, not a no-op.
    """
    configured: dict[str, None] = {}
    for word in words:
        stripped = word.strip()
        if stripped:
            configured[stripped] = None
    if not configured:
        raise ValueError("the moderation word list is empty")
    patterns: dict[tuple[str, ...], Pattern] = {}
    for word in configured:
        variants = patterns_for(word)
        if not variants:
            raise ValueError(f"moderation word {word!r} has no letters or digits left after normalisation")
        for symbols in variants:
            patterns.setdefault(symbols, Pattern(symbols, word))
    forms = tuple(patterns.values())
    return WordList(words=tuple(configured), patterns=forms, automaton=Automaton([form.symbols for form in forms]))


def patterns_for(word: str) -> list[tuple[str, ...]]:
    """The automaton patterns of one configured word: one per token layout, runs capped at two.

    A multi-word entry gets a spaced form ("bad word") and a glued one ("badword", also what
    "b.a.d w.o.r.d" glues into). Runs of a letter are capped at two on both sides of the match,
    so "forrrbiddden" meets "forbidden" while "to" does not meet "too". A short word and the
    spaced form of a phrase are framed by word breaks, with plural forms (see EMBED_MIN_LETTERS).
    """
    candidates, _skippable, _origins = normalise(word)
    tokens: list[list[str]] = [[]]
    for options in candidates[1:]:
        if options == (BREAK,):
            tokens.append([])
        else:
            tokens[-1].append(options[0])  # a configured '1' means 'i': the first reading
    words = [_cap_runs(token) for token in tokens if token]
    if not words:
        return []
    glued = _cap_runs([letter for token in words for letter in token])
    spaced: list[str] = []
    for token in words:
        if spaced:
            spaced.append(BREAK)
        spaced.extend(token)
    patterns: dict[tuple[str, ...], None] = {}
    if len(glued) >= EMBED_MIN_LETTERS:
        patterns[tuple(glued)] = None
        whole_token_variants = [spaced] if len(words) > 1 else []
    else:
        whole_token_variants = [glued, spaced] if len(words) > 1 else [glued]
    # The spaced form of a phrase always needs whole words at its ends: "Sinbad wordsmith" is
    # not "bad word".
    for variant in whole_token_variants:
        for suffix in _WHOLE_TOKEN_SUFFIXES:
            patterns[(BREAK, *_cap_runs([*variant, *suffix]), BREAK)] = None
    return list(patterns)


def _cap_runs(letters: list[str]) -> list[str]:
    capped: list[str] = []
    for letter in letters:
        if len(capped) >= 2 and capped[-1] == letter and capped[-2] == letter:
            continue
        capped.append(letter)
    return capped
