"""The RedMulE environment: agents, monitors, checkers, scoreboard, coverage.

Shape (UVM roles, one component a file):

* ``core{c}`` :class:`PeriphAgent` per cluster core, all behind the
  :class:`PeriphArbiter` that owns the register port; ``periph_mon`` publishes
  every register access; ``regs[c]`` is core c's register model
  (``agents/periph``).
* ``tcdm`` (:class:`TcdmAgent`, ``agents/tcdm``): the cluster's L1 as the wide
  port sees it -- ``tcdm.memory`` (backdoor), ``tcdm.responder`` (grant
  profiles), ``tcdm.monitor`` (accesses and protocol violations);
  ``evt_mon`` publishes event pulses.
* checkers: ``protocol`` (the harness's per-cycle rules), ``footprint`` (spec
  section 6), ``ctrl`` (the register and context semantics of spec section
  3), the ``watchdog``, and the ``scoreboard`` (Z bit for bit, events, timing).
* ``cov`` samples functional coverage.

Every observation is counted twice: the harness counts loads, stores, event
bits per cycle, register requests and responses and rule violations; at the
end of every job and of the test (:meth:`RedmuleEnv.cross_check`) each
monitor compares what it saw with those counters (``TRACE``, ``EVT_COUNT``,
``PERIPH_COUNT``).

The env also offers the few DUT-level actions sequences need: register writes
that return their response cycle, SOFT_CLEAR, reset, draining at the end.
The list of every check, where it lives and its negative control is
``checkers/CHECKS.yaml``.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles, Event, FallingEdge, ReadOnly, RisingEdge
from pyuvm import ConfigDB, uvm_analysis_port

from redmule_verif.env.clock import cycles
from redmule_verif.env.agents.event_monitor import EventMonitor
from redmule_verif.env.agents.periph import PeriphAgent, PeriphArbiter, PeriphItem, PeriphMonitor, PeriphRegAdapter
from redmule_verif.env.agents.tcdm import TcdmAgent, TcdmAgentConfig
from redmule_verif.env.analysis import analysis_imp
from redmule_verif.env.checkers.ctrl_model import CtrlModel
from redmule_verif.env.checkers.footprint import FootprintChecker
from redmule_verif.env.checkers.protocol import ProtocolChecker
from redmule_verif.env.checkers.scoreboard import Scoreboard
from redmule_verif.env.checkers.watchdog import Watchdog
from redmule_verif.env.component import Env
from redmule_verif.env.coverage_collector import CoverageCollector
from redmule_verif.env.reg_model import SOFT_CLEAR, RedmuleRegBlock
from redmule_verif.model import ref


class RedmuleEnv(Env):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.dut = self.cdb_get("dut")
        n = self.cfg.eng.N_CORES
        ConfigDB().set(self, "tcdm*", "tcdm_cfg", TcdmAgentConfig(
            base=self.cfg.mem.base, size=self.cfg.mem.size, trace_path=self.cdb_get("tcdm_log"),
            width_bytes=self.cfg.eng.dw // 8, store_resp=self.cfg.store_resp))
        self.hang = Event()
        ConfigDB().set(self, "*", "hang_event", self.hang)
        self.arbiter = PeriphArbiter("arbiter", self)
        ConfigDB().set(self, "*", "periph_arbiter", self.arbiter)
        self.agents = []
        for c in range(n):
            ConfigDB().set(self, f"core{c}", "core", c)
            self.agents.append(PeriphAgent(f"core{c}", self))
        self.periph_mon = PeriphMonitor("periph_mon", self)
        self.tcdm = TcdmAgent("tcdm", self)
        self.evt_mon = EventMonitor("evt_mon", self)
        self.protocol = ProtocolChecker("protocol", self)
        self.footprint = FootprintChecker("footprint", self)
        self.ctrl = CtrlModel("ctrl", self)
        self.watchdog = Watchdog("watchdog", self)
        self.scoreboard = Scoreboard("scoreboard", self)
        self.cov = CoverageCollector("cov", self)
        self.job_ap = uvm_analysis_port("job_ap", self)
        self.regs = [RedmuleRegBlock(f"regs_core{c}") for c in range(n)]
        self.outstanding = []

    def connect_phase(self):
        for c, agent in enumerate(self.agents):
            self.regs[c].map.set_sequencer(agent.seqr, PeriphRegAdapter(f"adapter{c}", core=c))
        self.arbiter.monitor = self.periph_mon
        self.evt_mon.sync_with(self.tcdm.monitor)
        self.watchdog.sync_with(self.tcdm.monitor, self.scoreboard)
        self.scoreboard.memory = self.tcdm.memory
        self.job_ap.connect(self.scoreboard.job_export)
        self.job_ap.connect(self.footprint.job_export)
        self.job_ap.connect(self.ctrl.job_export)
        self.job_ap.connect(self.cov.job_export)
        self.job_ap.connect(analysis_imp("tracker", self, self._track))
        self.evt_mon.ap.connect(self.footprint.evt_export)   # before the scoreboard: it owns the ordering
        self.evt_mon.ap.connect(self.scoreboard.evt_export)
        self.evt_mon.ap.connect(analysis_imp("completion", self, self._completed))  # after the scoreboard
        self.evt_mon.ap.connect(self.ctrl.evt_export)
        self.evt_mon.ap.connect(self.cov.evt_export)
        self.tcdm.ap.connect(self.footprint.access_export)
        self.tcdm.ap.connect(self.ctrl.tcdm_export)
        self.ctrl.cov = self.cov.model  # the control model samples the control-path crosses
        self.tcdm.violation_ap.connect(self.protocol.violation_export)
        self.periph_mon.ap.connect(self.ctrl.periph_export)
        self.periph_mon.ap.connect(self.cov.periph_export)
        self.scoreboard.result_ap.connect(self.cov.result_export)

    def start_of_simulation_phase(self):
        self.dut.probe_i.value = int(self.cfg.comb_probe)
        self.dut.busy_slack_i.value = max(0, min(0xFFFF, int(self.cfg.busy_slack)))

    @property
    def memory(self):
        """The L1's backdoor (``tcdm.memory``), for sequences that write operands and read results."""
        return self.tcdm.memory

    # ------------------------------------------------------------------ actions for sequences
    async def write_reg(self, core: int, offset: int, value: int, be: int = 0xF) -> PeriphItem:
        item = PeriphItem("wr", offset=offset, write=True, data=value & 0xFFFFFFFF, be=be, core=core)
        return await self.agents[core].seqr.execute_item(item)

    async def read_reg(self, core: int, offset: int) -> PeriphItem:
        item = PeriphItem("rd", offset=offset, write=False, core=core)
        return await self.agents[core].seqr.execute_item(item)

    async def soft_clear(self, core: int, value: int = 0):
        """Write SOFT_CLEAR from ``core``; RQ-4 is waived until the engine is quiet again."""
        d = self.dut
        d.waive_rq4_i.value = 1
        item = await self.write_reg(core, SOFT_CLEAR, value)
        cocotb.start_soon(self._end_waiver())
        return item.cycle

    async def _end_waiver(self):
        await cycles(self.dut.clk_i, 8 + 2)  # software waits 8 cycles after the response (spec section 3)
        self.dut.waive_rq4_i.value = 0

    async def reset_dut(self, hold: int = 4):
        d = self.dut
        await RisingEdge(d.clk_i)
        d.rst_ni.value = 0
        at = int(d.cycle_o.value)
        self.ctrl.reset()
        await ClockCycles(d.clk_i, hold)
        d.rst_ni.value = 1
        await ClockCycles(d.clk_i, 2)
        return at

    def arm_watchdog(self):
        eng = self.cfg.eng
        budget = sum(ref.expected_cycles(max(r.job.m, 1), max(r.job.n, 1), max(r.job.k, 1), eng.L, eng.H, eng.P)
                     for r in self.outstanding)
        self.watchdog.arm(int(self.cfg.budget_factor * budget) + self.cfg.budget_slack)

    def _track(self, rec):
        """env.outstanding: jobs triggered and not yet done or aborted."""
        if rec.state == "triggered":
            self.outstanding.append(rec)
        elif rec in self.outstanding:
            self.outstanding.remove(rec)

    def outstanding_summary(self) -> str:
        """What the environment waits for, in words (for liveness failures)."""
        if not self.outstanding:
            return "no job outstanding"
        return "outstanding: " + ", ".join(r.describe() for r in self.outstanding[:4]) + \
            (f" and {len(self.outstanding) - 4} more" if len(self.outstanding) > 4 else "")

    def _completed(self, pulse):
        """An event: the jobs the scoreboard has just seen complete are no longer outstanding, now (not
        when a sequence gets round to waiting for them: the watchdog and the BUSY rule follow the DUT)."""
        done = [r for r in self.outstanding if r.state == "done"]
        for rec in done:
            self._retire(rec)

    def _retire(self, rec):
        self.outstanding.remove(rec)
        if not self.outstanding:
            self.watchdog.disarm()
        else:
            self.arm_watchdog()
        cocotb.start_soon(self._progress_pulse())

    def job_finished(self, rec):
        """A sequence has seen ``rec`` complete (its result checked): cross-check the monitors."""
        if rec in self.outstanding:
            self._retire(rec)
        cocotb.start_soon(self.cross_check(f"the end of {rec.describe()}"))

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
        """End of stimulus: let checks finish (an error if they do not), then cross-check every count."""
        d, sb = self.dut, self.scoreboard
        waited = 0
        while (sb.pending_checks or (self.outstanding and not self.hang.is_set())) and waited < self.cfg.drain_cycles:
            await RisingEdge(d.clk_i)
            waited += 1
        if sb.pending_checks:
            self.check_error("DRAIN_TIMEOUT", f"DRAIN gave up after {waited} cycles with {sb.pending_checks} result "
                                              f"check(s) still pending: their jobs are not checked")
        await self.cross_check("the end of the test")

    async def cross_check(self, where: str):
        """Every monitor against the harness's counters (the TCDM trace only when no job is outstanding)."""
        d = self.dut
        quiet = not self.outstanding
        d.flush_i.value = 1  # the harness flushes the trace right after writing, in the same edge
        await RisingEdge(d.clk_i)
        await ReadOnly()
        if quiet:
            self.tcdm.monitor.poll()
            self.tcdm.monitor.cross_check(where)
        await FallingEdge(d.clk_i)
        d.flush_i.value = 0
        await ReadOnly()  # after the register port's falling-edge work: requests and responses sampled
        self.evt_mon.cross_check(where)
        self.periph_mon.cross_check(where)

    # ------------------------------------------------------------------ coverage hooks
    def coverage_control(self, kind, phase):
        self.cov.control(kind, phase)

