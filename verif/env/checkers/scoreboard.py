"""Checks every job's result bit for bit, its event, and its timing.

Inputs: job records from the job sequence (``job_export``: started, aborted)
and event pulses from the EventMonitor (``evt_export``). Jobs complete in
the order they were triggered (spec section 3). On a job's event the
scoreboard waits for the event cycle to end (so every store granted up to
the event has landed), reads Z through the backdoor and compares it with
``redmule_verif.model.ref.gemm_op``. A mismatch report names the job (as a
replayable JSON job item), the seed, how many elements differ and the first
few with expected and actual bits, their FP classes and the kind of
difference. It also checks that the event went to the core that triggered,
that no event comes without a job, and records cycles against
``expected_cycles`` and the CE utilisation.

Checks: ``Z_MISMATCH``, ``EVT_CORE`` (event to another core), ``EVT_SPURIOUS``
(an event with no job outstanding), ``EVT1`` (evt_o[c][1] is never set),
``TIMING`` (own RTL, compute-bound serial jobs under always-grant),
``NEVER_COMPLETED`` (a job still outstanding when the test ends, unless the
watchdog already reported the hang). Jobs with a zero dimension or an
unsupported format have nothing to compare: they are counted in
``zero_jobs``, apart from the ``checked`` (compared) jobs.
"""

from __future__ import annotations

import collections

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge
from pyuvm import uvm_analysis_port

from redmule_verif.env.component import Component
from redmule_verif.model import ref
from redmule_verif.model.encoding import OP_FAMILY
from redmule_verif.env.analysis import analysis_imp
from redmule_verif.coverage.fpclass import fp_class

MAX_LISTED = 8


def difference_kind(exp: int, act: int, fmt: str) -> str:
    ce, ca = fp_class(exp, fmt), fp_class(act, fmt)
    nan_e, nan_a = ce.endswith("nan"), ca.endswith("nan")
    if nan_e and nan_a:
        return "NaN encoding (not canonical)"
    if nan_e != nan_a:
        return "NaN against a number"
    if ce.endswith("zero") and ca.endswith("zero"):
        return "sign of zero"
    width = 16 if fmt == "FP16" else 8
    sign = 1 << (width - 1)

    def ordinal(b):  # monotone integer order of the encodings
        return -(b & (sign - 1)) if b & sign else b

    return f"{abs(ordinal(exp) - ordinal(act))} ulp"


class Scoreboard(Component):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.dut = self.cdb_get("dut")
        self.job_export = analysis_imp("job_export", self, self.write_job)
        self.evt_export = analysis_imp("evt_export", self, self.write_event)
        self.result_ap = uvm_analysis_port("result_ap", self)  # (record, passed) for coverage
        self.memory = None  # TcdmMemory, set by the env
        self.outstanding = []  # triggered, not yet completed, in trigger order
        self.records = []
        self.results = {}  # job index -> pass / fail / zero
        self.checked = 0
        self.mismatches = 0
        self.failures = []
        self.cycle_reports = []
        self.pending_checks = 0
        self.zero_jobs = 0
        self.hang = self.cdb_get("hang_event")  # set by the watchdog when it reports a hang

    # -- inputs
    def write_job(self, rec):
        if rec.state == "triggered":
            self.outstanding.append(rec)
            self.records.append(rec)
        elif rec.state == "aborted":
            if rec in self.outstanding:
                self.outstanding.remove(rec)

    def write_event(self, pulse):
        if pulse.bit != 0:
            self._fail("EVT1", f"evt_o[{pulse.core}][1] pulsed at cycle {pulse.cycle}: that bit is unused by the spec",
                       cycle=pulse.cycle)
            return
        if not self.outstanding:
            self._fail("EVT_SPURIOUS", f"event for core {pulse.core} at cycle {pulse.cycle} with no job outstanding",
                       cycle=pulse.cycle)
            return
        rec = self.outstanding.pop(0)
        rec.event_cycle = pulse.cycle
        rec.state = "done"
        if pulse.core != rec.core:
            self._fail("EVT_CORE", f"event of {rec.describe()} went to core {pulse.core} at cycle {pulse.cycle}, "
                       f"but core {rec.core} triggered it", job=rec.index, cycle=pulse.cycle)
        self.pending_checks += 1
        cocotb.start_soon(self._check_after_event(rec))

    async def _check_after_event(self, rec):
        if self.cfg.knobs.get("corrupt_z") and not rec.zero_job:
            # negative control: flip one bit of Z through the backdoor; the check must see it
            z0 = rec.z_range[0]
            self.memory.write(z0, bytes([int(self.memory.read(z0, 1)[0]) ^ 0x01]))
        await RisingEdge(self.dut.clk_i)  # the event cycle ends: stores granted in it have landed
        delay = int(self.cfg.knobs.get("check_delay", 0))
        if delay:  # negative control of the drain limit: a check that takes longer than the drain waits
            await ClockCycles(self.dut.clk_i, delay)
        try:
            self.check_result(rec)
            self._check_timing(rec)
        finally:
            self.pending_checks -= 1
            if getattr(rec, "done", None) is not None:
                rec.done.set()  # only now may the job's memory be reused

    # -- checks
    def check_result(self, rec) -> bool:
        job = rec.job
        if rec.zero_job:  # no data: its checks are the footprint's (no traffic) and the event's
            self.zero_jobs += 1
            self.results[rec.index] = "zero"
            self.result_ap.write((rec, True))
            return True
        z0, z1 = rec.z_range
        dtype = np.uint16 if job.fmt == "FP16" else np.uint8
        actual = self.memory.read(z0, z1 - z0).view(dtype).reshape(job.m, job.k)
        expected = rec.expected
        differ = actual != expected
        self.checked += 1
        if not differ.any():
            self.results[rec.index] = "pass"
            self.result_ap.write((rec, True))
            return True
        bad = np.argwhere(differ)
        self.mismatches += 1
        self.results[rec.index] = "fail"
        lines = [f"Z MISMATCH in {rec.describe()} (seed {self.cfg.seed}): {len(bad)} of {actual.size} "
                 f"elements differ"]
        for m, k in bad[:MAX_LISTED]:
            e, a = int(expected[m, k]), int(actual[m, k])
            width = 4 if job.fmt == "FP16" else 2
            lines.append(f"  z[{m}][{k}]: expected {e:#0{width + 2}x} ({fp_class(e, job.fmt)}) "
                         f"actual {a:#0{width + 2}x} ({fp_class(a, job.fmt)}): {difference_kind(e, a, job.fmt)}")
        lines.append("  job: " + job.to_json())
        kinds = collections.Counter(_pattern(int(expected[m, k]), int(actual[m, k]), job.fmt) for m, k in bad)
        self._fail("Z_MISMATCH", "\n".join(lines), job=rec.index, cycle=rec.event_cycle,
                   pattern=kinds.most_common(1)[0][0],
                   where="all" if len(bad) == actual.size else "some")
        self.result_ap.write((rec, False))
        return False

    def _check_timing(self, rec):
        if rec.zero_job or rec.trigger_cycle < 0:
            return
        job = rec.job
        cycles = rec.event_cycle - rec.trigger_cycle
        eng = self.cfg.eng
        exp = ref.expected_cycles(job.m, job.n, job.k, eng.L, eng.H, eng.P)
        rec.expected_cycles = exp
        util = ref.ce_utilisation(job.m, job.n, job.k, cycles, eng.L, eng.H) if cycles > 0 else 0.0
        entry = dict(job=rec.index, op=job.op, fmt=job.fmt, m=job.m, n=job.n, k=job.k, cycles=cycles,
                     expected=exp, ratio=round(cycles / exp, 4), utilisation=round(util, 4),
                     grant=rec.grant_kind, serial=rec.serial)
        self.cycle_reports.append(entry)
        self.logger.info("cycles %s: %d (model %d, x%.3f, CE utilisation %.1f%%)", rec.describe(), cycles, exp,
                         cycles / exp, 100 * util)
        if (self.cfg.assert_cycles and rec.serial and rec.grant_kind == "always" and self._compute_bound(job)
                and cycles > self.cfg.cycle_tolerance * exp):
            self._fail("TIMING", f"TIMING {rec.describe()} took {cycles} cycles, more than {self.cfg.cycle_tolerance} x "
                       f"expected_cycles = {self.cfg.cycle_tolerance * exp:.0f}", job=rec.index, cycle=rec.event_cycle)

    def _compute_bound(self, job) -> bool:
        """True when the timing model applies: the job's memory beats fit well inside its compute cycles.

        The model of spec section 7 counts compute only; a thin job (say N = 1) needs
        more beats per tile than it computes and is bounded by the one port instead.
        Per output tile: X needs L beats per H*(P+1) values of N, W one beat per n,
        Y and Z one beat per row each.
        """
        eng = self.cfg.eng
        t = eng.tile_k
        beats = eng.L * -(-job.n // t) + job.n + (2 if job.reads_y else 1) * eng.L
        compute = (eng.P + 1) * eng.H * -(-job.n // eng.H)
        return beats <= 0.8 * compute

    def check_phase(self):
        if self.hang.is_set():
            return  # the watchdog reported the hang of what is still outstanding
        for rec in self.outstanding:
            self._fail("NEVER_COMPLETED", f"NEVER COMPLETED {rec.describe()} was triggered at cycle "
                                          f"{rec.trigger_cycle} but its event never came before the test ended")

    def report_phase(self):
        self.logger.info("scoreboard: %d jobs compared, %d mismatching, %d zero jobs", self.checked, self.mismatches,
                         self.zero_jobs)

    def outcomes(self) -> list[dict]:
        """One entry per triggered job: what it was and how it ended (triage contrasts them)."""
        out = []
        for rec in self.records:
            j = rec.job
            status = self.results.get(rec.index) or ("aborted" if rec.state == "aborted" else "incomplete")
            out.append({"job": rec.index, "op": j.op, "family": OP_FAMILY.get(j.op, j.op), "fmt": j.fmt,
                        "core": rec.core, "grant": rec.grant_kind, "serial": rec.serial, "status": status})
        return out

    def _fail(self, check, msg, job=None, cycle=None, **attrs):
        self.failures.append(msg)
        self.check_error(check, msg, job=job, cycle=cycle, **attrs)


def _pattern(exp: int, act: int, fmt: str) -> str:
    """How one element is wrong, for triage: the kind of difference (nan / sign-of-zero / ulp1 / ulp-few /
    large) and the classes expected>actual (the sign kept for zeros only), e.g. ``ulp1:inf>norm``."""
    kind = difference_kind(exp, act, fmt)
    if kind.startswith("NaN encoding"):
        k = "nan-encoding"
    elif kind.startswith("NaN"):
        k = "nan"
    elif kind.startswith("sign"):
        k = "sign-of-zero"
    else:
        n = int(kind.split()[0])
        k = "ulp1" if n == 1 else "ulp-few" if n <= 8 else "large"

    def cls(code):
        c = fp_class(code, fmt)
        return c if c.endswith("zero") else c.lstrip("+-")

    return f"{k}:{cls(exp)}>{cls(act)}"
