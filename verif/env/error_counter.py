"""Counts ERROR and CRITICAL log records so that a logged error fails the test.

pyuvm's logger errors alone do not fail a cocotb test; the base test attaches
one counter to every component's logger and fails the test at its end when
the count is not zero, quoting the first messages.
"""

from __future__ import annotations

import logging


class ErrorCounter(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        if not any(r is record for r in self.records):  # a record propagating through several loggers counts once
            self.records.append(record)

    @property
    def count(self) -> int:
        return len(self.records)

    def first(self, n=3) -> list[str]:
        out = []
        for r in self.records[:n]:
            try:
                msg = r.getMessage()
            except Exception:  # pragma: no cover - a bad format string still counts
                msg = str(r.msg)
            out.append(f"[{r.name}] {msg}")
        return out

    def attach(self, logger: logging.Logger) -> None:
        if self not in logger.handlers:
            logger.addHandler(self)
