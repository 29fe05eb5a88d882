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


class PeriphMonitor(Component):
    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = self.cdb_get("dut")
        self.count = 0
        self.responses = 0
        self.reported = False

    def sample(self, inflight):
        """Called at the falling edge of each active cycle, before new values are driven."""
        if inflight is None:
            return
        d = self.dut
        ident = int(d.periph_id_i.value)
        core = (ident & -ident).bit_length() - 1 if ident else 0
        write = not int(d.periph_wen_i.value)
        item = PeriphItem("mon", offset=int(d.periph_add_i.value) & 0x3FF, write=write,
                          data=int(d.periph_data_i.value) if write else 0, be=int(d.periph_be_i.value), core=core)
        item.cycle = int(d.cycle_o.value)
        if int(d.periph_r_valid_o.value):
            item.rdata = int(d.periph_r_data_o.value) if not write else 0
            item.rid = int(d.periph_r_id_o.value)
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
