"""A bounded, thread-safe memo kept per process: the least recently used entry goes first.

Used for rdflib's prepared queries and the query check's passed texts (by text,
:mod:`kgtools.query`) and for compiled SHACL shapes (by their triples,
:func:`kgtools.engine.shacl.compile_triples`). Not :func:`functools.lru_cache`: the functions
memoised take arguments that are not part of the key (a query's source name, which only error
messages carry; a parse the caller made already), a refusal is not kept (so that it is raised
again with the caller's own source), and ``kg bench`` empties a memo to time a rebuild as a
new process runs it.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """At most ``size`` values by key; when full, the least recently used is forgotten."""

    def __init__(self, size: int) -> None:
        self._values: dict[K, V] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.pop(key, None)
            if value is not None:
                self._values[key] = value  # (the most recently used last)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = value
            while len(self._values) > self._size:
                del self._values[next(iter(self._values))]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
