"""Characterise a failure: what does it need?

For the first failure of a new bucket, :class:`Characteriser` shrinks it
(:mod:`redmule_verif.tools.shrink`, keeping the root cause, not the first
message) and reruns the shrunk job list under variations, each one change:

=============  ==========================================================
variation      the shrunk jobs ...
=============  ==========================================================
always-grant   with every grant profile set to always-grant
alone          the failing job alone (or, if it is alone, after a small job)
soft-clear     with a SOFT_CLEAR written before every job (or without it,
               when the DUT's profile clears)
format         with the other formats (data converted exactly or rounded)
core           triggered from another core
=============  ==========================================================

A variation that still fails with the same root cause says the failure does
not need what it changed; one that passes says it does. The result is one
line per bucket ("needs grant stalls; independent of format; alone: still
fails"), the shrunk job file and every variant's run.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

from redmule_verif.flow import triage
from redmule_verif.model.casts import from_fp16, to_fp16
from redmule_verif.model.profile import SPEC, Convention, Profile, load_profile
from redmule_verif.sequences.items import GemmJob, GrantProfile, dump_jobs
from redmule_verif.sequences.library import SEQUENCES
from redmule_verif.sim.runner import run_test
from redmule_verif.tools.shrink.shrinker import shrink

FORMATS = ("FP16", "FP8", "FP8ALT")
SHRINK_BUDGET = 25


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text)[:60].strip("_") or "bucket"


def _layout(j: GemmJob, eb: int, cur: int, gap: int) -> tuple[dict, int]:
    """Bases for X, W, Z of ``j`` with ``eb``-byte elements from ``cur``, each keeping its offset within 64
    bytes (element aligned); returns them and the next free address."""
    addrs = {}
    for name, size in (("x_base", j.m * j.n * eb), ("w_base", j.n * j.k * eb), ("z_base", j.m * j.k * eb)):
        start = cur + (getattr(j, name) % 64) // eb * eb
        addrs[name] = start
        cur = -(-(start + max(size, 1)) // 64) * 64 + gap
    return addrs, cur


def convert_format(job: GemmJob, fmt: str, gap: int = 64) -> GemmJob:
    """The same job in another format: explicit data widened exactly or rounded once (spec casts), its
    buffers laid out again from its lowest base (the element size changes)."""
    if fmt == job.fmt:
        return job
    changes = {"fmt": fmt}
    for name in ("x", "w", "y"):
        bits = getattr(job, name)
        if bits is not None:
            changes[name] = from_fp16(to_fp16(bits, job.fmt), fmt)
    eb = 2 if fmt == "FP16" else 1
    addrs, _ = _layout(job, eb, min(job.x_base, job.w_base, job.z_base) // 64 * 64, gap)
    return dataclasses.replace(job, **changes, **addrs)


def place(jobs: list[GemmJob], base: int, gap: int = 64) -> list[GemmJob]:
    """Lay the jobs' X, W and Z out again from ``base``, apart, keeping each base's offset within 64 bytes
    (the alignment a failure may depend on)."""
    cur, out = base, []
    for j in jobs:
        addrs, cur = _layout(j, j.elem_bytes, cur, gap)
        out.append(j.replace(**addrs))
    return out


@dataclasses.dataclass
class Variant:
    name: str
    desc: str
    status: str = ""
    cause: str = ""
    same: bool = False
    dir: str = ""


class Characteriser:
    """Shrinks a bucket's first failure and reruns it under variations (callable on a regression bucket)."""

    def __init__(self, dut, sim, out, budget_runs: int = SHRINK_BUDGET, log=print, run_fn=run_test):
        self.dut = dut
        self.sim = sim
        self.out = pathlib.Path(out)
        self.budget_runs = budget_runs
        self.log = log or (lambda s: None)
        self.run_fn = run_fn
        self.profile = load_profile(dut.profile) if dut is not None else SPEC

    def __call__(self, bucket: dict) -> dict:
        first = bucket["first"]
        test, seed, knobs = first["test"], int(first["seed"]), dict(first.get("knobs") or {})
        if test not in SEQUENCES:
            return {"line": f"not characterised: {test} is not a library sequence (its jobs are made in the "
                            "simulation and cannot be shrunk)"}
        wd = self.out / _slug(bucket["signature"])
        res = shrink(self.sim, test, seed, knobs, budget_runs=self.budget_runs, out_dir=wd / "shrink",
                     output=wd / "shrunk.yaml", log=None, build_args=self.dut.cli_args() if self.dut else None,
                     signature_fn=triage.cause_signature, run_fn=self.run_fn)
        if not res.reproduced:
            return {"line": "did not fail again when rerun alone (flaky, or it needs the whole run)",
                    "shrink_runs": res.runs}
        jobs = list(res.jobs)
        culprit = min(res.culprit_index or 0, len(jobs) - 1) if res.culprit_index is not None else len(jobs) - 1
        culprit = min(culprit, len(jobs) - 1)
        cause = res.signature
        variants = self.variants(jobs, culprit)
        for v, (vjobs, env) in variants:
            self._run(v, vjobs, env, cause, wd)
        line = self.summarise([v for v, _ in variants], jobs, culprit)
        return {"line": line, "cause": cause, "job_file": str(res.path) if res.path else None,
                "shrunk": res.shrunk, "shrink_runs": res.runs, "jobs": len(jobs),
                "job": str(jobs[culprit]), "variants": [dataclasses.asdict(v) for v, _ in variants]}

    # -- variations
    def variants(self, jobs: list[GemmJob], culprit: int) -> list[tuple[Variant, tuple[list, dict]]]:
        out = []
        job = jobs[culprit]
        base = min(min(j.x_base, j.w_base, j.z_base) for j in jobs) & ~0xFFF
        if any(j.grant.kind != "always" for j in jobs):
            out.append((Variant("always-grant", "every grant at once"),
                        ([j.replace(grant=GrantProfile("always")) for j in jobs], {})))
        if len(jobs) > 1:
            out.append((Variant("alone", "the failing job alone"), (place([job.replace(launch="serial")], base), {})))
        else:
            warm = GemmJob("GEMM", "FP16", 4, 4, 4, 0, 0, 0, data_seed=1, core=(job.core + 1) % 8)
            out.append((Variant("after-job", "after a small GEMM FP16 job"), (place([warm, job], base), {})))
        clears = self.profile.soft_clear_before_job
        other = (Profile("no-clear", "the profile without its SOFT_CLEAR", tuple(
            c for c in self.profile.conventions if c.name not in ("soft_clear_before_job", "queued_jobs")))
                 if clears else
                 Profile("clear", "SOFT_CLEAR before every job", self.profile.conventions + (
                     Convention("soft_clear_before_job", True, "characterisation variant"),)))
        out.append((Variant("soft-clear" if not clears else "no-soft-clear",
                            "without the SOFT_CLEAR before each job" if clears else "SOFT_CLEAR(0) before each job"),
                    (jobs, {"REDMULE_PROFILE": other.to_json()})))
        for fmt in FORMATS:
            if fmt != job.fmt and job.fmt in FORMATS:
                vj = list(jobs)
                vj[culprit] = convert_format(job, fmt)
                out.append((Variant(f"format-{fmt}", f"the failing job in {fmt}"), (place(vj, base), {})))
        core = (job.core + 3) % 8
        vj = list(jobs)
        vj[culprit] = job.replace(core=core)
        out.append((Variant("core", f"triggered by core {core} instead of {job.core}"), (vj, {})))
        return out

    def _run(self, v: Variant, jobs: list[GemmJob], env: dict, cause: str, wd: pathlib.Path) -> None:
        d = wd / "variants" / v.name
        d.mkdir(parents=True, exist_ok=True)
        path = dump_jobs(jobs, d / "jobs.yaml")
        try:
            rec = self.run_fn(self.sim, "directed", 1, d / "run", knobs={"file": str(path)}, timeout=600,
                              extra_env=env or None)
        except ValueError as exc:  # an illegal variant (does not fit memory ...): say so, never crash
            v.status, v.cause = "skipped", str(exc)[:200]
            return
        v.status, v.dir = rec["status"], str(d / "run")
        v.cause = triage.cause_signature(rec)
        v.same = rec["status"] != "pass" and v.cause == cause
        self.log(f"    {v.name}: {v.status} {'(same cause)' if v.same else v.cause}")

    @staticmethod
    def summarise(variants: list[Variant], jobs: list[GemmJob], culprit: int) -> str:
        by = {v.name: v for v in variants}
        parts = []

        def verdict(v: Variant, needs: str, free: str) -> str | None:
            if v.status in ("", "skipped"):
                return None
            if v.same:
                return free
            if v.status == "pass":
                return needs
            return f"{free.split(':')[0]}: fails differently ({v.cause})"

        g = by.get("always-grant")
        parts.append(verdict(g, "needs grant stalls", "independent of grant stalls") if g else "fails with always-grant")
        a = by.get("alone") or by.get("after-job")
        if a is not None:
            parts.append(verdict(a, "needs the job(s) before it" if a.name == "alone" else "only as the first job",
                                 "alone: still fails" if a.name == "alone" else "after another job: still fails"))
        c = by.get("soft-clear") or by.get("no-soft-clear")
        if c is not None:
            parts.append(verdict(c, "a SOFT_CLEAR before the job hides it" if c.name == "soft-clear"
                                 else "needs the SOFT_CLEAR before the job",
                                 "independent of SOFT_CLEAR"))
        fmts = [v for v in variants if v.name.startswith("format-") and v.status not in ("", "skipped")]
        if fmts:
            same = [v for v in fmts if v.same]
            fmt = jobs[culprit].fmt
            parts.append("independent of format" if len(same) == len(fmts) else
                         f"needs {fmt}" if not same else
                         f"fails in {fmt} and {', '.join(v.name[7:] for v in same)}, not in "
                         f"{', '.join(v.name[7:] for v in fmts if not v.same)}")
        k = by.get("core")
        if k is not None:
            parts.append(verdict(k, f"needs core {jobs[culprit].core}", "independent of the core"))
        return "; ".join(p for p in parts if p)


def characterise_json(result: dict) -> str:
    return json.dumps(result, indent=1, default=str)
