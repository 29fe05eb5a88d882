"""The RedMulE environment: agents, memory, monitors, checkers, scoreboard, coverage.

Shape (one component a file, UVM roles):

* ``core{c}`` :class:`PeriphAgent` per cluster core, all behind the
  :class:`PeriphArbiter` that owns the register port; ``periph_mon`` publishes
  every register access; ``regs[c]`` is core c's register model.
* ``memory`` (:class:`TcdmMemory`, backdoor) and ``responder``
  (:class:`TcdmResponder`, grant profiles) model the cluster's L1; the harness
  serves the wide port every cycle. ``tcdm_mon`` publishes accesses and
  protocol violations, ``evt_mon`` event pulses.
* checkers: ``protocol`` (RQ-3/RQ-4/alignment), ``footprint`` (spec section 6),
  ``ctrl`` (the register and context semantics of spec section 3), the
  ``watchdog``, and the ``scoreboard`` (Z bit for bit, events, timing).
* ``cov`` samples functional coverage.

The env also offers the few DUT-level actions sequences need: register writes
that return their response cycle, SOFT_CLEAR, reset, draining at the end.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from pyuvm import ConfigDB, uvm_analysis_port, uvm_env, uvm_sequence

from redmule_verif.env.analysis import analysis_imp
from redmule_verif.env.coverage_collector import CoverageCollector
from redmule_verif.env.checkers.ctrl_model import CtrlModel
from redmule_verif.env.agents.event_monitor import EventMonitor
from redmule_verif.env.checkers.footprint import FootprintChecker
from redmule_verif.env.agents.periph.agent import PeriphAgent
from redmule_verif.env.agents.periph.arbiter import PeriphArbiter
from redmule_verif.env.agents.periph.item import PeriphItem
from redmule_verif.env.agents.periph.monitor import PeriphMonitor
from redmule_verif.env.checkers.protocol import ProtocolChecker
from redmule_verif.env.agents.periph.reg_adapter import PeriphRegAdapter
from redmule_verif.env.reg_model import SOFT_CLEAR, RedmuleRegBlock
from redmule_verif.env.checkers.scoreboard import Scoreboard
from redmule_verif.env.agents.tcdm.memory import TcdmMemory
from redmule_verif.env.agents.tcdm.monitor import TcdmMonitor
from redmule_verif.env.agents.tcdm.responder import TcdmResponder
from redmule_verif.env.checkers.watchdog import Watchdog


class _OneItem(uvm_sequence):
    """Sends one PeriphItem on a core's sequencer (for accesses whose cycle matters)."""

    def __init__(self, item):
        super().__init__("one_item")
        self.item = item

    async def body(self):
        await self.start_item(self.item)
        await self.finish_item(self.item)


class RedmuleEnv(uvm_env):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.dut = self.cdb_get("dut")
        n = self.cfg.eng.N_CORES
        self.arbiter = PeriphArbiter("arbiter", self)
        ConfigDB().set(self, "*", "periph_arbiter", self.arbiter)
        self.agents = []
        for c in range(n):
            ConfigDB().set(self, f"core{c}", "core", c)
            self.agents.append(PeriphAgent(f"core{c}", self))
        self.periph_mon = PeriphMonitor("periph_mon", self)
        self.responder = TcdmResponder("responder", self)
        self.tcdm_mon = TcdmMonitor("tcdm_mon", self)
        self.evt_mon = EventMonitor("evt_mon", self)
        self.protocol = ProtocolChecker("protocol", self)
        self.footprint = FootprintChecker("footprint", self)
        self.ctrl = CtrlModel("ctrl", self)
        self.watchdog = Watchdog("watchdog", self)
        self.scoreboard = Scoreboard("scoreboard", self)
        self.cov = CoverageCollector("cov", self)
        self.job_ap = uvm_analysis_port("job_ap", self)
        self.regs = [RedmuleRegBlock(f"regs_core{c}") for c in range(n)]
        self.memory = TcdmMemory(self.dut, self.cfg.mem.base, self.cfg.mem.size)
        self.outstanding = []

    def connect_phase(self):
        for c, agent in enumerate(self.agents):
            self.regs[c].map.set_sequencer(agent.seqr, PeriphRegAdapter(f"adapter{c}", core=c))
        self.arbiter.monitor = self.periph_mon
        self.evt_mon.tcdm_monitor = self.tcdm_mon
        self.watchdog.tcdm_monitor = self.tcdm_mon
        self.scoreboard.memory = self.memory
        self.job_ap.connect(self.scoreboard.job_export)
        self.job_ap.connect(self.footprint.job_export)
        self.job_ap.connect(self.ctrl.job_export)
        self.job_ap.connect(self.cov.job_export)
        self.job_ap.connect(analysis_imp("tracker", self, self._track))
        self.evt_mon.ap.connect(self.footprint.evt_export)   # before the scoreboard: it owns the ordering
        self.evt_mon.ap.connect(self.scoreboard.evt_export)
        self.evt_mon.ap.connect(self.ctrl.evt_export)
        self.evt_mon.ap.connect(self.cov.evt_export)
        self.tcdm_mon.ap.connect(self.footprint.access_export)
        self.tcdm_mon.violation_ap.connect(self.protocol.violation_export)
        self.periph_mon.ap.connect(self.ctrl.periph_export)
        self.periph_mon.ap.connect(self.cov.periph_export)
        self.scoreboard.result_ap.connect(self.cov.result_export)

    # ------------------------------------------------------------------ actions for sequences
    async def write_reg(self, core: int, offset: int, value: int, be: int = 0xF) -> PeriphItem:
        item = PeriphItem("wr", offset=offset, write=True, data=value & 0xFFFFFFFF, be=be, core=core)
        await _OneItem(item).start(self.agents[core].seqr)
        return item

    async def read_reg(self, core: int, offset: int) -> PeriphItem:
        item = PeriphItem("rd", offset=offset, write=False, core=core)
        await _OneItem(item).start(self.agents[core].seqr)
        return item

    async def soft_clear(self, core: int, value: int = 0):
        """Write SOFT_CLEAR from ``core``; RQ-4 is waived until the engine is quiet again."""
        d = self.dut
        d.waive_rq4_i.value = 1
        item = await self.write_reg(core, SOFT_CLEAR, value)
        cocotb.start_soon(self._end_waiver())
        return item.cycle

    async def _end_waiver(self):
        await ClockCycles(self.dut.clk_i, 8 + 2)  # software waits 8 cycles after the response (spec section 3)
        self.dut.waive_rq4_i.value = 0

    async def reset_dut(self, cycles: int = 4):
        d = self.dut
        await RisingEdge(d.clk_i)
        d.rst_ni.value = 0
        at = int(d.cycle_o.value)
        self.ctrl.reset()
        await ClockCycles(d.clk_i, cycles)
        d.rst_ni.value = 1
        await ClockCycles(d.clk_i, 2)
        return at

    def arm_watchdog(self):
        eng = self.cfg.eng
        from redmule_verif.model import ref

        budget = sum(ref.expected_cycles(max(r.job.m, 1), max(r.job.n, 1), max(r.job.k, 1), eng.L, eng.H, eng.P)
                     for r in self.outstanding)
        self.watchdog.arm(int(self.cfg.budget_factor * budget) + self.cfg.budget_slack)

    def _track(self, rec):
        """env.outstanding: jobs triggered and not yet done or aborted."""
        if rec.state == "triggered":
            self.outstanding.append(rec)
        elif rec in self.outstanding:
            self.outstanding.remove(rec)

    def job_finished(self, rec):
        if rec in self.outstanding:
            self.outstanding.remove(rec)
        if not self.outstanding:
            self.watchdog.disarm()
        else:
            self.arm_watchdog()
        cocotb.start_soon(self._progress_pulse())

    async def _progress_pulse(self):
        self.dut.progress_clr_i.value = 1
        await RisingEdge(self.dut.clk_i)
        self.dut.progress_clr_i.value = 0

    def abort_outstanding(self, cycle):
        for rec in list(self.outstanding):
            rec.state = "aborted"
            rec.abort_cycle = cycle
            self.job_ap.write(rec)
            if getattr(rec, "done", None) is not None:
                rec.done.set()  # whoever waits for it stops waiting: no event will come
        if not self.outstanding:
            self.watchdog.disarm()

    async def drain(self):
        """End of stimulus: let checks finish, flush the trace and publish what is left."""
        d = self.dut
        for _ in range(1000):
            if not self.scoreboard.pending_checks:
                break
            await RisingEdge(d.clk_i)
        d.flush_i.value = 1
        await ClockCycles(d.clk_i, 2)
        d.flush_i.value = 0
        await RisingEdge(d.clk_i)
        self.tcdm_mon.poll()

    # ------------------------------------------------------------------ coverage hooks
    def coverage_control(self, kind, phase):
        self.cov.control(kind, phase)

