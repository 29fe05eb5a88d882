"""Publishes every register access seen on the register port.

It samples the pins on the arbiter's clocking (the falling edge of each cycle
in which the port is active): the request still on the pins from the cycle
before, and the response of this cycle. Subscribers get the completed
:class:`PeriphItem` with the read data and the response cycle.

The harness counts granted register requests and response cycles on its own;
:meth:`cross_check` compares them with what this monitor saw (at every quiet
point and at the end of the test): a response nobody asked for, or an access
the monitor missed, is a ``PERIPH_COUNT`` error.
"""

from __future__ import annotations

from pyuvm import uvm_analysis_port

from redmule_verif.env.component import Component
from redmule_verif.env.agents.periph.item import PeriphItem
from redmule_verif.env.pin_reader import int_reader


class PeriphMonitor(Component):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = self.cdb_get("dut")
        self.count = 0
        self.responses = 0
        self.reported = False

    def start_of_simulation_phase(self):
        d = self.dut
        self._id, self._wen, self._add = int_reader(d.periph_id_i), int_reader(d.periph_wen_i), int_reader(d.periph_add_i)
        self._wdata, self._be, self._cycle = int_reader(d.periph_data_i), int_reader(d.periph_be_i), int_reader(d.cycle_o)
        self._r_valid, self._r_data, self._r_id = (int_reader(d.periph_r_valid_o), int_reader(d.periph_r_data_o),
                                                   int_reader(d.periph_r_id_o))

    def sample(self, inflight):
        """Called at the falling edge of each active cycle, before new values are driven."""
        if inflight is None:
            return
        ident = self._id()
        core = (ident & -ident).bit_length() - 1 if ident else 0
        write = not self._wen()
        item = PeriphItem("mon", offset=self._add() & 0x3FF, write=write, data=self._wdata() if write else 0,
                          be=self._be(), core=core)
        item.cycle = self._cycle()
        if self._r_valid():
            item.rdata = self._r_data() if not write else 0
            item.rid = self._r_id()
            self.responses += 1
        self.count += 1
        self.ap.write(item)

    def cross_check(self, where: str) -> bool:
        d = self.dut
        # read-only phase after the falling edge: this cycle's response is sampled, the harness counts it next edge
        reqs, resps = int(d.n_preq_o.value), int(d.n_presp_o.value) + int(d.periph_r_valid_o.value)
        if (reqs, resps) == (self.count, self.responses) or self.reported:
            return (reqs, resps) == (self.count, self.responses)
        self.reported = True
        self.check_error("PERIPH_COUNT", f"PERIPH_COUNT at {where} the harness counted {reqs} granted register "
                                         f"requests and {resps} periph_r_valid_o cycles, the monitor saw {self.count} "
                                         f"accesses and {self.responses} responses: a response nobody asked for, "
                                         f"or an access the monitor missed")
        return False
