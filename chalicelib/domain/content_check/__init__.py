"""Evasion-resistant matching of titles and bodies against the configured word list (SPEC section 5).

A package by job: ``characters`` (what each character may stand for; its look-alikes from the
generated ``confusables_table``), ``normalising`` (text into
candidate letters and word breaks), ``automaton`` (Aho-Corasick over them), ``compiling`` (the
configured words into a :class:`WordList`), ``locating`` (a hit back to the original characters),
``markup`` (the two readings of HTML) and ``word_list`` (:meth:`WordList.scan`, which runs them).
"""

# How the pipeline works (each step keeps the index of the original character it came from):
#   0. text with HTML markup is read twice, as rendered and as written (markup.py), each
#      reading going through the steps below, its hits mapped back to the markup;
#   1. per character: NFKD (compatibility forms: full width, mathematical letters, ligatures),
#      drop combining marks (accents), casefold, drop invisible characters (format characters
#      such as zero-width spaces/joiners, the soft hyphen, variation selectors);
#   2. classify what is left: Latin letter, ASCII digit, substitution symbol (@ $ ! | + ...),
#      look-alike from another script (Unicode confusables data), other letter, or separator;
#      split into tokens on separators;
#   3. glue runs of single-character tokens ("f.o.r.b.i.d.d.e.n") into one token, so that
#      "for bidden" stays two tokens;
#   4. give every character its candidate letters (a '1' may be an 'i' or an 'l', a '|' may
#      also be nothing) and put a word break between tokens; a break made of one punctuation
#      character between two words may also be nothing ("f-orbidden", "forb.idden");
#   5. run one Aho-Corasick automaton over those candidates (a small set of states, one per
#      reading), letting a repeated letter stay in the state it reached ("forrrbiddden");
#      configured words keep their double letters (runs capped at two), so "too" needs two o's.
# Only a hit goes back over the text, to find where the match starts and ends in the original.

from __future__ import annotations

from chalicelib.domain.content_check.compiling import EMBED_MIN_LETTERS, compile_word_list, parse_words
from chalicelib.domain.content_check.normalising import BREAK
from chalicelib.domain.content_check.word_list import Match, WordList

__all__ = ["BREAK", "EMBED_MIN_LETTERS", "Match", "WordList", "compile_word_list", "find_matches", "parse_words"]


def find_matches(text: str, word_list: WordList) -> list[Match]:
    """Every occurrence of a configured word in ``text``: the same as ``word_list.scan(text)``."""
    return word_list.scan(text)
