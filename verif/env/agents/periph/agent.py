"""One cluster core's register agent: a sequencer and a driver.

The driver does not own the pins: it hands each access to the
:class:`PeriphArbiter`, which shares the single register port between cores.
"""

from __future__ import annotations

from pyuvm import uvm_sequencer

from redmule_verif.env.component import Agent, Driver


class PeriphDriver(Driver):
    def build_phase(self):
        self.arbiter = self.cdb_get("periph_arbiter")

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.arbiter.transfer(item)
            self.seq_item_port.item_done()


class PeriphAgent(Agent):
    """Agent of core ``core`` (set through the config db key 'core' before build)."""

    def build_phase(self):
        self.core = self.cdb_get("core")
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = PeriphDriver("driver", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
