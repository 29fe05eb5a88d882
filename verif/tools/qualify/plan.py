"""The runs that qualify each mutant: a regression suite's test x seed list (plus, on request, every test
the suite misses and the extra sequences), each with a cost estimate so the cheapest run first."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib

from redmule_verif.env.testlist import all_tests
from redmule_verif.sequences.items.job import dump_jobs
from redmule_verif.sequences.library import SEQUENCES, generate, sequence_cost
from redmule_verif.sequences.library import extra as library_extra
from redmule_verif.tools.regress.plan import plan, run_seed
from redmule_verif.tools.regress.suite import available_suites, load_suite

DEFAULT_SEEDS = 2
DEFAULT_BASE_SEED = 1
DEFAULT_TIMEOUT = 600.0
# Wall-clock model of one run, for ordering only: start-up + simulated cycles + per-job Python work.
RUN_STARTUP_S = 5.5
CYCLES_PER_S = 5000.0
JOB_S = 0.02
UNKNOWN_RUN_S = 30.0


@dataclasses.dataclass
class Run:
    """One test x seed (x knobs) of the suite."""

    test: str
    seed: int
    knobs: dict
    timeout: float
    env: dict
    est_s: float = UNKNOWN_RUN_S
    est_cycles: int | None = None
    origin: str | None = None  # the extra sequence a directed run replays

    @property
    def key(self) -> str:
        k = json.dumps(self.knobs, sort_keys=True) if self.knobs else ""
        return f"{self.test}/{self.seed}" + (f"/{k}" if k else "")

    @property
    def dirname(self) -> str:
        tag = hashlib.sha1(self.key.encode()).hexdigest()[:6] if self.knobs else ""
        return f"{self.test}/{self.seed}" + (f"-{tag}" if tag else "")

    def to_dict(self) -> dict:
        d = {"test": self.test, "seed": self.seed, "knobs": self.knobs, "timeout": self.timeout, "env": self.env,
             "est_s": round(self.est_s, 1), "est_cycles": self.est_cycles}
        if self.origin:
            d["origin"] = self.origin
        return d


def estimate(run: Run, eng, mem) -> Run:
    """Fill in the run's cost estimate from its job list (generated outside simulation)."""
    try:
        if run.test not in SEQUENCES:
            return run
        jobs = generate(run.test, run.seed, eng, mem, **run.knobs)
        run.est_cycles = int(sequence_cost(jobs, eng))
        run.est_s = RUN_STARTUP_S + run.est_cycles / CYCLES_PER_S + JOB_S * len(jobs)
    except Exception:  # an estimate only: a sequence that cannot be generated here runs anyway
        pass
    return run


def extra_sequences() -> list[str]:
    """Sequences of ``redmule_verif.sequences.library.extra`` (the gaps that qualification closed)."""
    return sorted(n for n, fn in SEQUENCES.items() if getattr(fn, "__module__", "") == library_extra.__name__)


def as_directed(test: str, seed: int, knobs: dict, eng, mem, jobs_dir: pathlib.Path) -> tuple[str, dict]:
    """A sequence that is not (yet) a test of the test module runs as the ``directed`` test of its job list
    (generated here for that seed, written to ``jobs_dir``): the same jobs the test would run."""
    jobs = generate(test, seed, eng, mem, **knobs)
    jobs_dir.mkdir(parents=True, exist_ok=True)
    tag = "" if not knobs else "_" + hashlib.sha1(json.dumps(knobs, sort_keys=True).encode()).hexdigest()[:6]
    path = dump_jobs(jobs, jobs_dir / f"{test}_s{seed}{tag}.yaml")
    return "directed", {"file": str(pathlib.Path(path).resolve())}


def plan_runs(suite: str | None, eng, mem, seeds: int | None = None, base_seed: int | None = None,
              timeout: float | None = None, all_tests_too: bool = False, extra: bool = False,
              jobs_dir: pathlib.Path | None = None) -> tuple[str, list[Run]]:
    """The suite's runs as (label, runs): a suite name or file, else every test with ``seeds`` seeds.

    ``all_tests_too``: add every test of the environment that the suite does not run (``seeds`` seeds,
    default 2, default knobs), so that a test newer than the suite qualifies too.
    """
    if suite is None and "nightly" in available_suites():
        suite = "nightly"
    if suite is not None:
        s = load_suite(suite, eng=eng, mem=mem)
        base = base_seed if base_seed is not None else (s.seed if s.seed is not None else DEFAULT_BASE_SEED)
        specs = plan(s, pathlib.Path("."), base, seeds=seeds, timeout=timeout)
        runs = [Run(r.test, r.seed, dict(r.knobs), float(r.timeout), dict(r.env)) for r in specs]
        label = f"{s.name}" + (f" ({seeds} seed(s) per entry)" if seeds else "") + f", base seed {base}"
        if all_tests_too:
            missing = [t for t in all_tests() if t not in {r.test for r in runs}]
            for t in missing:
                knobs = {"file": "smoke"} if t == "directed" else {}
                for i in range(seeds or DEFAULT_SEEDS):
                    runs.append(Run(t, run_seed(base, t, i), knobs,
                                    float(timeout or s.timeout or DEFAULT_TIMEOUT), {}))
            if missing:
                label += f", plus {', '.join(missing)} (not in the suite)"
    else:
        base = base_seed if base_seed is not None else DEFAULT_BASE_SEED
        n = seeds or DEFAULT_SEEDS
        runs = []
        for t in all_tests():
            knobs = {"file": "smoke"} if t == "directed" else {}
            for i in range(n):
                runs.append(Run(t, run_seed(base, t, i), knobs, float(timeout or DEFAULT_TIMEOUT), {}))
        label = f"every test x {n} seed(s), base seed {base}"
    if extra:
        tests = set(all_tests())
        names = extra_sequences()
        for t in names:
            for i in range(seeds or DEFAULT_SEEDS):
                seed = run_seed(base, t, i)
                if t in tests:
                    runs.append(Run(t, seed, {}, float(timeout or DEFAULT_TIMEOUT), {}))
                else:
                    dtest, knobs = as_directed(t, seed, {}, eng, mem, jobs_dir or pathlib.Path("out/qualify/jobs"))
                    r = Run(dtest, seed, knobs, float(timeout or DEFAULT_TIMEOUT), {})
                    r.origin = t
                    runs.append(r)
        if names:
            label += f", plus the extra sequences {', '.join(names)}"
    seen, unique = set(), []
    for r in runs:
        if r.key not in seen:
            seen.add(r.key)
            unique.append(estimate(r, eng, mem))
    return label, unique


def order_runs(runs: list[Run], kills: dict[str, int]) -> list[Run]:
    """Cheapest first; a run that already killed mutants counts as (1 + 3 * kills) times cheaper."""
    return sorted(runs, key=lambda r: (r.est_s / (1 + 3 * kills.get(r.key, 0)), r.test, r.seed))
