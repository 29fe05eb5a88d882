"""Watches evt_o and publishes each pulse as an :class:`EventPulse` (core, bit, cycle).

Python wakes only when evt_o changes. Before publishing, the trace of the TCDM
agent (given with :meth:`EventMonitor.sync_with`) is polled so that subscribers
see every access up to the event first.

A wake-up per value change cannot tell a one-cycle pulse from one held for
two cycles (or two pulses back to back). The harness counts event bits per
cycle (``n_evt_o``: a pulse is 1, a held pulse 2 or more); :meth:`cross_check`
compares that with the pulses published here, at every quiet point and at the
end of the test: a difference is an ``EVT_COUNT`` error (the contract is one
one-cycle pulse per job).
"""

from __future__ import annotations

from cocotb.triggers import ValueChange
from pyuvm import uvm_analysis_port

from redmule_verif.env.agents.tcdm.items import EventPulse
from redmule_verif.env.component import Component


class EventMonitor(Component):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = self.cdb_get("dut")
        self._before_publish = None
        self.pulses = []
        self.reported = False

    def sync_with(self, tcdm_monitor):
        """Poll ``tcdm_monitor`` before publishing each event (accesses first, then the event)."""
        self._before_publish = tcdm_monitor.poll

    async def run_phase(self):
        d = self.dut
        evt, rst, cycle_o = d.evt_o, d.rst_ni, d.cycle_o
        while True:
            await ValueChange(evt)
            mask = int(evt.value)
            if not mask or not int(rst.value):
                continue
            cycle = int(cycle_o.value)
            if self._before_publish is not None:
                self._before_publish()
            for b in range(mask.bit_length()):
                if mask >> b & 1:
                    pulse = EventPulse(cycle, b // 2, b % 2)
                    self.pulses.append(pulse)
                    self.ap.write(pulse)

    def cross_check(self, where: str) -> bool:
        """Call in a read-only phase between edges: the bits high now are counted at the next edge."""
        counted = int(self.dut.n_evt_o.value) + bin(int(self.dut.evt_o.value)).count("1")
        if counted == len(self.pulses) or self.reported:
            return counted == len(self.pulses)
        self.reported = True
        last = self.pulses[-1] if self.pulses else None
        self.check_error("EVT_COUNT", f"EVT_COUNT evt_o was high {counted} bit-cycles but {len(self.pulses)} pulses "
                                      f"were seen (at {where}; last pulse: core {last.core if last else '-'} cycle "
                                      f"{last.cycle if last else '-'}): an event held for more than one cycle or "
                                      f"pulsed in consecutive cycles")
        return False
