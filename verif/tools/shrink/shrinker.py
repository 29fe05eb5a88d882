"""Shrink a failing test x seed into a minimal failing job: ``redmule-verif shrink TEST --seed S``.

What it does, every step a simulation through the ``directed`` test with a job
file, a candidate kept only when the run still fails with the same failure
signature (:func:`~redmule_verif.tools.shrink.failure.failure_signature`):

1. run TEST x SEED (as a regression would) and take its signature;
2. regenerate the test's job list outside simulation, exactly as the run did
   (``SEQUENCES[test](SeqContext(seed, eng, mem, knobs))`` with the engine and
   memory of the build), and find the failing job: the scoreboard and checkers
   name it ("job #i"); otherwise the smallest failing prefix is bisected;
3. then the steps of :mod:`redmule_verif.tools.shrink.steps`: one job instead of
   many, simpler conditions, smaller M, N, K, fewer special values.

The number of simulations is bounded (``budget_runs``, default 40, the first
run included). The result is a directed test: a YAML job list (by default
``sequences/directed/shrunk_TEST_sSEED.yaml``, ready to commit) and the command
that replays it (:mod:`redmule_verif.tools.shrink.result`).
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Callable

from redmule_verif.model.encoding import MEM_BASE, MEM_WORDS
from redmule_verif.sequences.items.job import (EngineConfig, GemmJob, MemoryConfig, check_job_list, dump_jobs,
                                               format_job)
from redmule_verif.sequences.library import SEQUENCES, SeqContext
from redmule_verif.sim.paths import out_dir as default_out_dir
from redmule_verif.sim.runner import run_test
from redmule_verif.tools.shrink import steps
from redmule_verif.tools.shrink.failure import DESC_RE, error_text, failing_job_index, failure_signature
from redmule_verif.tools.shrink.result import Attempt, ShrinkResult, write_directed

DEFAULT_BUDGET = 40


class _Budget(Exception):
    pass


class Shrinker:
    """Delta-debugs one failing test x seed on a built simulator (see the module docstring)."""

    def __init__(self, sim, test: str, seed: int, knobs: dict | None = None, budget_runs: int = DEFAULT_BUDGET,
                 out_dir=None, timeout: float | None = None, log: Callable[[str], None] | None = print,
                 signature_fn: Callable[[dict], str] | None = None, run_fn: Callable = run_test):
        self.sim = sim
        self.test = test
        self.seed = int(seed)
        self.knobs = dict(knobs or {})
        self.budget = int(budget_runs)
        self.out = pathlib.Path(out_dir or default_out_dir("shrink", f"{test}-{seed}")).resolve()
        self.timeout = timeout
        self.log = log or (lambda s: None)
        self.signature_fn = signature_fn or failure_signature
        self.run_fn = run_fn
        params = dict(sim.config.params) if sim is not None else {}
        self.eng = EngineConfig.from_params(params)
        self.mem = MemoryConfig(base=int(params.get("MEM_BASE", MEM_BASE)), size=4 * int(params.get("MEM_WORDS", MEM_WORDS)))
        self.attempts: list[Attempt] = []
        self.runs = 0
        self.signature = ""
        self.env_knobs: dict = {}
        self.jobs: list[GemmJob] = []
        self.culprit: int = 0
        self.original_index: int | None = None
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
        if self.test not in SEQUENCES:
            raise ValueError(f"test {self.test!r} is not a library sequence (its jobs are made inside the "
                             f"simulation), so its job list cannot be regenerated and shrunk; sequences: "
                             f"{', '.join(sorted(SEQUENCES))}")
        ctx = SeqContext(seed=self.seed, eng=self.eng, mem=self.mem, knobs=dict(self.knobs))
        jobs = SEQUENCES[self.test](ctx)
        # knobs the sequence did not read steer the environment (e.g. corrupt_z): keep passing them
        self.env_knobs = {k: v for k, v in self.knobs.items() if k not in ctx.used}
        return list(jobs)

    def try_jobs(self, step: str, desc: str, jobs: list[GemmJob], culprit: int) -> bool:
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

    def with_culprit(self, job: GemmJob) -> list[GemmJob]:
        jobs = list(self.jobs)
        jobs[self.culprit] = job
        return jobs

    def try_job(self, step: str, desc: str, job: GemmJob) -> bool:
        return self.try_jobs(step, desc, self.with_culprit(job), self.culprit)

    @property
    def job(self) -> GemmJob:
        return self.jobs[self.culprit]

    # -- the algorithm ---------------------------------------------------------
    def _culprit_of(self, first: dict, original: list[GemmJob], res: ShrinkResult) -> int | None:
        """The job the first error names, when it is in the regenerated list (notes a mismatch)."""
        idx = failing_job_index(first)
        if idx is not None and idx >= len(original):
            idx = None
        if idx is not None:
            m = DESC_RE.search(error_text(first))
            if m and (int(m["m"]), int(m["n"]), int(m["k"])) != (original[idx].m, original[idx].n, original[idx].k):
                res.note += (f" job #{idx} of the message ({m['m']}x{m['n']}x{m['k']}) differs from the regenerated "
                             f"one ({format_job(original[idx])})")
        return idx

    def shrink(self) -> ShrinkResult:
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
        idx = res.culprit_index = self._culprit_of(first, original, res)
        try:
            steps.one_job(self, idx)
            res.culprit_index = self.original_index
            steps.simplify(self)
            steps.dims(self)
            steps.values(self)
        except _Budget:
            self.log(f"  run budget ({self.budget}) spent")
        except steps.NoRepro:
            res.note = (res.note + " the failure does not reproduce when its job list is replayed through the "
                        "directed test (it depends on more than the jobs): nothing shrunk").strip()
        res.culprit_index = self.original_index if self.original_index is not None else idx
        res.jobs = self.jobs
        res.runs = self.runs
        res.last_record = self.record
        if not any(a.kept for a in self.attempts) and not res.note:
            res.note = "no smaller candidate failed the same way"
        return res


def shrink(sim, test: str, seed: int, knobs: dict | None = None, budget_runs: int = DEFAULT_BUDGET, out_dir=None,
           output=None, timeout: float | None = None, log=print, build_args=None, write: bool = True,
           signature_fn=None, run_fn=run_test) -> ShrinkResult:
    """Shrink ``test`` x ``seed`` on ``sim``; writes the directed test unless ``write`` is False."""
    s = Shrinker(sim, test, seed, knobs, budget_runs, out_dir, timeout, log, signature_fn, run_fn)
    res = s.shrink()
    if write and res.reproduced:
        write_directed(res, output, build_args)
    if res.reproduced and s.out.exists():
        (s.out / "shrink.json").write_text(json.dumps(res.to_dict(), indent=1, default=str))
    return res
