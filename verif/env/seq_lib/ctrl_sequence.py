"""Holds the two job contexts in every state and acts on them (the control-path crosses).

:class:`CtrlCrossSequence` is stimulus only: every read is predicted and
checked by the control model (``env.ctrl``), every job by the scoreboard and
the footprint checker, and the control model samples the crosses
``ctrl_state`` / ``ctrl_phase`` / ``ctrl_decode`` / ``ctrl_reset`` /
``ctrl_roles``. Each round walks the chain of context states

    FREE/FREE -> A RESERVED -> A RUNNING -> B RESERVED behind it -> B QUEUED
    -> (A completes) B RUNNING -> C RESERVED -> C QUEUED -> (B completes)
    C RUNNING -> idle

(which context is which follows the job-id parity, so both orders occur) and
in every state makes a burst of "probe" accesses: every offset under every
context select, reads and writes, full and partial byte enables, TRIGGER and
SOFT_CLEAR written 0 and non-zero under selects 1..3 (they must not land).
Probes never change the state on purpose: ACQUIRE at add[9:8] = 0 only
while our own reservation holds (-2; the -1 answers come from a real ACQUIRE
made while both contexts are busy, retried until one frees), TRIGGER 0 at select 0 only with no context
reserved, job-register writes at select 0 only before the reserved job is
programmed. While a job runs the probes go on until it completes, at random
gaps, so they land in its loading, computing, storing and draining phases.
Each round stops at a random point of the chain with SOFT_CLEAR(0),
SOFT_CLEAR(non-zero), a reset or a plain drain, so that those meet every
state too. Acquiring and triggering cores are drawn independently (same or
different), the probing core too. Knobs: ``rounds`` (default 6), ``gap``
(largest idle gap between probes while a job runs, default 24).
"""

from __future__ import annotations

from cocotb.triggers import Event, First, ValueChange

from redmule_verif.env.clock import cycles
from redmule_verif.env import reg_model as R
from redmule_verif.env.job_record import JobRecord
from redmule_verif.env.seq_lib.job_sequence import SOFT_CLEAR_QUIET, JobAbandoned, JobSequence

UNMAPPED = (0x18, 0x1C, 0x20, 0x3C, 0x58, 0x5C, 0x80, 0xFC)
CONTROL = (R.TRIGGER, R.ACQUIRE, R.FINISHED, R.STATUS, R.RUNNING_JOB, R.SOFT_CLEAR)
PARTIAL_BE = (0x1, 0x2, 0x4, 0x8, 0x3, 0xC, 0x6, 0x9, 0x7, 0xE)
TERMINALS = ("soft_clear", "soft_clear_keep", "reset", "drain")
CHAIN = 9  # steps of the chain (0 .. 8): where a round may stop


class CtrlCrossSequence(JobSequence):
    def __init__(self, name, env, jobs, rounds=6, gap=24):
        super().__init__(name, env, jobs)
        self.rounds = rounds
        self.gap = int(self.cfg.knobs.get("gap", gap))
        self.reserved = None     # our JobRecord whose context is RESERVED (not yet triggered)
        self.programmed = False  # its job registers hold its values
        self.live = []           # triggered, not completed

    # ------------------------------------------------------------------ probes
    def _draw_probe(self):
        """(offset, write, data, be) of one access that leaves the context states as they are."""
        rng = self.rng
        while True:
            idx = rng.choice(CONTROL + R.JOB_REGS + (rng.choice(UNMAPPED),))
            sel = 0 if rng.random() < 0.5 else rng.randrange(1, 4)
            write = rng.random() < 0.5
            be = 0xF if rng.random() < 0.7 else rng.choice(PARTIAL_BE)
            data = 0 if (idx in (R.TRIGGER, R.SOFT_CLEAR) and rng.random() < 0.5) else rng.getrandbits(32)
            if rng.random() < 0.2 and idx in (R.TRIGGER, R.SOFT_CLEAR):  # enabled bytes 0, others not
                mask = sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)
                data = rng.getrandbits(32) & ~mask
            if sel == 0:
                mask = sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)
                if write and idx == R.SOFT_CLEAR:
                    continue  # the rounds' terminal step
                if write and idx == R.TRIGGER and data & mask == 0 and self.reserved is not None:
                    continue  # would queue the reserved context
                if write and idx in R.JOB_REGS and self.reserved is not None and self.programmed:
                    continue  # would change the job about to run
                if not write and idx == R.ACQUIRE and self.reserved is None:
                    continue  # could reserve a context (a completion may free one at any cycle)
            return (sel << 8) | idx, write, data, be

    async def probe(self, count):
        if not count:
            return
        core = self.rng.randrange(self.cfg.eng.N_CORES)
        for _ in range(count):
            off, write, data, be = self._draw_probe()
            if write:
                await self.env.write_reg(core, off, data, be=be)
            else:
                await self.env.read_reg(core, off)

    async def probe_until(self, rec):
        """Probe at random gaps until ``rec`` ends (its whole run: every phase)."""
        env = self.env
        while rec.state == "triggered" and not env.watchdog.fired.is_set():
            await self.probe(1)
            await First(cycles(env.dut.clk_i, self.rng.randint(0, self.gap)), rec.done.wait())

    # ------------------------------------------------------------------ the chain
    def _core(self):
        return self.rng.randrange(self.cfg.eng.N_CORES)

    async def _acquire(self, job):
        core = self._core()
        rec = JobRecord(job=job, index=len(self.records), core=core)
        self.records.append(rec)
        self.prepare(rec)
        rec.job_id = await self.acquire(core)
        self.reserved, self.programmed = rec, False
        return rec

    async def _program(self, rec):
        job = rec.job
        core = rec.core if self.rng.random() < 0.5 else self._core()
        values = [(R.X_PTR, job.x_base), (R.W_PTR, job.w_base), (R.Z_PTR, job.z_base),
                  (R.MK, job.reg_mk), (R.N_REG, job.reg_n), (R.CFG, job.reg_cfg)]
        self.rng.shuffle(values)
        for off, val in values:
            await self.env.write_reg(core, off, val)
        self.programmed = True

    async def _trigger(self, rec):
        env = self.env
        core = rec.core if self.rng.random() < 0.5 else self._core()  # triggering core: same or other
        rec.core = rec.job.core = core
        await env.tcdm.responder.apply(rec.job.grant)
        rec.serial = False
        if self.rng.random() < 0.3:  # TRIGGER 0 with partial byte enables: the disabled bytes hold junk
            be = self.rng.choice(PARTIAL_BE)
            mask = sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)
            item = await env.write_reg(core, R.TRIGGER, self.rng.getrandbits(32) & ~mask, be=be)
        else:
            item = await env.write_reg(core, R.TRIGGER, 0)
        rec.trigger_cycle = item.cycle
        rec.state = "triggered"
        rec.done = Event()
        env.job_ap.write(rec)
        env.arm_watchdog()
        self.reserved, self.programmed = None, False
        self.live.append(rec)

    async def _wait(self, rec, probing=True):
        env = self.env
        if probing:
            await self.probe_until(rec)
        await First(rec.done.wait(), env.watchdog.fired.wait())
        if rec.state != "done":
            raise JobAbandoned(f"{rec.describe()} did not complete: {env.watchdog.reason}")
        env.job_finished(rec)
        self.live.remove(rec)

    async def _early(self, job):
        """Acquire while A runs and B is queued: ACQUIRE answers -1 until A completes."""
        first = self.live[0]
        await self._acquire(job)
        await self._wait(first, probing=False)

    async def _terminal(self, kind):
        env = self.env
        if kind == "drain":
            for rec in list(self.live):
                await self._wait(rec, probing=False)
            if self.reserved is not None:  # a reservation nobody triggers: clear it (non-zero: keep the counter)
                kind = "soft_clear_keep"
            else:
                await self.probe(self.rng.randint(2, 8))
                return
        if kind == "reset":
            cycle = await env.reset_dut()
        else:
            cycle = await env.soft_clear(self._core(), 0 if kind == "soft_clear" else 1 + self.rng.getrandbits(31))
        env.abort_outstanding(cycle)
        self.live, self.reserved, self.programmed = [], None, False
        if kind != "reset":
            await cycles(env.dut.clk_i, SOFT_CLEAR_QUIET + 1)

    async def _round(self, a, b, c):
        rng = self.rng
        stop = rng.randrange(CHAIN)
        terminal = rng.choice(TERMINALS)
        early = rng.random() < 0.5  # C's ACQUIRE starts while both contexts are busy (-1 until A completes)
        n = lambda: rng.randint(6, 14)  # noqa: E731
        steps = [
            lambda: self.probe(n()),                                          # 0 idle
            lambda: self._acquire(a),                                         # 1 A RESERVED
            lambda: self._program(self.reserved),                             # 2
            lambda: self._trigger(self.reserved),                             # 3 A RUNNING
            lambda: self._acquire(b),                                         # 4 B RESERVED
            lambda: self._program(self.reserved),                             # 5
            lambda: self._trigger(self.reserved),                             # 6 B QUEUED
            lambda: self._wait(self.live[0]) if not early else self._early(c),  # 7 A completes: B RUNNING
            lambda: self._acquire(c) if not early else self.probe(0),         # 8 C RESERVED
            lambda: self._program(self.reserved),                             # 9
            lambda: self._trigger(self.reserved),                             # 10 C QUEUED
            lambda: self._wait(self.live[0]),                                 # 11 B completes: C RUNNING
            lambda: self._wait(self.live[0]),                                 # 12 C completes: idle
        ]
        last = {0: 0, 1: 1, 2: 3, 3: 4, 4: 6, 5: 7, 6: 8, 7: 10, 8: 12}[stop]
        for i in range(last + 1):
            await steps[i]()
            if i in (1, 3, 4, 6, 7, 8, 10, 11) and self.live and rng.random() < 0.5:
                await self.probe(n())  # in the new state (a running job goes on meanwhile)
            elif i in (1, 4, 8):
                await self.probe(n())
        if self.live and terminal != "drain" and rng.random() < 0.8:
            # time the clear / reset into the running job: its next load, its next store, or a random point
            # (or the watchdog: a DUT that stops before that point must not hold the test)
            d, rec, fired = self.env.dut, self.live[0], self.env.watchdog.fired
            when = rng.choice(("load", "store", "delay"))
            if when == "load":
                await First(ValueChange(d.n_loads_o), rec.done.wait(), fired.wait())
            elif when == "store":
                await First(ValueChange(d.n_stores_o), rec.done.wait(), fired.wait())
            else:
                await First(cycles(d.clk_i, rng.randint(0, 1500)), rec.done.wait(), fired.wait())
        await self._terminal(terminal)

    async def body(self):
        jobs = iter(self.jobs)
        for _ in range(self.rounds):
            if self.env.watchdog.fired.is_set():
                break
            await self._round(next(jobs), next(jobs), next(jobs))
        for rec in list(self.live):
            await self._wait(rec, probing=False)
        if self.reserved is not None:
            await self._terminal("soft_clear_keep")
        await self.env.drain()
