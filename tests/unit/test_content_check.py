"""Tests of chalicelib.domain.content_check: evasions that must be caught, clean titles that must not be."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.content_check import Match, WordList, compile_word_list, find_matches, parse_words

TABLE_WORDS = ("forbidden", "scam", "contraband")
"""The word list behind the two big tables: one long word, one short (whole-token) word, one more."""

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\u180e", "\u2063")


def _case(category: str, text: str, word: str = "forbidden") -> object:
    return pytest.param(text, word, id=f"{category}: {text!r}")


FLAGGED = [
    # case folding
    _case("case", "FORBIDDEN"),
    _case("case", "Forbidden"),
    _case("case", "FoRbIdDeN"),
    _case("case", "fORBIDDEN fruit for sale"),
    _case("case", "This is FORBIDDEN!"),
    _case("case", "Big SCAM exposed", "scam"),
    # Unicode compatibility forms (NFKC/NFKD)
    _case("compatibility", "ｆｏｒｂｉｄｄｅｎ"),
    _case("compatibility", "ＦＯＲＢＩＤＤＥＮ ＺＯＮＥ"),
    _case("compatibility", "𝐟𝐨𝐫𝐛𝐢𝐝𝐝𝐞𝐧"),
    _case("compatibility", "𝒇𝒐𝒓𝒃𝒊𝒅𝒅𝒆𝒏"),
    _case("compatibility", "𝔣𝔬𝔯𝔟𝔦𝔡𝔡𝔢𝔫"),
    _case("compatibility", "𝕗𝕠𝕣𝕓𝕚𝕕𝕕𝕖𝕟"),
    _case("compatibility", "𝚏𝚘𝚛𝚋𝚒𝚍𝚍𝚎𝚗"),
    _case("compatibility", "ⓕⓞⓡⓑⓘⓓⓓⓔⓝ"),
    _case("compatibility", "ᶠᵒʳᵇⁱᵈᵈᵉⁿ"),
    _case("compatibility", "⒡⒪⒭⒝⒤⒟⒟⒠⒩"),
    # accents and diacritics, precomposed and combining
    _case("accent", "fórbíddèn"),
    _case("accent", "FÖRBÏDDÊN"),
    _case("accent", "fōrbīddēn"),
    _case("accent", "fǒrbǐdděn"),
    _case("accent", "fo\u0301rbi\u0308dde\u0300n"),
    _case("accent", "f\u0336o\u0336r\u0336b\u0336i\u0336d\u0336d\u0336e\u0336n\u0336"),
    _case("accent", "f̷̛o̵r̴b̶i̸d̷d̵e̸n̷"),
    _case("accent", "çóntrábánd", "contraband"),
    # zero-width, soft hyphen, joiners and other invisible characters
    _case("invisible", "for\u200bbidden"),
    _case("invisible", "f\u200bo\u200br\u200bb\u200bi\u200bd\u200bd\u200be\u200bn"),
    _case("invisible", "forb\u200cidden"),
    _case("invisible", "forbi\u200ddden"),
    _case("invisible", "forbid\u2060den"),
    _case("invisible", "\ufeffforbidden"),
    _case("invisible", "for\u00adbid\u00adden"),
    _case("invisible", "forbidd\u034fen"),
    _case("invisible", "forbid\u2063den"),
    _case("invisible", "s\u200bc\u200da\u00adm", "scam"),
    # separators between single letters
    _case("separator", "f.o.r.b.i.d.d.e.n"),
    _case("separator", "f o r b i d d e n"),
    _case("separator", "f-o-r-b-i-d-d-e-n"),
    _case("separator", "f_o_r_b_i_d_d_e_n"),
    _case("separator", "f*o*r*b*i*d*d*e*n"),
    _case("separator", "f | o | r | b | i | d | d | e | n"),
    _case("separator", "f|o|r|b|i|d|d|e|n"),
    _case("separator", "f/o/r/b/i/d/d/e/n"),
    _case("separator", "f.o-r_b i*d/d.e-n"),
    _case("separator", "f  o  r  b  i  d  d  e  n"),
    _case("separator", "F. O. R. B. I. D. D. E. N."),
    _case("separator", "f~o~r~b~i~d~d~e~n"),
    _case("separator", "f,o,r,b,i,d,d,e,n"),
    _case("separator", "totally s.c.a.m free", "scam"),
    # one punctuation character splitting a word
    _case("split", "f-orbidden"),
    _case("split", "forb.idden"),
    _case("split", "forbid_den"),
    _case("split", "forbi*dden"),
    _case("split", "forbid'den"),
    _case("split", "forbidde-n"),
    _case("split", "for-bidden fruit"),
    _case("split", "Buy f0rb-1dd3n goods"),
    _case("split", "contra-band", "contraband"),
    _case("split", "s-cam alert", "scam"),
    # HTML markup inside a word: tags, comments, character references
    _case("markup", "f<b>o</b>rbidden"),
    _case("markup", 'f<span class="x">orbid</span>den'),
    _case("markup", "for<!-- -->bidden"),
    _case("markup", "for<!---->bidden"),
    _case("markup", "forbi&#100;den"),
    _case("markup", "forbi&#x64;den"),
    _case("markup", "FORBI&#X44;DEN"),
    _case("markup", "forbid&shy;den"),
    _case("markup", "forbid&#8203;den"),
    _case("markup", "forbidd&eacute;n"),
    _case("markup", "forbidd&Egrave;n"),
    _case("markup", "forbidd&eacuten"),
    _case("markup", "&#102;&#111;&#114;&#98;&#105;&#100;&#100;&#101;&#110;"),
    _case("markup", '<p>A f<i>o</i>rb&#105;dden <a href="#">offer</a></p>'),
    _case("markup", "f<br>o<br>r<br>b<br>i<br>d<br>d<br>e<br>n"),
    _case("markup", "f&#x2d;orbidden"),
    _case("markup", "&#115;c&#97;m inside", "scam"),
    _case("markup", "con<em>tra</em>band", "contraband"),
    # digit and symbol substitutions
    _case("substitution", "f0rbidden"),
    _case("substitution", "forb1dden"),
    _case("substitution", "forbidd3n"),
    _case("substitution", "f0rb1dd3n"),
    _case("substitution", "forb!dden"),
    _case("substitution", "forbidd€n"),
    _case("substitution", "FORB|DDEN"),
    _case("substitution", "F0RB!DD3N"),
    _case("substitution", "$c@m", "scam"),
    _case("substitution", "5c4m alert", "scam"),
    _case("substitution", "c0n7r4b4nd", "contraband"),
    _case("substitution", "con+raband", "contraband"),
    # look-alike letters from other scripts and Latin letters with hooks or strokes
    _case("lookalike", "fоrbіddеn"),  # Cyrillic о і е
    _case("lookalike", "forbiddеn"),  # Cyrillic е
    _case("lookalike", "FОRBІDDЕN"),  # Cyrillic О І Е
    _case("lookalike", "fοrbιdden"),  # Greek ο ι
    _case("lookalike", "FORBIDDEΝ"),  # Greek Ν
    _case("lookalike", "ƒorbiɗɗen"),
    _case("lookalike", "ʄorbidden"),
    _case("lookalike", "forɓidden"),
    _case("lookalike", "ꜰᴏʀʙɪᴅᴅᴇɴ"),
    _case("lookalike", "fØrbidden"),
    _case("lookalike", "forbiđđen"),
    _case("lookalike", "forbıdden"),
    _case("lookalike", "This is a ѕсаm", "scam"),  # a word made only of Cyrillic look-alikes
    # repeated letters
    _case("repeat", "forrrbiddden"),
    _case("repeat", "fooorbidden"),
    _case("repeat", "FFFORBIDDEN"),
    _case("repeat", "forbiddennnn"),
    _case("repeat", "fffooorrrbbbiiidddeeennn"),
    _case("repeat", "forbiiiidden"),
    _case("repeat", "ssscaaam", "scam"),
    # the word inside a longer token
    _case("embedded", "forbiddenfruit"),
    _case("embedded", "xxforbiddenxx"),
    _case("embedded", "theforbiddencity"),
    _case("embedded", "#forbidden"),
    _case("embedded", "unforbidden"),
    _case("embedded", "@forbidden_zone"),
    _case("embedded", "smugglingcontrabandgoods", "contraband"),
    # combinations of the above
    _case("combined", "ʄ0rb!dd3n"),
    _case("combined", "ｆ0ｒ.b.i.d.d.e.n"),
    _case("combined", "F.0.R.B.1.D.D.3.N"),
    _case("combined", "f\u200b0\u200brb!ddеn"),
    _case("combined", "FÓRB1DD€N"),
    _case("combined", "f.o.r.b.i.d.d.e.n.f.r.u.i.t"),
    _case("combined", "𝐟𝟎𝐫𝐛𝐢𝐝𝐝𝐞𝐧"),
    _case("combined", "fórrrbíddd3n"),
    _case("combined", "ƒ-0-r-b-ı-d-d-3-n"),
    _case("combined", "c0ntr@band deals", "contraband"),
    _case("combined", "Ｓ\u200bⒸ＠м", "scam"),
]

CLEAN = [
    # ordinary words must not be glued together
    _case("no-glue", "For Biden"),
    _case("no-glue", "for bidden"),
    _case("no-glue", "Four bidden"),
    _case("no-glue", "for bid den"),
    _case("no-glue", "Vote for Biden today"),
    _case("no-glue", "Four Bid Den"),
    _case("no-glue", "F or bidden"),
    _case("no-glue", "for Biden and Harris"),
    _case("no-glue", "contra band practice", "contraband"),
    _case("no-glue", "Essay: sc am I right", "scam"),
    # ordinary hyphenated and punctuated words are not read as one
    _case("hyphenated", "well-known facts"),
    _case("hyphenated", "for - bidden"),
    _case("hyphenated", "Forbid. Den of thieves"),
    _case("hyphenated", "forbid,\nden"),
    _case("hyphenated", "F-or bidden"),
    _case("hyphenated", "a so-called forbidding-looking house"),
    _case("hyphenated", "e-mail info@contra.example about the band", "contraband"),
    _case("hyphenated", "Oscar-winning scampi, mascara-free", "scam"),
    # markup that only formats clean words
    _case("markup", "<b>for</b> bidden things"),
    _case("markup", "<p>for</p><p>bidden</p>"),
    _case("markup", "for<br>bidden"),
    _case("markup", "for&nbsp;bidden"),
    _case("markup", "<h1>Forbes</h1><p>list of <em>billionaires</em></p>"),
    _case("markup", "<i>forbid</i> <b>den</b>"),
    _case("markup", "<ul><li>forbid</li><li>den</li></ul>"),
    _case("markup", "AT&amp;T earnings beat forecasts"),
    _case("markup", "Q&amp;A: bidding for beginners"),
    _case("markup", "&lt;forbid&gt; tags &amp; hidden dens"),
    _case("markup", "caf&eacute; owner&rsquo;s cr&egrave;me br&ucirc;l&eacute;e"),
    _case("markup", '<a href="/hidden">hidden</a> gems'),
    _case("markup", "<!-- draft --><p>Mascara review</p>", "scam"),
    _case("markup", "<p>Oscar&nbsp;winners</p>", "scam"),
    _case("markup", "contra<br>band practice", "contraband"),
    _case("markup", "1 &lt; 2 &amp;&amp; 3 &gt; 2"),
    # words that merely share letters with a configured word
    _case("shared-letters", "forbid"),
    _case("shared-letters", "forbidding"),
    _case("shared-letters", "forbids"),
    _case("shared-letters", "Forbes"),
    _case("shared-letters", "morbid"),
    _case("shared-letters", "bidden"),
    _case("shared-letters", "for"),
    _case("shared-letters", "hidden"),
    _case("shared-letters", "forbidding forest"),
    _case("shared-letters", "Forbes list of billionaires"),
    _case("shared-letters", "morbid curiosity"),
    _case("shared-letters", "the hidden den"),
    _case("shared-letters", "She forbade it"),
    _case("shared-letters", "forbearance"),
    _case("shared-letters", "bidding war"),
    _case("shared-letters", "bedridden"),
    _case("shared-letters", "overridden"),
    _case("shared-letters", "unbidden guests"),
    _case("shared-letters", "hidden gems of Lisbon"),
    _case("shared-letters", "U.S. forbids exports"),
    _case("shared-letters", "scampi recipe", "scam"),
    _case("shared-letters", "kids scamper off", "scam"),
    _case("shared-letters", "Oscar winners", "scam"),
    _case("shared-letters", "mascara review", "scam"),
    _case("shared-letters", "Contra bandits", "contraband"),
    # everyday titles
    _case("everyday", "City council approves new budget for parks"),
    _case("everyday", "Best pasta recipes for busy weeknights"),
    _case("everyday", "Local team wins the regional championship"),
    _case("everyday", "How to repair a bicycle chain in ten minutes"),
    _case("everyday", "Weather: sunny with a chance of rain"),
    _case("everyday", "Museum opens a new wing for modern art"),
    _case("everyday", "Ten books to read this summer"),
    _case("everyday", "Interview with the director of the film festival"),
    _case("everyday", "Why bees matter for our gardens"),
    _case("everyday", "Naïve café owner’s crème brûlée wins prize"),
    _case("everyday", "A quick guide to the new recycling rules"),
    _case("everyday", "The forbearing teacher and the hidden garden"),
    # text in other scripts
    _case("non-latin", "Привет, как дела?"),
    _case("non-latin", "Все ок, спасибо"),
    _case("non-latin", "Москва — столица России"),
    _case("non-latin", "Сегодня хорошая погода"),
    _case("non-latin", "Он сказал: это запрещено"),
    _case("non-latin", "Рок-концерт в субботу"),
    _case("non-latin", "Це заборонено"),
    _case("non-latin", "Καλημέρα κόσμε"),
    _case("non-latin", "Απαγορεύεται η είσοδος"),
    _case("non-latin", "Το νέο μουσείο ανοίγει αύριο"),
    _case("non-latin", "禁止されています"),
    _case("non-latin", "東京で新しい展示会が開かれる"),
    _case("non-latin", "今日はいい天気ですね"),
    _case("non-latin", "今天天气很好"),
    _case("non-latin", "禁止入内"),
    _case("non-latin", "مرحبا بالعالم"),
    _case("non-latin", "هذا ممنوع"),
    _case("non-latin", "שלום עולם"),
    _case("non-latin", "नमस्ते दुनिया"),
    _case("non-latin", "안녕하세요 세계"),
    _case("non-latin", "Moscow (Москва) travel guide"),
    # numbers, symbols and abbreviations
    _case("symbols", "Top 10 tips for 2024"),
    _case("symbols", "Save $50 on bikes"),
    _case("symbols", "Meet me @ noon"),
    _case("symbols", "C++ for beginners"),
    _case("symbols", "1 2 3 go"),
    _case("symbols", "AT&T earnings beat forecasts"),
    _case("symbols", "F.B.I. hidden files"),
    _case("symbols", "Q&A: bidding for beginners"),
    _case("symbols", "Win 100% of the time"),
    _case("symbols", "v1.2.3 release notes"),
    _case("symbols", "f(x) = x + 1"),
    _case("symbols", "Rock 'n' roll forever"),
    _case("symbols", "!!! $$$ @@@ |||"),
    _case("symbols", "Score: 5-0 for Bidden FC"),
]


@pytest.fixture(scope="module")
def table_words() -> WordList:
    return compile_word_list(TABLE_WORDS)


@pytest.mark.parametrize(("text", "word"), FLAGGED)
def test_flags_evasion(text: str, word: str, table_words: WordList) -> None:
    matches = find_matches(text, table_words)
    assert [match.word for match in matches] == [word], matches
    match = matches[0]
    assert text[match.start : match.end] == match.text


@pytest.mark.parametrize(("text", "word"), CLEAN)
def test_does_not_flag_clean_title(text: str, word: str, table_words: WordList) -> None:
    assert find_matches(text, table_words) == []


def test_tables_cover_every_category_with_enough_cases() -> None:
    flagged_categories = {case.id.split(":")[0] for case in FLAGGED}
    clean_categories = {case.id.split(":")[0] for case in CLEAN}
    assert {
        "case",
        "compatibility",
        "accent",
        "invisible",
        "separator",
        "split",
        "markup",
        "substitution",
        "lookalike",
        "repeat",
        "embedded",
        "combined",
    } <= flagged_categories
    assert {"no-glue", "hyphenated", "markup", "shared-letters", "non-latin"} <= clean_categories
    assert len(FLAGGED) >= 70
    assert len(CLEAN) >= 70


# --- what a match reports ----------------------------------------------------------------


def test_match_points_at_the_original_substring() -> None:
    text = "Totally normal title with f.0.r.b.i.d.d.e.n stuff"
    [match] = find_matches(text, compile_word_list(["forbidden"]))
    assert match == Match(word="forbidden", text="f.0.r.b.i.d.d.e.n", start=26, end=43)
    assert text[match.start : match.end] == match.text


def test_match_reports_the_word_as_configured() -> None:
    [match] = find_matches("this is forbidden", compile_word_list(["  FÓRBÍDDÈN "]))
    assert match.word == "FÓRBÍDDÈN"
    assert match.text == "forbidden"


def test_match_includes_combining_marks_of_its_last_letter() -> None:
    text = "forbidde\u0301n\u0301 now"
    [match] = find_matches(text, compile_word_list(["forbidden"]))
    assert match.text == "forbidde\u0301n\u0301"


def test_match_covers_zero_width_characters_inside_but_not_around_it() -> None:
    text = "\u200bfor\u200bbidden\u200b"
    [match] = find_matches(text, compile_word_list(["forbidden"]))
    assert (match.start, match.end, match.text) == (1, 11, "for\u200bbidden")


def test_match_of_an_embedded_word_covers_only_the_word() -> None:
    [match] = find_matches("xxforbiddenfruit", compile_word_list(["forbidden"]))
    assert (match.text, match.start, match.end) == ("forbidden", 2, 11)


def test_match_takes_in_all_repeated_letters() -> None:
    [match] = find_matches("ffforbiddennn!", compile_word_list(["forbidden"]))
    assert match.text == "ffforbiddennn"


def test_match_of_a_word_split_by_punctuation_covers_the_separator() -> None:
    text = "Buy f-orbidden now"
    [match] = find_matches(text, compile_word_list(["forbidden"]))
    assert (match.text, match.start, match.end) == ("f-orbidden", 4, 14)


@pytest.mark.parametrize(
    ("text", "matched", "start"),
    [
        ("Buy f<b>o</b>rbidden now", "f<b>o</b>rbidden", 4),
        ("<p>forbi&#100;den</p>", "forbi&#100;den", 3),
        ("x for<!-- -->bidden y", "for<!-- -->bidden", 2),
        ("forbid&shy;den", "forbid&shy;den", 0),
        ("a <i>f</i>orbidde&#x6E;!", "f</i>orbidde&#x6E;", 5),
        ("&#70;ORBIDDEN", "&#70;ORBIDDEN", 0),
        ("forbidde&#769;n&#769; now", "forbidde&#769;n&#769;", 0),
    ],
)
def test_match_of_markup_evasion_covers_the_markup_inside_it(text: str, matched: str, start: int) -> None:
    [match] = find_matches(text, compile_word_list(["forbidden"]))
    assert (match.text, match.start, match.end) == (matched, start, start + len(matched))
    assert text[match.start : match.end] == match.text


def test_flags_word_in_an_attribute_value() -> None:
    text = '<img src="x.png" alt="forbidden"> nice picture'
    [match] = find_matches(text, compile_word_list(["forbidden"]))
    assert (match.text, match.start) == ("forbidden", 22)


def test_match_to_dict_has_the_review_fields() -> None:
    match = Match(word="forbidden", text="f0rbidden", start=3, end=12)
    assert match.to_dict() == {"word": "forbidden", "text": "f0rbidden", "start": 3, "end": 12}


# --- several words, several matches ------------------------------------------------------


def test_flags_every_occurrence_in_order_of_position() -> None:
    word_list = compile_word_list(["scam", "forbidden"])
    text = "A $cam about f0rbidden fruit, another SCAM, and forbiddenforbidden"
    matches = find_matches(text, word_list)
    assert [(match.word, match.text) for match in matches] == [
        ("scam", "$cam"),
        ("forbidden", "f0rbidden"),
        ("scam", "SCAM"),
        ("forbidden", "forbidden"),
        ("forbidden", "forbidden"),
    ]
    assert [match.start for match in matches] == sorted(match.start for match in matches)
    assert all(text[match.start : match.end] == match.text for match in matches)


def test_gives_one_match_per_occurrence_when_words_overlap() -> None:
    word_list = compile_word_list(["forbid", "forbidden", "Forbidden"])
    matches = find_matches("forbidden", word_list)
    assert [(match.word, match.text) for match in matches] == [("forbidden", "forbidden")]


def test_flags_a_shorter_word_where_the_longer_one_is_absent() -> None:
    word_list = compile_word_list(["forbid", "forbidden"])
    assert [match.word for match in find_matches("they forb1d it", word_list)] == ["forbid"]


@pytest.mark.parametrize(
    "text", ["bad word", "bad  word", "BAD-WORD", "b.a.d w.o.r.d", "badword", "b a d w o r d", "bαd\u200b w0rd"]
)
def test_flags_multi_word_entry(text: str) -> None:
    [match] = find_matches(text, compile_word_list(["bad word"]))
    assert match.word == "bad word"
    assert match.text == text.strip()


def test_flags_plural_of_multi_word_entry() -> None:
    [match] = find_matches("no bad words please", compile_word_list(["bad word"]))
    assert match.text == "bad words"


@pytest.mark.parametrize(
    "text", ["the word was bad", "a bad, awful word", "badminton world", "bad sword", "Sinbad wordsmith"]
)
def test_does_not_flag_multi_word_entry_split_by_other_words(text: str) -> None:
    assert find_matches(text, compile_word_list(["bad word"])) == []


# --- short words only match whole tokens ----------------------------------------------------


@pytest.mark.parametrize("text", ["ok", "OK!", "it is ok.", "o.k.", "0k then", "ooookkk", "this is ок"])
def test_flags_short_word_as_a_whole_token(text: str) -> None:
    assert [match.word for match in find_matches(text, compile_word_list(["ok"]))] == ["ok"]


@pytest.mark.parametrize(
    "text", ["book", "token", "Oklahoma", "joke", "Все ок, спасибо", "ок", "Всё ок", "οκτώ", "Ωκεανός"]
)
def test_does_not_flag_short_word_inside_words_or_in_other_scripts(text: str) -> None:
    assert find_matches(text, compile_word_list(["ok"])) == []


@pytest.mark.parametrize("text", ["scams everywhere", "SCAMSSS", "two $c@ms", "sc4mes"])
def test_flags_plural_of_short_word(text: str) -> None:
    assert [match.word for match in find_matches(text, compile_word_list(["scam"]))] == ["scam"]


@pytest.mark.parametrize("text", ["scam-free offer", "anti-scam", "scam.", "no-scam-zone"])
def test_flags_short_word_next_to_a_single_separator(text: str) -> None:
    assert {match.text for match in find_matches(text, compile_word_list(["scam"]))} == {"scam"}


def test_does_not_join_numbers_split_by_a_single_separator() -> None:
    assert find_matches("call 13-37 or 13.37", compile_word_list(["1337"])) == []


def test_does_not_glue_arithmetic_onto_a_neighbouring_word() -> None:
    assert find_matches("total + 4)*rt", compile_word_list(["tart"])) == []
    assert [match.text for match in find_matches("t.4.r.t", compile_word_list(["tart"]))] == ["t.4.r.t"]


def test_does_not_flag_single_letter_where_the_word_has_a_double_letter() -> None:
    assert find_matches("to the shop", compile_word_list(["too"])) == []
    assert [match.text for match in find_matches("tooooo much", compile_word_list(["too"]))] == ["tooooo"]


# --- parse_words and compile_word_list -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("forbidden", ["forbidden"]),
        ("", []),
        ("   \n \n", []),
        ("a, b,,c", ["a", "b", "c"]),
        ("  forbidden  ,  bad word ", ["forbidden", "bad word"]),
        ("forbidden\nscam\r\ncontraband", ["forbidden", "scam", "contraband"]),
        ("# the list\nforbidden\n  # indented comment\n\nscam, fraud", ["forbidden", "scam", "fraud"]),
        ("# only a comment", []),
        ("c#, f#", ["c#", "f#"]),
    ],
)
def test_parse_words_splits_trims_and_skips_comments(raw: str, words: list[str]) -> None:
    assert parse_words(raw) == words


@pytest.mark.parametrize("words", [[], [""], ["  ", "\t"]])
def test_compile_word_list_rejects_an_empty_list(words: list[str]) -> None:
    with pytest.raises(ValueError, match="empty"):
        compile_word_list(words)


@pytest.mark.parametrize("word", ["...", "\u200b\u200d", "\u0301", "$$$", "@", "--"])
def test_compile_word_list_rejects_a_word_that_normalises_to_nothing(word: str) -> None:
    with pytest.raises(ValueError, match="normalisation"):
        compile_word_list(["forbidden", word])


def test_compile_word_list_counts_distinct_configured_words() -> None:
    word_list = compile_word_list(iter(["forbidden", " forbidden ", "scam", "forbidden"]))
    assert len(word_list) == 2
    assert word_list.words == ("forbidden", "scam")


def test_compile_word_list_normalises_configured_words_like_text() -> None:
    word_list = compile_word_list(["ＦÓＲＢＩＤＤÈＮ"])
    assert [match.word for match in find_matches("forbidden", word_list)] == ["ＦÓＲＢＩＤＤÈＮ"]


def test_compile_word_list_accepts_digits_only_words() -> None:
    assert [match.text for match in find_matches("call 1337 now", compile_word_list(["1337"]))] == ["1337"]


def test_does_not_flag_empty_text(table_words: WordList) -> None:
    assert find_matches("", table_words) == []


# --- properties ----------------------------------------------------------------------------

FLAGGED_TEXTS = [(case.values[0], case.values[1]) for case in FLAGGED if not case.id.startswith("markup")]
"""The flagged texts without markup: a character inserted into "&#100;" or "<b>", or "&shy;" in capitals,
is no longer markup, so the properties below would change what the text says. Markup has its own properties."""


@given(
    case=st.sampled_from(FLAGGED_TEXTS),
    insertions=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(ZERO_WIDTH)), max_size=12),
)
@settings(max_examples=300, deadline=None)
def test_flags_evasion_whatever_zero_width_characters_are_inserted(
    case: tuple[str, str], insertions: list[tuple[int, str]], table_words: WordList
) -> None:
    text, word = case
    for position, character in insertions:
        position %= len(text) + 1
        text = text[:position] + character + text[position:]
    assert word in [match.word for match in find_matches(text, table_words)]


@given(case=st.sampled_from(FLAGGED_TEXTS), flips=st.lists(st.sampled_from("ulk"), min_size=1, max_size=64))
@settings(max_examples=300, deadline=None)
def test_flags_evasion_whatever_the_case_of_its_letters(
    case: tuple[str, str], flips: list[str], table_words: WordList
) -> None:
    text, word = case
    changed = "".join(
        {"u": character.upper(), "l": character.lower(), "k": character}[flips[index % len(flips)]]
        for index, character in enumerate(text)
    )
    assert word in [match.word for match in find_matches(changed, table_words)]


@given(text=st.text())
@settings(max_examples=500, deadline=None)
def test_find_matches_never_raises_and_spans_point_into_the_text(text: str, table_words: WordList) -> None:
    _assert_well_formed(text, find_matches(text, table_words))


@given(text=st.text(alphabet="forbidden FORBIDDEN 0134!|$@.-_ \u200b\u0301оеіοι", max_size=80))
@settings(max_examples=500, deadline=None)
def test_matches_are_ordered_and_never_overlap(text: str, table_words: WordList) -> None:
    _assert_well_formed(text, find_matches(text, table_words))


INLINE_MARKUP = (
    "<b>",
    "</b>",
    '<span class="x">',
    "</span>",
    "<!-- -->",
    "<!---->",
    "<i>",
    "</i>",
    "<a href='#'>",
    "</a>",
    "<wbr>",
    "&shy;",
    "&#8203;",
    "&zwj;",
)
"""Markup that renders as nothing, or as an invisible character, inside a word."""


@given(
    case=st.sampled_from(FLAGGED_TEXTS),
    insertions=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(INLINE_MARKUP)), min_size=1, max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_flags_evasion_whatever_markup_is_inserted_into_it(
    case: tuple[str, str], insertions: list[tuple[int, str]], table_words: WordList
) -> None:
    text, word = case
    pieces, previous = [], 0
    for position, inserted in sorted((position % (len(text) + 1), inserted) for position, inserted in insertions):
        pieces += [text[previous:position], inserted]
        previous = position
    marked_up = "".join([*pieces, text[previous:]])
    matches = find_matches(marked_up, table_words)
    assert word in [match.word for match in matches]
    _assert_well_formed(marked_up, matches)


@given(case=st.sampled_from(FLAGGED_TEXTS), choices=st.lists(st.sampled_from("kdxn"), min_size=1, max_size=64))
@settings(max_examples=300, deadline=None)
def test_flags_evasion_whatever_characters_are_written_as_references(
    case: tuple[str, str], choices: list[str], table_words: WordList
) -> None:
    text, word = case
    written = "".join(
        {
            "k": character,
            "d": f"&#{ord(character)};",
            "x": f"&#x{ord(character):X};",
            "n": _NAMED_REFERENCES.get(character, character),
        }[choices[index % len(choices)]]
        for index, character in enumerate(text)
    )
    matches = find_matches(written, table_words)
    assert word in [match.word for match in matches]
    _assert_well_formed(written, matches)


_NAMED_REFERENCES = {
    "é": "&eacute;",
    "è": "&egrave;",
    "ó": "&oacute;",
    "í": "&iacute;",
    "!": "&excl;",
    "$": "&dollar;",
    "@": "&commat;",
    "|": "&verbar;",
    ".": "&period;",
    "*": "&ast;",
    " ": "&#32;",
    "_": "&lowbar;",
    "-": "&hyphen;",
    "a": "&aacute",
    "o": "&ouml;",
}


@given(
    case=st.sampled_from([case.values[0] for case in CLEAN if "<" not in case.values[0]]),
    tags=st.lists(st.sampled_from(["b", "i", "em", "strong", "span", "a", "p", "li", "td", "div", "h2"]), min_size=1),
)
@settings(max_examples=300, deadline=None)
def test_does_not_flag_clean_title_whatever_markup_formats_its_words(
    case: str, tags: list[str], table_words: WordList
) -> None:
    words = case.split(" ")
    marked_up = " ".join(
        f"<{tags[index % len(tags)]}>{word}</{tags[index % len(tags)]}>" for index, word in enumerate(words)
    )
    assert find_matches(marked_up, table_words) == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("<" * 100_000, id="100 KB of <"),
        pytest.param("<!--" * 25_000, id="unterminated comments"),
        pytest.param("<!-- " + "forbidden " * 10_000, id="everything after an unterminated comment"),
        pytest.param("<a " * 33_000, id="tags that never close"),
        pytest.param("<a>" * 33_000, id="100 KB of tags"),
        pytest.param("<" + "a" * 100_000 + ">", id="one huge tag"),
        pytest.param("&#99999999999;" * 7_000, id="references beyond Unicode"),
        pytest.param("&#" + "9" * 100_000 + ";", id="a reference with 100,000 digits"),
        pytest.param("&#x" + "0" * 100_000 + "64;", id="a reference with 100,000 leading zeros"),
        pytest.param("&#0;" * 25_000, id="NUL references"),
        pytest.param("&#xD800;&#xDFFF;" * 6_000, id="surrogate references"),
        pytest.param("\ud800\udfff" * 10_000, id="lone surrogates"),
        pytest.param("&" * 100_000, id="100 KB of &"),
        pytest.param("&" + "a" * 100_000 + ";", id="a huge unknown name"),
        pytest.param("&amp" * 25_000, id="legacy references"),
        pytest.param("a-b." * 25_000, id="single separators everywhere"),
        pytest.param("f<b>o</b>r" * 10_000, id="markup inside every word"),
    ],
)
def test_pathological_markup_completes_without_false_positives(text: str, table_words: WordList) -> None:
    matches = find_matches(text, table_words)
    if "forbidden" in text:
        assert matches[0].text == "forbidden"
        _assert_well_formed(text, matches)
    else:
        assert matches == []


def test_pathological_markup_still_finds_the_word_after_it(table_words: WordList) -> None:
    text = "<" * 50_000 + " &#" + "9" * 1_000 + "; &#xD800; <!---> f<b>o</b>rbidden <!--"
    [match] = find_matches(text, table_words)
    assert (match.text, match.start) == ("f<b>o</b>rbidden", text.index("f<b>"))


def _assert_well_formed(text: str, matches: list[Match]) -> None:
    previous_end = 0
    for match in matches:
        assert 0 <= previous_end <= match.start < match.end <= len(text)
        assert text[match.start : match.end] == match.text
        assert match.word in TABLE_WORDS
        previous_end = match.end


# --- a big list ----------------------------------------------------------------------------


def _pseudo_words(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(7, 12))) for _ in range(count)]


def test_ten_thousand_word_list_finds_the_right_words_and_nothing_else() -> None:
    words = [*_pseudo_words(9_999), "forbidden"]
    word_list = compile_word_list(words)
    assert len(word_list) == len(set(words))
    [match] = find_matches("A title with f.0.r.b.i.d.d.e.n in it", word_list)
    assert match.word == "forbidden"
    spelled = " ".join(words[4_321].upper())
    [match] = find_matches(f"Look: {spelled}!", word_list)
    assert (match.word, match.text) == (words[4_321], spelled)
    for case in CLEAN:
        assert find_matches(case.values[0], word_list) == [], case.values[0]
