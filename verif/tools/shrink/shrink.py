"""Shrink a failing test x seed into a minimal failing job: ``redmule-verif shrink TEST --seed S``.

What it does, every step a simulation through the ``directed`` test with a job
file, a candidate kept only when the run still fails with the same failure
signature (:func:`failure_signature`):

1. run TEST x SEED (as a regression would) and take its signature;
2. regenerate the test's job list outside simulation, exactly as the run did
   (``SEQUENCES[test](SeqContext(seed, eng, mem, knobs))`` with the engine and
   memory of the build), and find the failing job: the scoreboard and checkers
   name it ("job #i"); otherwise the smallest failing prefix is bisected;
3. one job instead of many: the failing job alone (launch "serial"); if that
   no longer fails, the minimal prefix ending with it, then earlier jobs dropped
   where the failure allows;
4. simpler conditions: no control events, grant "always" (else lighter stalls),
   no class_weights, data "normal" then "small_ints";
5. smaller M, N, K: the job's data is frozen into explicit matrices (so that a
   smaller shape keeps the values that fail), then M and K are cropped to the
   failing output element, and each dimension is halved, then decremented,
   index by index; whatever does not fail any more (a remainder that matters)
   is kept;
6. fewer special values: non-normal operands replaced by 1.0, where the failure
   allows; core 0.

The number of simulations is bounded (``--budget-runs``, default 40, the first
run included). The result is a directed test: a YAML job list (by default
written to ``sequences/directed/shrunk_TEST_sSEED.yaml``, ready to commit) and the
command that replays it.

Command line (through the project CLI, or standalone)::

    redmule-verif shrink TEST --seed S [--knobs JSON] [--budget-runs N] [--out DIR] [--output FILE]
    python -m redmule_verif.tools.shrink.shrink TEST --seed S [-P L=4 ...] [--rtl FILE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import re
import shlex
import sys
import time
from typing import Callable

import numpy as np

from redmule_verif.sequences.items.job import (
    EngineConfig,
    GemmJob,
    GrantProfile,
    MemoryConfig,
    check_job_list,
    classify,
    dump_jobs,
    format_job,
    jobs_to_yaml,
    load_jobs,
)

from redmule_verif.sim.paths import DIRECTED_DIR, out_dir
DEFAULT_BUDGET = 40

# --------------------------------------------------------------------------- signatures

_DESC_RE = re.compile(
    r"job #(?P<index>\d+) id=(?P<id>-?\d+) core=(?P<core>\d+) (?P<op>\w+) (?P<fmt>\w+) "
    r"M=(?P<m>\d+) N=(?P<n>\d+) K=(?P<k>\d+)(?: X@0x[0-9a-fA-F]+ W@0x[0-9a-fA-F]+ Z@0x[0-9a-fA-F]+)?")
_JOB_RE = re.compile(r"job #(\d+)")
_ELEM_RE = re.compile(r"z\[(\d+)\]\[(\d+)\]")
_LOGGER_RE = re.compile(r"^\s*\[[^\]]*\]\s*")
_FIRST_RE = re.compile(r"^\s*\w+: \d+ error\(s\) logged; first: ")


def first_error(record: dict) -> str:
    """The first error the run logged (full text, logger prefix removed), or its message."""
    errs = record.get("first_errors") or []
    text = errs[0] if errs else (record.get("message") or "")
    text = _FIRST_RE.sub("", text)
    return _LOGGER_RE.sub("", text).strip()


def local_signature(record: dict) -> str:
    """Failure message normalised into a bucket: no job index, ids, sizes, addresses, cycles, seeds.

    ``Z MISMATCH in job #3 id=3 core=2 GEMM FP16 M=12 N=.. (seed 7): 5 of 144 elements differ``
    becomes ``Z MISMATCH in job GEMM FP16: # of # elements differ``. "" for a pass.
    """
    status = record.get("status")
    if status == "pass":
        return ""
    if status == "timeout":
        return "TIMEOUT"
    text = first_error(record)
    line = text.splitlines()[0] if text else ""
    if not line:
        return f"{str(status).upper()} (no message)"
    line = _DESC_RE.sub(lambda m: f"job {m['op']} {m['fmt']}", line)
    line = re.sub(r"\s*\(seed \d+\)", "", line)
    line = re.sub(r"(?<![\w])0x[0-9a-fA-F_]+", "0x?", line)
    line = re.sub(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])", "#", line)
    line = re.sub(r"\s+", " ", line).strip()
    if status == "error":
        line = "ERROR " + line
    return line[:200]


def failure_signature(record: dict) -> str:
    """The project's signature (``redmule_verif.flow.signature.signature``) when it exists, else the local one."""
    try:
        from redmule_verif.flow.signature import signature as project_signature
    except ImportError:
        return local_signature(record)
    sig = project_signature(record)
    return "" if record.get("status") == "pass" else str(sig or "")


def failing_job_index(record: dict) -> int | None:
    """Index (in the run's job list) of the job the first error names ("job #i"), else None."""
    m = _JOB_RE.search(first_error(record))
    if m:
        return int(m.group(1))
    for e in record.get("first_errors") or []:
        m = _JOB_RE.search(e)
        if m:
            return int(m.group(1))
    return None


def failing_element(record: dict) -> tuple[int, int] | None:
    """(m, k) of the first mismatching output element the scoreboard listed, else None."""
    m = _ELEM_RE.search(first_error(record))
    return (int(m.group(1)), int(m.group(2))) if m else None


# --------------------------------------------------------------------------- job surgery


def materialize(job: GemmJob) -> GemmJob:
    """The same job with its data frozen as explicit matrices (identical bits)."""
    x, w, y = job.make_data()
    return job.replace(x=x, w=w, y=y, data="normal", class_weights=None, data_seed=0)


def crop(job: GemmJob, rows=None, reds=None, cols=None) -> GemmJob:
    """A sub-job of an explicit-data job: rows of X/Y (M), reduction steps (N), columns of W/Y (K)."""
    rows = list(range(job.m)) if rows is None else list(rows)
    reds = list(range(job.n)) if reds is None else list(reds)
    cols = list(range(job.k)) if cols is None else list(cols)
    x = job.x[np.ix_(rows, reds)]
    w = job.w[np.ix_(reds, cols)]
    y = None if job.y is None else job.y[np.ix_(rows, cols)]
    return job.replace(m=len(rows), n=len(reds), k=len(cols), x=x, w=w, y=y)


_ONE = {"FP16": 0x3C00, "FP8": 0x3C, "FP8ALT": 0x38}


def plain_values(job: GemmJob, which: str = "xwy") -> GemmJob:
    """Non-normal elements (zeros, subnormals, max, Inf, NaN) of the named matrices replaced by 1.0."""
    one = _ONE.get(job.fmt)
    if one is None:
        return job
    changes = {}
    for name in which:
        a = getattr(job, name)
        if a is None:
            continue
        cls = classify(a, job.fmt)
        special = (cls != 4) & (cls != 5)
        if special.any():
            b = np.array(a, copy=True)
            b[special] = one
            changes[name] = b
    return job.replace(**changes) if changes else job


def lighter_grant(g: GrantProfile) -> GrantProfile | None:
    """A grant profile with fewer stalls than ``g`` (None when there is nothing lighter than 'always')."""
    if g.kind == "always":
        return None
    if g.kind == "random":
        return dataclasses.replace(g, p=round(min(1.0, g.p + (1.0 - g.p) / 2), 4))
    if g.kind == "bursty":
        return dataclasses.replace(g, off=g.off // 2, on=g.on * 2)
    return dataclasses.replace(g, core_rate=round(g.core_rate / 2, 4))


def job_size(jobs: list[GemmJob]) -> tuple[int, int]:
    """(jobs, sum of M*N*K): what the shrinker makes smaller."""
    return len(jobs), sum(j.m * j.n * j.k for j in jobs)


# --------------------------------------------------------------------------- the shrinker


@dataclasses.dataclass
class Attempt:
    """One candidate run."""

    n: int
    step: str
    desc: str
    status: str
    signature: str
    kept: bool
    wall_s: float
    dir: str

    def line(self) -> str:
        verdict = "KEPT" if self.kept else ("passes" if self.status == "pass" else
                                            f"other failure: {self.signature[:70]}")
        return f"  {self.n:>3}  {self.step:<10} {self.desc:<58} -> {verdict}"


@dataclasses.dataclass
class ShrinkResult:
    test: str
    seed: int
    knobs: dict
    signature: str
    reproduced: bool              # the original run failed
    original_jobs: list
    culprit_index: int | None     # index of the failing job in the original list
    jobs: list                    # the minimal failing job list
    attempts: list
    runs: int
    budget: int
    path: pathlib.Path | None = None
    yaml: str = ""
    repro: str = ""
    first_record: dict | None = None
    last_record: dict | None = None
    note: str = ""

    @property
    def shrunk(self) -> bool:
        return self.reproduced and job_size(self.jobs) < job_size(self.original_jobs)

    def to_dict(self) -> dict:
        return {
            "test": self.test, "seed": self.seed, "knobs": self.knobs, "signature": self.signature,
            "reproduced": self.reproduced, "culprit_index": self.culprit_index, "runs": self.runs,
            "budget": self.budget, "path": str(self.path) if self.path else None, "repro": self.repro,
            "note": self.note,
            "before": [format_job(j) for j in self.original_jobs],
            "after": [format_job(j) for j in self.jobs],
            "attempts": [dataclasses.asdict(a) for a in self.attempts],
        }

    def report(self) -> str:
        lines = [f"shrink {self.test} seed {self.seed}: signature {self.signature!r}"]
        if not self.reproduced:
            lines.append(f"  the run does not fail ({self.first_record.get('status') if self.first_record else '?'}): "
                         "nothing to shrink")
            return "\n".join(lines)
        nj, vol = job_size(self.original_jobs)
        lines.append(f"  before: {nj} job(s), sum M*N*K = {vol}"
                     + (f"; failing job #{self.culprit_index}: {format_job(self.original_jobs[self.culprit_index])}"
                        if self.culprit_index is not None and self.culprit_index < nj else ""))
        nj2, vol2 = job_size(self.jobs)
        lines.append(f"  after:  {nj2} job(s), sum M*N*K = {vol2}")
        for j in self.jobs:
            lines.append(f"          {format_job(j)}")
        lines.append(f"  {self.runs} of {self.budget} runs used; tried:")
        lines += [a.line() for a in self.attempts]
        if self.note:
            lines.append("  note: " + self.note)
        if self.path:
            lines.append(f"directed test written to {self.path}:")
            lines.append(self.yaml.rstrip())
            lines.append("repro:")
            lines.append("  " + self.repro)
        return "\n".join(lines)


class _Budget(Exception):
    pass


class _NoRepro(Exception):
    pass


class Shrinker:
    """Delta-debugs one failing test x seed on a built simulator (see the module docstring)."""

    def __init__(self, sim, test: str, seed: int, knobs: dict | None = None, budget_runs: int = DEFAULT_BUDGET,
                 out_dir=None, timeout: float | None = None, log: Callable[[str], None] | None = print,
                 signature_fn: Callable[[dict], str] | None = None, run_fn: Callable | None = None,
                 build_args: list[str] | None = None):
        self.sim = sim
        self.test = test
        self.seed = int(seed)
        self.knobs = dict(knobs or {})
        self.budget = int(budget_runs)
        self.out = pathlib.Path(out_dir or out_dir("shrink", f"{test}-{seed}")).resolve()
        self.timeout = timeout
        self.log = log or (lambda s: None)
        self.signature_fn = signature_fn or failure_signature
        self.build_args = list(build_args or [])
        if run_fn is None:
            from redmule_verif.sim.runner import run_test

            run_fn = run_test
        self.run_fn = run_fn
        params = dict(sim.config.params) if sim is not None else {}
        self.eng = EngineConfig.from_params(params)
        self.mem = MemoryConfig(base=int(params.get("MEM_BASE", 0x1000_0000)),
                                size=4 * int(params.get("MEM_WORDS", 32768)))
        self.attempts: list[Attempt] = []
        self.runs = 0
        self.signature = ""
        self.env_knobs: dict = {}
        self.jobs: list[GemmJob] = []
        self.culprit: int = 0
        self.record: dict | None = None
        self._timeout_run = timeout

    # -- plumbing --------------------------------------------------------------
    def _run(self, test: str, knobs: dict, tag: str) -> dict:
        if self.runs >= self.budget:
            raise _Budget()
        self.runs += 1
        d = self.out / f"{self.runs:02d}_{tag}"
        return self.run_fn(self.sim, test, self.seed, d, knobs=knobs, timeout=self._timeout_run)

    def regenerate(self) -> list[GemmJob]:
        """The test's job list as the run generated it; records which knobs were the sequence's."""
        from redmule_verif.sequences.library import SEQUENCES, SeqContext

        if self.test not in SEQUENCES:
            raise ValueError(f"test {self.test!r} is not a library sequence (its jobs are made inside the "
                             f"simulation), so its job list cannot be regenerated and shrunk; sequences: "
                             f"{', '.join(sorted(SEQUENCES))}")
        ctx = SeqContext(seed=self.seed, eng=self.eng, mem=self.mem, knobs=dict(self.knobs))
        jobs = SEQUENCES[self.test](ctx)
        # knobs the sequence did not read steer the environment (e.g. corrupt_z): keep passing them
        self.env_knobs = {k: v for k, v in self.knobs.items() if k not in ctx.used}
        return list(jobs)

    def _try(self, step: str, desc: str, jobs: list[GemmJob], culprit: int) -> bool:
        """Run a candidate job list; keep it when it fails with the same signature."""
        try:
            check_job_list(jobs, self.eng, self.mem)
        except ValueError as e:
            self.log(f"  skip {step} {desc}: illegal ({e})")
            return False
        n = self.runs + 1
        self.out.mkdir(parents=True, exist_ok=True)
        path = dump_jobs(jobs, self.out / f"cand_{n:02d}.yaml")
        t0 = time.monotonic()
        rec = self._run("directed", {**self.env_knobs, "file": str(path)}, step)
        sig = self.signature_fn(rec) if rec["status"] != "pass" else ""
        kept = rec["status"] != "pass" and sig == self.signature
        a = Attempt(n, step, desc, rec["status"], sig, kept, round(time.monotonic() - t0, 1), rec.get("dir", ""))
        self.attempts.append(a)
        self.log(a.line())
        if kept:
            self.jobs, self.culprit, self.record = jobs, culprit, rec
        return kept

    def _with_culprit(self, job: GemmJob) -> list[GemmJob]:
        jobs = list(self.jobs)
        jobs[self.culprit] = job
        return jobs

    def _try_job(self, step: str, desc: str, job: GemmJob) -> bool:
        return self._try(step, desc, self._with_culprit(job), self.culprit)

    @property
    def job(self) -> GemmJob:
        return self.jobs[self.culprit]

    # -- the algorithm ---------------------------------------------------------
    def shrink(self) -> ShrinkResult:
        from redmule_verif.sequences.library import SEQUENCES

        if self.test not in SEQUENCES:
            self.regenerate()  # raises the explanation, before any simulation
        self.out.mkdir(parents=True, exist_ok=True)
        self._timeout_run = self.timeout or 600
        self.log(f"shrink: running {self.test} seed {self.seed} knobs {json.dumps(self.knobs)}")
        first = self._run(self.test, self.knobs, "original")
        res = ShrinkResult(self.test, self.seed, self.knobs, "", False, [], None, [], self.attempts, 0, self.budget,
                           first_record=first)
        if first["status"] == "pass":
            res.runs = self.runs
            return res
        if self.timeout is None and first.get("wall_s"):
            # a candidate is never bigger than the original: allow 3x its wall time (and a minute of start-up)
            self._timeout_run = max(60.0, 3 * float(first["wall_s"]) + 60)
        self.signature = self.signature_fn(first)
        res.signature, res.reproduced = self.signature, True
        self.log(f"  fails: {self.signature}")
        original = self.regenerate()
        res.original_jobs = original
        n_run = (first.get("summary") or {}).get("jobs")
        if n_run is not None and n_run != len(original):
            res.note = (f"the run had {n_run} jobs, the regenerated list {len(original)}: "
                        "the sequence is not reproducible outside simulation")
        self.jobs = list(original)
        self.record = first
        idx = failing_job_index(first)
        if idx is not None and idx >= len(original):
            idx = None
        if idx is not None:
            m = _DESC_RE.search(first_error(first))
            if m and (int(m["m"]), int(m["n"]), int(m["k"])) != (original[idx].m, original[idx].n, original[idx].k):
                res.note += (f" job #{idx} of the message ({m['m']}x{m['n']}x{m['k']}) differs from the regenerated "
                             f"one ({format_job(original[idx])})")
        res.culprit_index = idx
        try:
            self._one_job(idx)
            res.culprit_index = self._original_index
            self._simplify()
            self._dims()
            self._values()
        except _Budget:
            self.log(f"  run budget ({self.budget}) spent")
        except _NoRepro:
            res.note = (res.note + " the failure does not reproduce when its job list is replayed through the "
                        "directed test (it depends on more than the jobs): nothing shrunk").strip()
        res.culprit_index = self._original_index if self._original_index is not None else idx
        res.jobs = self.jobs
        res.runs = self.runs
        res.last_record = self.record
        if not any(a.kept for a in self.attempts) and not res.note:
            res.note = "no smaller candidate failed the same way"
        return res

    _original_index = None

    def _one_job(self, idx: int | None) -> None:
        original = list(self.jobs)
        n = len(original)
        verified = False  # a directed replay has reproduced the failure
        if idx is None:
            # the failure names no job: bisect the smallest failing prefix; its last job is the culprit
            lo, hi = 1, n  # the whole list fails
            while lo < hi:
                mid = (lo + hi) // 2
                if self._try("prefix", f"first {mid} of {n} jobs", original[:mid], mid - 1):
                    hi, verified = mid, True
                else:
                    lo = mid + 1
            idx = hi - 1
        self._original_index = idx
        self.culprit = idx
        if n == 1 and original[0].launch == "serial" and verified:
            return
        if n > 1 or original[idx].launch != "serial":
            if self._try("one-job", f"job #{idx} alone, serial", [original[idx].replace(launch="serial")], 0):
                return
        if not verified and idx + 1 < n:
            verified = self._try("prefix", f"jobs #0..#{idx} (the failing job last)", original[: idx + 1], idx)
        if not verified:
            if not self._try("replay", f"all {n} job(s) through the directed test", original, idx):
                raise _NoRepro()
        self._drop_earlier()

    def _drop_earlier(self) -> None:
        """ddmin over the jobs before the culprit: drop chunks while the failure stays."""
        chunk = max(1, self.culprit // 2)
        while self.culprit > 0:
            dropped = False
            start = 0
            while start < self.culprit:
                end = min(self.culprit, start + chunk)
                cand = self.jobs[:start] + self.jobs[end:]
                new_c = self.culprit - (end - start)
                if cand[0].launch != "serial":
                    cand[0] = cand[0].replace(launch="serial")
                if self._try("drop", f"without jobs #{start}..#{end - 1} before the failing one", cand, new_c):
                    dropped = True
                else:
                    start = end
            if chunk == 1 and not dropped:
                break
            chunk = max(1, chunk // 2)

    def _simplify(self) -> None:
        j = self.job
        if j.control:
            self._try_job("control", "no control events", j.replace(control=[]))
        j = self.job
        if j.grant.kind != "always":
            if not self._try_job("grant", "grant always (no stalls)", j.replace(grant=GrantProfile("always"))):
                g = lighter_grant(j.grant)
                if g is not None:
                    self._try_job("grant", f"lighter stalls: {g.summary()}", j.replace(grant=g))
        j = self.job
        if j.x is None and j.w is None and j.y is None:
            if j.class_weights is not None:
                self._try_job("data", "class_weights removed", j.replace(class_weights=None))
            j = self.job
            if j.data not in ("normal", "small_ints"):
                self._try_job("data", f"data {j.data} -> normal", j.replace(data="normal", class_weights=None))
            j = self.job
            if j.data == "normal" and j.class_weights is None:
                self._try_job("data", "data normal -> small_ints", j.replace(data="small_ints"))

    def _focus(self) -> tuple[int, int] | None:
        if self.record is None or failing_job_index(self.record) not in (None, self.culprit):
            return None
        return failing_element(self.record)

    def _dims(self) -> None:
        j = self.job
        if j.is_noop or not j.fmt_supported:
            return
        if j.x is None or j.w is None or (j.reads_y and j.y is None):
            self.jobs = self._with_culprit(materialize(j))  # same bits: no run needed
        focus = self._focus()
        j = self.job
        if focus and (j.m > 1 or j.k > 1):
            fm, fk = focus
            if fm < j.m and fk < j.k:
                self._try_job("crop", f"M,K {j.m}x{j.k} -> 1x1 (the failing z[{fm}][{fk}])",
                              crop(j, rows=[fm], cols=[fk]))
        for dim in ("m", "k", "n"):
            self._reduce_dim(dim)

    def _reduce_dim(self, dim: str, max_decrements: int = 6) -> None:
        label = dim.upper()

        def cand(keep):
            return crop(self.job, **{{"m": "rows", "n": "reds", "k": "cols"}[dim]: keep})

        def size():
            return getattr(self.job, dim)

        def focus_index():
            f = self._focus()
            if f is None or dim == "n":
                return None
            return f[0] if dim == "m" else f[1]

        if size() <= 1:
            return
        f = focus_index()
        if f is not None and f < size():
            if self._try_job("dims", f"{label} {size()} -> 1 (keep index {f})", cand([f])):
                return
        while size() > 1:  # halve
            s = size()
            half = s // 2
            parts = [list(range(half)), list(range(half, s))]
            f = focus_index()
            if f is not None and f >= half:
                parts.reverse()
            for p in parts:
                if self._try_job("dims", f"{label} {s} -> {len(p)} ({'first' if p[0] == 0 else 'last'} half)",
                                 cand(p)):
                    break
            else:
                break
        tries = 0
        pos = size() - 1
        while size() > 1 and tries < max_decrements and pos >= 0:  # decrement, from the end
            s = size()
            pos = min(pos, s - 1)
            if pos == focus_index():
                pos -= 1
                continue
            tries += 1
            self._try_job("dims", f"{label} {s} -> {s - 1} (drop index {pos})",
                          cand([i for i in range(s) if i != pos]))
            pos -= 1  # dropped, or it matters (a remainder that makes the failure): next one down

    def _values(self) -> None:
        j = self.job
        if j.x is None or not j.fmt_supported:
            return
        if plain_values(j) == j:
            return
        if self._try_job("values", "every non-normal operand -> 1.0", plain_values(j)):
            return
        for which in ("x", "w", "y"):
            j = self.job
            if getattr(j, which) is None:
                continue
            c = plain_values(j, which)
            if c != j:
                self._try_job("values", f"non-normal {which.upper()} elements -> 1.0", c)
        j = self.job
        if j.core != 0 and len(self.jobs) == 1:
            self._try_job("core", f"core {j.core} -> 0", j.replace(core=0))


# --------------------------------------------------------------------------- output


def write_directed(result: ShrinkResult, path=None, build_args: list[str] | None = None) -> ShrinkResult:
    """Write the shrunk job list as a directed test (YAML with a header) and fill in path/yaml/repro."""
    if path is None:
        path = DIRECTED_DIR / f"shrunk_{result.test}_s{result.seed}.yaml"
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i, j in enumerate(result.jobs):
        name = f"shrunk_{result.test}_s{result.seed}" + (f"_{i}" if len(result.jobs) > 1 else "")
        jobs.append(j.replace(name=name))
    result.jobs = jobs
    nj, vol = job_size(result.original_jobs)
    header = [
        f"# Directed test from `redmule-verif shrink {result.test} --seed {result.seed}"
        + (f" --knobs '{json.dumps(result.knobs, sort_keys=True)}'" if result.knobs else "") + "`",
        f"# failure signature: {result.signature}",
        f"# shrunk from {nj} job(s) (sum M*N*K {vol}) in {result.runs} runs"
        + (f"; failing job #{result.culprit_index}: {format_job(result.original_jobs[result.culprit_index])}"
           if result.culprit_index is not None and result.culprit_index < nj else ""),
        "# Replay: redmule-verif run directed --seed S --knobs '{\"file\": \"<this file>\"}'",
    ]
    body = jobs_to_yaml(jobs)
    text = "\n".join(header) + "\n" + body
    path.write_text(text)
    load_jobs(path)  # must round-trip
    result.path = path.resolve()
    result.yaml = text
    try:
        rel = result.path.relative_to(DIRECTED_DIR)
        ref = str(rel.with_suffix("")) if rel.suffix == ".yaml" else str(rel)
    except ValueError:
        ref = str(result.path)
    cmd = ["redmule-verif", "run", "directed", "--seed", str(result.seed), "--knobs", json.dumps({"file": ref})]
    cmd += list(build_args or [])
    result.repro = " ".join(shlex.quote(c) for c in cmd)
    return result


def shrink(sim, test: str, seed: int, knobs: dict | None = None, budget_runs: int = DEFAULT_BUDGET, out_dir=None,
           output=None, timeout: float | None = None, log=print, build_args=None, write: bool = True,
           signature_fn=None, run_fn=None) -> ShrinkResult:
    """Shrink ``test`` x ``seed`` on ``sim``; writes the directed test unless ``write`` is False."""
    s = Shrinker(sim, test, seed, knobs, budget_runs, out_dir, timeout, log, signature_fn, run_fn, build_args)
    res = s.shrink()
    if write and res.reproduced:
        write_directed(res, output, build_args)
    if res.reproduced and s.out.exists():
        (s.out / "shrink.json").write_text(json.dumps(res.to_dict(), indent=1, default=str))
    return res


# --------------------------------------------------------------------------- command line


def _parse_param(text: str) -> tuple[str, int | str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"-P expects NAME=VALUE, got {text!r}")
    try:
        return name, int(value, 0)
    except ValueError:
        return name, value


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The DUT options the project CLI adds to every command (for standalone use)."""
    parser.add_argument("--rtl", action="append", default=None, help="RTL .f list / files / directory (repeatable)")
    parser.add_argument("--top", default="redmule", help="DUT top module")
    parser.add_argument("-P", dest="params_list", action="append", default=[], type=_parse_param,
                        metavar="NAME=VALUE", help="DUT parameter (L, H, P, N_CORES, ID_WIDTH)")
    parser.add_argument("--mem-kib", type=int, default=128, help="TCDM size in KiB")
    parser.add_argument("--no-dut-params", action="store_true", help="instantiate the DUT without parameters")
    parser.add_argument("--build-dir", default=None, help="build cache directory")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("test", help="test (library sequence) name")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--knobs", default=None, help="JSON object of knobs, as given to the failing run")
    parser.add_argument("--budget-runs", type=int, default=DEFAULT_BUDGET,
                        help=f"most simulations, the first run included (default {DEFAULT_BUDGET})")
    parser.add_argument("--out", default=None, help="work directory (default out/shrink/TEST-SEED)")
    parser.add_argument("--output", default=None,
                        help="job file to write (default sequences/directed/shrunk_TEST_sSEED.yaml)")
    parser.add_argument("--timeout", type=float, default=None, help="wall-clock limit per run (s)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of text")


def sim_from_args(args, coverage: bool = False):
    """Build (or fetch) the simulator the common DUT options describe."""
    from redmule_verif.sim.build import build
    from redmule_verif.sim.runner import env_config

    params = dict(getattr(args, "params", None) or {})
    params.update(dict(getattr(args, "params_list", None) or []))
    params.update(dict(_parse_param(s) for s in (getattr(args, "param", None) or [])))
    mem_kib = getattr(args, "mem_kib", None) or 128
    cfg = env_config(getattr(args, "rtl", None) or None, top=getattr(args, "top", None) or "redmule",
                     parameters=params, mem_words=int(mem_kib) * 256, coverage=coverage,
                     dut_params=not getattr(args, "no_dut_params", False))
    return build(cfg, getattr(args, "build_dir", None))


def build_args_of(args) -> list[str]:
    """The DUT options of ``args`` as command-line words (for repro commands)."""
    out = []
    for r in getattr(args, "rtl", None) or []:
        out += ["--rtl", str(r)]
    if getattr(args, "top", "redmule") not in (None, "redmule"):
        out += ["--top", args.top]
    params = dict(getattr(args, "params", None) or {})
    params.update(dict(getattr(args, "params_list", None) or []))
    params.update(dict(_parse_param(s) for s in (getattr(args, "param", None) or [])))
    for k, v in sorted(params.items()):
        out += ["-P", f"{k}={v}"]
    if getattr(args, "mem_kib", None) not in (None, 128):
        out += ["--mem-kib", str(args.mem_kib)]
    if getattr(args, "no_dut_params", False):
        out.append("--no-dut-params")
    return out


def main(args) -> int:
    """0: shrunk (or could not shrink further, the failure is written); 1: the seed does not fail; 2: error."""
    try:
        knobs = json.loads(args.knobs) if args.knobs else {}
        if not isinstance(knobs, dict):
            raise ValueError("--knobs must be a JSON object")
    except (json.JSONDecodeError, ValueError) as e:
        print(f"error: --knobs: {e}", file=sys.stderr)
        return 2
    from redmule_verif.sequences.library import SEQUENCES

    if args.test not in SEQUENCES:
        print(f"error: test {args.test!r} is not a library sequence: only a sequence's job list can be "
              f"regenerated and shrunk (sequences: {', '.join(sorted(SEQUENCES))})", file=sys.stderr)
        return 2
    try:
        try:
            from redmule_verif import cli
        except ImportError:  # pragma: no cover - standalone, before the CLI existed
            cli = None
        if cli is not None and hasattr(cli, "build_sim"):
            sim = cli.build_sim(args, quiet=args.json)
            bargs = cli.dut_build_args(args)
        else:
            sim, bargs = sim_from_args(args), build_args_of(args)
    except Exception as e:  # BuildError, UsageError, bad parameters
        print(f"error: {e}", file=sys.stderr)
        return 2
    log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    try:
        res = shrink(sim, args.test, args.seed, knobs, args.budget_runs, args.out, args.output, args.timeout,
                     log=log, build_args=bargs)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res.to_dict(), indent=1, default=str))
    else:
        print(res.report())
    return 0 if res.reproduced else 1


def _standalone(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.tools.shrink.shrink", description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    try:
        from redmule_verif.cli import add_dut_options

        add_dut_options(ap)
    except ImportError:  # pragma: no cover
        add_common_arguments(ap)
    return main(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(_standalone())
