"""The Aho-Corasick automaton that runs every configured word's patterns over normalised text at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


class Automaton:
    """One automaton for all patterns, built once and shared by every scan.

    It memoises transitions as it meets them (so compiling 10,000 words stays cheap at cold
    start); the memo only ever stores the one correct value, so sharing it between threads is safe.
    """

    __slots__ = ("_alphabet", "_delta", "_fail", "_last", "_out")

    def __init__(self, patterns: Sequence[tuple[str, ...]]) -> None:
        children: list[dict[str, int]] = [{}]
        last: list[str | None] = [None]
        own: list[list[int]] = [[]]
        for pattern_id, symbols in enumerate(patterns):
            node = 0
            for symbol in symbols:
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
        self._delta: list[dict[str, int]] = children
        self._fail: list[int] = fail
        self._last: list[str | None] = last
        self._out: list[tuple[int, ...]] = out
        self._alphabet: frozenset[str] = frozenset(symbol for symbols in patterns for symbol in symbols)

    def _goto(self, node: int, symbol: str) -> int:
        """The Aho-Corasick transition, following failure links once and memoising the answer."""
        delta = self._delta
        visited: list[int] = []
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

    def hits(self, candidates: list[tuple[str, ...]], skippable: list[bool]) -> list[tuple[int, int]]:
        """(unit index, pattern index) for every pattern ending at a unit, under any reading of the text."""
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
