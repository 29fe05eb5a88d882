"""Qualify the environment: inject known bugs into the RTL and check that the tests catch them.

For every mutant of the catalogue (:mod:`redmule_verif.tools.qualify.mutants`) a :class:`Qualifier`:

1. applies the mutant to a copy of the RTL snapshot and builds it
   (:class:`~redmule_verif.tools.qualify.workspace.Workspace`; a rebuild of the same mutant is a cache hit);
2. runs the suite's test x seed list against it (:mod:`redmule_verif.tools.qualify.plan`), cheapest runs
   first (the runs that already killed other mutants moved to the front), and stops at the first failure;
3. confirms a kill on the clean RTL: the same run must pass there (baseline runs are made once, lazily);
   a run that fails on the clean RTL is set aside and reported, it never counts as a kill;
4. records killed / survived (or build-error, not-applicable, equivalent, incomplete when the budget ran
   out), the wall time and simulated cycles to the kill, the failing run, its signature, first error and
   repro line, and with ``shrink_runs`` > 0 the minimal failing job (:mod:`redmule_verif.tools.shrink`).

``OUT/qualify.json`` is rewritten after every mutant (a stopped run leaves valid partial results) with
``OUT/qualify.html`` (:mod:`redmule_verif.tools.qualify.report`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import threading
import time
import traceback
from typing import Callable

from redmule_verif.flow.executor import kill_children, run_pool, stop_signals
from redmule_verif.flow.records import first_error, repro_line
from redmule_verif.flow.results_io import atomic_write, read_json, write_json
from redmule_verif.flow.signature import signature
from redmule_verif.sim.build import BuildError
from redmule_verif.sim.runner import run_test
from redmule_verif.tools.qualify import mutants as mu
from redmule_verif.tools.qualify.plan import Run, order_runs
from redmule_verif.tools.qualify.report import render
from redmule_verif.tools.qualify.resume import resume
from redmule_verif.tools.qualify.summary import progress_line, summarise
from redmule_verif.tools.qualify.workspace import Workspace, rtl_version
from redmule_verif.tools.shrink.shrinker import shrink

SCHEMA = "redmule-verif/qualify-results/1"
DEFAULT_SHRINK_RUNS = 8


@dataclasses.dataclass
class Settings:
    """How a qualification runs (``assert_cycles`` None: asserted for the project's own RTL only)."""

    budget_s: float | None = None
    jobs: int = 1
    shrink_runs: int = 0
    include_equivalent: bool = False
    assert_cycles: bool | None = None
    suite_label: str = ""
    catalogue_path: str | None = None


def _brief(rec: dict) -> dict:
    return {k: rec.get(k) for k in ("test", "seed", "status", "wall_s", "sim_cycles", "jobs_checked", "dir")}


class Qualifier:
    """Runs the mutants of a catalogue against a suite; see the module docstring."""

    def __init__(self, mutants: list, runs: list[Run], ws: Workspace, settings: Settings = Settings(), *,
                 log: Callable[[str], None] = print, run_fn: Callable = run_test, previous: dict | None = None):
        self.mutants = list(mutants)
        self.runs = list(runs)
        self.ws = ws
        self.out = ws.out
        self.cfg = settings
        self.log = log
        self.run_fn = run_fn
        self.assert_cycles = ws.is_project_rtl if settings.assert_cycles is None else settings.assert_cycles
        self.build_args = ws.dut.cli_args(rtl=False, cxx_opt=False)
        self.t0 = time.monotonic()
        self.started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.deadline = self.t0 + settings.budget_s if settings.budget_s else None
        self.lock = threading.RLock()
        self.stop = threading.Event()
        self.kills: dict[str, int] = {}
        self.baseline: dict[str, dict] = {}
        self.baseline_locks: dict[str, threading.Lock] = {}
        self.broken: dict[str, dict] = {}  # runs that fail on the clean RTL
        self.results: dict[str, dict] = {m.id: self._initial(m) for m in self.mutants}
        self.resumed: set = set()
        self.carried: list = []
        self.history: list = []  # earlier runs whose results this one resumed
        if previous:
            resume(self, previous)
        self.rtl_version = rtl_version(ws.rtl_dir)

    # -- state ---------------------------------------------------------------------
    @staticmethod
    def _initial(m) -> dict:
        return {"id": m.id, "class": m.cls, "description": m.description, "file": m.file, "find": m.find,
                "replace": m.replace, "equivalent": m.equivalent, "status": "not-run", "runs": 0,
                "build_s": None, "build_cached": None, "run_wall_s": 0.0, "sim_cycles": 0}

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def out_of_budget(self) -> bool:
        return self.stop.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline)

    def source_dir(self) -> pathlib.Path:
        return self.ws.source_dir()

    def clean_sim(self):
        return self.ws.clean_sim()

    # -- runs ----------------------------------------------------------------------
    def _run(self, sim, run: Run, d: pathlib.Path, timeout: float) -> dict:
        return self.run_fn(sim, run.test, run.seed, d, knobs=run.knobs or None, timeout=timeout,
                           extra_env=run.env or None, assert_cycles=self.assert_cycles)

    def baseline_of(self, run: Run) -> dict:
        """The run on the clean RTL (made once)."""
        with self.lock:
            lk = self.baseline_locks.setdefault(run.key, threading.Lock())
        with lk:
            if run.key not in self.baseline:
                rec = self._run(self.ws.clean_sim(), run, self.out / "baseline" / run.dirname, run.timeout)
                self.baseline[run.key] = _brief(rec)
                self.log(f"  baseline {run.test} seed {run.seed}: {rec['status']}")
                if rec["status"] != "pass":
                    self.broken[run.key] = {**run.to_dict(), "status": rec["status"], "signature": signature(rec),
                                            "first_error": first_error(rec), "dir": rec.get("dir")}
            return self.baseline[run.key]

    def _hunt(self, m, r: dict, sim, rtl, mdir: pathlib.Path) -> None:
        """The suite's runs against the mutant, cheapest first, until one kills it."""
        with self.lock:
            order = order_runs(self.runs, self.kills)
        for run in order:
            if self.out_of_budget():
                r["status"] = "incomplete"
                return
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
                return
            if self.baseline_of(run)["status"] != "pass":
                self.log(f"  {m.id}: {run.test} seed {run.seed} fails on the clean RTL too: set aside")
                continue
            self._killed(m, r, run, rec, rtl, mdir)
            return
        r["status"] = "survived"

    def qualify(self, m) -> dict:
        """One mutant: apply, build, hunt; returns (and keeps) its result."""
        r = self.results[m.id]
        if m.id in self.resumed:
            return r
        if m.is_equivalent and not self.cfg.include_equivalent:
            r["status"] = "equivalent"
            return r
        if self.out_of_budget():
            return r
        t_start = time.monotonic()
        mdir = self.out / "mutants" / m.id
        try:
            rtl = self.ws.apply(m, mdir / "rtl")
        except mu.MutantError as exc:
            r.update(status="not-applicable", message=str(exc))
            return r
        r["rtl"] = str(rtl)
        tb = time.monotonic()
        try:
            sim = self.ws.build(rtl)
        except BuildError as exc:
            r.update(status="build-error", message=str(exc)[-3000:], build_s=round(time.monotonic() - tb, 1))
            return r
        r["build_s"] = round(time.monotonic() - tb, 1)
        r["build_cached"] = bool(getattr(sim, "cached", False))
        r["build_key"] = getattr(sim, "key", None)
        r["status"] = "running"
        self._hunt(m, r, sim, rtl, mdir)
        r["wall_s"] = round(time.monotonic() - t_start, 1)
        return r

    def _killed(self, m, r: dict, run: Run, rec: dict, rtl, mdir: pathlib.Path) -> None:
        with self.lock:
            self.kills[run.key] = self.kills.get(run.key, 0) + 1
        repro = repro_line(run.test, run.seed, ["--rtl", str(rtl)] + self.build_args, run.knobs or None, run.env)
        r.update(status="killed", test=run.test, seed=run.seed, knobs=run.knobs, env=run.env, origin=run.origin,
                 run_status=rec["status"], signature=signature(rec), first_error=first_error(rec),
                 run_dir=rec.get("dir"), log=rec.get("log"), repro=repro,
                 kill_run_wall_s=rec.get("wall_s"), kill_sim_cycles=rec.get("sim_cycles"))
        r["wall_to_kill_s"] = round((r["build_s"] if not r["build_cached"] else 0.0) + r["run_wall_s"], 1)
        if self.cfg.shrink_runs > 0 and not self.out_of_budget():
            r["shrunk"] = self._shrink(m, run, rtl, mdir)

    def _shrink(self, m, run: Run, rtl, mdir: pathlib.Path) -> dict | None:
        try:
            lines = []
            res = shrink(self.ws.build(rtl), run.test, run.seed, knobs=run.knobs or None,
                         budget_runs=self.cfg.shrink_runs, out_dir=mdir / "shrink",
                         output=mdir / f"shrunk_{m.id}.yaml", timeout=run.timeout, log=lines.append,
                         build_args=["--rtl", str(rtl)] + self.build_args)
            d = res.to_dict()
            (mdir / "shrink.log").write_text("\n".join(str(x) for x in lines) + "\n")
            return {"reproduced": d.get("reproduced"), "runs": d.get("runs"), "after": d.get("after"),
                    "before_jobs": len(d.get("before") or []), "signature": d.get("signature"),
                    "path": d.get("path"), "repro": d.get("repro"), "note": d.get("note")}
        except Exception as exc:  # noqa: BLE001 - a shrink failure must not lose the kill
            return {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-1500:]}

    # -- all mutants ---------------------------------------------------------------
    def _one(self, m) -> None:
        try:
            r = self.qualify(m)
        except Exception as exc:  # noqa: BLE001 - one mutant's error is its result
            r = self.results[m.id]
            r.update(status="error", message=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-3000:])
        if r["status"] == "running":
            r["status"] = "incomplete"
        self.log(progress_line(r))
        self.write()

    def run(self) -> dict:
        self.write()
        with stop_signals():
            out = run_pool(self.mutants, self._one, lambda m, res, exc: None, self.cfg.jobs, self.stop,
                           kill=kill_children, name="qualify")
        if out.interrupted:
            for r in self.results.values():
                if r["status"] == "running":
                    r["status"] = "incomplete"
            self.log("qualify: interrupted; partial results written")
        return self.write(final=True)

    def results_dict(self, final: bool = False) -> dict:
        with self.lock:
            return results_document(self, final)

    def write(self, final: bool = False) -> dict:
        res = self.results_dict(final)
        write_json(self.out / "qualify.json", res, newline=False)
        atomic_write(self.out / "qualify.html", render(res))
        return res


def results_document(q: Qualifier, final: bool = False) -> dict:
    """qualify.json of ``q``."""
    muts = [dict(q.results[m.id]) for m in q.mutants] + [dict(r) for r in q.carried]
    return {
        "schema": SCHEMA,
        "started": q.started,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if final else None,
        "elapsed_s": round(time.monotonic() - q.t0, 1),
        "budget_s": q.cfg.budget_s,
        "budget_exhausted": bool(q.deadline and time.monotonic() >= q.deadline),
        "suite": q.cfg.suite_label,
        "catalogue": q.cfg.catalogue_path,
        "rtl_dir": str(q.ws.rtl_dir),
        "rtl_version": q.rtl_version,
        "top": q.ws.dut.top,
        "parameters": q.ws.dut.parameters,
        "mem_words": q.ws.dut.mem_words,
        "assert_cycles": q.assert_cycles,
        "shrink_runs": q.cfg.shrink_runs,
        "cxx_opt": q.ws.dut.cxx_opt,
        "history": q.history,
        "runs_planned": [r.to_dict() for r in q.runs],
        "summary": summarise(muts),
        "mutants": muts,
        "baseline": dict(q.baseline),
        "broken_on_clean_rtl": list(q.broken.values()),
        "kills_by_run": dict(sorted(q.kills.items(), key=lambda kv: -kv[1])),
    }


def report_only(out: pathlib.Path, cat) -> dict:
    """``--report-only``: the summary of OUT/qualify.json recomputed with the catalogue's current equivalence
    verdicts; qualify.json and qualify.html rewritten."""
    res = read_json(pathlib.Path(out) / "qualify.json")
    for r in res.get("mutants", []):
        if r.get("id") in cat:
            r["equivalent"] = cat[r["id"]].equivalent
    res["summary"] = summarise(res.get("mutants", []))
    write_json(pathlib.Path(out) / "qualify.json", res, newline=False)
    atomic_write(pathlib.Path(out) / "qualify.html", render(res))
    return res
