"""A bounded, thread-safe memo keyed by query text, kept per process.

Not :func:`functools.lru_cache`: the functions memoised here take arguments that are not part
of the key (a query's source name, which only error messages carry; a parse the caller made
already), and a refusal is not kept, so that it is raised again with the caller's own source.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

V = TypeVar("V")


class TextMemo(Generic[V]):
    """At most ``size`` values by text; when full, the oldest entry is forgotten first."""

    def __init__(self, size: int = 512) -> None:
        self._values: dict[str, V] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, text: str) -> V | None:
        with self._lock:
            return self._values.get(text)

    def put(self, text: str, value: V) -> None:
        with self._lock:
            if text not in self._values and len(self._values) >= self._size:
                del self._values[next(iter(self._values))]
            self._values[text] = value
