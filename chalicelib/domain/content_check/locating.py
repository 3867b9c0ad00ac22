"""Locating a hit of the automaton in the original text: which characters the matched word covers."""

from __future__ import annotations

from chalicelib.domain.content_check.normalising import BREAK


def locate(
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
    if best is None:
        return None
    start, end = best
    if start is None or end is None:
        return None
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
