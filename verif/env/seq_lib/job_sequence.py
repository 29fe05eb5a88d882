"""Runs a list of GEMM jobs on the DUT the way cluster cores do.

:class:`JobSequence` is the environment's virtual sequence: for each job it
writes X, W and Y into the TCDM through the backdoor, sets the job's grant
profile, then on the job's core acquires a context (reading ACQUIRE until it
answers a job id), writes the six job registers in a random order, writes 0
to TRIGGER and waits for that core's event. Jobs chained with
``launch="queued"`` are programmed while the previous one runs; jobs with
``launch="race"`` start their ACQUIRE together with the previous job, from
another core. Control events (SOFT_CLEAR, reset) are applied at the phase the
job asks for and abort it. Every started job is published as a
:class:`JobRecord` for the scoreboard, the footprint checker and coverage.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import Event, First, ValueChange
from pyuvm import uvm_sequence

from redmule_verif.env.clock import cycles
from redmule_verif.model import ref
from redmule_verif.env import reg_model as R
from redmule_verif.env.job_record import JobRecord
from redmule_verif.seeding import np_rng, py_rng
from redmule_verif.sequences.items import groups

SOFT_CLEAR_QUIET = 8           # cycles software waits after SOFT_CLEAR (spec section 3)


class JobAbandoned(Exception):
    """The watchdog fired or the DUT stopped answering: stop running jobs."""


class JobSequence(uvm_sequence):
    def __init__(self, name, env, jobs):
        super().__init__(name)
        self.env = env
        self.jobs = list(jobs)
        self.cfg = env.cfg
        self.rng = py_rng(self.cfg.seed, env.get_full_name() + ".job_sequence")
        self.records = []

    async def body(self):
        env = self.env
        # a profile without queued jobs (software clears the engine before each job) runs one at a time
        plan = groups(self.jobs) if self.cfg.profile.queued_jobs else [[i] for i in range(len(self.jobs))]
        for group in plan:
            if env.watchdog.fired.is_set():
                break
            await self._run_group(group)
        await env.drain()

    # ------------------------------------------------------------------ groups
    async def _run_group(self, group):
        started = {}   # index -> Event set when its ACQUIRE starts
        triggered = {}  # index -> Event set once TRIGGER is written (or the job gave up)
        tasks = []
        for i in group:
            started[i], triggered[i] = Event(), Event()
        for pos, i in enumerate(group):
            job = self.jobs[i]
            prev = group[pos - 1] if pos else None
            tasks.append(cocotb.start_soon(self._launch(i, job, prev, started, triggered)))
        for t in tasks:
            await t

    async def _launch(self, i, job, prev, started, triggered):
        if prev is not None:
            if job.launch == "queued":
                await triggered[prev].wait()
            elif job.launch == "race":
                await started[prev].wait()
        rec = JobRecord(job=job, index=i, core=job.core)
        self.records.append(rec)
        try:
            await self.run_job(rec, started[i], triggered[i])
        except JobAbandoned as exc:
            self.env.logger.warning("job #%d abandoned: %s", i, exc)
        finally:
            started[i].set()
            triggered[i].set()

    # ------------------------------------------------------------------ one job
    def prepare(self, rec: JobRecord):
        """Data, expected result and footprint of the job; writes X, W, Y into memory."""
        job, env = rec.job, self.env
        self.cfg.mem.check_fits(job)
        rec.zero_job = job.is_noop
        rec.ranges = job.footprint() if not job.is_noop else {}
        rec.grant_kind = job.grant.kind
        if job.is_noop:
            return
        x, w, y = job.make_data()
        rec.x, rec.w, rec.y = x, w, y
        mem = env.memory
        mem.write(job.x_base, x)
        mem.write(job.w_base, w)
        if y is not None:
            mem.write(job.z_base, y)
            rec.z_before = y
        else:  # MATMUL reads no Y: fill Z with junk that a wrong read would leak
            junk = np_rng(self.cfg.seed, f"job{rec.index}.junk").integers(0, 256, job.m * job.k * job.elem_bytes,
                                                                          dtype=np.uint8)
            mem.write(job.z_base, junk)
            rec.z_before = junk
        rec.expected = ref.gemm_op(x, w, y, job.op, job.fmt)

    async def run_job(self, rec: JobRecord, started: Event, triggered: Event):
        env, job = self.env, rec.job
        self.prepare(rec)
        regs = env.regs[job.core]
        started.set()
        prof = self.cfg.profile
        if prof.soft_clear_before_job:  # the RTL's software clears the engine before every job
            await env.soft_clear(job.core, prof.soft_clear_value)
            await cycles(env.dut.clk_i, SOFT_CLEAR_QUIET + 1)
        rec.job_id = await self.acquire(job.core)
        # job registers, in a random order (spec: any order) unless the profile fixes one
        values = [(R.X_PTR, job.x_base), (R.W_PTR, job.w_base), (R.Z_PTR, job.z_base),
                  (R.MK, job.reg_mk), (R.N_REG, job.reg_n), (R.CFG, job.reg_cfg)]
        self.rng.shuffle(values)  # drawn either way: the random stream does not depend on the profile
        if prof.register_order:
            order = [getattr(R, name) for name in prof.register_order]
            values.sort(key=lambda v: order.index(v[0]))
        for off, val in values:
            await regs.by_offset(off).write(val, map=regs.map)
        idle_events = [ev for ev in job.control if ev.phase == "idle"]
        if idle_events:
            await self.apply_control(rec, idle_events[0], phase="idle")
            # TRIGGER with no context RESERVED must do nothing: the scoreboard flags any event
            if self.cfg.profile.stray_triggers:
                await regs["TRIGGER"].write(0, map=regs.map)
            triggered.set()
            return
        await env.tcdm.responder.apply(job.grant)
        rec.serial = (job.launch == "serial" or not self.cfg.profile.queued_jobs) and not self._has_follower(rec)
        item = await self.env.write_reg(job.core, R.TRIGGER, 0)
        rec.trigger_cycle = item.cycle
        rec.state = "triggered"
        rec.done = Event()
        env.job_ap.write(rec)
        env.arm_watchdog()
        triggered.set()
        waiters = [rec.done.wait(), env.watchdog.fired.wait()]
        if job.control:
            await self._control_during(rec, job.control[0])
            if rec.state == "aborted":
                return
        elif self.rng.random() < self.cfg.poll_status_prob:
            await self.poll_status(rec)
        await First(*waiters)
        if rec.state == "aborted":
            return  # dropped by a SOFT_CLEAR or reset of another job
        if rec.state != "done":
            raise JobAbandoned(f"{rec.describe()} did not complete: {env.watchdog.reason}")
        env.job_finished(rec)
        if self.rng.random() < self.cfg.poll_status_prob:
            await env.read_reg(job.core, R.FINISHED)  # the control model predicts it (counts, saturation, clear)

    def _has_follower(self, rec):
        nxt = rec.index + 1
        return self.cfg.profile.queued_jobs and nxt < len(self.jobs) and self.jobs[nxt].launch != "serial"

    async def poll_status(self, rec):
        """Software that polls STATUS (its context's byte) instead of sleeping on the event.

        The event must still come; the scoreboard waits for it either way.
        """
        env, ctx = self.env, rec.job_id % 2
        gap = 4
        while rec.state == "triggered" and not env.watchdog.fired.is_set():
            item = await env.read_reg(rec.core, R.STATUS)
            if item.rdata is None or not (item.rdata >> (8 * ctx)) & 0xFF:
                return
            await First(cycles(env.dut.clk_i, gap), rec.done.wait())
            gap = min(256, gap * 2)

    async def acquire(self, core: int) -> int:
        env = self.env
        regs = env.regs[core]
        waited = 0
        while True:
            _, value = await regs["ACQUIRE"].read(map=regs.map)
            value = int(value) & 0xFFFFFFFF
            if value < 0x100:
                return value
            if env.watchdog.fired.is_set():
                raise JobAbandoned("watchdog fired while acquiring")
            gap = self.rng.randint(1, 16)
            waited += gap + 3
            if waited > self.cfg.acquire_retry_limit:
                msg = f"ACQUIRE answered -1/-2 to core {core} for {waited} cycles: the engine never freed a context"
                env.check_error("ACQUIRE_STUCK", msg)
                raise JobAbandoned(msg)
            await cycles(env.dut.clk_i, gap)

    # ------------------------------------------------------------------ control events
    async def _control_during(self, rec, ev):
        """Wait for the phase point of ``ev`` in the running job, then apply it."""
        env, d = self.env, self.env.dut
        done, fired = rec.done, env.watchdog.fired  # a DUT that stops before the point: the watchdog ends the wait
        stores0 = int(d.n_stores_o.value)
        if ev.phase in ("load", "compute"):
            await First(ValueChange(d.n_loads_o), done.wait(), fired.wait())
            if ev.phase == "compute" and not done.is_set():
                # inside the first tile's compute: past its loads (about 2 L beats), before its
                # stores (its compute takes about N (P+1) cycles), and within the job
                eng, job = self.cfg.eng, rec.job
                whole = ref.expected_cycles(job.m, job.n, job.k, eng.L, eng.H, eng.P) - ref.CYCLE_OVERHEAD
                compute = max(4, min(whole // 2, 2 * eng.L + job.n * (eng.P + 1) // 2))
                await First(cycles(d.clk_i, compute), done.wait(), fired.wait())
        elif ev.phase == "store":
            await First(ValueChange(d.n_stores_o), done.wait(), fired.wait())
        if ev.delay and not done.is_set():
            await First(cycles(d.clk_i, ev.delay), done.wait(), fired.wait())
        if done.is_set():
            env.logger.info("control %s@%s came after %s had completed: applied at idle", ev.kind, ev.phase,
                            rec.describe())
            await self.apply_control(rec, ev, phase="idle")
            return
        observed = "store" if int(d.n_stores_o.value) != stores0 else ev.phase
        await self.apply_control(rec, ev, phase=observed)

    async def apply_control(self, rec, ev, phase):
        env = self.env
        env.coverage_control(ev.kind, phase)
        if ev.kind == "reset":
            cycle = await env.reset_dut()
        else:
            cycle = await env.soft_clear(rec.core, 0 if ev.kind == "soft_clear" else 1)
        env.abort_outstanding(cycle)
        if ev.kind != "reset":
            await cycles(env.dut.clk_i, SOFT_CLEAR_QUIET + 1)  # spec: registers usable 8 cycles later
