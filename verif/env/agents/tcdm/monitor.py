"""Publishes every accepted TCDM access and every protocol violation.

The harness writes one trace line per accepted access, event pulse or rule
broken (the per-cycle work stays in SystemVerilog); this monitor reads the new
lines at transaction points (an event, the end of a job, the end of the test)
and publishes them, in cycle order, on two analysis ports: ``ap``
(:class:`TcdmAccess`) and ``violation_ap`` (:class:`ProtocolViolation`).
Event pulses in the trace are for people reading it; the EventMonitor
publishes them from the pins.
"""

from __future__ import annotations

import os

from pyuvm import uvm_analysis_port, uvm_component

from redmule_verif.env.agents.tcdm.items import ProtocolViolation, TcdmAccess


class TcdmMonitor(uvm_component):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.violation_ap = uvm_analysis_port("violation_ap", self)
        self.path = self.cdb_get("tcdm_log")
        self._fh = None
        self._partial = ""
        self.n_loads = 0
        self.n_stores = 0
        self.last_access = None

    def poll(self) -> int:
        """Publish every complete trace line written since the last poll; returns how many."""
        if self._fh is None:
            if not os.path.exists(self.path):
                return 0
            self._fh = open(self.path)
        chunk = self._fh.read()
        if not chunk:
            return 0
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()  # an incomplete last line waits for the next poll
        items = []
        for line in lines:
            items.extend(self._parse(line))
        items.sort(key=lambda it: it.cycle)
        for it in items:
            if isinstance(it, TcdmAccess):
                self.last_access = it
                if it.load:
                    self.n_loads += 1
                else:
                    self.n_stores += 1
                self.ap.write(it)
            elif isinstance(it, ProtocolViolation):
                self.violation_ap.write(it)
        return len(items)

    @staticmethod
    def _parse(line) -> list:
        parts = line.split()
        if not parts:
            return []
        kind = parts[0]
        if kind == "A":
            cycle = int(parts[1])
            if parts[2] == "L":
                return [TcdmAccess(cycle, True, int(parts[3], 16))]
            return [TcdmAccess(cycle, False, int(parts[3], 16), int(parts[4], 16), int(parts[5], 16))]
        if kind == "X":
            return [ProtocolViolation(int(parts[1]), parts[2], " ".join(parts[3:]))]
        return []

    def final_phase(self):
        if self._fh is not None:
            self._fh.close()

