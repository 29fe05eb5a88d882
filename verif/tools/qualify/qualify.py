"""Qualify the environment: inject known bugs into the RTL and check that the tests catch them.

    redmule-verif qualify [--mutants ID ...] [--classes C ...] [--suite NAME|FILE] [--seeds N]
                          [--budget MINUTES] [--out DIR] [-j J] [--shrink-runs N] [DUT options]

For every mutant of the catalogue (``tests/mutants/catalogue.yaml``, see
:mod:`redmule_verif.tools.qualify.mutants`) it:

1. applies the mutant to a copy of the RTL (``OUT/mutants/ID/rtl``; the
   shipped RTL is only read) and builds it through the build cache (its own
   cache entry; a rebuild of the same mutant is a hit);
2. runs the suite's test x seed list against it, cheapest runs first (the
   stall-free cycle estimate of each run's job list, the runs that already
   killed other mutants moved to the front), and stops at the first failure;
3. confirms a kill on the clean RTL: the same run must pass there (baseline
   runs are made once, lazily, and cached); a run that fails on the clean RTL
   is set aside and reported, it never counts as a kill;
4. records killed / survived (or build-error, not-applicable, equivalent,
   incomplete when the budget ran out), the wall time (build and runs) and
   simulated cycles to the kill, the failing test, seed, knobs, signature,
   first error, repro command and, with ``--shrink-runs N`` > 0, the minimal
   failing job from :mod:`redmule_verif.tools.shrink.shrink`.

Outputs: ``OUT/qualify.json`` (rewritten after every mutant, so a stopped run
leaves valid partial results) and ``OUT/qualify.html`` (a self-contained page;
:func:`render_section` gives the same content as an HTML fragment that a
regression report can embed). The suite is a regression suite
(``sequences/suites/NAME.yaml``; default ``nightly`` when it exists, else
every test with 2 seeds); ``--seeds N`` takes N seeds of every suite entry.
Mutants marked equivalent in the catalogue are listed with their reason and
not simulated unless ``--include-equivalent``. ``--budget`` stops cleanly:
the mutant in progress is marked incomplete, the rest not run.

Exit status: 0 every simulated non-equivalent mutant was killed, 1 some
survived (or were left incomplete), 2 usage, catalogue or baseline build error.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import datetime as dt
import html
import json
import os
import pathlib
import shlex
import statistics
import sys
import threading
import time
import traceback

from redmule_verif.tools.qualify import mutants as mu

SCHEMA = "redmule-verif/qualify-results/1"
DEFAULT_OUT = "out/qualify"
DEFAULT_SEEDS = 2
DEFAULT_BASE_SEED = 1
DEFAULT_TIMEOUT = 600.0
DEFAULT_SHRINK_RUNS = 8
# Mutant (and baseline) simulators are compiled at -O0: about a quarter of the C++ compile time of -O2,
# and a run's wall time is dominated by the Python environment, not by the model (large_jobs: same time).
DEFAULT_CXX_OPT = "O0"
# Wall-clock model of one run, for ordering only: start-up + simulated cycles + per-job Python work.
RUN_STARTUP_S = 5.5
CYCLES_PER_S = 5000.0
JOB_S = 0.02
UNKNOWN_RUN_S = 30.0
TTK_BUCKETS = (15, 30, 60, 120, 300, 600, 1800)


# --------------------------------------------------------------------------- runs


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
        import hashlib

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
        from redmule_verif.sequences.library import SEQUENCES, generate, sequence_cost

        if run.test not in SEQUENCES:
            return run
        jobs = generate(run.test, run.seed, eng, mem, **run.knobs)
        run.est_cycles = int(sequence_cost(jobs, eng))
        run.est_s = RUN_STARTUP_S + run.est_cycles / CYCLES_PER_S + JOB_S * len(jobs)
    except Exception:  # an estimate only: a sequence that cannot be generated here runs anyway
        pass
    return run


def all_tests() -> list[str]:
    """Every test of the environment: the library sequences and the tests that are not sequences."""
    try:
        from redmule_verif.env.testlist import all_tests as _all

        return list(_all())
    except ImportError:
        pass
    from redmule_verif.tools.regress.regress import known_tests

    names = list(known_tests())
    try:
        from redmule_verif.env.testcases import EXTRA_TESTS
    except Exception:
        EXTRA_TESTS = ()
    return names + [t for t in EXTRA_TESTS if t not in names]


def extra_sequences() -> list[str]:
    """Sequences of ``redmule_verif.sequences.library_extra`` (the gaps that qualification closed)."""
    try:
        import redmule_verif.sequences.library.extra as extra
    except ImportError:
        return []
    from redmule_verif.sequences.library import SEQUENCES

    return sorted(n for n, fn in SEQUENCES.items() if getattr(fn, "__module__", "") == extra.__name__)


def as_directed(test: str, seed: int, knobs: dict, eng, mem, jobs_dir: pathlib.Path) -> tuple[str, dict]:
    """A sequence that is not (yet) a test of the test module runs as the ``directed`` test of its job list
    (generated here for that seed, written to ``jobs_dir``): the same jobs the test would run."""
    from redmule_verif.sequences.items.job import dump_jobs
    from redmule_verif.sequences.library import generate

    jobs = generate(test, seed, eng, mem, **knobs)
    jobs_dir.mkdir(parents=True, exist_ok=True)
    tag = "" if not knobs else "_" + __import__("hashlib").sha1(json.dumps(knobs, sort_keys=True).encode()).hexdigest()[:6]
    path = dump_jobs(jobs, jobs_dir / f"{test}_s{seed}{tag}.yaml")
    return "directed", {"file": str(pathlib.Path(path).resolve())}


def plan_runs(suite: str | None, eng, mem, seeds: int | None = None, base_seed: int | None = None,
              timeout: float | None = None, all_tests_too: bool = False, extra: bool = False,
              jobs_dir: pathlib.Path | None = None) -> tuple[str, list[Run]]:
    """The suite's runs as (label, runs): a suite name or file, else every test with ``seeds`` seeds.

    ``all_tests_too``: add every test of the environment that the suite does not run (``seeds`` seeds,
    default 2, default knobs), so that a test newer than the suite qualifies too.
    """
    from redmule_verif.tools.regress import regress

    if suite is None and "nightly" in regress.available_suites():
        suite = "nightly"
    if suite is not None:
        s = regress.load_suite(suite, eng=eng, mem=mem)
        base = base_seed if base_seed is not None else (s.seed if s.seed is not None else DEFAULT_BASE_SEED)
        specs = regress.plan(s, pathlib.Path("."), base, seeds=seeds, timeout=timeout)
        runs = [Run(r.test, r.seed, dict(r.knobs), float(r.timeout), dict(r.env)) for r in specs]
        label = f"{s.name}" + (f" ({seeds} seed(s) per entry)" if seeds else "") + f", base seed {base}"
        if all_tests_too:
            missing = [t for t in all_tests() if t not in {r.test for r in runs}]
            for t in missing:
                knobs = {"file": "smoke"} if t == "directed" else {}
                for i in range(seeds or DEFAULT_SEEDS):
                    runs.append(Run(t, regress.run_seed(base, t, i), knobs,
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
                runs.append(Run(t, regress.run_seed(base, t, i), knobs, float(timeout or DEFAULT_TIMEOUT), {}))
        label = f"every test x {n} seed(s), base seed {base}"
    if extra:
        tests = set(all_tests())
        names = extra_sequences()
        for t in names:
            for i in range(seeds or DEFAULT_SEEDS):
                seed = regress.run_seed(base, t, i)
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


# --------------------------------------------------------------------------- helpers


def _atomic_write(path: pathlib.Path, text: str) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _first_error(rec: dict) -> str:
    errs = [e for e in (rec.get("first_errors") or []) if e and e.strip()]
    return (errs[0] if errs else rec.get("message") or "")[:2000]


def _repro(run: Run, rtl: pathlib.Path, build_args: list[str]) -> str:
    cmd = ["redmule-verif", "repro", run.test, "--seed", str(run.seed)]
    if run.knobs:
        cmd += ["--knobs", json.dumps(run.knobs, sort_keys=True)]
    for k, v in sorted(run.env.items()):
        cmd += ["--env", f"{k}={v}"]
    cmd += ["--rtl", str(rtl)] + list(build_args)
    return " ".join(shlex.quote(c) for c in cmd)


def _rtl_version(rtl_dir: pathlib.Path) -> str | None:
    """git commit of the RTL directory, '+dirty' when it has uncommitted changes (None outside git)."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(rtl_dir), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(rtl_dir), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    i = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
    return v[i]


# --------------------------------------------------------------------------- qualification


class Qualifier:
    """Runs the mutants of a catalogue against a suite; see the module docstring."""

    def __init__(self, mutants: list, runs: list[Run], out: pathlib.Path, *, rtl_dir: pathlib.Path,
                 filelist: str | None, top: str = "redmule", params: dict | None = None, mem_words: int = 32768,
                 dut_params: bool = True, cache_root=None, budget_s: float | None = None, jobs: int = 1,
                 shrink_runs: int = 0, include_equivalent: bool = False, assert_cycles: bool | None = None,
                 build_args: list[str] | None = None, suite_label: str = "", catalogue_path=None,
                 log=print, run_fn=None, build_fn=None, cxx_opt: str | None = DEFAULT_CXX_OPT,
                 previous: dict | None = None):
        self.mutants = list(mutants)
        self.runs = list(runs)
        self.out = pathlib.Path(out).resolve()
        self.rtl_dir = pathlib.Path(rtl_dir).resolve()
        self.filelist = filelist
        self.top = top
        self.params = dict(params or {})
        self.mem_words = int(mem_words)
        self.dut_params = dut_params
        self.cache_root = cache_root
        self.budget_s = budget_s
        self.jobs = max(1, int(jobs))
        self.shrink_runs = int(shrink_runs)
        self.include_equivalent = include_equivalent
        self.build_args = list(build_args or [])
        self.suite_label = suite_label
        self.catalogue_path = str(catalogue_path) if catalogue_path else None
        self.log = log
        if assert_cycles is None:  # the project's RTL has specified cycle counts; a foreign RTL does not
            assert_cycles = self.rtl_dir == mu.RTL_DIR.resolve()
        self.assert_cycles = assert_cycles
        if run_fn is None:
            from redmule_verif.sim.runner import run_test as run_fn
        self.run_fn = run_fn
        self.build_fn = build_fn
        self.cxx_opt = cxx_opt
        self.t0 = time.monotonic()
        self.started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.deadline = self.t0 + budget_s if budget_s else None
        self.lock = threading.RLock()
        self.kills: dict[str, int] = {}
        self.baseline: dict[str, dict] = {}
        self.baseline_locks: dict[str, threading.Lock] = {}
        self.broken: dict[str, dict] = {}  # runs that fail on the clean RTL
        self.results: dict[str, dict] = {m.id: self._initial(m) for m in self.mutants}
        self.resumed: set = set()
        self.carried: list = []
        self.history: list = []  # earlier runs whose results this one resumed
        if previous:
            self._resume(previous)
        self.stop = threading.Event()
        self._clean_sim = None
        self._snapshot = None
        self.rtl_version = _rtl_version(self.rtl_dir)

    def source_dir(self) -> pathlib.Path:
        """A snapshot of the RTL taken once (OUT/clean_rtl): the baseline and every mutant start from the same
        text even when somebody edits the RTL while a long qualification runs."""
        import shutil

        with self.lock:
            if self._snapshot is None:
                snap = self.out / "clean_rtl"
                if snap.exists():
                    shutil.rmtree(snap)
                shutil.copytree(self.rtl_dir, snap, ignore=shutil.ignore_patterns(".*", "*.orig", "*.rej"))
                self._snapshot = snap
            return self._snapshot

    # -- plumbing ------------------------------------------------------------------
    def _resume(self, previous: dict) -> None:
        """Keep the decided results of an earlier run into the same OUT (same mutant text): killed,
        build-error and not-applicable mutants are not run again; survivors, incomplete and not-run are."""
        old = {r["id"]: r for r in previous.get("mutants", [])}
        self.history = list(previous.get("history") or []) + [
            {k: previous.get(k) for k in ("started", "finished", "elapsed_s", "suite", "rtl_version")}]
        chosen = {m.id for m in self.mutants}
        # mutants of the earlier run that this one does not select stay in the results as they were
        self.carried = [dict(r, resumed=True) for i, r in old.items() if i not in chosen]
        for m in self.mutants:
            r = old.get(m.id)
            keep = ("killed", "build-error", "not-applicable")
            if m.is_equivalent and not self.include_equivalent:
                keep += ("survived",)  # the evidence for its equivalence argument
            if (r and r.get("status") in keep
                    and r.get("find") == m.find and r.get("replace") == m.replace and r.get("file") == m.file):
                self.results[m.id] = dict(r, resumed=True, equivalent=m.equivalent)
                self.resumed.add(m.id)
        for k, v in (previous.get("kills_by_run") or {}).items():
            self.kills[k] = self.kills.get(k, 0) + int(v)
        self.baseline.update(previous.get("baseline") or {})
        for b in previous.get("broken_on_clean_rtl") or []:
            key = Run(b["test"], b["seed"], b.get("knobs") or {}, 0, {}).key
            self.broken[key] = b

    def _initial(self, m) -> dict:
        return {"id": m.id, "class": m.cls, "description": m.description, "file": m.file, "find": m.find,
                "replace": m.replace, "equivalent": m.equivalent, "status": "not-run", "runs": 0,
                "build_s": None, "build_cached": None, "run_wall_s": 0.0, "sim_cycles": 0}

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def out_of_budget(self) -> bool:
        return self.stop.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline)

    def _config(self, rtl):
        from redmule_verif.sim.runner import env_config

        cfg = env_config(rtl=[rtl], top=self.top, parameters=self.params, mem_words=self.mem_words,
                         dut_params=self.dut_params)
        if self.cxx_opt:  # appended after the build layer's -O2: the last -O wins
            cfg = cfg.with_(extra_args=tuple(cfg.extra_args) + ("-CFLAGS", f"-{self.cxx_opt}"))
        return cfg

    def _build(self, rtl):
        if self.build_fn is not None:
            return self.build_fn(rtl)
        from redmule_verif.sim.build import build

        return build(self._config(rtl), cache_root=self.cache_root)

    def clean_sim(self):
        with self.lock:
            if self._clean_sim is None:
                src = self.source_dir()
                rtl = src / self.filelist if self.filelist else src
                self._clean_sim = self._build(rtl)
            return self._clean_sim

    def _run(self, sim, run: Run, d: pathlib.Path, timeout: float) -> dict:
        return self.run_fn(sim, run.test, run.seed, d, knobs=run.knobs or None, timeout=timeout,
                           extra_env=run.env or None, assert_cycles=self.assert_cycles)

    def baseline_of(self, run: Run) -> dict:
        """The run on the clean RTL (made once)."""
        with self.lock:
            lk = self.baseline_locks.setdefault(run.key, threading.Lock())
        with lk:
            if run.key not in self.baseline:
                sim = self.clean_sim()
                rec = self._run(sim, run, self.out / "baseline" / run.dirname, run.timeout)
                self.baseline[run.key] = self._brief(rec)
                self.log(f"  baseline {run.test} seed {run.seed}: {rec['status']}")
                if rec["status"] != "pass":
                    from redmule_verif.flow.signature import signature

                    self.broken[run.key] = {**run.to_dict(), "status": rec["status"], "signature": signature(rec),
                                            "first_error": _first_error(rec), "dir": rec.get("dir")}
            return self.baseline[run.key]

    @staticmethod
    def _brief(rec: dict) -> dict:
        return {k: rec.get(k) for k in ("test", "seed", "status", "wall_s", "sim_cycles", "jobs_checked", "dir")}

    # -- one mutant ----------------------------------------------------------------
    def qualify(self, m) -> dict:
        r = self.results[m.id]
        if m.id in self.resumed:
            return r
        if m.is_equivalent and not self.include_equivalent:
            r["status"] = "equivalent"
            return r
        if self.out_of_budget():
            return r
        t_start = time.monotonic()
        mdir = self.out / "mutants" / m.id
        try:
            flist = mu.apply_mutant(m, self.source_dir(), mdir / "rtl", self.filelist) if self.filelist else None
            rtl = flist if flist else self._apply_dir(m, mdir / "rtl")
        except mu.MutantError as exc:
            r.update(status="not-applicable", message=str(exc))
            return r
        r["rtl"] = str(rtl)
        from redmule_verif.sim.build import BuildError

        tb = time.monotonic()
        try:
            sim = self._build(rtl)
        except BuildError as exc:
            r.update(status="build-error", message=str(exc)[-3000:], build_s=round(time.monotonic() - tb, 1))
            return r
        r["build_s"] = round(time.monotonic() - tb, 1)
        r["build_cached"] = bool(getattr(sim, "cached", False))
        r["build_key"] = getattr(sim, "key", None)
        r["status"] = "running"
        with self.lock:
            order = order_runs(self.runs, self.kills)
        for run in order:
            if self.out_of_budget():
                r["status"] = "incomplete"
                break
            if run.key in self.broken:
                continue
            timeout = run.timeout
            left = self.remaining()
            cut = left is not None and left < timeout
            if cut:
                timeout = max(5.0, left)
            rec = self._run(sim, run, mdir / "runs" / run.dirname, timeout)
            r["runs"] += 1
            r["run_wall_s"] = round(r["run_wall_s"] + float(rec.get("wall_s") or 0), 2)
            r["sim_cycles"] += int(rec.get("sim_cycles") or 0)
            if rec["status"] == "pass":
                continue
            if rec["status"] == "timeout" and cut:
                r["status"] = "incomplete"
                break
            base = self.baseline_of(run)
            if base["status"] != "pass":
                self.log(f"  {m.id}: {run.test} seed {run.seed} fails on the clean RTL too: set aside")
                continue
            self._killed(m, r, run, rec, rtl, mdir)
            break
        else:
            r["status"] = "survived"
        r["wall_s"] = round(time.monotonic() - t_start, 1)
        return r

    def _apply_dir(self, m, dest: pathlib.Path) -> pathlib.Path:
        """A directory RTL (no file list): copy the directory, mutate the copy, give the directory."""
        import shutil

        text = mu.check_mutant(m, self.source_dir())
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.source_dir(), dest)
        (dest / m.file).write_text(text)
        return dest

    def _killed(self, m, r: dict, run: Run, rec: dict, rtl, mdir: pathlib.Path) -> None:
        from redmule_verif.flow.signature import signature

        with self.lock:
            self.kills[run.key] = self.kills.get(run.key, 0) + 1
        r.update(status="killed", test=run.test, seed=run.seed, knobs=run.knobs, env=run.env, origin=run.origin,
                 run_status=rec["status"], signature=signature(rec), first_error=_first_error(rec),
                 run_dir=rec.get("dir"), log=rec.get("log"), repro=_repro(run, pathlib.Path(rtl), self.build_args),
                 kill_run_wall_s=rec.get("wall_s"), kill_sim_cycles=rec.get("sim_cycles"))
        r["wall_to_kill_s"] = round((r["build_s"] if not r["build_cached"] else 0.0) + r["run_wall_s"], 1)
        if self.shrink_runs > 0 and not self.out_of_budget():
            r["shrunk"] = self._shrink(m, run, rtl, mdir)

    def _shrink(self, m, run: Run, rtl, mdir: pathlib.Path) -> dict | None:
        try:
            from redmule_verif.tools.shrink import shrink as sh
        except ImportError:
            return None
        try:
            sim = self._build(rtl)
            lines = []
            res = sh.shrink(sim, run.test, run.seed, knobs=run.knobs or None, budget_runs=self.shrink_runs,
                            out_dir=mdir / "shrink", output=mdir / f"shrunk_{m.id}.yaml",
                            timeout=run.timeout, log=lines.append, build_args=["--rtl", str(rtl)] + self.build_args)
            d = res.to_dict()
            (mdir / "shrink.log").write_text("\n".join(str(x) for x in lines) + "\n")
            return {"reproduced": d.get("reproduced"), "runs": d.get("runs"), "after": d.get("after"),
                    "before_jobs": len(d.get("before") or []), "signature": d.get("signature"),
                    "path": d.get("path"), "repro": d.get("repro"), "note": d.get("note")}
        except Exception as exc:  # a shrink failure must not lose the kill
            return {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-1500:]}

    # -- all mutants ---------------------------------------------------------------
    def run(self) -> dict:
        self.write()
        todo = list(self.mutants)
        try:
            if self.jobs == 1:
                for m in todo:
                    self._one(m)
            else:
                with cf.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="qualify") as pool:
                    futs = [pool.submit(self._one, m) for m in todo]
                    for f in cf.as_completed(futs):
                        f.result()
        except KeyboardInterrupt:
            self.stop.set()
            for r in self.results.values():
                if r["status"] == "running":
                    r["status"] = "incomplete"
            self.log("qualify: interrupted; partial results written")
        return self.write(final=True)

    def _one(self, m) -> None:
        try:
            r = self.qualify(m)
        except Exception as exc:
            r = self.results[m.id]
            r.update(status="error", message=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-3000:])
        if r["status"] == "running":
            r["status"] = "incomplete"
        self.log(progress_line(r))
        self.write()

    def results_dict(self, final: bool = False) -> dict:
        with self.lock:
            muts = [dict(self.results[m.id]) for m in self.mutants] + [dict(r) for r in self.carried]
            return {
                "schema": SCHEMA,
                "started": self.started,
                "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if final else None,
                "elapsed_s": round(time.monotonic() - self.t0, 1),
                "budget_s": self.budget_s,
                "budget_exhausted": bool(self.deadline and time.monotonic() >= self.deadline),
                "suite": self.suite_label,
                "catalogue": self.catalogue_path,
                "rtl_dir": str(self.rtl_dir),
                "rtl_version": self.rtl_version,
                "top": self.top,
                "parameters": self.params,
                "mem_words": self.mem_words,
                "assert_cycles": self.assert_cycles,
                "shrink_runs": self.shrink_runs,
                "cxx_opt": self.cxx_opt,
                "history": self.history,
                "runs_planned": [r.to_dict() for r in self.runs],
                "summary": summarise(muts),
                "mutants": muts,
                "baseline": dict(self.baseline),
                "broken_on_clean_rtl": list(self.broken.values()),
                "kills_by_run": dict(sorted(self.kills.items(), key=lambda kv: -kv[1])),
            }

    def write(self, final: bool = False) -> dict:
        res = self.results_dict(final)
        _atomic_write(self.out / "qualify.json", json.dumps(res, indent=1, default=str))
        _atomic_write(self.out / "qualify.html", render(res))
        return res


def progress_line(r: dict) -> str:
    s = r["status"]
    if s == "killed":
        return (f"{r['id']:<30} KILLED   by {r['test']} seed {r['seed']} after {r['runs']} run(s), "
                f"{r.get('wall_to_kill_s')} s, {r['sim_cycles']} cycles: {r.get('signature', '')[:100]}")
    if s == "survived":
        return f"{r['id']:<30} SURVIVED {r['runs']} run(s), {r['run_wall_s']} s"
    return f"{r['id']:<30} {s.upper()} {str(r.get('message') or '')[:200]}"


def summarise(muts: list[dict]) -> dict:
    by = {}
    for r in muts:
        by[r["status"]] = by.get(r["status"], 0) + 1
    # a mutant marked equivalent in the catalogue is outside the kill rate, simulated or not; one that was
    # killed anyway refutes its equivalence argument (reported)
    killed = [r for r in muts if r["status"] == "killed" and not r.get("equivalent")]
    survived = [r for r in muts if r["status"] == "survived" and not r.get("equivalent")]
    refuted = [r["id"] for r in muts if r["status"] == "killed" and r.get("equivalent")]
    eq_survived = [r["id"] for r in muts if r["status"] == "survived" and r.get("equivalent")]
    decided = len(killed) + len(survived)
    ttk = [float(r["wall_to_kill_s"]) for r in killed if r.get("wall_to_kill_s") is not None]
    ttk_runs = [float(r["run_wall_s"]) for r in killed]
    cyc = [int(r["sim_cycles"]) for r in killed]
    classes = {}
    for c in mu.CLASSES:
        k = sum(1 for r in killed if r["class"] == c)
        s = sum(1 for r in survived if r["class"] == c)
        classes[c] = {"killed": k, "survived": s, "kill_rate": (k / (k + s)) if k + s else None,
                      "equivalent": sum(1 for r in muts if r["class"] == c and r.get("equivalent"))}
    hist = []
    lo = 0
    for hi in TTK_BUCKETS + (None,):
        n = sum(1 for t in ttk_runs if t >= lo and (hi is None or t < hi))
        hist.append({"from_s": lo, "to_s": hi, "count": n})
        lo = hi
    killers = {}
    for r in killed:
        t = r.get("origin") or r["test"]
        killers[t] = killers.get(t, 0) + 1

    def dist(v):
        return {"min": min(v) if v else None, "median": statistics.median(v) if v else None,
                "p90": percentile(v, 0.9), "max": max(v) if v else None,
                "mean": round(statistics.fmean(v), 1) if v else None}

    return {
        "mutants": len(muts),
        "by_status": by,
        "killed": len(killed),
        "survived": len(survived),
        "kill_rate": (len(killed) / decided) if decided else None,
        "kill_rate_note": "killed / (killed + survived) over the mutants not marked equivalent in the catalogue: "
                          "equivalent, not-applicable, build-error, incomplete and not-run mutants are not in the "
                          "denominator",
        "survivors": [r["id"] for r in survived],
        "equivalent_survivors": eq_survived,
        "equivalence_refuted": refuted,
        "equivalent": sum(1 for r in muts if r.get("equivalent")),
        "by_class": classes,
        "time_to_kill_runs_s": dist(ttk_runs),
        "time_to_kill_with_build_s": dist(ttk),
        "runs_to_kill": dist([r["runs"] for r in killed]),
        "sim_cycles_to_kill": dist(cyc),
        "time_to_kill_histogram": hist,
        "killing_tests": dict(sorted(killers.items(), key=lambda kv: -kv[1])),
    }


# --------------------------------------------------------------------------- HTML

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0} td,th{border:1px solid #ddd;padding:3px 7px;
vertical-align:top;text-align:left} th{background:#f4f4f4}
.killed{color:#176f2c;font-weight:600} .survived,.error,.build-error{color:#b3261e;font-weight:600}
.equivalent,.not-applicable,.incomplete,.not-run,.running{color:#8a6d00;font-weight:600}
pre{background:#f7f7f7;padding:6px;white-space:pre-wrap;word-break:break-all;margin:2px 0;font-size:12px}
code{font-size:12px} .kpi{display:inline-block;margin:6px 18px 6px 0} .kpi b{font-size:20px;display:block}
.muted{color:#777}
"""


def _e(x) -> str:
    return html.escape(str(x if x is not None else ""), quote=True)


def _fmt_s(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    return f"{x:.0f} s" if x < 120 else f"{x / 60:.1f} min"


def _hist_svg(hist: list[dict], width: int = 520, height: int = 150) -> str:
    n = len(hist)
    top = max([h["count"] for h in hist] + [1])
    bw = (width - 40) / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" role="img" '
             f'aria-label="time to kill histogram">']
    for i, h in enumerate(hist):
        bh = (height - 20) * h["count"] / top
        x = 30 + i * bw
        y = height - bh
        label = f"<{h['to_s']}s" if h["to_s"] is not None else f">={h['from_s']}s"
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bw - 4:.1f}" height="{bh:.1f}" fill="#2e7d32"/>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle">{h["count"]}</text>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{height + 14}" font-size="11" text-anchor="middle">{label}</text>')
    parts.append(f'<line x1="28" y1="{height}" x2="{width - 8}" y2="{height}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def render_section(res: dict) -> str:
    """The qualification results as an HTML fragment (a <section>), for a page or a regression report."""
    s = res.get("summary") or {}
    rate = s.get("kill_rate")
    out = ['<section class="qualify">', "<h2>Mutation qualification</h2>"]
    out.append(f'<p class="muted">suite: {_e(res.get("suite"))}; RTL: {_e(res.get("rtl_dir"))}; parameters: '
               f'{_e(res.get("parameters") or "defaults")}; started {_e(res.get("started"))}, '
               f'{_fmt_s(res.get("elapsed_s"))} elapsed'
               + (" (budget exhausted: partial results)" if res.get("budget_exhausted") else "") + "</p>")
    for h in res.get("history") or []:
        out.append(f'<p class="muted">results marked "resumed" come from an earlier run: started {_e(h.get("started"))}, '
                   f'suite {_e(h.get("suite"))}, RTL {_e(h.get("rtl_version"))}</p>')
    ttk = s.get("time_to_kill_runs_s") or {}
    kp = [("kill rate", "-" if rate is None else f"{100 * rate:.1f} %"),
          ("killed", s.get("killed")), ("survived", s.get("survived")),
          ("equivalent", s.get("equivalent", 0)),
          ("mutants", s.get("mutants")), ("median time to kill", _fmt_s(ttk.get("median"))),
          ("p90 time to kill", _fmt_s(ttk.get("p90")))]
    out.append("<div>" + "".join(f'<span class="kpi"><b>{_e(v)}</b>{_e(k)}</span>' for k, v in kp) + "</div>")
    out.append(f'<p class="muted">{_e(s.get("kill_rate_note"))}. Time to kill = wall time of the runs up to and '
               "including the killing run (build time excluded; with the build: "
               f'median {_fmt_s((s.get("time_to_kill_with_build_s") or {}).get("median"))}).</p>')
    out.append("<h3>By class</h3><table><tr><th>class</th><th>killed</th><th>survived</th><th>equivalent</th>"
               "<th>kill rate</th></tr>")
    for c, v in (s.get("by_class") or {}).items():
        kr = "-" if v.get("kill_rate") is None else f"{100 * v['kill_rate']:.0f} %"
        out.append(f"<tr><td>{_e(c)}</td><td>{v['killed']}</td><td>{v['survived']}</td><td>{v['equivalent']}</td>"
                   f"<td>{kr}</td></tr>")
    out.append("</table>")
    out.append("<h3>Time to kill</h3>" + _hist_svg(s.get("time_to_kill_histogram") or []))
    kt = s.get("killing_tests") or {}
    if kt:
        out.append("<p>Killing tests: " + ", ".join(f"{_e(t)} ({n})" for t, n in kt.items()) + "</p>")
    out.append("<h3>Mutants</h3><table><tr><th>mutant</th><th>class</th><th>status</th><th>runs</th>"
               "<th>time to kill</th><th>cycles</th><th>killed by</th><th>signature / reason</th></tr>")
    for r in res.get("mutants", []):
        st = r["status"]
        if st == "killed":
            by = f"{_e(r.get('test'))} seed {_e(r.get('seed'))}" + (
                f" ({_e(r['origin'])} job list)" if r.get("origin") else "")
            detail = (f"<code>{_e(r.get('signature'))}</code><details><summary>repro, first error, change"
                      f"</summary><pre>{_e(r.get('repro'))}</pre><pre>{_e(r.get('first_error'))}</pre>"
                      f"<pre>{_e(mu.Mutant(r['id'], r['class'], '', r['file'], r['find'], r['replace']).diff())}</pre>")
            sh = r.get("shrunk")
            if sh and sh.get("after"):
                detail += "<b>shrunk:</b><pre>" + _e("\n".join(sh["after"])) + "</pre>"
            detail += "</details>"
            ttk_s = _fmt_s(r.get("run_wall_s"))
        elif st == "equivalent" or r.get("equivalent"):
            by, ttk_s, detail = "", "-", "<b>equivalent:</b> " + _e(r.get("equivalent"))
            if st == "killed":
                detail = "<b>KILLED although marked equivalent: the argument is wrong</b> " + detail
            elif st == "survived":
                st = "survived (equivalent)"
        else:
            by, ttk_s = "", "-"
            detail = _e(r.get("verdict") or r.get("message") or "") + (
                f"<details><summary>change</summary><pre>"
                f"{_e(mu.Mutant(r['id'], r['class'], '', r['file'], r['find'], r['replace']).diff())}</pre></details>")
        out.append(f'<tr><td title="{_e(r.get("description"))}"><b>{_e(r["id"])}</b>'
                   + (' <span class="muted">(resumed)</span>' if r.get("resumed") else "") + '<br>'
                   f'<span class="muted">{_e(r.get("description"))}</span></td><td>{_e(r["class"])}</td>'
                   f'<td class="{_e(st.split()[0])}">{_e(st)}</td><td>{_e(r.get("runs"))}</td><td>{ttk_s}</td>'
                   f'<td>{_e(r.get("sim_cycles"))}</td><td>{by}</td><td>{detail}</td></tr>')
    out.append("</table>")
    broken = res.get("broken_on_clean_rtl") or []
    if broken:
        out.append("<h3>Runs set aside (they fail on the clean RTL)</h3><table><tr><th>run</th><th>status</th>"
                   "<th>signature</th></tr>")
        for b in broken:
            out.append(f"<tr><td>{_e(b['test'])} seed {_e(b['seed'])}</td><td>{_e(b['status'])}</td>"
                       f"<td><code>{_e(b.get('signature'))}</code></td></tr>")
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def render(res: dict) -> str:
    """A self-contained page (no scripts, no external assets)."""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>redmule-verif qualify</title>"
            f"<style>{CSS}</style></head><body><h1>redmule-verif qualify</h1>\n{render_section(res)}\n</body></html>\n")


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mutants", nargs="+", metavar="ID", default=None,
                        help="mutant ids to run (default: every mutant of the catalogue)")
    parser.add_argument("--classes", nargs="+", metavar="CLASS", default=None, choices=mu.CLASSES,
                        help="only mutants of these classes")
    parser.add_argument("--catalogue", default=None, metavar="FILE",
                        help=f"mutant catalogue (default {mu.CATALOGUE})")
    parser.add_argument("--suite", default=None, metavar="NAME|FILE",
                        help="regression suite whose runs qualify each mutant (default: nightly if it exists, "
                             f"else every test x {DEFAULT_SEEDS} seeds)")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="N seeds of every suite entry (overrides the suite's seed counts)")
    parser.add_argument("--all-tests", action="store_true",
                        help="also run every test of the environment that the suite does not (N seeds, default 2)")
    parser.add_argument("--extra", action="store_true",
                        help="also run the sequences of sequences/library_extra.py (N seeds, default 2; as directed "
                             "job files when the test module does not import them yet)")
    parser.add_argument("--seed", type=int, default=None, metavar="BASE",
                        help=f"base seed of the runs (default: the suite's, else {DEFAULT_BASE_SEED})")
    parser.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                        help="wall-clock budget; stops cleanly with partial results")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="wall-clock limit per run (default: the suite's)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="J",
                        help="mutants qualified in parallel (default 1: builds and runs already use the cores)")
    parser.add_argument("--shrink-runs", type=int, default=DEFAULT_SHRINK_RUNS, metavar="N",
                        help=f"shrink each kill to a minimal job with up to N runs (default {DEFAULT_SHRINK_RUNS}; "
                             "0: no shrinking)")
    parser.add_argument("--include-equivalent", action="store_true",
                        help="simulate the mutants marked equivalent too (they should survive)")
    parser.add_argument("--no-assert-cycles", action="store_true",
                        help="do not assert the timing model (default: asserted for the project's own RTL)")
    parser.add_argument("--cxx-opt", default=DEFAULT_CXX_OPT, choices=("O0", "O1", "O2", "default"),
                        help=f"C++ optimisation of the mutant and baseline builds (default {DEFAULT_CXX_OPT}: "
                             "builds dominate the cost; 'default' = the build layer's)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the decided results (killed, build-error, not-applicable) of OUT/qualify.json "
                             "and run the rest (survivors, incomplete, not run, new mutants)")
    parser.add_argument("--report-only", action="store_true",
                        help="simulate nothing: recompute the summary of OUT/qualify.json with the catalogue's current "
                             "equivalence verdicts and rewrite qualify.json and qualify.html")
    parser.add_argument("--list", action="store_true", help="list the catalogue and the planned runs, run nothing")


def _rtl_location(args) -> tuple[pathlib.Path, str | None]:
    paths = getattr(args, "rtl", None) or [str(mu.RTL_DIR / mu.FILELIST)]
    if len(paths) != 1:
        raise ValueError("qualify mutates one RTL: give a single --rtl (a .f file list or a directory)")
    p = pathlib.Path(paths[0]).expanduser().resolve()
    if p.is_dir():
        return p, None
    if p.suffix == ".f" and p.is_file():
        return p.parent, p.name
    raise ValueError(f"--rtl {paths[0]}: qualify needs a .f file list or a directory")


def _dut(args) -> tuple[dict, int, bool, list[str]]:
    from redmule_verif import cli

    params = cli.parse_params(getattr(args, "param", None))
    mem_kib = getattr(args, "mem_kib", cli.DEFAULT_MEM_KIB)
    build_args = []
    for k, v in sorted(params.items()):
        build_args += ["-P", f"{k}={v}"]
    if mem_kib != cli.DEFAULT_MEM_KIB:
        build_args += ["--mem-kib", str(mem_kib)]
    if getattr(args, "no_dut_params", False):
        build_args += ["--no-dut-params"]
    if getattr(args, "build_dir", None):
        build_args += ["--build-dir", str(pathlib.Path(args.build_dir).resolve())]
    if getattr(args, "top", "redmule") != "redmule":
        build_args += ["--top", args.top]
    return params, mem_kib * 1024 // 4, not getattr(args, "no_dut_params", False), build_args


def main(args) -> int:
    from redmule_verif.sim.build import BuildError
    from redmule_verif.tools.regress.regress import SuiteError
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig

    try:
        cat = mu.load_catalogue(args.catalogue)
        chosen = cat.select(args.mutants, args.classes, include_equivalent=True)
        rtl_dir, filelist = _rtl_location(args)
        params, mem_words, dut_params, build_args = _dut(args)
        eng = EngineConfig.from_params(params)
        mem = MemoryConfig(size=mem_words * 4)
        label, runs = plan_runs(args.suite, eng, mem, seeds=args.seeds, base_seed=args.seed, timeout=args.timeout,
                                all_tests_too=args.all_tests, extra=args.extra,
                                jobs_dir=pathlib.Path(args.out) / "jobs")
    except (mu.CatalogueError, ValueError, SuiteError) as exc:
        print(f"redmule-verif qualify: {exc}", file=sys.stderr)
        return 2
    problems = [p for m in chosen for p in mu.validate(mu.Catalogue({m.id: m}), rtl_dir)]
    if args.list:
        for m in chosen:
            print(f"{m.id:<30} {m.cls:<10} {'EQUIVALENT ' if m.is_equivalent else ''}{m.description[:90]}")
        print(f"\n{len(runs)} runs ({label}), cheapest first:")
        for r in order_runs(runs, {}):
            print(f"  {r.test:<20} seed {r.seed:<11} ~{r.est_s:6.1f} s  {json.dumps(r.knobs) if r.knobs else ''}")
        for p in problems:
            print("PROBLEM:", p)
        return 2 if problems else 0
    out = pathlib.Path(args.out)
    if args.report_only:
        try:
            res = json.loads((out / "qualify.json").read_text())
        except (OSError, ValueError) as exc:
            print(f"redmule-verif qualify: --report-only: {exc}", file=sys.stderr)
            return 2
        for r in res.get("mutants", []):
            if r.get("id") in cat:
                r["equivalent"] = cat[r["id"]].equivalent
        res["summary"] = summarise(res.get("mutants", []))
        _atomic_write(out / "qualify.json", json.dumps(res, indent=1, default=str))
        _atomic_write(out / "qualify.html", render(res))
        print(json.dumps({k: res["summary"][k] for k in ("kill_rate", "killed", "survived", "survivors",
                                                          "equivalent_survivors", "equivalence_refuted")}))
        return 0
    previous = None
    if args.resume and (out / "qualify.json").exists():
        try:
            previous = json.loads((out / "qualify.json").read_text())
        except ValueError as exc:
            print(f"redmule-verif qualify: --resume: {out / 'qualify.json'} is not valid JSON ({exc})", file=sys.stderr)
            return 2
    if previous:
        for r in previous.get("mutants", []):
            if r.get("id") in cat:
                r["equivalent"] = cat[r["id"]].equivalent
    print(f"qualify: {len(chosen)} mutant(s), {len(runs)} run(s) each at most ({label}), out {out}"
          + (f", budget {args.budget:g} min" if args.budget else ""), flush=True)
    q = Qualifier(chosen, runs, out, rtl_dir=rtl_dir, filelist=filelist, top=getattr(args, "top", "redmule"),
                  params=params, mem_words=mem_words, dut_params=dut_params,
                  cache_root=getattr(args, "build_dir", None), budget_s=args.budget * 60 if args.budget else None,
                  jobs=args.jobs, shrink_runs=args.shrink_runs, include_equivalent=args.include_equivalent,
                  assert_cycles=False if args.no_assert_cycles else None, build_args=build_args,
                  suite_label=label, catalogue_path=cat.path, log=lambda s: print(s, flush=True),
                  cxx_opt=None if args.cxx_opt == "default" else args.cxx_opt, previous=previous)
    try:
        q.clean_sim()
    except BuildError as exc:
        print(f"redmule-verif qualify: the clean RTL does not build: {exc}", file=sys.stderr)
        return 2
    res = q.run()
    s = res["summary"]
    rate = s["kill_rate"]
    print(f"\nkill rate {'-' if rate is None else f'{100 * rate:.1f} %'}: {s['killed']} killed, {s['survived']} "
          f"survived, statuses {s['by_status']}")
    if s["survivors"]:
        print("survivors: " + ", ".join(s["survivors"]))
    if s["equivalent_survivors"]:
        print("survivors marked equivalent: " + ", ".join(s["equivalent_survivors"]))
    if s["equivalence_refuted"]:
        print("KILLED although marked equivalent (fix the catalogue): " + ", ".join(s["equivalence_refuted"]))
    t = s["time_to_kill_runs_s"]
    if t["median"] is not None:
        print(f"time to kill (runs): median {t['median']:.0f} s, p90 {t['p90']:.0f} s, max {t['max']:.0f} s")
    print(f"results: {out / 'qualify.json'}  report: {out / 'qualify.html'}")
    incomplete = s["by_status"].get("incomplete", 0) + s["by_status"].get("not-run", 0)
    bad = s["survived"] + s["by_status"].get("error", 0) + s["by_status"].get("build-error", 0)
    return 1 if (bad or incomplete) else 0


def _standalone(argv=None) -> int:
    from redmule_verif import cli

    return cli.main(["qualify", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(_standalone())
