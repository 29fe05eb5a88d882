"""One cluster core's register agent: a sequencer that feeds the shared register port.

The register port is shared by every core, so its one driver is the
:class:`PeriphArbiter`, which owns the pins. A core's :class:`PeriphSequencer`
hands each item straight to the arbiter and returns when its response has been
read. pyuvm's own sequencer-driver handshake (a request queue, a driver task,
start/finish events on every item) costs four task switches and three events an
access and adds nothing when the driver is shared: the arbitration between cores
happens in the arbiter, at the port, where it is observable.
"""

from __future__ import annotations

from pyuvm import uvm_sequencer

from redmule_verif.env.component import Agent, PathLogged


class PeriphSequencer(PathLogged, uvm_sequencer):
    """Core ``core``'s sequencer: sequences (and the register model's map) start items here."""

    def build_phase(self):
        self.arbiter = self.cdb_get("periph_arbiter")

    async def run_phase(self):
        return  # no request queue to serve: items go to the arbiter as they are started

    async def start_item(self, item):
        return

    async def finish_item(self, item):
        await self.arbiter.transfer(item)

    async def execute_item(self, item):
        """Put ``item`` on the port (through the arbiter) and return it with its response."""
        await self.finish_item(item)
        return item


class PeriphAgent(Agent):
    """Agent of core ``core`` (set through the config db key 'core' before build)."""

    def build_phase(self):
        self.core = self.cdb_get("core")
        self.seqr = PeriphSequencer("seqr", self)
