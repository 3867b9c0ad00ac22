"""Evasion-resistant matching of titles and bodies against the configured word list (SPEC section 5)."""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib import markup

# How the pipeline works (each step keeps the index of the original character it came from):
#   0. text with HTML markup is read twice, as rendered and as written (chalicelib.markup), each
#      reading going through the steps below, its hits mapped back to the markup;
#   1. per character: NFKD (compatibility forms: full width, mathematical letters, ligatures),
#      drop combining marks (accents), casefold, drop invisible characters (format characters
#      such as zero-width spaces/joiners, the soft hyphen, variation selectors);
#   2. classify what is left: Latin letter, ASCII digit, substitution symbol (@ $ ! | + ...),
#      Cyrillic/Greek look-alike, other letter, or separator; split into tokens on separators;
#   3. glue runs of single-character tokens ("f.o.r.b.i.d.d.e.n") into one token, so that
#      "for bidden" stays two tokens;
#   4. give every character its candidate letters (a '1' may be an 'i' or an 'l', a '|' may
#      also be nothing) and put a word break between tokens; a break made of one punctuation
#      character between two words may also be nothing ("f-orbidden", "forb.idden");
#   5. run one Aho-Corasick automaton over those candidates (a small set of states, one per
#      reading), letting a repeated letter stay in the state it reached ("forrrbiddden");
#      configured words keep their double letters (runs capped at two), so "too" needs two o's.
# Only a hit goes back over the text, to find where the match starts and ends in the original.

BREAK = " "
"""The word-break symbol between tokens, in patterns and in normalised text."""

EMBED_MIN_LETTERS = 5
"""Words shorter than this only match whole tokens ("ok" must not flag "book"), plural forms
included ("scams"); longer ones also match inside tokens ("forbiddenfruit"). Short words
inside longer ones are the Scunthorpe problem: almost every 3-letter word occurs inside some
ordinary word."""

_WHOLE_TOKEN_SUFFIXES = ("", "s", "es")

_MAX_GLUE_GAP = 4
"""At most this many separator characters between the single letters of a spelled-out word."""

_SINGLE_PUNCTUATION = (1, False)
"""The gap (separator count, has whitespace) of a single punctuation character between two tokens."""

# Kinds of normalised character; the separators come last (the tokeniser tests kind >= _SPACE).
_LATIN, _DIGIT, _SYMBOL, _CONFUSABLE, _OTHER, _SPACE, _PUNCT = range(7)

# Characters that render as nothing: dropped without splitting the word they sit in.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u034f")

_DIGIT_LETTERS: dict[str, tuple[str, ...]] = {
    "0": ("o",), "1": ("i", "l"), "2": ("z",), "3": ("e",), "4": ("a",),
    "5": ("s",), "6": ("g", "b"), "7": ("t",), "8": ("b",), "9": ("g",),
}

# Symbols that stand for letters inside a word; each may also be read as nothing ("fo|rbidden").
_SYMBOL_LETTERS: dict[str, tuple[str, ...]] = {
    "@": ("a",), "$": ("s",), "!": ("i", "l"), "|": ("i", "l"), "+": ("t",),
    "€": ("e",), "£": ("l",), "¢": ("c",), "¥": ("y",), "§": ("s",),
}

# Latin letters with hooks, strokes and small capitals that NFKD leaves alone. They are Latin
# already, so they are always mapped (keys are casefolded).
_LATIN_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "ɑ": ("a",), "ᴀ": ("a",), "ƀ": ("b",), "ɓ": ("b",), "ƃ": ("b",), "ʙ": ("b",),
    "ƈ": ("c",), "ȼ": ("c",), "ᴄ": ("c",), "ɗ": ("d",), "ɖ": ("d",), "đ": ("d",),
    "ð": ("d",), "ƌ": ("d",), "ᴅ": ("d",), "ɇ": ("e",), "ɛ": ("e",), "ǝ": ("e",),
    "ə": ("e",), "ᴇ": ("e",), "ƒ": ("f",), "ʄ": ("f",), "ꜰ": ("f",), "ɠ": ("g",),
    "ǥ": ("g",), "ɡ": ("g",), "ɢ": ("g",), "ɦ": ("h",), "ħ": ("h",), "ʜ": ("h",),
    "ɨ": ("i",), "ı": ("i",), "ɩ": ("i",), "ɪ": ("i",), "ȷ": ("j",),
    "ɉ": ("j",), "ʝ": ("j",), "ᴊ": ("j",), "ƙ": ("k",), "ᴋ": ("k",), "ł": ("l",),
    "ƚ": ("l",), "ɫ": ("l",), "ɬ": ("l",), "ɭ": ("l",), "ʟ": ("l",),
    "ɱ": ("m",), "ᴍ": ("m",), "ɲ": ("n",), "ɳ": ("n",), "ŋ": ("n",), "ƞ": ("n",),
    "ɴ": ("n",), "ø": ("o",), "ɵ": ("o",), "ᴏ": ("o",), "ƥ": ("p",), "ᴘ": ("p",),
    "ʠ": ("q",), "ɋ": ("q",), "ɍ": ("r",), "ɽ": ("r",), "ɼ": ("r",), "ʀ": ("r",),
    "ʂ": ("s",), "ȿ": ("s",), "ꜱ": ("s",), "ƭ": ("t",), "ʈ": ("t",), "ŧ": ("t",),
    "ƫ": ("t",), "ᴛ": ("t",), "ʉ": ("u",), "ᴜ": ("u",), "ʋ": ("v",), "ⱱ": ("v",),
    "ᴠ": ("v",), "ᴡ": ("w",), "ƴ": ("y",), "ɏ": ("y",), "ʏ": ("y",), "ƶ": ("z",),
    "ȥ": ("z",), "ʐ": ("z",), "ʑ": ("z",), "ɀ": ("z",), "ᴢ": ("z",),
}

# Ligatures NFKD keeps as one letter.
_LATIN_EXPANSIONS: dict[str, str] = {"æ": "ae", "œ": "oe"}

# Cyrillic and Greek letters that look like Latin ones, keyed by the casefolded letter. Where
# the capital and the small letter look like different Latin letters (Greek Η/η: H/n) both are
# candidates, so the mapping does not depend on case. Whether a token gets this mapping at all
# depends on its context: see _maps_lookalikes.
_FOREIGN_LOOKALIKES: dict[str, tuple[str, ...]] = {
    # Cyrillic
    "а": ("a",), "б": ("b",), "в": ("b",), "г": ("r",), "е": ("e",), "и": ("u",),
    "к": ("k",), "м": ("m",), "н": ("h",), "о": ("o",), "п": ("n",), "р": ("p",),
    "с": ("c",), "т": ("t",), "у": ("y",), "х": ("x",), "ш": ("w",), "щ": ("w",),
    "ъ": ("b",), "ь": ("b",), "і": ("i", "l"), "ј": ("j",), "ѕ": ("s",), "ԁ": ("d",),
    "ԛ": ("q",), "ԝ": ("w",), "һ": ("h",), "ӏ": ("l", "i"), "ү": ("y",),
    # Greek
    "α": ("a",), "β": ("b",), "γ": ("y",), "ε": ("e",), "ζ": ("z",), "η": ("n", "h"),
    "ι": ("i", "l"), "κ": ("k",), "μ": ("u", "m"), "ν": ("v", "n"), "ο": ("o",),
    "ρ": ("p",), "τ": ("t",), "υ": ("u", "y"), "χ": ("x",), "ω": ("w",), "ϲ": ("c",),
    "ϳ": ("j",),
}

_Item = tuple[int, tuple[str, ...], tuple[str, ...], str]
"""One normalised character: (kind, candidates as itself, candidates as a Latin look-alike, script)."""

_ITEMS_CACHE: dict[str, tuple[_Item, ...]] = {}
_ITEMS_CACHE_LIMIT = 20_000  # distinct characters; bounds memory on a long-lived Lambda


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
class _Pattern:
    symbols: tuple[str, ...]
    word: str


class WordList:
    """The compiled word list: one automaton for all words, built once and shared by every call.

    Immutable from the outside. It memoises automaton transitions as it meets them (so compiling
    10,000 words stays cheap at cold start); the memo only ever stores the one correct value.
    """

    __slots__ = ("_alphabet", "_delta", "_fail", "_last", "_out", "_patterns", "_words")

    def __init__(self, words: tuple[str, ...], patterns: tuple[_Pattern, ...]) -> None:
        object.__setattr__(self, "_words", words)
        object.__setattr__(self, "_patterns", patterns)
        self._build(patterns)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __len__(self) -> int:
        return len(self._words)

    def __repr__(self) -> str:
        return f"WordList({len(self._words)} words)"

    @property
    def words(self) -> tuple[str, ...]:
        """The configured words, as configured, without duplicates."""
        return self._words

    def _build(self, patterns: tuple[_Pattern, ...]) -> None:
        children: list[dict[str, int]] = [{}]
        last: list[str | None] = [None]
        own: list[list[int]] = [[]]
        for pattern_id, pattern in enumerate(patterns):
            node = 0
            for symbol in pattern.symbols:
                child = children[node].get(symbol)
                if child is None:
                    child = len(children)
                    children[node][symbol] = child
                    children.append({})
                    last.append(symbol)
                    own.append([])
                node = child
            if not own[node]:  # the first configured word with this form names the match
                own[node].append(pattern_id)
        fail = [0] * len(children)
        out: list[tuple[int, ...]] = [()] * len(children)
        queue: deque[int] = deque()
        for child in children[0].values():
            out[child] = tuple(own[child])
            queue.append(child)
        while queue:
            node = queue.popleft()
            for symbol, child in children[node].items():
                fallback = fail[node]
                while fallback and symbol not in children[fallback]:
                    fallback = fail[fallback]
                target = children[fallback].get(symbol, 0)
                fail[child] = target if target != child else 0
                out[child] = tuple(own[child]) + out[fail[child]]
                queue.append(child)
        # The trie's edges are the first entries of the transition memo.
        compiled = {
            "_delta": children,
            "_fail": fail,
            "_last": last,
            "_out": out,
            "_alphabet": frozenset(symbol for pattern in patterns for symbol in pattern.symbols),
        }
        for name, value in compiled.items():
            object.__setattr__(self, name, value)

    def _goto(self, node: int, symbol: str) -> int:
        """The Aho-Corasick transition, following failure links once and memoising the answer."""
        delta = self._delta
        visited = []
        while True:
            target = delta[node].get(symbol)
            if target is not None:
                break
            if node == 0:
                target = 0
                break
            visited.append(node)
            node = self._fail[node]
        for node in visited:
            delta[node][symbol] = target
        return target

    def _scan(self, candidates: list[tuple[str, ...]], skippable: list[bool]) -> list[tuple[int, int]]:
        """(unit index, pattern id) for every pattern ending at a unit, under any reading of the text."""
        delta, out, last, alphabet, goto = self._delta, self._out, self._last, self._alphabet, self._goto
        states: tuple[int, ...] = (0,)
        hits: list[tuple[int, int]] = []
        for index, options in enumerate(candidates):
            skip = skippable[index]
            if len(states) == 1 and len(options) == 1 and not skip:  # the common, unambiguous case
                state = states[0]
                symbol = options[0]
                target = delta[state].get(symbol)
                if target is None:
                    target = goto(state, symbol) if symbol in alphabet else 0
                if out[target]:
                    hits.extend((index, pattern_id) for pattern_id in out[target])
                states = (state, target) if symbol == last[state] and target != state else (target,)
                continue
            reached: dict[int, None] = {}
            for state in states:
                if skip:
                    reached[state] = None
                for symbol in options:
                    if symbol == last[state]:  # a repeated letter: stay ("forrrbidden")
                        reached[state] = None
                    target = delta[state].get(symbol)
                    if target is None:
                        target = goto(state, symbol) if symbol in alphabet else 0
                    if out[target]:
                        hits.extend((index, pattern_id) for pattern_id in out[target])
                    reached[target] = None
            states = tuple(reached)
        return hits


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
    patterns: dict[tuple[str, ...], _Pattern] = {}
    for word in configured:
        variants = _patterns_for(word)
        if not variants:
            raise ValueError(f"moderation word {word!r} has no letters or digits left after normalisation")
        for symbols in variants:
            patterns.setdefault(symbols, _Pattern(symbols, word))
    return WordList(tuple(configured), tuple(patterns.values()))


def find_matches(text: str, word_list: WordList) -> list[Match]:
    """The one entry point: every occurrence of a configured word in text, in order of position, evasions included.

    Text with HTML markup is read twice, character references decoded ("forbi&#100;den"): as a
    reader sees it, tags and comments rendered ("f<b>o</b>rbidden"), and as written, tag syntax
    aside (a word in an attribute or a comment still counts). A match covers the markup inside it. Overlapping readings of the same stretch of text give one match: the
    leftmost, then the longest.
    """
    if not text:
        return []
    found: dict[tuple[int, int], str] = {}
    readings = markup.read(text)
    if readings is None:
        _find_spans(text, word_list, found)
    else:
        _find_spans(readings.rendered.text, word_list, found, readings.rendered)
        if readings.source.text != readings.rendered.text:  # references only: one reading is enough
            _find_spans(readings.source.text, word_list, found, readings.source)
    if not found:
        return []
    matches: list[Match] = []
    covered_until = -1
    for (start, end), word in sorted(found.items(), key=lambda item: (item[0][0], -item[0][1])):
        if start >= covered_until:
            matches.append(Match(word=word, text=text[start:end], start=start, end=end))
            covered_until = end
    return matches


def _find_spans(
    text: str, word_list: WordList, found: dict[tuple[int, int], str], reading: markup.Reading | None = None
) -> None:
    """Add the (start, end) of every hit in text to found; in the markup's coordinates when text is a reading of it."""
    candidates, skippable, origins = _normalise(text)
    hits = word_list._scan(candidates, skippable)
    for unit_index, pattern_id in dict.fromkeys(hits):
        pattern = word_list._patterns[pattern_id]
        span = _locate(pattern.symbols, unit_index, candidates, skippable)
        if span is None:  # cannot happen: the scan found a reading; stay safe rather than raise
            continue
        start = origins[span[0]]
        end = _end_of_character(text, origins[span[1]])
        if reading is not None:
            start, end = reading.starts[start], reading.ends[end - 1]
        found.setdefault((start, end), pattern.word)


# --- normalisation -----------------------------------------------------------------------


def _items_for(character: str) -> tuple[_Item, ...]:
    items = _ITEMS_CACHE.get(character)
    if items is None:
        items = _analyse(character)
        if len(_ITEMS_CACHE) < _ITEMS_CACHE_LIMIT:
            _ITEMS_CACHE[character] = items
    return items


def _analyse(character: str) -> tuple[_Item, ...]:
    category = unicodedata.category(character)
    if category == "Cc":
        return ((_SPACE, (), (), ""),) if character.isspace() else ()
    if category in ("Cf", "Mn", "Me", "Mc", "Cs", "Co", "Cn") or character in _INVISIBLE:
        return ()
    items: list[_Item] = []
    for decomposed in unicodedata.normalize("NFKD", character):
        if unicodedata.combining(decomposed) or unicodedata.category(decomposed) in ("Mn", "Me", "Mc"):
            continue
        for folded in decomposed.casefold():
            if unicodedata.combining(folded):
                continue
            for letter in _LATIN_EXPANSIONS.get(folded, folded):
                items.append(_classify(letter))
    return tuple(items)


def _classify(letter: str) -> _Item:
    if "a" <= letter <= "z":
        # Plain letters read only as themselves. Reading 'l' as 'i' as well ("FORBlDDEN") turns
        # "tilt" into "tit" and "DLE" into "die" for short words: more false alarms than catches.
        return (_LATIN, (letter,), (letter,), "LATIN")
    if letter in _LATIN_LOOKALIKES:
        options = _LATIN_LOOKALIKES[letter]
        return (_LATIN, options, options, "LATIN")
    if "0" <= letter <= "9":
        return (_DIGIT, (letter,), _DIGIT_LETTERS[letter], "")
    if letter in _SYMBOL_LETTERS:
        return (_SYMBOL, (), _SYMBOL_LETTERS[letter], "")
    script = unicodedata.name(letter, "").split(" ", 1)[0]
    if letter in _FOREIGN_LOOKALIKES:
        return (_CONFUSABLE, (letter,), _FOREIGN_LOOKALIKES[letter], script)
    if letter.isalnum():
        return (_OTHER, (letter,), (letter,), script)
    if letter.isspace() or letter == "\u2800":
        return (_SPACE, (), (), "")
    return (_PUNCT, (), (), "")


def _normalise(text: str) -> tuple[list[tuple[str, ...]], list[bool], list[int]]:
    """Candidate letters, skippable flags and original indices, with a BREAK around every token."""
    tokens: list[list[tuple[_Item, int]]] = []
    gaps: list[tuple[int, bool]] = []  # gaps[n]: separators between tokens n and n+1
    current: list[tuple[_Item, int]] = []
    gap_length, gap_has_space = 0, False
    has_latin = False
    native_scripts: set[str] = set()
    for index, character in enumerate(text):
        for item in _items_for(character):
            kind = item[0]
            if kind >= _SPACE:
                if current:
                    tokens.append(current)
                    current = []
                    gap_length, gap_has_space = 0, False
                gap_length += 1
                gap_has_space = gap_has_space or kind == _SPACE
                continue
            if not current and tokens:
                gaps.append((gap_length, gap_has_space))
            current.append((item, index))
            if kind == _LATIN:
                has_latin = True
            elif kind == _OTHER:
                native_scripts.add(item[3])
    if current:
        tokens.append(current)

    candidates: list[tuple[str, ...]] = [(BREAK,)]
    skippable: list[bool] = [False]
    origins: list[int] = [-1]
    glued, glued_gaps = _glue(tokens, gaps)
    for position, token in enumerate(glued):
        # One punctuation character between two words (rare: check the gap before calling).
        if position > 0 and glued_gaps[position - 1] == _SINGLE_PUNCTUATION and _splits_a_word(glued[position - 1], token):
            skippable[-1] = True  # the break before this token may also be read as nothing
        maps_lookalikes = _maps_lookalikes(token, has_latin, native_scripts)
        latin_like = maps_lookalikes or any(item[0] == _LATIN for item, _ in token)
        for (kind, plain, mapped, _script), index in token:
            if kind == _SYMBOL:
                if not latin_like:
                    continue  # "$$$" or "@" on its own is punctuation, not a word
                candidates.append(mapped)
                skippable.append(True)
            elif (kind == _DIGIT and latin_like) or (kind == _CONFUSABLE and maps_lookalikes):
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
    tokens: list[list[tuple[_Item, int]]], gaps: list[tuple[int, bool]]
) -> tuple[list[list[tuple[_Item, int]]], list[tuple[int, bool]]]:
    """Join runs of single-character tokens ("f.o.r.b.i.d.d.e.n") and nothing else; also the gaps left between the joined tokens.

    Two ordinary words are never joined ("For Biden", "for bid den"). A spelled-out run also
    takes in a longer token it touches without whitespace ("f0r.b.i.d.d.e.n").
    """
    count = len(tokens)
    if count < 2:
        return tokens, gaps
    # Substitution symbols do not count: "n!" ends "f o r b i d d e n!" as a single letter.
    single = [sum(item[0] != _SYMBOL for item, _ in token) <= 1 for token in tokens]
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
    glued: list[list[tuple[_Item, int]]] = []
    glued_gaps: list[tuple[int, bool]] = []
    for position, (token, joins) in enumerate(zip(tokens, joins_previous, strict=True)):
        if joins:
            glued[-1].extend(token)
        else:
            if position > 0:
                glued_gaps.append(gaps[position - 1])
            glued.append(list(token))
    return glued, glued_gaps


def _splits_a_word(before: list[tuple[_Item, int]], after: list[tuple[_Item, int]]) -> bool:
    """Whether one punctuation character between these tokens may be an evasion ("f-orbidden", "forb.idden").

    Such a break is read both ways, so "scam-free" still has the whole word "scam". Only a gap of
    _SINGLE_PUNCTUATION qualifies, never whitespace ("for bidden" is two words), and only between
    tokens with letters ("13-37", "$-cam" stay apart).
    """
    return _has_letter(before) and _has_letter(after)


def _has_letter(token: list[tuple[_Item, int]]) -> bool:
    return any(item[0] in (_LATIN, _CONFUSABLE, _OTHER) for item, _ in token)


def _letter_count(tokens: list[list[tuple[_Item, int]]]) -> int:
    return sum(item[0] in (_LATIN, _CONFUSABLE) for token in tokens for item, _ in token)


def _tight(gap: tuple[int, bool]) -> bool:
    return not gap[1] and gap[0] <= _MAX_GLUE_GAP


def _maps_lookalikes(token: list[tuple[_Item, int]], text_has_latin: bool, native_scripts: set[str]) -> bool:
    """Whether the Cyrillic/Greek look-alikes of a token are read as Latin letters.

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
        if kind == _CONFUSABLE:
            lookalike_scripts.add(script)
        elif kind == _LATIN:
            has_latin = True
        elif kind == _OTHER:
            has_other = True
    if not lookalike_scripts:
        return False
    if has_latin:
        return True
    if has_other:
        return False
    return text_has_latin and not (lookalike_scripts & native_scripts)


def _end_of_character(text: str, index: int) -> int:
    """The index after a character and the marks that belong to it (accents, variation selectors)."""
    end = index + 1
    while end < len(text) and unicodedata.category(text[end]) in ("Mn", "Me", "Mc"):
        end += 1
    return end


# --- configured words --------------------------------------------------------------------


def _patterns_for(word: str) -> list[tuple[str, ...]]:
    """The automaton patterns of one configured word: one per token layout, runs capped at two.

    A multi-word entry gets a spaced form ("bad word") and a glued one ("badword", also what
    "b.a.d w.o.r.d" glues into). Runs of a letter are capped at two on both sides of the match,
    so "forrrbiddden" meets "forbidden" while "to" does not meet "too". A short word and the
    spaced form of a phrase are framed by word breaks, with plural forms (see EMBED_MIN_LETTERS).
    """
    candidates, _skippable, _origins = _normalise(word)
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


# --- locating a hit in the original text ---------------------------------------------------


def _locate(
    symbols: tuple[str, ...], end_unit: int, candidates: list[tuple[str, ...]], skippable: list[bool]
) -> tuple[int, int] | None:
    """First and last unit of the letters of a pattern that the scan saw end at end_unit.

    Walks backwards with the same rules as the scan (skip, stay on a repeated letter, consume
    the next letter of the pattern), keeping for each pattern position the earliest start and
    the latest end: the parts left and right of a position combine freely, so that is sound.
    """
    length = len(symbols)
    first_letter = 1 if symbols[0] == BREAK else 0
    last_letter = length - 2 if symbols[-1] == BREAK else length - 1
    if symbols[-1] not in candidates[end_unit]:
        return None
    position = length - 1
    start = end_unit if position == first_letter else None
    end = end_unit if position == last_letter else None
    states: dict[int, tuple[int | None, int | None]] = {position: (start, end)}
    best = states[0] if 0 in states else None
    unit = end_unit - 1
    while states and unit >= 0:
        options, skip = candidates[unit], skippable[unit]
        reached: dict[int, tuple[int | None, int | None]] = {}
        for position, (start, end) in states.items():
            if skip:
                _reach(reached, position, start, end)
            for symbol in options:
                if symbol == symbols[position]:  # another copy of the letter consumed last
                    _reach(reached, position, unit if position == first_letter else start, end)
                if position > 0 and symbol == symbols[position - 1]:
                    _reach(
                        reached,
                        position - 1,
                        unit if position - 1 == first_letter else start,
                        unit if position - 1 == last_letter else end,
                    )
        states = reached
        if 0 in states:
            best = states[0]
        unit -= 1
    if best is None or best[0] is None or best[1] is None:
        return None
    start, end = best
    if symbols[-1] != BREAK:  # take in trailing repeats of the last letter ("forbiddennn")
        letter = symbols[-1]
        while end + 1 < len(candidates) and letter in candidates[end + 1]:
            end += 1
    return start, end


def _reach(
    reached: dict[int, tuple[int | None, int | None]], position: int, start: int | None, end: int | None
) -> None:
    previous = reached.get(position)
    if previous is not None:
        start = _earliest(start, previous[0])
        end = _latest(end, previous[1])
    reached[position] = (start, end)


def _earliest(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)


def _latest(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
