"""The character tables of the content check, and what each character of a text may stand for."""

from __future__ import annotations

import unicodedata
from functools import cache

from chalicelib.domain.content_check import confusables_table

# Kinds of normalised character; the separators come last (the tokeniser tests kind >= SPACE).
LATIN, DIGIT, SYMBOL, CONFUSABLE, OTHER, SPACE, PUNCT = range(7)

# Characters that render as nothing: dropped without splitting the word they sit in.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u034f")

_DIGIT_LETTERS: dict[str, tuple[str, ...]] = {
    "0": ("o",),
    "1": ("i", "l"),
    "2": ("z",),
    "3": ("e",),
    "4": ("a",),
    "5": ("s",),
    "6": ("g", "b"),
    "7": ("t",),
    "8": ("b",),
    "9": ("g",),
}

# Symbols that stand for letters inside a word; each may also be read as nothing ("fo|rbidden").
_SYMBOL_LETTERS: dict[str, tuple[str, ...]] = {
    "@": ("a",),
    "$": ("s",),
    "!": ("i", "l"),
    "|": ("i", "l"),
    "+": ("t",),
    "€": ("e",),
    "£": ("l",),
    "¢": ("c",),
    "¥": ("y",),
    "§": ("s",),
}

# The hand-written look-alike tables below are merged with the Unicode confusables data (UTS #39,
# confusables_table.py; see _lookalike_tables). They hold what that data does not say: it gives no
# Latin prototype for most of these hooked and stroked letters and small capitals, nor for б и п ш щ
# ъ ω, and it reads η only as h, μ only as m, ʋ only as u.

# Latin letters with hooks, strokes and small capitals that NFKD leaves alone. They are Latin
# already, so they are always mapped (keys are casefolded).
_LATIN_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "ɑ": ("a",),
    "ᴀ": ("a",),
    "ƀ": ("b",),
    "ɓ": ("b",),
    "ƃ": ("b",),
    "ʙ": ("b",),
    "ƈ": ("c",),
    "ȼ": ("c",),
    "ᴄ": ("c",),
    "ɗ": ("d",),
    "ɖ": ("d",),
    "đ": ("d",),
    "ð": ("d",),
    "ƌ": ("d",),
    "ᴅ": ("d",),
    "ɇ": ("e",),
    "ɛ": ("e",),
    "ǝ": ("e",),
    "ə": ("e",),
    "ᴇ": ("e",),
    "ƒ": ("f",),
    "ʄ": ("f",),
    "ꜰ": ("f",),
    "ɠ": ("g",),
    "ǥ": ("g",),
    "ɡ": ("g",),
    "ɢ": ("g",),
    "ɦ": ("h",),
    "ħ": ("h",),
    "ʜ": ("h",),
    "ɨ": ("i",),
    "ı": ("i",),
    "ɩ": ("i",),
    "ɪ": ("i",),
    "ȷ": ("j",),
    "ɉ": ("j",),
    "ʝ": ("j",),
    "ᴊ": ("j",),
    "ƙ": ("k",),
    "ᴋ": ("k",),
    "ł": ("l",),
    "ƚ": ("l",),
    "ɫ": ("l",),
    "ɬ": ("l",),
    "ɭ": ("l",),
    "ʟ": ("l",),
    "ɱ": ("m",),
    "ᴍ": ("m",),
    "ɲ": ("n",),
    "ɳ": ("n",),
    "ŋ": ("n",),
    "ƞ": ("n",),
    "ɴ": ("n",),
    "ø": ("o",),
    "ɵ": ("o",),
    "ᴏ": ("o",),
    "ƥ": ("p",),
    "ᴘ": ("p",),
    "ʠ": ("q",),
    "ɋ": ("q",),
    "ɍ": ("r",),
    "ɽ": ("r",),
    "ɼ": ("r",),
    "ʀ": ("r",),
    "ʂ": ("s",),
    "ȿ": ("s",),
    "ꜱ": ("s",),
    "ƭ": ("t",),
    "ʈ": ("t",),
    "ŧ": ("t",),
    "ƫ": ("t",),
    "ᴛ": ("t",),
    "ʉ": ("u",),
    "ᴜ": ("u",),
    "ʋ": ("v",),
    "ⱱ": ("v",),
    "ᴠ": ("v",),
    "ᴡ": ("w",),
    "ƴ": ("y",),
    "ɏ": ("y",),
    "ʏ": ("y",),
    "ƶ": ("z",),
    "ȥ": ("z",),
    "ʐ": ("z",),
    "ʑ": ("z",),
    "ɀ": ("z",),
    "ᴢ": ("z",),
}

# Ligatures NFKD keeps as one letter.
_LATIN_EXPANSIONS: dict[str, str] = {"æ": "ae", "œ": "oe"}

# Cyrillic and Greek letters that look like Latin ones (the confusables data adds other scripts'), keyed by the casefolded letter. Where
# the capital and the small letter look like different Latin letters (Greek Η/η: H/n) both are
# candidates, so the mapping does not depend on case. Whether a token gets this mapping at all
# depends on its context: see _maps_lookalikes.
_FOREIGN_LOOKALIKES: dict[str, tuple[str, ...]] = {
    # Cyrillic
    "а": ("a",),
    "б": ("b",),
    "в": ("b",),
    "г": ("r",),
    "е": ("e",),
    "и": ("u",),
    "к": ("k",),
    "м": ("m",),
    "н": ("h",),
    "о": ("o",),
    "п": ("n",),
    "р": ("p",),
    "с": ("c",),
    "т": ("t",),
    "у": ("y",),
    "х": ("x",),
    "ш": ("w",),
    "щ": ("w",),
    "ъ": ("b",),
    "ь": ("b",),
    "і": ("i", "l"),
    "ј": ("j",),
    "ѕ": ("s",),
    "ԁ": ("d",),
    "ԛ": ("q",),
    "ԝ": ("w",),
    "һ": ("h",),
    "ӏ": ("l", "i"),
    "ү": ("y",),
    # Greek
    "α": ("a",),
    "β": ("b",),
    "γ": ("y",),
    "ε": ("e",),
    "ζ": ("z",),
    "η": ("n", "h"),
    "ι": ("i", "l"),
    "κ": ("k",),
    "μ": ("u", "m"),
    "ν": ("v", "n"),
    "ο": ("o",),
    "ρ": ("p",),
    "τ": ("t",),
    "υ": ("u", "y"),
    "χ": ("x",),
    "ω": ("w",),
    "ϲ": ("c",),
    "ϳ": ("j",),
}

Item = tuple[int, tuple[str, ...], tuple[str, ...], str]
"""One normalised character: (kind, candidates as itself, candidates as a Latin look-alike, script)."""

_ITEMS_CACHE: dict[str, tuple[Item, ...]] = {}
_ITEMS_CACHE_LIMIT = 20_000  # distinct characters; bounds memory on a long-lived Lambda


def items_for(character: str) -> tuple[Item, ...]:
    items = _ITEMS_CACHE.get(character)
    if items is None:
        items = _analyse(character)
        if len(_ITEMS_CACHE) < _ITEMS_CACHE_LIMIT:
            _ITEMS_CACHE[character] = items
    return items


def fold(character: str) -> str:
    """What the character tables see of a character: NFKD without combining marks, casefolded."""
    letters: list[str] = []
    for decomposed in unicodedata.normalize("NFKD", character):
        if unicodedata.combining(decomposed) or unicodedata.category(decomposed) in ("Mn", "Me", "Mc"):
            continue
        letters.extend(folded for folded in decomposed.casefold() if not unicodedata.combining(folded))
    return "".join(letters)


def _analyse(character: str) -> tuple[Item, ...]:
    category = unicodedata.category(character)
    if category == "Cc":
        return ((SPACE, (), (), ""),) if character.isspace() else ()
    if category in ("Cf", "Mn", "Me", "Mc", "Cs", "Co", "Cn") or character in _INVISIBLE:
        return ()
    return tuple(_classify(letter) for folded in fold(character) for letter in _LATIN_EXPANSIONS.get(folded, folded))


LookalikeTable = dict[str, tuple[str, ...]]


@cache
def _lookalike_tables() -> tuple[LookalikeTable, LookalikeTable, LookalikeTable]:
    """The Latin, symbol and foreign look-alikes: the hand-written tables merged with the confusables data.

    Built on first use rather than at import, so the generated strings cost the cold start only
    their loading.
    """
    return (
        _merged(_LATIN_LOOKALIKES, confusables_table.LATIN_LETTERS),
        _merged(_SYMBOL_LETTERS, confusables_table.SYMBOLS),
        _merged(_FOREIGN_LOOKALIKES, confusables_table.OTHER_LETTERS),
    )


def _merged(hand_written: LookalikeTable, generated: dict[str, str]) -> LookalikeTable:
    table = dict(hand_written)
    for letters, characters in generated.items():
        for character in characters:
            table[character] = tuple(dict.fromkeys(table.get(character, ()) + tuple(letters)))
    return table


def _classify(letter: str) -> Item:
    if "a" <= letter <= "z":
        # Plain letters read only as themselves. Reading 'l' as 'i' as well ("FORBlDDEN") turns
        # "tilt" into "tit" and "DLE" into "die" for short words: more false alarms than catches.
        return (LATIN, (letter,), (letter,), "LATIN")
    latin_lookalikes, symbol_letters, foreign_lookalikes = _lookalike_tables()
    if letter in latin_lookalikes:
        options = latin_lookalikes[letter]
        return (LATIN, options, options, "LATIN")
    if "0" <= letter <= "9":
        return (DIGIT, (letter,), _DIGIT_LETTERS[letter], "")
    if letter in symbol_letters:
        return (SYMBOL, (), symbol_letters[letter], "")
    script = unicodedata.name(letter, "").split(" ", 1)[0]
    if letter in foreign_lookalikes:
        return (CONFUSABLE, (letter,), foreign_lookalikes[letter], script)
    if letter.isalnum():
        return (OTHER, (letter,), (letter,), script)
    if letter.isspace() or letter == "\u2800":
        return (SPACE, (), (), "")
    return (PUNCT, (), (), "")
