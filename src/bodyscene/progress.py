"""Progress a person can follow: rich bars on a terminal, plain lines (n/N, rate, ETA) in a log file.

rich's transient bars draw nothing when the output is not a terminal, so an hours-long `prepare` under Slurm was
silent until it ended. Where stderr (where progress goes) is not a terminal, long stages print at most one line
every `interval` seconds (BODYSCENE_PROGRESS_INTERVAL, default 30) and one at the end.
BODYSCENE_PROGRESS=plain or =rich forces one kind.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
DEFAULT_INTERVAL = 30.0


def plain_wanted(stream: TextIO | None = None) -> bool:
    forced = os.environ.get("BODYSCENE_PROGRESS", "").strip().lower()
    if forced in ("plain", "rich"):
        return forced == "plain"
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def interval_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("BODYSCENE_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def progress_line(label: str, n: int, total: int, unit: str, elapsed: float, extra: str = "") -> str:
    """`prepare: 120/400 clips (30%), 2.10 clips/s, 57 s elapsed, ETA 2 min 13 s`."""
    share = f" ({100 * n / total:.0f}%)" if total else ""
    rate = n / elapsed if elapsed > 0 else 0.0
    eta = duration((total - n) / rate) if rate > 0 and total >= n else "?"
    head = f"{label}: {extra}{', ' if extra else ''}{n}/{total} {unit}{share}"
    return f"{head}, {rate:.2f} {unit}/s, {duration(elapsed)} elapsed, ETA {eta if n < total else '0 s'}"


class PlainProgress:
    """Counts work done and prints a progress line at most every `interval` s, and one at the end."""

    def __init__(
        self,
        label: str,
        total: int,
        unit: str = "items",
        interval: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        extra: str = "",
    ):
        self.label, self.total, self.unit = label, total, unit
        self.interval = interval_seconds() if interval is None else interval
        self.stream, self.clock = stream, clock
        self.n, self.extra = 0, extra
        self.start = self.last = clock()  # no line at the start: a bad input's error stays the only line

    def _print(self) -> None:
        stream = self.stream or sys.stderr
        line = progress_line(self.label, self.n, self.total, self.unit, self.clock() - self.start, self.extra)
        print(line, file=stream, flush=True)

    def update(self, n: int = 1, extra: str | None = None) -> None:
        self.n += n
        if extra is not None:
            self.extra = extra
        now = self.clock()
        if now - self.last >= self.interval and self.n < self.total:
            self.last = now
            self._print()

    def close(self) -> None:
        self._print()


def track(iterable: Iterable[T], total: int, label: str, unit: str = "items") -> Iterator[T]:
    """rich's transient `track` on a terminal; plain lines otherwise."""
    if not plain_wanted():
        from rich.progress import track as rich_track

        yield from rich_track(iterable, total=total, description=label, transient=True)
        return
    bar = PlainProgress(label, total, unit)
    for item in iterable:
        yield item
        bar.update()
    bar.close()
