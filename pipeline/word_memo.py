"""A bounded memo of per-word values computed a batch at a time (a word's tokenizer ids, its hashed columns).

News vocabulary repeats, so each distinct word is computed once and remembered; when the memo is full it forgets
everything and refills with what the current text uses. Every word of a batch is present after ``ensure``,
including words remembered before a reset (a reset forgets them, so they are computed again)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class WordMemo(Generic[Value]):
    def __init__(self, compute: Callable[[list[str]], Iterable[Value]], limit: int = 500_000) -> None:
        self._compute = compute  # words (sorted, distinct) -> their values, in the same order
        self.limit = limit
        self.values: dict[str, Value] = {}

    def ensure(self, words: Iterable[str]) -> dict[str, Value]:
        """The memo, holding every one of ``words``."""
        wanted = set(words)
        missing = [word for word in wanted if word not in self.values]
        if not missing:
            return self.values
        if len(self.values) + len(missing) > self.limit:
            self.values.clear()
            missing = list(wanted)
        missing.sort()  # the same batch computes the same way whatever the set's order
        self.values.update(zip(missing, self._compute(missing), strict=True))
        return self.values
