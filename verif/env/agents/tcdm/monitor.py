"""Publishes every accepted TCDM access and every protocol violation, and proves it saw them all.

The harness writes one trace line per accepted access, event pulse or rule
broken (the per-cycle work stays in SystemVerilog); this monitor reads the new
lines at transaction points (an event, the end of a job, the end of the test)
and publishes them, in cycle order, on two analysis ports: ``ap``
(:class:`TcdmAccess`) and ``violation_ap`` (:class:`ProtocolViolation`).
``ap`` is a :class:`~redmule_verif.env.agents.tcdm.batch.BatchAnalysisPort`:
the accesses of a poll between two violations go as one batch to the
subscribers that take batches (the footprint checker, the control model),
one by one to the others. Event pulses in the trace are for people reading it; the
EventMonitor publishes them from the pins.

The harness also counts every granted load and store and every violation,
trace or no trace. :meth:`cross_check` (at every quiet point and at the end of
the test) compares those counters with what the trace held: a trace that is
missing (the simulator started without ``+tcdm_log=PATH``) or lost lines is a
``TRACE`` error, never a silent pass of the footprint and protocol checks.

The trace's sha256 (``trace_sha256`` of the run's summary) is computed here,
incrementally over the bytes as they are read: :meth:`trace_digest` hashes
what the file holds beyond the last poll and gives the digest of the whole
file without reading it again (the value of hashing the file at that point).
"""

from __future__ import annotations

import hashlib
import operator
import os

from pyuvm import uvm_analysis_port

from redmule_verif.env.agents.tcdm.batch import BatchAnalysisPort
from redmule_verif.env.agents.tcdm.items import ProtocolViolation, TcdmAccess, new_access
from redmule_verif.env.component import Component

_gt = operator.gt
_cycle = operator.attrgetter("cycle")


class TcdmMonitor(Component):
    def build_phase(self):
        self.ap = BatchAnalysisPort("ap", self)  # the accesses of a poll: one batch to who takes it
        self.violation_ap = uvm_analysis_port("violation_ap", self)
        self.dut = self.cdb_get("dut")
        self.path = self.cdb_get("tcdm_cfg").trace_path
        self._fh = None
        self._partial = ""
        self._sha = hashlib.sha256()  # of every byte of the trace read so far
        self.n_loads = 0
        self.n_stores = 0
        self.n_violations = 0
        self.last_access = None
        self.blind = False  # the cross-check failed once: reported, not repeated

    def poll(self) -> int:
        """Publish every complete trace line written since the last poll; returns how many."""
        chunk = self._read()
        if not chunk:
            return 0
        text, newline, self._partial = (self._partial + chunk.decode()).rpartition("\n")
        if not newline:
            return 0  # an incomplete last line waits for the next poll
        items, violations = self._parse_lines(text)
        cycles = [it.cycle for it in items]
        if any(map(_gt, cycles, cycles[1:])):  # the harness writes in cycle order; sorted (stably) if not
            items.sort(key=_cycle)
        if not violations:
            if items:
                self._publish(items)
            return len(items)
        run = []  # accesses between violations, published as one batch
        for it in items:
            if isinstance(it, TcdmAccess):
                run.append(it)
            else:
                if run:
                    self._publish(run)
                    run = []
                self.n_violations += 1
                self.violation_ap.write(it)
        if run:
            self._publish(run)
        return len(items)

    def _publish(self, accesses) -> None:
        """Count and publish accesses (in cycle order) on ``ap``, as one batch."""
        loads = sum(1 for a in accesses if a.load)
        self.n_loads += loads
        self.n_stores += len(accesses) - loads
        self.last_access = accesses[-1]
        self.ap.write_batch(accesses)

    @staticmethod
    def _parse_lines(text) -> tuple[list, bool]:
        """The accesses (``A`` lines) and protocol violations (``X`` lines) of ``text``, in order, and whether a
        violation is among them; other lines (event pulses) are for people reading the trace."""
        items = []
        violations = False
        for line in text.split("\n"):
            parts = line.split()
            if not parts:
                continue
            kind = parts[0]
            if kind == "A":
                cycle = int(parts[1])
                if parts[2] == "L":
                    items.append(new_access(cycle, True, int(parts[3], 16)))
                else:
                    items.append(new_access(cycle, False, int(parts[3], 16), int(parts[4], 16), int(parts[5], 16)))
            elif kind == "X":
                items.append(ProtocolViolation(int(parts[1]), parts[2], " ".join(parts[3:])))
                violations = True
        return items, violations

    def _read(self) -> bytes:
        """The bytes written since the last read (hashed on the way)."""
        if self._fh is None:
            if not os.path.exists(self.path):
                return b""
            self._fh = open(self.path, "rb")
        chunk = self._fh.read()
        if chunk:
            self._sha.update(chunk)
        return chunk

    def trace_digest(self) -> str | None:
        """sha256 of the whole trace file as it stands (None: there is no trace file). The bytes beyond the
        last poll are hashed, not published."""
        self._read()
        return self._sha.hexdigest() if self._fh is not None else None

    def counted(self) -> tuple[int, int, int]:
        """The harness's own counts: granted loads, granted stores, rule violations."""
        d = self.dut
        return int(d.n_loads_o.value), int(d.n_stores_o.value), int(d.proto_errs_o.value)

    def cross_check(self, where: str) -> bool:
        """Compare what the trace held with the harness's counters (call after a flush and a poll)."""
        if self.blind:
            return False
        loads, stores, viol = self.counted()
        seen = (self.n_loads, self.n_stores, self.n_violations)
        if int(self.dut.trace_on_o.value) and seen == (loads, stores, viol):
            return True
        self.blind = True
        why = ("the harness writes no trace (the simulator was started without +tcdm_log=PATH)"
               if not int(self.dut.trace_on_o.value) else f"the trace {self.path} lost lines")
        self.check_error("TRACE", f"TRACE {why}: at {where} the harness counted {loads} loads, {stores} stores and "
                                  f"{viol} protocol violations, the monitor read {seen[0]}, {seen[1]} and {seen[2]}; "
                                  f"the footprint and protocol checks saw only those")
        return False

    def final_phase(self):
        if self._fh is not None:
            self._fh.close()
