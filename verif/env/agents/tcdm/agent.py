"""The TCDM agent: the cluster's L1 as the DUT's wide port sees it.

Small composable parts, in the manner of cocotbext-axi's memory + responder +
pause generator, each usable on its own:

* ``memory``    (:class:`TcdmMemory`): backdoor byte access to the words the
  harness serves every cycle;
* ``responder`` (:class:`TcdmResponder`): the grant profile of each job (the
  harness's pause generator) and the store responses;
* ``monitor``   (:class:`TcdmMonitor`): every granted access and every
  protocol-rule violation, published at transaction points and cross-checked
  against the harness's own counters.

The agent's analysis ports are the monitor's: ``ap`` (accesses) and
``violation_ap`` (protocol violations). Configuration: a
:class:`TcdmAgentConfig` under the config-db key ``tcdm_cfg``.
"""

from __future__ import annotations

from redmule_verif.env.agents.tcdm.memory import TcdmMemory
from redmule_verif.env.agents.tcdm.monitor import TcdmMonitor
from redmule_verif.env.agents.tcdm.responder import TcdmResponder
from redmule_verif.env.component import Agent


class TcdmAgent(Agent):
    def build_phase(self):
        self.cfg = self.cdb_get("tcdm_cfg")
        self.dut = self.cdb_get("dut")
        self.memory = TcdmMemory(self.dut, self.cfg.base, self.cfg.size)
        self.responder = TcdmResponder("responder", self)
        self.monitor = TcdmMonitor("monitor", self)

    def connect_phase(self):
        self.ap = self.monitor.ap
        self.violation_ap = self.monitor.violation_ap
