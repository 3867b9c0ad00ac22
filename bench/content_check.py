"""Benchmark of the content check: titles checked per second with 1, 100 and 10,000 words in the list."""

from __future__ import annotations

import random
import string
import time

from chalicelib.domain.content_check import compile_word_list, find_matches

LIST_SIZES = (1, 100, 10_000)
TITLE_COUNT = 1_000
RUNS = 5
SEED = 20_240_601

_SUBJECTS = (
    "City council",
    "Local bakery",
    "The new library",
    "Our football club",
    "A small startup",
    "The museum",
    "Weekend market",
    "School board",
    "Hospital staff",
    "The orchestra",
    "Volunteer group",
    "Mountain rescue team",
    "Regional airline",
    "University lab",
)
_VERBS = (
    "announces",
    "opens",
    "celebrates",
    "postpones",
    "reviews",
    "launches",
    "explains",
    "plans",
    "rejects",
    "welcomes",
    "debates",
    "publishes",
)
_OBJECTS = (
    "a summer festival for families",
    "new opening hours from Monday",
    "its annual report",
    "a plan to renovate the old bridge",
    "free classes for beginners",
    "the results of the survey",
    "a partnership with local farms",
    "changes to the parking rules",
    "a charity concert downtown",
    "the winners of the photo contest",
    "a new route to the coast",
    "record visitor numbers",
)
_ENDINGS = ("", " this weekend", " after the storm", " despite the rain", " for the first time", " next month")
_EVASIONS = (
    "forbidden",
    "FORBIDDEN",
    "f.o.r.b.i.d.d.e.n",
    "f0rb1dd3n",
    "ｆｏｒｂｉｄｄｅｎ",
    "fórbíddèn",
    "for\u200bbid\u200bden",
    "f o r b i d d e n",
    "forrrbiddden",
    "fоrbіddеn",
    "ʄ0rb!dd3n",
    "forbiddenfruit",
    "f-o-r-b-i-d-d-e-n",
    "forb!dden",
)


def sample_titles(count: int = TITLE_COUNT, seed: int = SEED) -> list[str]:
    """Realistic ~60-character titles; about one in five carries an evasion of "forbidden"."""
    rng = random.Random(seed)
    titles = []
    for _ in range(count):
        title = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_ENDINGS)}"
        if rng.random() < 0.2:
            words = title.split()
            words.insert(rng.randrange(len(words) + 1), rng.choice(_EVASIONS))
            title = " ".join(words)
        titles.append(title)
    return titles


def pseudo_words(count: int, seed: int = SEED) -> list[str]:
    """Deterministic made-up words (7 to 12 letters), always including "forbidden"."""
    rng = random.Random(seed)
    words = ["forbidden"]
    while len(words) < count:
        words.append("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(7, 12))))
    return words


def _titles_per_second(titles: list[str], word_count: int) -> float:
    word_list = compile_word_list(pseudo_words(word_count))
    for title in titles:  # warm the per-character and transition caches, as a reused Lambda has them
        find_matches(title, word_list)
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        for title in titles:
            find_matches(title, word_list)
        best = min(best, time.perf_counter() - started)
    return len(titles) / best


PATHOLOGICAL_INPUTS: dict[str, str] = {
    "plain words (reference)": "the quick brown fox jumps " * 4_000,
    "words in inline markup": "<b>quick</b> <i>br&#111;wn</i> f<!-- -->ox " * 2_500,
    "'<' only": "<" * 100_000,
    "unterminated comments": "<!--" * 25_000,
    "tags that never close": "<a " * 33_000,
    "100,000-digit reference": "&#" + "9" * 100_000 + ";",
    "surrogate references": "&#xD800;" * 12_500,
    "single separators": "ab-cd." * 16_000,
}
"""About 100 KB each; the check must stay linear on them (compare with the plain-words line)."""


def pathological_milliseconds() -> dict[str, float]:
    """Milliseconds (best of RUNS) to check each input of PATHOLOGICAL_INPUTS against a 100-word list."""
    word_list = compile_word_list(pseudo_words(100))
    timings = {}
    for name, text in PATHOLOGICAL_INPUTS.items():
        best = float("inf")
        for _ in range(RUNS):
            started = time.perf_counter()
            find_matches(text, word_list)
            best = min(best, time.perf_counter() - started)
        timings[name] = best * 1000
    return timings


def run() -> dict[str, float]:
    """Titles checked per second (best of RUNS) for each list size, keyed "words_<size>"."""
    titles = sample_titles()
    return {f"words_{size}": _titles_per_second(titles, size) for size in LIST_SIZES}


def main() -> None:
    """Print the figures as a small table."""
    figures = run()
    print(f"content check: {TITLE_COUNT} titles, best of {RUNS} runs")
    print(f"{'words in list':>14} | {'titles/s':>10}")
    for size in LIST_SIZES:
        print(f"{size:>14,} | {figures[f'words_{size}']:>10,.0f}")
    ratio = figures[f"words_{LIST_SIZES[-1]}"] / figures[f"words_{LIST_SIZES[0]}"]
    print(f"throughput ratio {LIST_SIZES[-1]:,} words / {LIST_SIZES[0]} word: {ratio:.2f}")
    print(f"\nabout 100 KB of each input, best of {RUNS} runs")
    for name, milliseconds in pathological_milliseconds().items():
        print(f"{name:>26} | {milliseconds:>8,.1f} ms")


if __name__ == "__main__":
    main()
