"""Closure targets: which runs close open testplan bins, and how a target's knobs become a run.

:func:`plan_runs` ranks the runs aimed at open bins (each testplan target names
a test and knobs), most holes first, then plain runs of every test.
:func:`realize_run` turns a target into a run that does what its knobs say:
knobs that the test's sequence reads are passed on; knobs that are GemmJob
fields (``fmt``, ``m``, ``data``, ``class_weights``, ``grant``, ``control`` ...)
or ``n_jobs`` are applied to the sequence's jobs outside simulation and the
result is replayed by the ``directed`` test from a job file (buffers re-placed
when the sizes change).
"""

from __future__ import annotations

import copy
import hashlib
import json
import pathlib
import random
from typing import Mapping

from redmule_verif.coverage.covergroup import CoverageDB
from redmule_verif.coverage.redmule_cov import RedmuleCoverage
from redmule_verif.coverage.testplan import closure, load_testplan, next_runs
from redmule_verif.env.testlist import all_tests
from redmule_verif.sequences.items.job import (CLASS_DRAWN, ControlEvent, EngineConfig, GrantProfile, MemoryConfig,
                                               check_job_list, dump_jobs, groups)
from redmule_verif.sequences.library import DIRECTED_DIR, SEQUENCES, SeqContext
from redmule_verif.sequences.randomize import Allocator
from redmule_verif.sim.paths import COVERAGE_DIR, out_dir
from redmule_verif.tools.closure.report import find_coverage_json, merge_runs

#: knobs a closure loop may apply to every job of a sequence (GemmJob fields)
JOB_FIELDS = ("op", "fmt", "m", "n", "k", "data", "class_weights", "launch", "grant", "control", "core")


def is_sequence(test: str) -> bool:
    return test in SEQUENCES


def as_db(merged_db, eng=None):
    if merged_db is None:
        return RedmuleCoverage(eng or EngineConfig()).db
    if isinstance(merged_db, RedmuleCoverage):
        return merged_db.db
    if isinstance(merged_db, CoverageDB):
        return merged_db
    return merge_runs(find_coverage_json(merged_db))


def run_key(test, knobs) -> str:
    return test + " " + json.dumps(knobs or {}, sort_keys=True, default=str)


def plan_runs(testplan, merged_db, tests, rng: random.Random, tried: Mapping[str, int] | None = None,
              eng=None, max_tries: int = 3) -> list[tuple[str, dict]]:
    """Runs in the order a closure loop should make them: [(test, knobs)].

    First the testplan targets aimed at open bins (most holes first; among equals
    the ones tried fewer times first, then in ``rng`` order), then one plain run of
    every test (``{}`` knobs, in ``rng`` order), then the targets already tried
    ``max_tries`` times without closing their bins (a hole no run reaches must not
    starve the others). Only tests in ``tests``. ``tried`` maps
    ``run_key(test, knobs)`` to how often that run was made.
    """
    tp = testplan if isinstance(testplan, Mapping) else load_testplan(testplan)
    tests = list(tests)
    allowed = set(tests)
    db = as_db(merged_db, eng)
    res = closure(tp, db)
    tried = tried or {}
    targeted = [r for r in next_runs(res) if r["test"] in allowed]
    keyed = [((tried.get(run_key(r["test"], r["knobs"]), 0), -len(r["holes"]), rng.random()), r) for r in targeted]
    keyed.sort(key=lambda kv: kv[0])
    first = [(r["test"], copy.deepcopy(dict(r["knobs"]))) for k, r in keyed if k[0] < max_tries]
    demoted = [(r["test"], copy.deepcopy(dict(r["knobs"]))) for k, r in keyed if k[0] >= max_tries]
    seen = {run_key(t, k) for t, k in first + demoted}
    rest = list(tests)
    rng.shuffle(rest)
    plain = [(t, {}) for t in rest if run_key(t, {}) not in seen]
    return first + plain + demoted


# =========================================================================== realizing a target


def subst(v):
    if isinstance(v, str):
        return v.replace("{coverage_dir}", str(COVERAGE_DIR)).replace("{directed_dir}", str(DIRECTED_DIR))
    if isinstance(v, list):
        return [subst(x) for x in v]
    if isinstance(v, dict):
        return {k: subst(x) for k, x in v.items()}
    return v


def _override_job(job, ov: Mapping):
    """One job with the GemmJob-field overrides applied (explicit data dropped when it no longer fits)."""
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
    eng = eng or EngineConfig()
    mem = mem or MemoryConfig()
    knobs = subst(dict(knobs or {}))
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


def job_file(jobs, workdir, stem: str, key) -> pathlib.Path:
    wd = pathlib.Path(workdir) if workdir else out_dir("closure", "jobs")
    wd.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return dump_jobs(jobs, wd / f"{stem}_{tag}.yaml")


def realize_run(test: str, knobs: Mapping | None, seed: int, eng=None, mem=None, workdir=None) -> tuple[str, dict, str]:
    """(test, knobs, note) of one run that does what a testplan target's knobs ask
    (see :func:`target_jobs`): the test itself with its own knobs, or, when job fields
    were overridden, ``directed`` with a job file written to ``workdir``."""
    knobs = subst(dict(knobs or {}))
    if test == "directed" and "file" in knobs:
        return test, knobs, ""
    if not is_sequence(test) and test in all_tests():
        return test, knobs, ""  # a test that is not a library sequence: its knobs are its own
    jobs, plan, note = target_jobs(test, knobs, seed, eng, mem)
    if not plan["overrides"]:
        if test == "directed":
            return plan["base_test"], {**plan["base_knobs"], **plan["env_knobs"]}, note
        return test, {**plan["seq_knobs"], **plan["env_knobs"]}, note
    path = job_file(jobs, workdir, f"{test}_{seed}", [test, knobs, seed])
    return "directed", {**plan["env_knobs"], "file": str(path)}, note
