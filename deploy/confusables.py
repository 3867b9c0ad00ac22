"""`python -m deploy.confusables`: writes the content check's look-alike table from the Unicode confusables data.

The data is UTS #39 ``confusables.txt`` as packaged by the dev dependency ``confusable-homoglyphs``
(its ``confusables.json``). This runs at build time only: what ships to Lambda is the plain module it
writes, ``chalicelib/domain/content_check/confusables_table.py``; tests/unit/test_confusables.py fails
when that module is not what this script makes of the installed data.
"""

from __future__ import annotations

import argparse
import json
import string
import unicodedata
from collections.abc import Mapping
from importlib import metadata, resources
from pathlib import Path

from chalicelib.domain.content_check.characters import fold

PACKAGE = "confusable-homoglyphs"
TABLE_PATH = Path(__file__).resolve().parent.parent / "chalicelib" / "domain" / "content_check" / "confusables_table.py"

# confusables.json does not say which confusables.txt it was built from. 3.3.1's data files were
# made on 2024-01-30 from unicode.org's "latest" (then 15.1.0; its categories.json has the Unicode 15
# scripts Kawi and Nag Mundari). Bumping the pin means looking that up again and adding it here.
DATA_VERSIONS = {"3.3.1": "15.1.0"}

# confusables.txt wraps right-to-left characters in LEFT-TO-RIGHT MARKs for display, and the package
# keeps them; they are no part of the character.
_DISPLAY_MARKS = "\u200e\u200f"

Confusables = Mapping[str, list[dict[str, str]]]
Tables = dict[str, dict[str, str]]
"""Kind of character ("LATIN_LETTERS", "OTHER_LETTERS", "SYMBOLS") -> Latin letters -> the characters."""


def load_confusables() -> Confusables:
    """The installed package's confusables data: each character -> the characters it is confusable with."""
    text = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8")
    data: Confusables = json.loads(text)
    return data


def data_version() -> tuple[str, str]:
    """(confusable-homoglyphs version, the confusables.txt version of its data); KeyError for an unknown pin."""
    package_version = metadata.version(PACKAGE)
    return package_version, DATA_VERSIONS[package_version]


def latin_lookalikes(confusables: Confusables) -> dict[str, set[str]]:
    """Every single non-ASCII character whose prototype is that of a Latin letter, and the letters (a-z) it can stand for.

    The data pairs each source with its prototype both ways. A Latin letter is usually its own
    prototype, but not always: "I" has the prototype "l" and "m" has "rn", so the characters whose
    prototype is "l" can stand for an "i" as well, and those with the prototype "rn" for an "m".
    """
    letters_by_character: dict[str, set[str]] = {}
    for letter in string.ascii_letters:
        prototype = _prototype(letter, confusables)
        for entry in confusables.get(prototype, []):
            character = entry["c"].strip(_DISPLAY_MARKS)
            if len(character) == 1 and not character.isascii():
                letters_by_character.setdefault(character, set()).add(letter.lower())
    return letters_by_character


def _prototype(letter: str, confusables: Confusables) -> str:
    # A source has exactly one entry, its prototype; a prototype lists all its sources.
    entries = confusables.get(letter, [])
    if len(entries) == 1 and len(confusables.get(entries[0]["c"], [])) > 1:
        return entries[0]["c"]
    return letter


def build_tables(lookalikes: Mapping[str, set[str]]) -> tuple[Tables, list[str]]:
    """The tables as the content check reads them, keyed by what a character folds to; also the characters left out.

    A character is left out when the check never looks it up: it folds to ASCII (NFKD already
    turns 𝐟 into f, 𝟎 into 0, which the digit table maps) or to more than one character, or it is
    a mark or a format character the check drops. Capital and small letters fold together, so
    their letters are merged (Greek Η/η: h and n).
    """
    merged: dict[str, set[str]] = {}
    left_out: list[str] = []
    for character in sorted(lookalikes):
        folded = fold(character)
        if len(folded) != 1 or folded.isascii() or _kind(folded) is None:
            left_out.append(character)
            continue
        merged.setdefault(folded, set()).update(lookalikes[character])
    tables: Tables = {"LATIN_LETTERS": {}, "OTHER_LETTERS": {}, "SYMBOLS": {}}
    for folded in sorted(merged):
        kind = _kind(folded)
        assert kind is not None
        letters = "".join(sorted(merged[folded]))
        table = tables[kind]
        table[letters] = table.get(letters, "") + folded
    return tables, left_out


def _kind(character: str) -> str | None:
    category = unicodedata.category(character)
    if category[0] == "L":
        return "LATIN_LETTERS" if unicodedata.name(character, "").startswith("LATIN ") else "OTHER_LETTERS"
    if category[0] == "N":
        return "OTHER_LETTERS"  # digits of other scripts (٥, ০) are read in context, like letters
    if category[0] in "SP":
        return "SYMBOLS"
    return None  # marks, separators, format characters: dropped or split on before any lookup


def render(tables: Tables, *, package_version: str, data_version: str, counts: tuple[int, int]) -> str:
    """The source of the generated module."""
    lines = [
        f'"""Latin look-alikes from the Unicode confusables data (UTS #39 confusables.txt {data_version}).',
        "",
        "Generated by `python -m deploy.confusables`; do not edit.",
        f"Data: {PACKAGE} {package_version}. Keys are what a character folds to (NFKD, casefolded) with",
        f"Python's unicodedata {unicodedata.unidata_version}. Of the {counts[0]} characters of the data that look like one",
        f"Latin letter, {counts[1]} are here; the rest fold to ASCII (𝐟, 𝟎) or are marks the check drops.",
        "Each table maps the Latin letters a character can stand for to the characters that can.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f'UNICODE_CONFUSABLES_VERSION = "{data_version}"',
    ]
    for name, table in tables.items():
        lines.append("")
        lines.append(f"{name}: dict[str, str] = {{")
        for letters in sorted(table):
            escaped = "".join(_escape(character) for character in table[letters])
            lines.append(f'    "{letters}": "{escaped}",')
        lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(character: str) -> str:
    # Escapes, not the characters: the table is full of right-to-left and look-alike letters.
    code = ord(character)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def generate() -> tuple[str, int, list[str]]:
    """The module's source from the installed data; also how many characters it covers and the ones it leaves out."""
    package_version, version = data_version()
    lookalikes = latin_lookalikes(load_confusables())
    tables, left_out = build_tables(lookalikes)
    covered = len(lookalikes) - len(left_out)
    counts = (len(lookalikes), covered)
    return render(tables, package_version=package_version, data_version=version, counts=counts), covered, left_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.confusables", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is not up to date, write nothing")
    arguments = parser.parse_args(argv)
    source, covered, left_out = generate()
    if arguments.check:
        current = TABLE_PATH.read_text(encoding="utf-8") if TABLE_PATH.exists() else ""
        print(f"{TABLE_PATH.name}: {'up to date' if current == source else 'stale'}")
        return 0 if current == source else 1
    TABLE_PATH.write_text(source, encoding="utf-8")
    print(
        f"wrote {TABLE_PATH} ({len(source.encode()) / 1024:.1f} KB): {covered} characters;"
        f" {len(left_out)} left out (the check folds them to ASCII or drops them)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
