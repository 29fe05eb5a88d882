"""The closure loop: runs aimed at open testplan bins until the testplan is closed or the budget is spent.

:func:`until_closure` runs batches of targets (:mod:`redmule_verif.tools.closure.targets`, small ones
packed by :mod:`redmule_verif.tools.closure.pack`), then spends the same wall time on unbiased runs
(random test x seed) and reports the simulated cycles to closure of both. Runs go through a
:class:`~redmule_verif.flow.executor.Launcher` (:func:`launcher_batch`); ``regress --until-closure`` and
``coverage DIR --until-closure`` start it (:func:`loop_command`).
"""

from __future__ import annotations

import json
import pathlib
import random
import sys
import time
from typing import Callable, Iterable, Mapping

from redmule_verif.coverage.covergroup import CoverageDB
from redmule_verif.coverage.testplan import closure, load_testplan
from redmule_verif.env.testlist import all_tests
from redmule_verif.flow.executor import LocalLauncher
from redmule_verif.flow.records import RunSpec
from redmule_verif.flow.results_io import write_json
from redmule_verif.seeding import derive
from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig
from redmule_verif.sim.dut import DutOptions
from redmule_verif.sim.paths import out_dir
from redmule_verif.tools.closure.pack import packed_specs
from redmule_verif.tools.closure.targets import as_db, plan_runs, realize_run, run_key

#: what ``regress --until-closure`` leaves at the defaults of ``coverage DIR --until-closure``
LOOP_DEFAULTS = dict(tests=None, code_coverage=False, batch=None, no_compare=False, max_runs=None,
                     pack_cycles=40000, testplan=None, json=False)


def _cycles_to(history: list[dict], level: float) -> int | None:
    for h in history:
        if h["closure"] >= level - 1e-12:
            return h["cycles"]
    return None


class ClosureLoop:
    """One mode of the loop (``targeted`` or ``unbiased``) with its coverage, tries and history."""

    def __init__(self, mode, tp, tests, eng, mem, run_batch, workdir, seed, batch_size, log, clock,
                 pack_cycles=0, pack_max=12):
        self.mode, self.tp, self.tests, self.eng, self.mem = mode, tp, tests, eng, mem
        self.run_batch, self.workdir, self.seed, self.batch = run_batch, pathlib.Path(workdir), seed, batch_size
        self.log, self.clock = log, clock
        self.db = as_db(None, eng)
        self.rng = random.Random(derive(seed, f"closure/{mode}"))
        self.tried: dict[str, int] = {}
        self.history: list[dict] = []
        self.records: list[dict] = []
        self.cycles = 0
        self.n = 0
        self.seeds_drawn = 0
        self.pack_cycles = int(pack_cycles)
        self.pack_max = int(pack_max)

    def closure(self) -> dict:
        return closure(self.tp, self.db)["total"]

    def next_seed(self) -> int:
        self.seeds_drawn += 1
        return derive(self.seed, f"closure/{self.mode}/{self.seeds_drawn}") & 0x7FFF_FFFF

    def _one_run_each(self, picks) -> list[dict]:
        """One run per (test, knobs) pick."""
        specs = []
        for test, knobs in picks:
            self.n += 1
            seed = self.next_seed()
            self.tried[run_key(test, knobs)] = self.tried.get(run_key(test, knobs), 0) + 1
            try:
                rtest, rknobs, note = realize_run(test, knobs, seed, self.eng, self.mem, self.workdir / "jobs")
            except ValueError as e:
                self.log(f"  [{self.mode}] skip {test} {knobs}: {e}")
                continue
            specs.append({"test": rtest, "seed": seed, "knobs": rknobs, "mode": self.mode,
                          "target": {"test": test, "knobs": knobs}, "targets": [{"test": test, "knobs": knobs}],
                          "note": note, "index": self.n})
        return specs

    def _next_specs(self, max_runs) -> list[dict]:
        if self.mode != "targeted":
            picks = [(self.rng.choice(self.tests), {}) for _ in range(self.batch)]
            return self._one_run_each(picks if max_runs is None else picks[: max_runs - self.n])
        slots = self.batch if max_runs is None else min(self.batch, max_runs - self.n)
        if slots <= 0:
            return []
        plan = plan_runs(self.tp, self.db, self.tests, self.rng, self.tried)
        if self.pack_cycles <= 0:
            return self._one_run_each(plan[:slots])
        return packed_specs(self, plan, slots)

    def _merge(self, specs: list[dict], recs: list[dict]) -> None:
        for spec, rec in zip(specs, recs):
            rec = dict(rec or {})
            self.cycles += int(rec.get("sim_cycles") or 0)
            cov = pathlib.Path(rec.get("coverage") or pathlib.Path(rec.get("dir", "")) / "coverage.json")
            merged = False
            if rec.get("dir") and cov.exists():
                try:
                    self.db.merge(CoverageDB.load(cov))
                    merged = True
                except Exception as e:  # noqa: BLE001 - one bad file must not stop the loop
                    self.log(f"  [{self.mode}] {cov}: not merged ({e})")
            self.records.append({"test": spec["test"], "seed": spec["seed"], "knobs": spec["knobs"],
                                 "targets": spec["targets"], "note": spec["note"],
                                 "status": rec.get("status"), "sim_cycles": rec.get("sim_cycles"),
                                 "dir": rec.get("dir"), "coverage_merged": merged})

    def run(self, budget_s: float, max_runs: int | None = None) -> dict:
        t0 = self.clock()
        tot = self.closure()
        self.history.append({"runs": 0, "cycles": 0, "wall_s": 0.0, "closure": tot["closure"]})
        while tot["closure"] < 1.0 and self.clock() - t0 < budget_s and (max_runs is None or self.n < max_runs):
            specs = self._next_specs(max_runs)
            if not specs:
                break
            self._merge(specs, self.run_batch(specs))
            tot = self.closure()
            self.history.append({"runs": self.n, "cycles": self.cycles, "wall_s": round(self.clock() - t0, 2),
                                 "closure": tot["closure"]})
            self.log(f"  [{self.mode}] {self.n} runs, {self.cycles} cycles: testplan {100 * tot['closure']:.2f} % "
                     f"({tot['hit']}/{tot['bins']} bins)")
        closed = tot["closure"] >= 1.0
        return {"mode": self.mode, "runs": self.n, "cycles": self.cycles, "wall_s": round(self.clock() - t0, 2),
                "closure": tot["closure"], "percent": round(100 * tot["closure"], 2), "bins": tot["bins"],
                "hit": tot["hit"], "closed": closed, "cycles_to_closure": self.cycles if closed else None,
                "history": self.history, "records": self.records,
                "failures": sum(1 for r in self.records if r["status"] not in ("pass", None))}


def until_closure(run_batch: Callable[[list[dict]], list[dict]], budget_s: float, *, testplan=None,
                  tests: Iterable[str] | None = None, eng=None, mem=None, workdir=None, seed: int = 1,
                  batch_size: int = 2, compare: bool = True, max_runs: int | None = None,
                  pack_cycles: int = 40000, log: Callable[[str], None] | None = print,
                  clock: Callable[[], float] = time.monotonic) -> dict:
    """Run batches aimed at open testplan bins until the testplan is closed or ``budget_s`` is spent.

    ``run_batch(specs)`` runs a list of ``{"test", "seed", "knobs", "mode", "target", "targets", "note",
    "index"}`` (in parallel if it likes) and returns one record per spec, in order, with ``status``,
    ``sim_cycles`` and ``dir`` (the run directory holding ``coverage.json``; or ``coverage``,
    that file's path). A batch is started only while budget remains, so the loop may overrun it by
    one batch. With ``compare``, unbiased runs (random test x seed, same batch size) then get the
    wall time the targeted loop used, and the report compares the simulated cycles each needed to
    reach the closure level both reached. ``pack_cycles`` > 0 packs several small targets into one
    directed run of at most that many estimated cycles (0: one run per target). Returns the
    report (also :func:`format_loop`).
    """
    log = log or (lambda s: None)
    tp = testplan if isinstance(testplan, Mapping) else load_testplan(testplan)
    tests = sorted(tests) if tests is not None else sorted(all_tests())
    eng = eng or EngineConfig()
    mem = mem or MemoryConfig()
    workdir = pathlib.Path(workdir or out_dir("closure"))
    log(f"closure loop: budget {budget_s:.0f} s, batches of {batch_size}, {len(tests)} tests")
    targeted = ClosureLoop("targeted", tp, tests, eng, mem, run_batch, workdir, seed, batch_size, log, clock,
                     pack_cycles=pack_cycles).run(budget_s, max_runs)
    report = {"budget_s": budget_s, "batch_size": batch_size, "seed": seed, "pack_cycles": pack_cycles,
              "targeted": targeted}
    if compare:
        unbiased = ClosureLoop("unbiased", tp, tests, eng, mem, run_batch, workdir, seed, batch_size, log, clock).run(
            max(targeted["wall_s"], 1e-9), targeted["runs"] if max_runs is not None else None)
        level = min(targeted["closure"], unbiased["closure"])
        report["unbiased"] = unbiased
        report["comparison"] = {
            "level_percent": round(100 * level, 2),
            "targeted_cycles_to_level": _cycles_to(targeted["history"], level),
            "unbiased_cycles_to_level": _cycles_to(unbiased["history"], level),
            "targeted_runs_to_level": next((h["runs"] for h in targeted["history"] if h["closure"] >= level - 1e-12),
                                           None),
            "unbiased_runs_to_level": next((h["runs"] for h in unbiased["history"] if h["closure"] >= level - 1e-12),
                                           None),
            "targeted_wall_s_to_level": next((h["wall_s"] for h in targeted["history"]
                                              if h["closure"] >= level - 1e-12), None),
            "unbiased_wall_s_to_level": next((h["wall_s"] for h in unbiased["history"]
                                              if h["closure"] >= level - 1e-12), None),
        }
    return report


def format_loop(report: Mapping) -> str:
    def one(r):
        closed = (f"CLOSED after {r['cycles_to_closure']} simulated cycles" if r["closed"]
                  else "not closed")
        return (f"{r['mode']:<9} {r['percent']:6.2f} % of {r['bins']} testplan bins, {r['runs']} runs, "
                f"{r['cycles']} simulated cycles, {r['wall_s']:.0f} s: {closed}"
                + (f" ({r['failures']} failing runs)" if r["failures"] else ""))

    lines = [one(report["targeted"])]
    if "unbiased" in report:
        lines.append(one(report["unbiased"]) + "  [same wall time, random test x seed]")
        c = report["comparison"]
        t, u = c["targeted_cycles_to_level"], c["unbiased_cycles_to_level"]
        ratio = f" ({u / t:.1f}x)" if t and u else ""
        lines.append(f"simulated cycles to reach {c['level_percent']:.2f} %: targeted {t}, unbiased {u}{ratio}; "
                     f"wall time: targeted {c['targeted_wall_s_to_level']} s, unbiased {c['unbiased_wall_s_to_level']} s")
    return "\n".join(lines)


def launcher_batch(sim, out_dir, jobs: int = 2, timeout: float | None = 600, launcher_factory=None):
    """A ``run_batch`` for :func:`until_closure` on a :class:`LocalLauncher` (or on the launcher
    ``launcher_factory(sim, out_dir)`` gives, when it gives one: e.g. Slurm): run directories
    OUT/runs/MODE/TEST/SEED. Ctrl-C: the batch's records are kept, then the loop stops (KeyboardInterrupt)."""
    out_dir = pathlib.Path(out_dir).resolve()

    def run_batch(specs):
        runs = [RunSpec(i, s["test"], s["seed"], s["knobs"], timeout, {},
                        out_dir / "runs" / s.get("mode", "loop") / s["test"] / str(s["seed"]))
                for i, s in enumerate(specs)]
        launcher = (launcher_factory(sim, out_dir) if launcher_factory else None) or LocalLauncher(sim, jobs)
        recs = launcher.run_all(runs)
        if launcher.interrupted:
            raise KeyboardInterrupt
        return recs

    return run_batch


def loop_command(args, launcher_factory=None) -> int:
    """The closure loop as a command: 0 closed, 1 not closed within the budget, 2 usage/build error."""
    out = pathlib.Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    tests = [t.strip() for t in args.tests.split(",")] if args.tests else sorted(all_tests())
    unknown = [t for t in tests if t not in all_tests()]
    if unknown:
        print(f"error: unknown test(s) {unknown}", file=sys.stderr)
        return 2
    try:
        sim = DutOptions.from_args(args).build(coverage=args.code_coverage)
    except Exception as e:  # noqa: BLE001 - build / usage errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    params = sim.config.params
    eng = EngineConfig.from_params(params)
    mem = MemoryConfig(base=int(params["MEM_BASE"]), size=4 * int(params["MEM_WORDS"]))
    rep = until_closure(launcher_batch(sim, out, args.jobs, args.run_timeout, launcher_factory), args.budget * 60,
                        testplan=args.testplan, tests=tests, eng=eng, mem=mem, workdir=out, seed=args.seed,
                        batch_size=args.batch or args.jobs, compare=not args.no_compare, max_runs=args.max_runs,
                        pack_cycles=args.pack_cycles,
                        log=(lambda s: None) if args.json else (lambda s: print(s, flush=True)))
    write_json(out / "closure_loop.json", rep, newline=False)
    if args.json:
        print(json.dumps(rep, indent=1, default=str))
    else:
        print(format_loop(rep))
        print(f"details: {out / 'closure_loop.json'}; merged report: redmule-verif coverage {out}")
    return 0 if rep["targeted"]["closed"] else 1
