"""Turns a hung DUT into a clear failure instead of a hung simulation.

Stalls stretch jobs by any factor, so the watchdog counts progress, not time.
The harness raises ``hang_o`` when a job has gone ``hang_cycles`` cycles with
grants offered but no TCDM handshake and no event, or has used more granting
cycles than its budget (a multiple of its expected cycles). The watchdog then
reports where the DUT stopped (busy, last access, cycles since the last
handshake) and sets ``fired`` so that whatever waits for the job gives up.
Two checks: ``HANG_NO_PROGRESS`` and ``HANG_OVER_BUDGET``. After a hang the
harness's busy_o rule is switched off (a hung DUT stays busy: that is the
hang, reported once).
"""

from __future__ import annotations

from cocotb.triggers import RisingEdge

from redmule_verif.env.component import Component

CHECKS = ("HANG_NO_PROGRESS", "HANG_OVER_BUDGET")


class Watchdog(Component):
    def build_phase(self):
        self.dut = self.cdb_get("dut")
        self.cfg = self.cdb_get("env_cfg")
        self.fired = self.cdb_get("hang_event")  # shared: whoever waits for a job gives up when it is set
        self.reason = ""
        self.dw_bytes = self.cfg.eng.dw // 8
        self.tcdm_monitor = None  # what the DUT did before it hung is published first (sync_with)
        self.scoreboard = None    # the outstanding jobs: where the hang is (triage attributes)

    def start_of_simulation_phase(self):
        d = self.dut
        d.job_active_i.value = 0
        d.hang_limit_i.value = self.cfg.hang_cycles
        d.budget_limit_i.value = 0
        d.progress_clr_i.value = 0

    def sync_with(self, tcdm_monitor, scoreboard=None):
        self.tcdm_monitor = tcdm_monitor
        self.scoreboard = scoreboard

    def where(self) -> dict:
        """Where the DUT stopped, as triage attributes: the stream of the last access (the matrix of
        the oldest outstanding job it fell in), the phase (loading before the first store, storing
        after it) and how many jobs were queued behind the running one."""
        d = self.dut
        outstanding = list(self.scoreboard.outstanding) if self.scoreboard is not None else []
        if not outstanding:
            return {"queued": 0}
        rec = outstanding[0]
        addr, load = int(d.last_add_o.value), bool(int(d.last_wen_o.value))
        stream = "none"
        if rec.accesses:
            stream = "other"
            for name, (s, e) in rec.ranges.items():
                if (name == "Z") != (not load):
                    continue  # loads read X, W, Y; stores write Z (Y and Z share their bytes)
                if s < addr + self.dw_bytes and addr < e:
                    stream = name
                    break
        phase = "start" if not rec.accesses else ("store" if rec.last_store_cycle >= 0 else "load")
        return {"stream": stream, "phase": phase, "queued": len(outstanding) - 1}

    def arm(self, budget: int):
        """A job is outstanding; ``budget`` granting cycles for everything outstanding (0 = none)."""
        self.dut.job_active_i.value = 1
        self.dut.budget_limit_i.value = max(0, int(budget))

    def disarm(self):
        self.dut.job_active_i.value = 0

    async def run_phase(self):
        d = self.dut
        while True:
            await RisingEdge(d.hang_o)
            if self.tcdm_monitor is not None:  # protocol violations that led here are reported before the hang
                d.flush_i.value = 1
                await RisingEdge(d.clk_i)
                d.flush_i.value = 0
                await RisingEdge(d.clk_i)
                self.tcdm_monitor.poll()
            cause = int(d.hang_cause_o.value) or 1
            what = ("no progress: %d cycles with grants offered but no TCDM handshake and no event"
                    % self.cfg.hang_cycles) if cause == 1 else \
                ("over budget: %d granting cycles used, the limit for the outstanding jobs" % int(d.gnt_cycles_o.value))
            self.reason = (f"HANG {what}; the DUT stopped at cycle {int(d.cycle_o.value)}: busy_o={int(d.busy_o.value)}, "
                           f"tcdm_req_o={int(d.tcdm_req_o.value)}, last access "
                           f"{'load' if int(d.last_wen_o.value) else 'store'} at {int(d.last_add_o.value):#x}, "
                           f"{int(d.since_hs_o.value)} cycles since the last handshake, "
                           f"{int(d.n_loads_o.value)} loads and {int(d.n_stores_o.value)} stores so far")
            where = self.where()
            self.reason += "; " + " ".join(f"{k}={v}" for k, v in where.items())
            job = self.scoreboard.outstanding[0].index if self.scoreboard is not None and self.scoreboard.outstanding \
                else None
            self.check_error("HANG_NO_PROGRESS" if cause == 1 else "HANG_OVER_BUDGET", self.reason, job=job, **where)
            d.busy_slack_i.value = 0
            self.disarm()
            self.fired.set()
