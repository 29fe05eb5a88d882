"""Walks the register table of spec section 3 from the cores' side.

:class:`RegAccessSequence` is stimulus only: every read it makes is predicted
and checked by the environment's control model (``env.ctrl``), and every job
it triggers is checked by the scoreboard like any other. Per round it:

* acquires a context and has another core read ACQUIRE (-2 while reserved);
* writes every job register with full and then partial byte enables, reads
  each back through context select 0 (the reserved context), both context
  selects and select 3, and pokes unmapped offsets (reads 0, writes ignored);
* writes TRIGGER with a non-zero value (ignored), then programs a real job and
  triggers it; while it runs, acquires and triggers a second job (queued) and
  reads ACQUIRE again (-1: both contexts busy), STATUS and RUNNING_JOB;
* writes the read-only ACQUIRE, STATUS, RUNNING_JOB and FINISHED (ignored);
* polls STATUS until the first job's byte drops (or its event came), reads FINISHED (1), waits
  for both events, then reads FINISHED (2 after two jobs, or saturated at 2
  after four, then 0: read-clears) and RUNNING_JOB;
* writes TRIGGER with no context reserved (ignored).

Under a profile (:mod:`redmule_verif.model.profile`) it keeps to the RTL's
conventions: SOFT_CLEAR before each job, the profile's register order, whole
words only, no stray TRIGGER, and the second job after the first instead of
queued behind it.
"""

from __future__ import annotations

from cocotb.triggers import ClockCycles, Event, First

from redmule_verif.env.clock import cycles
from redmule_verif.env import reg_model as R
from redmule_verif.env.job_record import JobRecord
from redmule_verif.env.seq_lib.job_sequence import SOFT_CLEAR_QUIET, JobAbandoned, JobSequence

UNMAPPED = (0x18, 0x1C, 0x20, 0x3C, 0x58, 0x5C, 0x80, 0xFC)


class RegAccessSequence(JobSequence):
    def __init__(self, name, env, jobs, rounds=2):
        super().__init__(name, env, jobs)
        self.rounds = rounds

    async def body(self):
        env = self.env
        n = self.cfg.eng.N_CORES
        jobs = iter(self.jobs)
        for r in range(self.rounds):
            core = self.rng.randrange(n)
            other = (core + 1 + self.rng.randrange(n - 1)) % n if n > 1 else core
            first, second = next(jobs), next(jobs)
            first.core, second.core = core, other
            prof = self.cfg.profile
            rec = JobRecord(job=first, index=len(self.records), core=core)
            self.records.append(rec)
            self.prepare(rec)
            await self._clear_if_profile(core)
            rec.job_id = await self.acquire(core)
            await env.read_reg(other, R.ACQUIRE)  # -2: a context is reserved
            await self._job_register_walk(core)
            stray = 1 + self.rng.randrange(0xFFFFFFFE)  # drawn either way: the stream does not depend on the profile
            if prof.stray_triggers:
                await env.write_reg(core, R.TRIGGER, stray)  # non-zero: ignored
            await self._program(core, first)
            await self._trigger(rec)
            # a second job queued behind the running one, from another core
            rec2 = JobRecord(job=second, index=len(self.records), core=other)
            self.records.append(rec2)
            self.prepare(rec2)
            finished = set()
            if not prof.queued_jobs:  # the profile runs one job at a time
                await self._finish(rec)
                finished.add(rec.index)
                await self._clear_if_profile(other)
            rec2.job_id = await self.acquire(other)
            await self._program(other, second)
            await self._trigger(rec2)
            for off in (R.ACQUIRE, R.STATUS, R.RUNNING_JOB, R.STATUS | 0x100):
                await env.read_reg(core, off)
            await self._poll_until_idle(core, rec)
            for rec_ in (rec, rec2):
                if rec_.index not in finished:
                    await self._finish(rec_)
                if r % 3 == 0 and rec_ is rec:
                    await env.read_reg(core, R.FINISHED)  # 1 (or 2 if the second one finished too)
            # round 1 mod 3 leaves FINISHED unread: the next read sees 4 jobs, saturated at 2
            offsets = (R.RUNNING_JOB, R.STATUS) if r % 3 == 1 else (R.FINISHED, R.FINISHED, R.RUNNING_JOB, R.STATUS)
            for off in offsets:
                await env.read_reg(other, off)
            if prof.stray_triggers:
                await env.write_reg(other, R.TRIGGER, 0)  # no context reserved: ignored
            await ClockCycles(env.dut.clk_i, 4)
        await env.drain()

    async def _job_register_walk(self, core):
        env = self.env
        for off in R.JOB_REGS:
            await env.write_reg(core, off, self.rng.getrandbits(32))
            be = self.rng.choice([0x1, 0x2, 0x4, 0x8, 0x3, 0xC, 0x5, 0xA, 0x6, 0x9, 0xE, 0x7])
            data = self.rng.getrandbits(32)
            await env.write_reg(core, off, data, be=be if self.cfg.profile.partial_byte_enables else 0xF)
        for sel in (0, 1, 2, 3):
            for off in R.JOB_REGS:
                await env.read_reg(core, off | (sel << 8))
        for off in self.rng.sample(UNMAPPED, 4):
            await env.write_reg(core, off, self.rng.getrandbits(32))
            await env.read_reg(core, off | (self.rng.randrange(4) << 8))
        await env.read_reg(core, R.TRIGGER)  # reads 0
        await env.read_reg(core, R.SOFT_CLEAR)  # its read value is not specified: read, not predicted
        for off in (R.ACQUIRE, R.STATUS, R.RUNNING_JOB, R.FINISHED):  # read-only registers ignore writes
            await env.write_reg(core, off, self.rng.getrandbits(32))

    async def _finish(self, rec):
        env = self.env
        await First(rec.done.wait(), env.watchdog.fired.wait())
        if rec.state != "done":
            raise JobAbandoned(f"{rec.describe()} did not complete: {env.watchdog.reason}")
        env.job_finished(rec)

    async def _clear_if_profile(self, core):
        prof = self.cfg.profile
        if prof.soft_clear_before_job:
            await self.env.soft_clear(core, prof.soft_clear_value)
            await cycles(self.env.dut.clk_i, SOFT_CLEAR_QUIET + 1)

    async def _program(self, core, job):
        values = [(R.X_PTR, job.x_base), (R.W_PTR, job.w_base), (R.Z_PTR, job.z_base),
                  (R.MK, job.reg_mk), (R.N_REG, job.reg_n), (R.CFG, job.reg_cfg)]
        self.rng.shuffle(values)
        if self.cfg.profile.register_order:
            order = [getattr(R, name) for name in self.cfg.profile.register_order]
            values.sort(key=lambda v: order.index(v[0]))
        for off, val in values:
            await self.env.write_reg(core, off, val)

    async def _trigger(self, rec):
        env = self.env
        await env.tcdm.responder.apply(rec.job.grant)
        rec.serial = False
        item = await env.write_reg(rec.core, R.TRIGGER, 0)
        rec.trigger_cycle = item.cycle
        rec.state = "triggered"
        rec.done = Event()
        env.job_ap.write(rec)
        env.arm_watchdog()

    async def _poll_until_idle(self, core, rec):
        """Software that polls STATUS (its context's byte) instead of sleeping on the event.

        It stops when the byte drops or the job's event came (a STATUS that never drops is the
        control model's REG_STATUS error, a job that never ends the watchdog's).
        """
        env, ctx = self.env, rec.job_id % 2
        while rec.state == "triggered" and not env.watchdog.fired.is_set():
            item = await env.read_reg(core, R.STATUS)
            if item.rdata is None or not (item.rdata >> (8 * ctx)) & 0xFF:
                return
            await First(cycles(env.dut.clk_i, self.rng.randint(4, 32)), rec.done.wait())
