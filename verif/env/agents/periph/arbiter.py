"""Owns the register port: serialises the cores' accesses onto the pins.

Each core's driver hands its access to the arbiter and waits for it to
complete. When several cores have an access pending the arbiter picks one at
random (so cores really race, e.g. for ACQUIRE) and, after each access, leaves
the port idle for a random number of cycles (0..idle_gap_max). It works at the
falling clock edge, when everything has settled: it drives a request, reads
the grant, and one cycle after the grant reads the response (spec section 2:
periph_r_valid_o exactly one cycle after each granted request). A missing or
misdirected response is reported as a protocol error. The port is only
clocked in Python while accesses are pending.
"""

from __future__ import annotations

from cocotb.triggers import Event, FallingEdge, ReadOnly


from redmule_verif.env.component import Component
from redmule_verif.seeding import py_rng


class PeriphArbiter(Component):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.dut = self.cdb_get("dut")
        self.rng = py_rng(self.cfg.seed, self.get_full_name())
        self.pending = []          # [(item, done_event)]
        self.wake = Event()
        self.monitor = None        # PeriphMonitor, set by the env

    def start_of_simulation_phase(self):
        d = self.dut
        d.periph_req_i.value = 0
        d.periph_add_i.value = 0
        d.periph_wen_i.value = 1
        d.periph_be_i.value = 0
        d.periph_data_i.value = 0
        d.periph_id_i.value = 0

    async def transfer(self, item):
        """Put ``item`` on the port; returns when its response has been read."""
        done = Event()
        self.pending.append((item, done))
        self.wake.set()
        await done.wait()
        return item

    async def run_phase(self):
        d = self.dut
        inflight = None
        gap = 0
        waiting = None  # an access driven but not granted stays on the pins (RQ-3 of the register port)
        while True:
            if not self.pending and inflight is None:
                d.periph_req_i.value = 0
                self.wake.clear()
                await self.wake.wait()
            await FallingEdge(d.clk_i)
            if self.monitor is not None:
                self.monitor.sample(inflight)
            if inflight is not None:
                item, done = inflight
                self._collect(item)
                done.set()
                inflight = None
            if waiting is None and (gap > 0 or not self.pending):
                gap = max(gap - 1, 0)
                d.periph_req_i.value = 0
                continue
            if waiting is None:
                waiting = self.pending[self.rng.randrange(len(self.pending))]
            item, done = waiting
            d.periph_req_i.value = 1
            d.periph_add_i.value = item.offset & 0x3FF
            d.periph_wen_i.value = 0 if item.write else 1
            d.periph_be_i.value = item.be
            d.periph_data_i.value = item.data if item.write else 0
            d.periph_id_i.value = (1 << item.core) & ((1 << len(d.periph_id_i)) - 1)
            await ReadOnly()
            if int(d.periph_gnt_o.value):
                self.pending.remove(waiting)
                inflight, waiting = waiting, None
                gap = self.rng.randint(0, self.cfg.idle_gap_max)

    def _collect(self, item):
        d = self.dut
        item.cycle = int(d.cycle_o.value)
        valid = int(d.periph_r_valid_o.value)
        rid = int(d.periph_r_id_o.value)
        want = (1 << item.core) & ((1 << len(d.periph_id_i)) - 1)
        if not valid:
            self.check_error("PERIPH_NO_RVALID", f"register port: no periph_r_valid_o one cycle after the granted "
                        f"{'write' if item.write else 'read'} of offset {item.offset:#05x} by core {item.core} "
                        f"(cycle {item.cycle})")
            item.rdata = None if not item.write else 0
            return
        if rid != want:
            self.check_error("PERIPH_RID", f"register port: periph_r_id_o={rid:#x} for the access of core {item.core} "
                        f"(expected {want:#x}) at cycle {item.cycle}")
        item.rid = rid
        item.rdata = int(d.periph_r_data_o.value) if not item.write else 0
