"""The compiled word list and its one operation: scanning a text for the configured words."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.content_check import markup
from chalicelib.domain.content_check.automaton import Automaton
from chalicelib.domain.content_check.locating import locate
from chalicelib.domain.content_check.normalising import end_of_character, normalise


@dataclass(frozen=True)
class Match:
    """One occurrence of a configured word, located in the original text so a reviewer sees why."""

    word: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, object]:
        """The JSON shape stored on a review and shown to the admin."""
        return {"word": self.word, "text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Pattern:
    """One form of a configured word, as the automaton's symbols."""

    symbols: tuple[str, ...]
    word: str


@dataclass(frozen=True, eq=False, repr=False)
class WordList:
    """The compiled word list: one automaton for all words, built once and shared by every scan.

    Immutable; its automaton memoises transitions as it meets them, which never changes an answer.
    Build it with :func:`chalicelib.domain.content_check.compile_word_list`.
    """

    words: tuple[str, ...]
    """The configured words, as configured, without duplicates."""
    patterns: tuple[Pattern, ...]
    """Every form of every word; the automaton reports hits by index into this tuple."""
    automaton: Automaton

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        return f"WordList({len(self.words)} words)"

    def scan(self, text: str) -> list[Match]:
        """Every occurrence of a configured word in text, in order of position, evasions included.

        Text with HTML markup is read twice, character references decoded ("forbi&#100;den"): as a
        reader sees it, tags and comments rendered ("f<b>o</b>rbidden"), and as written, tag syntax
        aside (a word in an attribute or a comment still counts). A match covers the markup inside
        it. Overlapping readings of the same stretch of text give one match: the leftmost, then the
        longest.
        """
        if not text:
            return []
        found: dict[tuple[int, int], str] = {}
        readings = markup.read(text)
        if readings is None:
            self._find_spans(text, found)
        else:
            self._find_spans(readings.rendered.text, found, readings.rendered)
            if readings.source.text != readings.rendered.text:  # references only: one reading is enough
                self._find_spans(readings.source.text, found, readings.source)
        if not found:
            return []
        matches: list[Match] = []
        covered_until = -1
        for (start, end), word in sorted(found.items(), key=lambda item: (item[0][0], -item[0][1])):
            if start >= covered_until:
                matches.append(Match(word=word, text=text[start:end], start=start, end=end))
                covered_until = end
        return matches

    def _find_spans(self, text: str, found: dict[tuple[int, int], str], reading: markup.Reading | None = None) -> None:
        """Add the (start, end) of every hit in text to found; in the markup's coordinates when text is a reading of it."""
        candidates, skippable, origins = normalise(text)
        hits = self.automaton.hits(candidates, skippable)
        for unit_index, pattern_id in dict.fromkeys(hits):
            pattern = self.patterns[pattern_id]
            span = locate(pattern.symbols, unit_index, candidates, skippable)
            if span is None:  # cannot happen: the scan found a reading; stay safe rather than raise
                continue
            start = origins[span[0]]
            end = end_of_character(text, origins[span[1]])
            if reading is not None:
                start, end = reading.starts[start], reading.ends[end - 1]
            found.setdefault((start, end), pattern.word)
