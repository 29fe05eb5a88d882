"""Coverage closure: ``redmule-verif coverage DIR``, and the loop that closes the testplan.

Report (``redmule-verif coverage DIR``)
---------------------------------------
Merges the functional coverage of every run under DIR (each ``coverage.json``,
at any depth), reports closure per testpoint of the testplan
(``coverage/testplan.yaml``) with its holes and the runs aimed at them, and
merges the code coverage of every run's ``coverage.dat`` (builds with Verilator
line and toggle coverage; see :mod:`redmule_verif.tools.closure.codecov`). It writes:

=============================  ==================================================
``DIR/coverage_merged.json``   the merged functional coverage (CoverageDB JSON)
``DIR/closure.json``           closure per testpoint, holes, problems, code coverage
``DIR/coverage.info``          lcov tracefile: DA (lines), BRDA (toggle points)
``DIR/codecov/index.html``     HTML view: files, line and toggle %, annotated sources
``DIR/coverage_merged.dat``    the merged Verilator coverage data
=============================  ==================================================

Exit status: 0; 1 when a covergroup is declared but never sampled by any run,
or the testplan names a test (tests = ``testlist.all_tests()``: the library's sequences and a few others) or a bin that
does not exist (or is otherwise invalid: ``validate_testplan``); 2 when
DIR holds no coverage at all, or on a usage error.

Closure loop (``regress --until-closure`` or ``coverage DIR --until-closure``)
-------------------------------------------------------------------------------
:func:`plan_runs` ranks the runs aimed at open bins (each testplan target names
a test and knobs), most holes first, then plain runs of every test.
:func:`realize_run` turns a target into a run that does what its knobs say:
knobs that the test's sequence reads are passed on; knobs that are GemmJob
fields (``fmt``, ``m``, ``data``, ``class_weights``, ``grant``, ``control`` ...)
or ``n_jobs`` are applied to the sequence's jobs outside simulation and the
result is replayed by the ``directed`` test from a job file (buffers re-placed
when the sizes change). :func:`until_closure` runs batches until the testplan
is closed or the budget is spent, then spends the same wall time on unbiased
runs (random test x seed), and reports simulated cycles to closure for both.

The regress command calls ``until_closure(run_batch, budget_s, ...)`` with its
own ``run_batch(specs) -> records``; ``redmule-verif coverage OUT --until-closure
--budget MIN`` is a self-contained entry point with a thread pool.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import copy
import hashlib
import json
import pathlib
import random
import sys
import time
from typing import Callable, Iterable, Mapping

from redmule_verif.sim.paths import COVERAGE_DIR, out_dir

#: knobs a closure loop may apply to every job of a sequence (GemmJob fields)
JOB_FIELDS = ("op", "fmt", "m", "n", "k", "data", "class_weights", "launch", "grant", "control", "core")


# =========================================================================== report


def find_coverage_json(root) -> list[pathlib.Path]:
    """Every run's coverage.json under ``root`` (merged outputs have other names; a rerun nested in
    a run directory, e.g. RUN/waves/, is not counted again)."""
    from redmule_verif.tools.closure.codecov import find_run_files

    root = pathlib.Path(root)
    if root.is_file():
        return [root]
    return find_run_files(root, "coverage.json")


def known_tests() -> list[str]:
    """Every test of the environment: the library's sequences and the few tests that are not
    (``redmule_verif.env.testlist``)."""
    try:
        from redmule_verif.env.testlist import all_tests
    except ImportError:  # pragma: no cover - before testlist.py existed
        from redmule_verif.sequences.library import SEQUENCES

        return sorted(SEQUENCES)
    return sorted(all_tests())


def _is_sequence(test: str) -> bool:
    from redmule_verif.sequences.library import SEQUENCES

    return test in SEQUENCES


def merge_runs(paths, eng=None):
    """Merged CoverageDB of coverage files (a fresh RedmuleCoverage DB when ``paths`` is empty and
    ``eng`` is given, so that every declared covergroup is there)."""
    from redmule_verif.coverage.covergroup import CoverageDB
    from redmule_verif.coverage.redmule_cov import RedmuleCoverage

    paths = [str(p) for p in paths]
    if eng is not None:
        db = RedmuleCoverage(eng).db
        for p in paths:
            db.merge(CoverageDB.load(p))
        return db
    if not paths:
        raise ValueError("no coverage files")
    db = CoverageDB.load(paths)
    if db.config:  # every covergroup the model declares, even if a file lacks one
        full = RedmuleCoverage(db.config).db
        full.merge(db)
        return full
    return db


def problems_of(tp, db, tests: Iterable[str]) -> list[str]:
    """What makes the command fail: never-sampled covergroups, and testplan errors."""
    from redmule_verif.coverage.testplan import TestplanError, validate_testplan

    out = []
    rep = db.report()
    for name in rep["total"]["unsampled"]:
        out.append(f"covergroup {name!r} is declared but never sampled by any run")
    try:
        validate_testplan(tp, db, list(tests))
    except TestplanError as e:
        lines = str(e).splitlines()
        out += [f"testplan: {ln.strip()}" for ln in lines[1:]] or [f"testplan: {e}"]
    return out


def coverage_report(root, testplan=None, tests=None, code: bool = True,
                    exclude: Iterable[str] = ("redmule_harness.sv",), write: bool = True) -> dict:
    """Everything ``redmule-verif coverage DIR`` computes (and writes, unless ``write`` is False)."""
    from redmule_verif.tools.closure import codecov
    from redmule_verif.coverage.testplan import closure, load_testplan

    root = pathlib.Path(root)
    tp = testplan if isinstance(testplan, Mapping) else load_testplan(testplan)
    tests = list(tests) if tests is not None else known_tests()
    files = find_coverage_json(root)
    result: dict = {"dir": str(root), "coverage_files": len(files), "problems": [], "functional": None,
                    "closure": None, "code": None}
    if files:
        db = merge_runs(files)
        result["problems"] = problems_of(tp, db, tests)
        rep = db.report()
        result["functional"] = rep
        try:
            result["closure"] = closure(tp, db)
        except Exception as e:  # an invalid testplan may not resolve: the problems say why
            result["closure"] = None
            result["problems"].append(f"closure not measurable: {e}")
        result["runs"] = [{k: r.get(k) for k in ("test", "seed")} for r in db.meta.get("runs", [])]
        if write:
            db.save(root / "coverage_merged.json")
        result["_db"] = db
    if code:
        result["code"] = codecov.code_coverage(root, exclude=exclude) if write else None
    if write and root.is_dir():
        (root / "closure.json").write_text(json.dumps({k: v for k, v in result.items() if k != "_db"},
                                                      indent=1, default=str))
    return result


def format_report(result: Mapping, holes: int = 5) -> str:
    from redmule_verif.coverage.covergroup import format_report as fmt_groups
    from redmule_verif.coverage.testplan import format_closure

    lines = []
    if result["functional"] is None:
        lines.append(f"functional coverage: no coverage.json under {result['dir']}")
    else:
        lines.append(f"merged {result['coverage_files']} coverage.json file(s) under {result['dir']}")
        lines.append(fmt_groups(result["functional"], 0))
        if result["closure"] is not None:
            lines.append(format_closure(result["closure"], holes))
    code = result.get("code")
    if code:
        t = code["total"]
        lines.append(f"code coverage: {code['runs']} coverage.dat merged: lines {t['lines_hit']}/{t['lines']} "
                     f"({t['line_percent']:.2f} %), toggle points {t['toggles_hit']}/{t['toggles']} "
                     f"({t['toggle_percent']:.2f} %) in {t['files']} file(s)")
        for path, f in code["files"].items():
            lines.append(f"  {path}: lines {f['line_percent']:.2f} %, toggles {f['toggle_percent']:.2f} %")
        lines.append(f"  lcov: {code['info']}  html: {code['html']}")
    elif result.get("code") is None:
        lines.append("code coverage: no coverage.dat (build with coverage for line/toggle coverage)")
    if result["problems"]:
        lines.append(f"PROBLEMS ({len(result['problems'])}):")
        lines += [f"  {p}" for p in result["problems"]]
    return "\n".join(lines)


# =========================================================================== planning


def _as_db(merged_db, eng=None):
    from redmule_verif.coverage.covergroup import CoverageDB
    from redmule_verif.coverage.redmule_cov import RedmuleCoverage

    if merged_db is None:
        from redmule_verif.sequences.items.job import EngineConfig

        return RedmuleCoverage(eng or EngineConfig()).db
    if isinstance(merged_db, RedmuleCoverage):
        return merged_db.db
    if isinstance(merged_db, CoverageDB):
        return merged_db
    return merge_runs(find_coverage_json(merged_db))


def _key(test, knobs) -> str:
    return test + " " + json.dumps(knobs or {}, sort_keys=True, default=str)


def plan_runs(testplan, merged_db, tests, rng: random.Random, tried: Mapping[str, int] | None = None,
              eng=None, max_tries: int = 3) -> list[tuple[str, dict]]:
    """Runs in the order a closure loop should make them: [(test, knobs)].

    First the testplan targets aimed at open bins (most holes first; among equals
    the ones tried fewer times first, then in ``rng`` order), then one plain run of
    every test (``{}`` knobs, in ``rng`` order), then the targets already tried
    ``max_tries`` times without closing their bins (a hole no run reaches must not
    starve the others). Only tests in ``tests``. ``tried`` maps
    ``_key(test, knobs)`` to how often that run was made.
    """
    from redmule_verif.coverage.testplan import closure, load_testplan, next_runs

    tp = testplan if isinstance(testplan, Mapping) else load_testplan(testplan)
    tests = list(tests)
    allowed = set(tests)
    db = _as_db(merged_db, eng)
    res = closure(tp, db)
    tried = tried or {}
    targeted = [r for r in next_runs(res) if r["test"] in allowed]
    keyed = [((tried.get(_key(r["test"], r["knobs"]), 0), -len(r["holes"]), rng.random()), r) for r in targeted]
    keyed.sort(key=lambda kv: kv[0])
    first = [(r["test"], copy.deepcopy(dict(r["knobs"]))) for k, r in keyed if k[0] < max_tries]
    demoted = [(r["test"], copy.deepcopy(dict(r["knobs"]))) for k, r in keyed if k[0] >= max_tries]
    seen = {_key(t, k) for t, k in first + demoted}
    rest = list(tests)
    rng.shuffle(rest)
    plain = [(t, {}) for t in rest if _key(t, {}) not in seen]
    return first + plain + demoted


# =========================================================================== realizing a target


def _subst(v):
    if isinstance(v, str):
        from redmule_verif.sequences.library import DIRECTED_DIR

        return v.replace("{coverage_dir}", str(COVERAGE_DIR)).replace("{directed_dir}", str(DIRECTED_DIR))
    if isinstance(v, list):
        return [_subst(x) for x in v]
    if isinstance(v, dict):
        return {k: _subst(x) for k, x in v.items()}
    return v


def _override_job(job, ov: Mapping):
    """One job with the GemmJob-field overrides applied (explicit data dropped when it no longer fits)."""
    from redmule_verif.sequences.items.job import CLASS_DRAWN, ControlEvent, GrantProfile

    kw = {}
    for k, v in ov.items():
        if k == "control":
            if not job.control:
                continue
            specs = v if isinstance(v, list) else [v]
            evs = []
            for i, ev in enumerate(job.control):
                d = ev.to_dict()
                if specs:
                    d.update(specs[min(i, len(specs) - 1)] or {})
                if d.get("phase") == "idle":
                    d["delay"] = 0
                evs.append(ControlEvent.from_dict(d))
            kw["control"] = evs
        elif k == "grant":
            if isinstance(v, Mapping):
                kw["grant"] = GrantProfile.from_dict(dict(v))
            elif isinstance(v, str):
                kw["grant"] = GrantProfile(v)
        elif k == "class_weights":
            kw["class_weights"] = dict(v) if v else None
            if v and ov.get("data", job.data) not in CLASS_DRAWN:
                kw["data"] = "specials"
        elif k == "core":
            continue  # cores are the sequence's business (races need distinct cores)
        else:
            kw[k] = v
    if any(k in kw for k in ("op", "fmt", "m", "n", "k", "data", "class_weights")):
        kw.update(x=None, w=None, y=None)  # generated data of the new shape / format / distribution
    if kw.get("launch") in ("queued", "race") and job.launch == "serial":
        kw.pop("launch")  # turning a list into one live group would overlap buffers: keep the structure
    return job.replace(**kw) if kw else job


def _relayout(jobs, eng, mem, seed: int):
    """Re-place the buffers (keeping each base's offset mod 4 where the format allows) when needed."""
    from redmule_verif.sequences.items.job import check_job_list, groups
    from redmule_verif.sequences.randomize import Allocator

    try:
        check_job_list(jobs, eng, mem)
        return jobs
    except ValueError:
        pass
    alloc = Allocator(mem, random.Random(seed))
    out = list(jobs)
    for g in groups(out):
        alloc.new_group()
        for i in g:
            j = out[i]
            eb = j.elem_bytes
            align = {n: (b % 4) - (b % 4) % eb for n, b in (("X", j.x_base), ("W", j.w_base), ("Z", j.z_base))}
            out[i] = alloc.place(j, placement="random", align=align)
    check_job_list(out, eng, mem)
    return out


def apply_overrides(jobs, overrides: Mapping, eng, mem, seed: int = 0):
    """The job list with GemmJob-field overrides on every job and ``n_jobs`` (repeat / cut the list);
    raises ValueError when the result cannot be made legal (does not fit memory ...)."""
    ov = dict(overrides)
    n_jobs = ov.pop("n_jobs", None)
    out = [_override_job(j, ov) for j in jobs]
    if n_jobs is not None:
        n_jobs = int(n_jobs)
        if n_jobs < 1 or not out:
            raise ValueError(f"n_jobs = {n_jobs}: needs a positive count and a non-empty list")
        out = [out[i % len(out)].replace() for i in range(n_jobs)]
    if out and out[0].launch != "serial":
        out[0] = out[0].replace(launch="serial")
    return _relayout(out, eng, mem, seed)


def target_jobs(test: str, knobs: Mapping | None, seed: int, eng=None, mem=None):
    """The job list a target asks for, generated outside simulation: (jobs, plan, note).

    ``plan`` says how it must run: {"seq_knobs", "overrides", "env_knobs", "base_test", "base_knobs"}.
    Knobs the test's sequence reads are its knobs; GemmJob-field knobs and ``n_jobs``
    are applied to its jobs (:func:`apply_overrides`); other knobs (environment knobs)
    go to the run. A ``directed`` target with a file loads it; without one it starts
    from sequences/directed/smoke.yaml. Raises ValueError for an unknown test.
    """
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig, load_jobs
    from redmule_verif.sequences.library import DIRECTED_DIR, SEQUENCES, SeqContext

    eng = eng or EngineConfig()
    mem = mem or MemoryConfig()
    knobs = _subst(dict(knobs or {}))
    if test not in SEQUENCES:
        raise ValueError(f"unknown test {test!r}")
    if test == "directed" and "file" in knobs:
        ctx = SeqContext(seed=seed, eng=eng, mem=mem, knobs=dict(knobs))
        jobs = SEQUENCES["directed"](ctx)
        env_knobs = {k: v for k, v in knobs.items() if k != "file"}
        return jobs, {"seq_knobs": {"file": knobs["file"]}, "overrides": {}, "env_knobs": env_knobs,
                      "base_test": "directed", "base_knobs": {"file": knobs["file"]}}, ""
    base_test, base_knobs = test, {}
    if test == "directed":
        smoke = DIRECTED_DIR / "smoke.yaml"
        base_test, base_knobs = ("directed", {"file": str(smoke)}) if smoke.exists() else ("random_jobs", {"count": 4})
    note = ""
    try:
        ctx = SeqContext(seed=seed, eng=eng, mem=mem, knobs={**base_knobs, **knobs})
        jobs = SEQUENCES[base_test](ctx)
        used = set(ctx.used)
    except (ValueError, TypeError, KeyError) as e:
        note = f"the sequence rejects these knobs ({e}): applied to its default jobs instead"
        ctx = SeqContext(seed=seed, eng=eng, mem=mem, knobs=dict(base_knobs))
        jobs = SEQUENCES[base_test](ctx)
        used = set()
    seq_knobs = {k: v for k, v in knobs.items() if k in used}
    overrides = {k: v for k, v in knobs.items() if k not in used and (k in JOB_FIELDS or k == "n_jobs")}
    env_knobs = {k: v for k, v in knobs.items() if k not in used and k not in overrides}
    plan = {"seq_knobs": seq_knobs, "overrides": overrides, "env_knobs": env_knobs, "base_test": base_test,
            "base_knobs": base_knobs}
    if overrides:
        try:
            jobs = apply_overrides(jobs, overrides, eng, mem, seed)
            applied = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in overrides.items())
            note = (note + f" {test} seed {seed} jobs with {applied}").strip()
        except (ValueError, TypeError) as e:
            note = (note + f" overrides {sorted(overrides)} not applicable ({e}): plain run").strip()
            plan["overrides"] = {}
    return list(jobs), plan, note


def _job_file(jobs, workdir, stem: str, key) -> pathlib.Path:
    from redmule_verif.sequences.items.job import dump_jobs

    wd = pathlib.Path(workdir) if workdir else out_dir("closure", "jobs")
    wd.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return dump_jobs(jobs, wd / f"{stem}_{tag}.yaml")


def realize_run(test: str, knobs: Mapping | None, seed: int, eng=None, mem=None, workdir=None) -> tuple[str, dict, str]:
    """(test, knobs, note) of one run that does what a testplan target's knobs ask
    (see :func:`target_jobs`): the test itself with its own knobs, or, when job fields
    were overridden, ``directed`` with a job file written to ``workdir``."""
    knobs = _subst(dict(knobs or {}))
    if test == "directed" and "file" in knobs:
        return test, knobs, ""
    if not _is_sequence(test) and test in known_tests():
        return test, knobs, ""  # a test that is not a library sequence: its knobs are its own
    jobs, plan, note = target_jobs(test, knobs, seed, eng, mem)
    if not plan["overrides"]:
        if test == "directed":
            return plan["base_test"], {**plan["base_knobs"], **plan["env_knobs"]}, note
        return test, {**plan["seq_knobs"], **plan["env_knobs"]}, note
    path = _job_file(jobs, workdir, f"{test}_{seed}", [test, knobs, seed])
    return "directed", {**plan["env_knobs"], "file": str(path)}, note


# =========================================================================== the loop


def _cycles_to(history: list[dict], level: float) -> int | None:
    for h in history:
        if h["closure"] >= level - 1e-12:
            return h["cycles"]
    return None


class _Loop:
    def __init__(self, mode, tp, tests, eng, mem, run_batch, workdir, seed, batch_size, log, clock,
                 pack_cycles=0, pack_max=12):
        from redmule_verif.seeding import derive

        self.derive = derive
        self.mode, self.tp, self.tests, self.eng, self.mem = mode, tp, tests, eng, mem
        self.run_batch, self.workdir, self.seed, self.batch = run_batch, pathlib.Path(workdir), seed, batch_size
        self.log, self.clock = log, clock
        self.db = _as_db(None, eng)
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
        from redmule_verif.coverage.testplan import closure

        return closure(self.tp, self.db)["total"]

    def _seed(self) -> int:
        self.seeds_drawn += 1
        return self.derive(self.seed, f"closure/{self.mode}/{self.seeds_drawn}") & 0x7FFF_FFFF

    def _targeted_specs(self, max_runs) -> list[dict]:
        """Up to ``batch`` runs from :func:`plan_runs`. With packing, consecutive targets are
        generated outside simulation and concatenated into one directed job list (serial
        groups are independent), up to ``pack_cycles`` estimated cycles a run: the start-up
        cost of a simulation is paid once for many small targets."""
        from redmule_verif.sequences.library import sequence_cost

        slots = self.batch if max_runs is None else min(self.batch, max_runs - self.n)
        if slots <= 0:
            return []
        plan = plan_runs(self.tp, self.db, self.tests, self.rng, self.tried)
        specs: list[dict] = []
        if self.pack_cycles <= 0:
            for test, knobs in plan[:slots]:
                self.n += 1
                seed = self._seed()
                self.tried[_key(test, knobs)] = self.tried.get(_key(test, knobs), 0) + 1
                try:
                    rtest, rknobs, note = realize_run(test, knobs, seed, self.eng, self.mem, self.workdir / "jobs")
                except ValueError as e:
                    self.log(f"  [{self.mode}] skip {test} {knobs}: {e}")
                    continue
                specs.append({"test": rtest, "seed": seed, "knobs": rknobs, "mode": self.mode,
                              "target": {"test": test, "knobs": knobs}, "targets": [{"test": test, "knobs": knobs}],
                              "note": note, "index": self.n})
            return specs
        packs: list[dict] = []
        cur = None
        for test, knobs in plan:
            seed = self._seed()
            if not _is_sequence(test):  # its jobs are made inside simulation: a run of its own
                if len(packs) + (cur is not None) >= slots:
                    break
                packs.append({"run": (test, _subst(dict(knobs))), "targets": [{"test": test, "knobs": knobs,
                                                                                "seed": seed}],
                              "seed": seed, "cost": 0, "notes": [], "env": {}})
                continue
            try:
                jobs, tplan, note = target_jobs(test, knobs, seed, self.eng, self.mem)
            except (ValueError, TypeError) as e:
                self.log(f"  [{self.mode}] skip {test} {knobs}: {e}")
                continue
            if not jobs:
                continue
            cost = sequence_cost(jobs, self.eng)
            env = tplan["env_knobs"]
            if cur is not None and (cur["cost"] + cost > self.pack_cycles or cur["env"] != env
                                    or len(cur["targets"]) >= self.pack_max):
                packs.append(cur)
                cur = None
                if len(packs) >= slots:
                    break
            if cur is None:
                cur = {"jobs": [], "cost": 0, "env": env, "targets": [], "seed": seed, "notes": []}
            if cur["jobs"] and jobs[0].launch != "serial":
                jobs = [jobs[0].replace(launch="serial")] + jobs[1:]
            cur["jobs"] += jobs
            cur["cost"] += cost
            cur["targets"].append({"test": test, "knobs": knobs, "seed": seed})
            if note:
                cur["notes"].append(note)
        if cur is not None and len(packs) < slots:
            packs.append(cur)
        for pk in packs:
            self.n += 1
            for tg in pk["targets"]:
                k = _key(tg["test"], tg["knobs"])
                self.tried[k] = self.tried.get(k, 0) + 1
            first = pk["targets"][0]
            if "run" in pk:
                test, knobs = pk["run"]
                specs.append({"test": test, "seed": pk["seed"], "knobs": knobs, "mode": self.mode,
                              "target": {"test": first["test"], "knobs": first["knobs"]}, "targets": pk["targets"],
                              "note": "", "index": self.n})
                continue
            path = _job_file(pk["jobs"], self.workdir / "jobs", f"pack_{self.n:03d}",
                             [pk["targets"], self.n])
            specs.append({"test": "directed", "seed": pk["seed"], "knobs": {**pk["env"], "file": str(path)},
                          "mode": self.mode, "target": {"test": first["test"], "knobs": first["knobs"]},
                          "targets": pk["targets"], "note": "; ".join(pk["notes"]), "index": self.n,
                          "est_cycles": pk["cost"]})
        return specs

    def run(self, budget_s: float, max_runs: int | None = None) -> dict:
        from redmule_verif.coverage.covergroup import CoverageDB

        t0 = self.clock()
        tot = self.closure()
        self.history.append({"runs": 0, "cycles": 0, "wall_s": 0.0, "closure": tot["closure"]})
        while tot["closure"] < 1.0 and self.clock() - t0 < budget_s and (max_runs is None or self.n < max_runs):
            if self.mode == "targeted":
                specs = self._targeted_specs(max_runs)
            else:
                picks = [(self.rng.choice(self.tests), {}) for _ in range(self.batch)]
                if max_runs is not None:
                    picks = picks[: max_runs - self.n]
                specs = []
                for test, knobs in picks:
                    self.n += 1
                    seed = self._seed()
                    try:
                        rtest, rknobs, note = realize_run(test, knobs, seed, self.eng, self.mem,
                                                          self.workdir / "jobs")
                    except ValueError as e:
                        self.log(f"  [{self.mode}] skip {test} {knobs}: {e}")
                        continue
                    specs.append({"test": rtest, "seed": seed, "knobs": rknobs, "mode": self.mode,
                                  "target": {"test": test, "knobs": knobs}, "targets": [{"test": test, "knobs": knobs}],
                                  "note": note, "index": self.n})
            if not specs:
                break
            recs = self.run_batch(specs)
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
    from redmule_verif.coverage.testplan import load_testplan
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig

    log = log or (lambda s: None)
    tp = testplan if isinstance(testplan, Mapping) else load_testplan(testplan)
    tests = sorted(tests) if tests is not None else known_tests()
    eng = eng or EngineConfig()
    mem = mem or MemoryConfig()
    workdir = pathlib.Path(workdir or out_dir("closure"))
    log(f"closure loop: budget {budget_s:.0f} s, batches of {batch_size}, {len(tests)} tests")
    targeted = _Loop("targeted", tp, tests, eng, mem, run_batch, workdir, seed, batch_size, log, clock,
                     pack_cycles=pack_cycles).run(budget_s, max_runs)
    report = {"budget_s": budget_s, "batch_size": batch_size, "seed": seed, "pack_cycles": pack_cycles,
              "targeted": targeted}
    if compare:
        unbiased = _Loop("unbiased", tp, tests, eng, mem, run_batch, workdir, seed, batch_size, log, clock).run(
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


def thread_pool_batch(sim, out_dir, jobs: int = 2, timeout: float | None = 600):
    """A ``run_batch`` for :func:`until_closure`: ``runner.run_test`` in ``jobs`` threads,
    run directories OUT/runs/MODE/TEST/SEED."""
    from redmule_verif.sim.runner import run_test

    out_dir = pathlib.Path(out_dir)

    def one(spec):
        d = out_dir / "runs" / spec.get("mode", "loop") / spec["test"] / str(spec["seed"])
        try:
            return run_test(sim, spec["test"], spec["seed"], d, knobs=spec["knobs"], timeout=timeout)
        except Exception as e:  # noqa: BLE001 - a broken run is a record
            return {"status": "error", "message": f"{type(e).__name__}: {e}", "dir": str(d), "sim_cycles": 0}

    def run_batch(specs):
        with cf.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
            return list(ex.map(one, specs))

    return run_batch


# =========================================================================== command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``redmule-verif coverage DIR`` (report), or with --until-closure the closure loop into DIR.

    Registered under a subcommand named ``closure-loop`` (CLI ``HOOKS["closure-loop"] =
    ("redmule_verif.tools.closure.closure", ...)``), the same module gives the loop alone:
    ``redmule-verif closure-loop OUT --budget MIN``.
    """
    if str(getattr(parser, "prog", "")).split()[-1:] == ["closure-loop"]:
        parser.add_argument("dir", help="output directory of the loop (runs in DIR/runs/MODE/TEST/SEED)")
        parser.add_argument("--testplan", default=None, help="testplan YAML (default coverage/testplan.yaml)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        add_loop_arguments(parser)
        parser.set_defaults(until_closure=True)
        return
    parser.add_argument("dir", help="directory of runs (any depth: every coverage.json / coverage.dat), "
                        "or with --until-closure the output directory of the loop")
    parser.add_argument("--testplan", default=None, help="testplan YAML (default coverage/testplan.yaml)")
    parser.add_argument("--holes", type=int, default=5, help="holes listed per testpoint (default 5)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-code", action="store_true", help="skip code coverage (coverage.dat)")
    parser.add_argument("--include-harness", action="store_true",
                        help="keep the environment's harness (redmule_harness.sv) in code coverage")
    loop = parser.add_argument_group("closure loop")
    add_loop_arguments(loop)


def add_loop_arguments(parser) -> None:
    parser.add_argument("--until-closure", action="store_true",
                        help="run tests aimed at open bins until the testplan is closed or the budget is spent")
    parser.add_argument("--budget", type=float, default=10.0, metavar="MINUTES",
                        help="wall-clock budget of the targeted loop (default 10); the unbiased comparison "
                        "gets the same again")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="parallel runs (default 2)")
    parser.add_argument("--batch", type=int, default=None, help="runs per batch (default: -j)")
    parser.add_argument("--seed", type=int, default=1, help="base seed of the loop (default 1)")
    parser.add_argument("--tests", default=None, help="comma-separated tests the loop may run (default all)")
    parser.add_argument("--no-compare", action="store_true", help="skip the unbiased comparison")
    parser.add_argument("--max-runs", type=int, default=None, help="also stop after this many runs")
    parser.add_argument("--pack-cycles", type=int, default=40000,
                        help="pack small targets into one directed run of at most this many estimated cycles "
                        "(default 40000; 0: one run per target)")
    parser.add_argument("--run-timeout", type=float, default=600, help="wall-clock limit per run (s)")
    parser.add_argument("--code-coverage", action="store_true",
                        help="loop on a build with Verilator line/toggle coverage (slower)")


def _sim_for(args, coverage: bool = False):
    try:
        from redmule_verif import cli
    except ImportError:  # pragma: no cover - the CLI arrives with the regression issue
        cli = None
    from redmule_verif.sim.build import build

    if cli is not None and hasattr(cli, "dut_config"):
        cfg = cli.dut_config(args)
        if coverage:
            cfg = cfg.with_(coverage=True)
        return build(cfg, getattr(args, "build_dir", None))
    from redmule_verif.tools.shrink.shrink import sim_from_args

    return sim_from_args(args, coverage=coverage)


def loop_main(args) -> int:
    """The closure loop as a command: 0 closed, 1 not closed within the budget, 2 usage/build error."""
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig

    out = pathlib.Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    tests = [t.strip() for t in args.tests.split(",")] if args.tests else known_tests()
    unknown = [t for t in tests if t not in known_tests()]
    if unknown:
        print(f"error: unknown test(s) {unknown}", file=sys.stderr)
        return 2
    try:
        sim = _sim_for(args, coverage=args.code_coverage)
    except Exception as e:  # noqa: BLE001 - build / usage errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    params = sim.config.params
    eng = EngineConfig.from_params(params)
    mem = MemoryConfig(base=int(params.get("MEM_BASE", 0x1000_0000)), size=4 * int(params.get("MEM_WORDS", 32768)))
    batch = args.batch or args.jobs
    rep = until_closure(thread_pool_batch(sim, out, args.jobs, args.run_timeout), args.budget * 60,
                        testplan=args.testplan, tests=tests, eng=eng, mem=mem, workdir=out, seed=args.seed,
                        batch_size=batch, compare=not args.no_compare, max_runs=args.max_runs,
                        pack_cycles=args.pack_cycles,
                        log=(lambda s: None) if args.json else (lambda s: print(s, flush=True)))
    (out / "closure_loop.json").write_text(json.dumps(rep, indent=1, default=str))
    if args.json:
        print(json.dumps(rep, indent=1, default=str))
    else:
        print(format_loop(rep))
        print(f"details: {out / 'closure_loop.json'}; merged report: redmule-verif coverage {out}")
    return 0 if rep["targeted"]["closed"] else 1


def main(args) -> int:
    if getattr(args, "until_closure", False):
        return loop_main(args)
    root = pathlib.Path(args.dir)
    if not root.exists():
        print(f"error: {root}: no such directory", file=sys.stderr)
        return 2
    try:
        res = coverage_report(root, testplan=args.testplan, code=not args.no_code,
                              exclude=() if args.include_harness else ("redmule_harness.sv",))
    except Exception as e:  # noqa: BLE001 - unreadable coverage / testplan file
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: v for k, v in res.items() if k != "_db"}, indent=1, default=str))
    else:
        print(format_report(res, args.holes))
    if res["functional"] is None and not res.get("code"):
        print(f"error: no coverage.json or coverage.dat under {root}", file=sys.stderr)
        return 2
    return 1 if res["problems"] else 0


def _standalone(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.tools.closure.closure", description=__doc__.split("\n\n")[0])
    try:
        from redmule_verif.cli import add_dut_options

        add_dut_options(ap)
    except ImportError:  # pragma: no cover
        from redmule_verif.tools.shrink.shrink import add_common_arguments

        add_common_arguments(ap)
    add_arguments(ap)
    return main(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(_standalone())
