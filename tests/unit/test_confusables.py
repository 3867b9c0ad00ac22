"""Tests of the look-alikes from the Unicode confusables data: the generated table and what it catches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.domain.content_check import WordList, compile_word_list, find_matches
from chalicelib.domain.content_check.characters import CONFUSABLE, DIGIT, LATIN, SYMBOL, items_for
from deploy.confusables import TABLE_PATH, data_version, generate, latin_lookalikes, load_confusables

REQUIREMENTS_DEV = Path(__file__).resolve().parents[2] / "requirements-dev.txt"

COVERED_BEFORE = 931
"""Characters of the data read as their Latin letter before the table existed (hand tables and NFKD)."""


@pytest.fixture(scope="module")
def forbidden() -> WordList:
    return compile_word_list(["forbidden"])


def test_generated_table_is_what_the_generator_makes_of_the_installed_data() -> None:
    source, _covered, _left_out = generate()
    assert TABLE_PATH.read_text(encoding="utf-8") == source, "stale: run python -m deploy.confusables"


def test_generator_knows_the_unicode_version_of_the_pinned_data() -> None:
    pinned = re.search(r"^confusable-homoglyphs==(\S+)$", REQUIREMENTS_DEV.read_text(), re.MULTILINE)
    assert pinned is not None
    package_version, unicode_version = data_version()
    assert package_version == pinned.group(1)
    assert unicode_version == "15.1.0"


def _reads_as(character: str, letters: set[str]) -> bool:
    items = items_for(character)
    return len(items) == 1 and items[0][0] in (LATIN, CONFUSABLE, DIGIT, SYMBOL) and bool(set(items[0][2]) & letters)


def test_every_character_that_looks_like_one_latin_letter_is_read_as_it() -> None:
    lookalikes = latin_lookalikes(load_confusables())
    covered = [character for character, letters in lookalikes.items() if _reads_as(character, letters)]
    missed = sorted(set(lookalikes) - set(covered))
    print(f"{len(covered)} of {len(lookalikes)} characters covered ({COVERED_BEFORE} before the table)")
    # The only ones left: the long s (ſ → f) that NFKD turns into the s it is, the spacing ogonek
    # and ypogegrammeni (˛ ͺ → i) that NFKD turns into a space and an accent, and four Indic
    # anusvara signs (ం ಂ ം ං → o), combining marks that the check drops like accents.
    assert [f"U+{ord(character):04X}" for character in missed] == [
        "U+017F",
        "U+02DB",
        "U+037A",
        "U+0C02",
        "U+0C82",
        "U+0D02",
        "U+0D82",
    ]
    assert len(covered) >= COVERED_BEFORE + 300


def _case(script: str, text: str) -> object:
    return pytest.param(text, id=f"{script}: {text!r}")


@pytest.mark.parametrize(
    "text",
    [
        _case("cherokee", "foᎡᏴᎥᎠᎠᎬn"),
        _case("cherokee", "Buy forᏴᎥᏧᏧᎬn now"),
        _case("lisu", "Buy ꓝꓳꓣꓐꓲꓓꓓꓰꓠ goods"),
        _case("canadian-syllabics", "ᖴoᖇᗷiᗪᗪen"),
        _case("coptic", "fⲟⲅbⲒddeⲚ"),
        _case("armenian", "քօrbiddeռ"),
        _case("mathematical", "𝟊𝛔𝐫𝐛𝐢𝐝𝐝𝐞𝐧"),  # bold digamma and sigma: NFKD makes them Greek, not Latin
        _case("latin", "ꞙorbɪdden"),
        _case("greek", "Ϝorbidden"),
        _case("digit", "f০rbidden"),  # Bengali zero
        _case("digit", "f٥rbidden"),  # Arabic-Indic five
        _case("symbol", "forb⍳dden"),  # APL iota
        _case("symbol", "forbidd℮n"),  # estimated symbol
    ],
)
def test_flags_word_spelled_with_lookalikes_from_the_confusables_data(text: str, forbidden: WordList) -> None:
    [match] = find_matches(text, forbidden)
    assert match.word == "forbidden"
    assert text[match.start : match.end] == match.text


@pytest.mark.parametrize(
    ("text", "word"),
    [
        # Every letter of "και" and "Μαρία" looks Latin (kai, mapia), but the text has no Latin letter.
        pytest.param("Ο Γιάννης και η Μαρία", "kai", id="greek"),
        pytest.param("Καλημέρα σας, τι κάνετε;", "kai", id="greek-greeting"),
        pytest.param("Мама мыла раму", "mama", id="russian"),
        pytest.param("Все ок, спасибо", "ok", id="russian-ok"),
        pytest.param("Բարև, օր ու գիշեր", "nu", id="armenian"),
        pytest.param("Ես սիրում եմ Հայաստանը", "u", id="armenian-sentence"),
        pytest.param("ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ", "wy", id="cherokee"),
        pytest.param("ᎣᏏᏲ ᏙᎯᏧ", "vd", id="cherokee-greeting"),
        pytest.param("ꓡꓲ-ꓢꓴ ꓟꓲ", "su", id="lisu"),
        pytest.param("२०२४ में ५० नए स्कूल", "o", id="devanagari-digits"),
    ],
)
def test_does_not_flag_text_in_another_script_that_merely_has_lookalike_letters(text: str, word: str) -> None:
    assert find_matches(text, compile_word_list(["forbidden", word])) == []


@pytest.mark.parametrize("text", ["Screen 1920×1080 for sale", "2×4 lumber", "Cats × Dogs │ weekly"])
def test_does_not_flag_lookalike_symbols_between_numbers_or_words(text: str, forbidden: WordList) -> None:
    assert find_matches(text, forbidden) == []


def test_shipped_table_is_small() -> None:
    size = TABLE_PATH.stat().st_size
    print(f"{TABLE_PATH.name}: {size / 1024:.1f} KB")
    assert size < 16 * 1024
