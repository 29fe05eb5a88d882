"""The console of a regression: one line per finished run and a status line (rewritten in place on a
terminal) with the counts, elapsed time and ETA."""

from __future__ import annotations

import sys
import time

from redmule_verif.flow.records import FAILING
from redmule_verif.tools.regress.report import hms as _hms


class Progress:
    """One line per finished run; a status line (rewritten in place on a terminal)."""

    def __init__(self, total: int, stream=None, quiet: bool = False):
        self.total = total
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self.done = 0
        self.failing = 0
        self._status_shown = False
        self.sched = ""          # the scheduler's counts (queued / running), when a launcher reports them
        self._sched_t = 0.0

    def status_text(self) -> str:
        el = time.monotonic() - self.t0
        left = self.total - self.done
        eta = f"ETA {_hms(el / self.done * left)}" if self.done and left else ("done" if not left else "ETA ?")
        return (f"[{self.done}/{self.total} done, {self.failing} failing, {self.sched}{_hms(el)} elapsed, "
                f"{eta}]")

    def _write(self, text: str) -> None:
        if self.quiet:
            return
        if self.tty and self._status_shown:
            self.stream.write("\r\033[K")
        self.stream.write(text)
        self.stream.flush()

    def line(self, text: str) -> None:
        self._write(text + "\n")
        self._status()

    def _status(self) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write(self.status_text())
            self._status_shown = True
        else:
            self.stream.write("  " + self.status_text() + "\n")
        self.stream.flush()

    def scheduler(self, p) -> None:
        """A launcher's progress: queued and running counts from the scheduler (a local launcher has none)."""
        if not hasattr(p, "queued"):
            return
        self.sched = f"{p.running} running, {p.queued} queued, "
        now = time.monotonic()
        if self.tty or now - self._sched_t >= 30.0:  # a log file gets the counts twice a minute at most
            self._sched_t = now
            if self.tty and self._status_shown:
                self._write("")
                self._status()
            elif not self.quiet:
                self.stream.write(f"  [scheduler: {p}]\n")
                self.stream.flush()

    def finished(self, rec: dict) -> None:
        self.done += 1
        if rec["status"] in FAILING:
            self.failing += 1
        w = len(str(self.total))
        cyc = rec.get("sim_cycles")
        detail = (f"{rec['wall_s']:6.1f}s {int(rec.get('jobs_checked') or 0):4d} jobs "
                  f"{(str(cyc) if cyc is not None else '-'):>8} cyc")
        tail = f"  {rec.get('root_cause') or rec['signature']}" if rec["status"] != "pass" else ""
        self.line(f"[{self.done:{w}d}/{self.total}] {rec['status'].upper():<11} {rec['test']:<20} "
                  f"seed={rec['seed']:<10} {detail}{tail}")

    def close(self) -> None:
        if self.tty and self._status_shown and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
            self._status_shown = False
