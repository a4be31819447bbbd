"""A terminal progress bar for long CLI jobs; silent when the output is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``[#####-----]  50% 500/1000 label``, redrawn at most ten times a second."""

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, width: int = 30
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self._last = 0.0
        self.enabled = self.stream.isatty()

    def advance(self, step: int = 1) -> None:
        """Count finished work and redraw."""
        self.done += step
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            filled = int(self.width * min(self.done, self.total) / self.total)
            percent = 100 * min(self.done, self.total) // self.total
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {percent:3d}% {self.done}/{self.total} {self.label}")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
