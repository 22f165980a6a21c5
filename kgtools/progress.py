"""Progress for long runs: one status line on a terminal, silence everywhere else.

Every stage is timed (:attr:`Progress.timings`, used by ``kg bench`` and ``build.json``'s
neighbours); what is *shown* depends on where standard error goes. On a terminal a single line
is rewritten in place (``kg: reason … 2.1 s``); when standard error is a file or a pipe (CI,
``2> log``) nothing is written, so logs stay clean. ``KG_PROGRESS=1`` / ``0`` forces it on/off.

Own code rather than tqdm: two kinds of line (a stage with its time, a count of files) are all
the toolkit needs, and stage timings must be recorded whether or not anything is shown.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def _enabled(stream: TextIO) -> bool:
    forced = os.environ.get("KG_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Stage timer and (on a terminal) status line."""

    def __init__(self, *, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _enabled(self.stream) if enabled is None else enabled
        self.timings: dict[str, float] = {}
        self._last = 0.0

    def _show(self, text: str, *, final: bool = False) -> None:
        if not self.enabled:
            return
        self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        self.stream.flush()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage; on a terminal show it while it runs and its time when done."""
        self._show(f"kg: {name} …")
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + elapsed
            self._show(f"kg: {name} {elapsed:.1f} s", final=True)

    def count(self, done: int, total: int, what: str = "files") -> None:
        """Show ``done/total`` (at most ten times a second, and always the last one)."""
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        self._show(f"kg: {what} {done:,}/{total:,}", final=done >= total)


#: A progress that shows nothing (library calls without a terminal in mind).
def quiet() -> Progress:
    return Progress(enabled=False)
