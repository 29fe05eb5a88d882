"""Tests of the environment's own checkers, on the fixture DUT (tests/fixtures/fixture_dut.sv).

The fixture computes exactly one thing right: an FP16 MATMUL with M = K = 1
and x = +0 (it stores +0 into Z). ``fixture_jobs`` runs two such jobs from
two cores and then reads the control registers (RUNNING_JOB, FINISHED,
STATUS, the job registers through each context select, an unmapped offset),
so that every prediction of the control model is exercised. The pytest side
selects a fixture bug by plusarg and knobs and checks which failure the
environment reports:

* ``grant``: the grant profile (always, random ...);
* ``n``: N of the jobs (x = 0, so Z stays +0 for any N; N = 64 is compute-bound);
* ``zero``: the jobs have M = 0 (no traffic allowed);
* ``count``: number of jobs (0 for the vacuous-pass control);
* ``no_wait``: trigger the jobs and end without waiting for their events;
* ``stuck``: after the jobs, wait for an event nothing sets (the TEST_STUCK control);
* ``control``: a SOFT_CLEAR on each job at that phase point (load, compute, store).

``fixture_no_jobs`` is a test that says it expects no job (and runs none).
"""

import cocotb
import numpy as np
from cocotb.triggers import Event

from redmule_verif.env import reg_model as R
from redmule_verif.env.base_test import BaseTest, run_uvm_test
from redmule_verif.env.job_record import JobRecord
from redmule_verif.env.seq_lib.job_sequence import JobSequence
from redmule_verif.sequences.items import ControlEvent
from redmule_verif.sequences.items.job import GemmJob, GrantProfile, groups

KNOBS = ("grant", "n", "zero", "count", "no_wait", "stuck", "control")


class FixtureSequence(JobSequence):
    async def body(self):
        env = self.env
        if self.cfg.knobs.get("no_wait"):
            for i, job in enumerate(self.jobs):
                await self._trigger_only(i, job)
        else:
            for group in groups(self.jobs):
                if env.watchdog.fired.is_set():
                    break
                await self._run_group(group)
            if not env.watchdog.fired.is_set():
                await self._final_reads(self.jobs[0].core if self.jobs else 0)
        if self.cfg.knobs.get("stuck"):
            await Event().wait()  # a stimulus bug: waits for what never comes, with no job outstanding
        await env.drain()

    async def _trigger_only(self, i, job):
        env = self.env
        rec = JobRecord(job=job, index=i, core=job.core)
        self.records.append(rec)
        self.prepare(rec)
        rec.job_id = await self.acquire(job.core)
        for off, val in ((R.X_PTR, job.x_base), (R.W_PTR, job.w_base), (R.Z_PTR, job.z_base),
                         (R.MK, job.reg_mk), (R.N_REG, job.reg_n), (R.CFG, job.reg_cfg)):
            await env.write_reg(job.core, off, val)
        await env.tcdm.responder.apply(job.grant)
        item = await env.write_reg(job.core, R.TRIGGER, 0)
        rec.trigger_cycle, rec.state, rec.done = item.cycle, "triggered", Event()
        env.job_ap.write(rec)
        env.arm_watchdog()

    async def _final_reads(self, core):
        env = self.env
        for off in (R.RUNNING_JOB, R.STATUS, R.FINISHED, R.FINISHED, 0x18):
            await env.read_reg(core, off)
        for sel in (1, 2, 3):
            await env.read_reg(core, R.X_PTR | (sel << 8))


class FixtureJobs(BaseTest):
    sequence_class = FixtureSequence

    def make_jobs(self):
        b, k = self.cfg.mem.base, self.cfg.knobs
        bad = set(k) - set(KNOBS) - {"corrupt_z", "check_delay"}
        if bad:
            raise ValueError(f"fixture_jobs has no knobs {sorted(bad)}")
        grant = GrantProfile(k.get("grant", "always"), p=0.3, seed=7)
        n = int(k.get("n", 1))
        m = 0 if k.get("zero") else 1
        x = np.zeros((m, n), np.uint16)
        w = np.full((n, 1), 0x3C00, np.uint16)
        cores = (2, 5, 3, 6)[:int(k.get("count", 2))]
        control = [ControlEvent("soft_clear", k["control"])] if k.get("control") else []
        return [GemmJob("MATMUL", "FP16", m, n, 1, b + 0x100, b + 0x200, b + 0x400, core=c, x=x, w=w, grant=grant,
                        control=list(control)) for c in cores]


class FixtureNoJobs(FixtureJobs):
    expects_no_jobs = True

    def make_jobs(self):
        return []


@cocotb.test()
async def fixture_jobs(dut):
    await run_uvm_test(FixtureJobs)


@cocotb.test()
async def fixture_no_jobs(dut):
    await run_uvm_test(FixtureNoJobs)
