"""The base test every RedMulE test derives from, and the way tests are run.

:class:`BaseTest` builds the environment from the run's configuration (seed,
build parameters, knobs), starts the clock, resets the DUT, asks
:meth:`BaseTest.make_jobs` for the job list (by default the sequence of the
library named like the test) and runs it through :class:`JobSequence`. At the
end it fails the test on any error logged anywhere in the environment, and
on a vacuous pass (``NO_JOB_CHECKED``: no job compared and no zero job
checked, unless the test sets ``expects_no_jobs``), and writes
``summary.json`` (jobs compared, zero jobs, checks fired, cycles, seeds,
coverage) for the regression tools.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from pyuvm import ConfigDB, uvm_root

from redmule_verif.env import component
from redmule_verif.env.clock import CLOCK_PERIOD_NS
from redmule_verif.env.component import Test
from redmule_verif.env.env import RedmuleEnv
from redmule_verif.env.env_cfg import EnvConfig
from redmule_verif.env.error_counter import ErrorCounter
from redmule_verif.env.seq_lib.job_sequence import JobAbandoned, JobSequence
from redmule_verif.sequences.library import SEQUENCES, generate

#: knobs the environment itself reads (the others go to the sequence, which rejects unknown ones)
ENV_KNOBS = ("corrupt_z", "check_delay")
#: error messages kept in summary.json
KEPT_MESSAGES = 50


class BaseTest(Test):
    sequence_name = None  # library sequence this test runs (default: the test's own name)
    sequence_class = JobSequence  # the virtual sequence that runs the jobs
    expects_no_jobs = False  # a test that checks no job fails (NO_JOB_CHECKED) unless it says so here

    def build_phase(self):
        component.reset_fired()
        seed = os.environ.get("REDMULE_SEED") or os.environ.get("COCOTB_RANDOM_SEED") or cocotb.RANDOM_SEED
        self.cfg = EnvConfig.from_environment(seed=int(seed))
        self.cfg.test = self.cfg.test or self.get_type_name()
        ConfigDB().set(None, "*", "env_cfg", self.cfg)
        ConfigDB().set(None, "*", "dut", cocotb.top)
        ConfigDB().set(None, "*", "tcdm_log", os.path.join(self.cfg.out_dir, "tcdm_trace.log"))
        self.env = RedmuleEnv("env", self)
        self.errors = ErrorCounter()

    def end_of_elaboration_phase(self):
        stack = [uvm_root()]
        while stack:
            comp = stack.pop()
            self.errors.attach(comp.logger)
            stack.extend(comp.get_children())
        self.errors.attach(logging.getLogger("cocotb"))

    def make_jobs(self):
        """The job list: the library sequence named like the test, with the run's knobs."""
        name = self.sequence_name or self.cfg.test
        if name not in SEQUENCES:
            raise ValueError(f"no sequence named {name!r} in the library; known: {', '.join(sorted(SEQUENCES))}")
        knobs = {k: v for k, v in self.cfg.knobs.items() if k not in ENV_KNOBS}
        return generate(name, self.cfg.seed, self.cfg.eng, self.cfg.mem, **knobs)

    async def run_phase(self):
        self.raise_objection()
        dut = cocotb.top
        # the clock runs in C++ (no Python wake-up per edge)
        cocotb.start_soon(Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start())
        dut.rst_ni.value = 0
        dut.waive_rq4_i.value = 0
        dut.flush_i.value = 0
        await ClockCycles(dut.clk_i, 4)
        dut.rst_ni.value = 1
        await ClockCycles(dut.clk_i, 2)
        self.jobs = self.make_jobs()
        self.logger.info("test %s seed %d: %d jobs", self.cfg.test, self.cfg.seed, len(self.jobs))
        self.sequence = self.sequence_class("jobs", self.env, self.jobs)
        if hasattr(self, "rounds"):
            self.sequence.rounds = self.rounds
        task = cocotb.start_soon(self.sequence.start())
        guard = cocotb.start_soon(self._stuck_guard(task))
        try:
            await task
        except asyncio.CancelledError:
            await self.env.drain()  # stuck: the checks still get their chance to finish
        except JobAbandoned as exc:
            # the check that stopped the stimulus (a hang, a stuck ACQUIRE) has logged its error: end the
            # test normally so that report_phase writes summary.json (triage needs its details)
            if not self.errors.count:
                raise
            self.logger.warning("stimulus stopped: %s", exc)
            await self.env.drain()
        guard.cancel()
        await RisingEdge(dut.clk_i)
        self.drop_objection()

    async def _stuck_guard(self, task):
        """The liveness backstop of the whole test (the watchdog covers a job it knows is outstanding):
        when neither the register port, the TCDM port nor the event lines move for ``stuck_cycles``
        while the stimulus still runs, the test waits for something that will not come. TEST_STUCK,
        and the stimulus is stopped, so the run ends as a failure with its results instead of running
        into the wall-clock limit. One timer per ``stuck_cycles``: no per-cycle cost."""
        env, d = self.env, cocotb.top
        limit = int(self.cfg.stuck_cycles)
        if limit <= 0:
            return

        def activity():
            return (env.periph_mon.count, int(d.n_loads_o.value), int(d.n_stores_o.value), len(env.evt_mon.pulses))

        before = activity()
        while not task.done():
            await Timer(limit * CLOCK_PERIOD_NS, unit="ns")
            now = activity()
            if now == before and not task.done():
                self.check_error("TEST_STUCK", f"TEST STUCK: no register access, TCDM handshake or event for "
                                               f"{limit} cycles (cycle {int(d.cycle_o.value)}) while the stimulus "
                                               f"still waits; {env.outstanding_summary()}; the stimulus is stopped")
                task.cancel()
                return
            before = now

    def report_phase(self):
        env = self.env
        sb = env.scoreboard
        if not self.errors.count and sb.checked + sb.zero_jobs == 0 and not self.expects_no_jobs:
            self.check_error("NO_JOB_CHECKED", f"NO JOB CHECKED: test {self.cfg.test} compared no result and "
                                               f"checked no zero job ({len(getattr(self, 'jobs', []))} jobs planned): "
                                               f"a pass would be vacuous (a test that expects none sets "
                                               f"expects_no_jobs)")
        summary = {
            "test": self.cfg.test,
            "seed": self.cfg.seed,
            "jobs": len(getattr(self, "jobs", [])),
            "jobs_checked": sb.checked,
            "zero_jobs": sb.zero_jobs,
            "mismatches": sb.mismatches,
            "sim_cycles": int(cocotb.top.cycle_o.value),
            "errors": self.errors.count,
            "first_errors": self.errors.first(5),
            "error_messages": self.errors.first(KEPT_MESSAGES),
            "checks_fired": dict(sorted(component.FIRED.items())),
            "errors_detail": list(component.DETAIL),
            "waived": dict(sorted(component.WAIVED.items())),
            "job_outcomes": sb.outcomes(),
            "ctrl_predictions_off": env.ctrl.predictions_off,
            "cycle_reports": sb.cycle_reports,
            "stall_histogram": env.tcdm.responder.stall_histogram(),
            "tcdm_loads": env.tcdm.monitor.n_loads,
            "tcdm_stores": env.tcdm.monitor.n_stores,
            "event_pulses": len(env.evt_mon.pulses),
            "reg_accesses": env.periph_mon.count,
            "reg_reads_checked": env.ctrl.checked_reads,
            "trace_sha256": env.tcdm.monitor.trace_digest(),
        }
        with open(os.path.join(self.cfg.out_dir, "summary.json"), "w") as fh:
            json.dump(summary, fh, indent=1)


async def run_uvm_test(test_cls):
    """Run a pyuvm test class and fail the cocotb test on any logged error."""
    await uvm_root().run_test(test_cls)
    test = uvm_root().uvm_test_top
    if test.errors.count:
        raise AssertionError(f"{test.errors.count} error(s) logged; first: " + " | ".join(test.errors.first(3)))
