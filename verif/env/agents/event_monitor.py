"""Watches evt_o and publishes each pulse as an :class:`EventPulse` (core, cycle).

Python wakes only when evt_o changes. Before publishing, the TCDM monitor is
polled so that subscribers see every access up to the event first.
"""

from __future__ import annotations

from cocotb.triggers import ValueChange
from pyuvm import uvm_analysis_port, uvm_component

from redmule_verif.env.agents.tcdm.items import EventPulse


class EventMonitor(uvm_component):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = self.cdb_get("dut")
        self.tcdm_monitor = None  # set by the env
        self.pulses = []

    async def run_phase(self):
        d = self.dut
        while True:
            await ValueChange(d.evt_o)
            mask = int(d.evt_o.value)
            if not mask or not int(d.rst_ni.value):
                continue
            cycle = int(d.cycle_o.value)
            if self.tcdm_monitor is not None:
                self.tcdm_monitor.poll()
            for b in range(mask.bit_length()):
                if mask >> b & 1:
                    pulse = EventPulse(cycle, b // 2, b % 2)
                    self.pulses.append(pulse)
                    self.ap.write(pulse)
