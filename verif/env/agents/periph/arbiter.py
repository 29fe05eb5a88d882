"""Owns the register port: serialises the cores' accesses onto the pins.

It is the one driver of the port's pins: each core's sequencer hands its access
to the arbiter and waits for it to complete. When several cores have an access
pending the arbiter picks one at random (so cores really race, e.g. for
ACQUIRE) and, after each access, leaves the port idle for a random number of
cycles (0..idle_gap_max). It works at the falling clock edge, when everything
has settled: it drives a request and, at each falling edge after, learns from
the harness's count of granted requests whether the rising edge just passed
granted it; then it reads the response, which is on the port in that cycle
(spec section 2: periph_r_valid_o exactly one cycle after each granted
request). A missing or misdirected response is reported as
a protocol error. The port is only clocked in Python while accesses are
pending; an access not granted stays on the pins, driven once.
"""

from __future__ import annotations

from cocotb.triggers import Event, FallingEdge

from redmule_verif.env.component import Component
from redmule_verif.env.pin_reader import int_reader
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
        self._req, self._add, self._wen = d.periph_req_i, d.periph_add_i, d.periph_wen_i
        self._be, self._wdata, self._id = d.periph_be_i, d.periph_data_i, d.periph_id_i
        self._id_mask = (1 << len(d.periph_id_i)) - 1
        self._n_granted = int_reader(d.n_preq_o)  # the harness counts granted requests at each rising edge
        self._cycle = int_reader(d.cycle_o)
        self._r_valid = int_reader(d.periph_r_valid_o)
        self._r_id = int_reader(d.periph_r_id_o)
        self._r_data = int_reader(d.periph_r_data_o)
        self._req.value = 0
        self._req_now = 0
        self._pins = (self._add, self._wen, self._be, self._wdata, self._id)
        self._pins_now = [0, 1, 0, 0, 0]  # what the request pins hold: only a pin that changes is written
        for pin, v in zip(self._pins, self._pins_now):
            pin.value = v

    async def transfer(self, item):
        """Put ``item`` on the port; returns when its response has been read."""
        done = Event()
        self.pending.append((item, done))
        self.wake.set()
        await done.wait()
        return item

    async def run_phase(self):
        falling = FallingEdge(self.dut.clk_i)
        inflight = None
        gap = 0
        waiting = None  # an access driven but not granted stays on the pins (RQ-3 of the register port)
        granted_before = 0  # the harness's count of granted requests when ``waiting`` was first driven
        while True:
            if not self.pending and inflight is None:
                self._set_req(0)
                self.wake.clear()
                await self.wake.wait()
            await falling
            if waiting is not None and self._n_granted() != granted_before:
                # granted at the rising edge just passed (the harness counts req & gnt there); its response
                # is on the port now
                self.pending.remove(waiting)
                inflight, waiting = waiting, None
                gap = self.rng.randint(0, self.cfg.idle_gap_max)
            if self.monitor is not None:
                self.monitor.sample(inflight)
            if inflight is not None:
                item, done = inflight
                self._collect(item)
                done.set()
                inflight = None
            if waiting is None and (gap > 0 or not self.pending):
                self._set_req(0)
                gap = max(gap - 1, 0)
                continue
            if waiting is None:
                waiting = self.pending[self.rng.randrange(len(self.pending))]
                granted_before = self._n_granted()
                item = waiting[0]
                self._set_req(1)
                now = self._pins_now
                for i, v in enumerate((item.offset & 0x3FF, 0 if item.write else 1, item.be,
                                       item.data if item.write else 0, (1 << item.core) & self._id_mask)):
                    if now[i] != v:
                        self._pins[i].value = now[i] = v

    def _set_req(self, v):
        if self._req_now != v:
            self._req.value = self._req_now = v

    def _collect(self, item):
        item.cycle = self._cycle()
        valid = self._r_valid()
        rid = self._r_id()
        want = (1 << item.core) & self._id_mask
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
        item.rdata = self._r_data() if not item.write else 0
