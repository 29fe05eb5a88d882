"""redmule_verif.tools.closure (report, targets, loop, codecov) and the coverage command: coverage merge, testplan checks, lcov, run planning.

Functional coverage files are made with the coverage model's API (no
simulator); the code-coverage case builds the small fixture DUT with Verilator
line/toggle coverage and runs it twice.
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import random


from redmule_verif.cli import coverage as coverage_cmd
from redmule_verif.env.testlist import all_tests
from redmule_verif.tools.closure import codecov
from redmule_verif.tools.closure.loop import format_loop, until_closure
from redmule_verif.tools.closure.report import coverage_report, find_coverage_json
from redmule_verif.tools.closure.targets import plan_runs, realize_run, run_key
from redmule_verif.coverage.covergroup import CoverageDB
from redmule_verif.coverage.redmule_cov import RedmuleCoverage
from redmule_verif.coverage.testplan import load_testplan
from redmule_verif.sequences.items.job import EngineConfig, load_jobs

HERE = pathlib.Path(__file__).parent
ENG = EngineConfig()


def _every_group_sampled(cov: RedmuleCoverage) -> None:
    for g in cov.db:
        g.samples += 1


def _save(cov, d: pathlib.Path, test="random_jobs", seed=1) -> pathlib.Path:
    d.mkdir(parents=True, exist_ok=True)
    return pathlib.Path(cov.save(d / "coverage.json", run={"test": test, "seed": seed}))


def _hit(db, ref: str, n: int = 1) -> None:
    for full in db.resolve(ref):
        cg, rest = full.split(".", 1)
        item, b = rest.split("/", 1)
        db[cg][item].hits[b] += n


def _args(d, **kw) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    coverage_cmd.add_arguments(ap)
    ns = ap.parse_args([str(d)])
    for k, v in kw.items():
        setattr(ns, k, v)
    return ns


# --------------------------------------------------------------------------- functional merge and checks


def test_merge_of_two_runs_adds_counts(tmp_path):
    a, b = RedmuleCoverage(ENG), RedmuleCoverage(ENG)
    a.sample_grant("always", "GEMM")
    a.sample_grant("always", "GEMM")
    b.sample_grant("always", "GEMM")
    b.sample_grant("random", "MATMUL")
    _save(a, tmp_path / "runs" / "random_jobs" / "1", seed=1)
    _save(b, tmp_path / "runs" / "grant_profiles" / "2", test="grant_profiles", seed=2)
    res = coverage_report(tmp_path, code=False)
    db = res["_db"]
    assert res["coverage_files"] == 2
    assert db["grant"]["profile_x_op"].hits["always/GEMM"] == 3
    assert db["grant"]["profile_x_op"].hits["random/MATMUL"] == 1
    assert db["grant"].samples == 4
    assert len(db.meta["runs"]) == 2
    assert (tmp_path / "coverage_merged.json").exists() and (tmp_path / "closure.json").exists()
    # a rerun nested in a run directory (regress: RUN/waves/) is not counted twice
    _save(a, tmp_path / "runs" / "random_jobs" / "1" / "waves", seed=1)
    assert len(find_coverage_json(tmp_path)) == 2
    merged = CoverageDB.load(tmp_path / "coverage_merged.json")
    assert merged["grant"]["profile_x_op"].hits["always/GEMM"] == 3
    # most covergroups were never sampled by these two runs: the command says so and fails
    assert any("never sampled" in p for p in res["problems"])
    assert coverage_cmd.main(_args(tmp_path, no_code=True)) == 1


def test_clean_coverage_and_testplan_pass_and_each_error_fails(tmp_path, capsys):
    cov = RedmuleCoverage(ENG)
    _every_group_sampled(cov)
    _save(cov, tmp_path / "ok")
    assert coverage_cmd.main(_args(tmp_path / "ok", no_code=True)) == 0
    out = capsys.readouterr().out
    assert "testplan closure" in out and "PROBLEMS" not in out

    tp = load_testplan()

    def check(mutate, expect):
        bad = copy.deepcopy(tp)
        mutate(bad)
        p = tmp_path / f"tp_{expect.split()[0]}.yaml"
        import yaml

        p.write_text(yaml.safe_dump({k: v for k, v in bad.items() if not k.startswith("_")}, sort_keys=False))
        rc = coverage_cmd.main(_args(tmp_path / "ok", no_code=True, testplan=str(p)))
        text = capsys.readouterr().out
        assert rc == 1, text
        assert expect in text, text

    check(lambda t: t["testpoints"][0]["tests"].append("no_such_test"), "unknown test 'no_such_test'")
    check(lambda t: t["testpoints"][0]["coverage"].append("job.op_x_fmt/NOPE/*"), "unknown bin 'NOPE/*'")
    check(lambda t: t["testpoints"][0]["coverage"].append("nogroup.x"), "unknown covergroup 'nogroup'")

    unsampled = RedmuleCoverage(ENG)
    _every_group_sampled(unsampled)
    unsampled.db["control"].samples = 0
    _save(unsampled, tmp_path / "unsampled")
    assert coverage_cmd.main(_args(tmp_path / "unsampled", no_code=True)) == 1
    assert "covergroup 'control' is declared but never sampled" in capsys.readouterr().out

    (tmp_path / "empty").mkdir()
    assert coverage_cmd.main(_args(tmp_path / "empty", no_code=True)) == 2


# --------------------------------------------------------------------------- planning and the loop


def _all_hit_but(ref: str | None):
    cov = RedmuleCoverage(ENG)
    for g in cov.db:
        for it in g.items().values():
            for b in it.bin_names:
                it.hits[b] = it.at_least
    if ref:
        for full in cov.db.resolve(ref):
            cg, rest = full.split(".", 1)
            item, b = rest.split("/", 1)
            cov.db[cg][item].hits[b] = 0
    return cov.db


def test_plan_runs_puts_the_runs_aimed_at_open_bins_first():
    tests = sorted(all_tests())
    db = _all_hit_but("zero_job.reason")
    plan = plan_runs(None, db, tests, random.Random(3))
    assert plan[0][0] == "zero_dim", plan[:3]
    # then plain runs of every test, each once
    plain = [t for t, k in plan if k == {}]
    assert sorted(set(plain)) == sorted(tests)
    db2 = _all_hit_but("control.kind_x_phase/reset/*")
    plan2 = plan_runs(None, db2, tests, random.Random(3))
    assert plan2[0][0] == "reset_mid_job", plan2[:3]
    # nothing open: only plain runs, in rng order, deterministic in the rng
    full = _all_hit_but(None)
    p1 = plan_runs(None, full, tests, random.Random(5))
    assert p1 == plan_runs(None, full, tests, random.Random(5))
    assert all(k == {} for _, k in p1)
    # a target tried max_tries times without closing its bins goes behind the plain runs
    tried = {run_key(*plan[0]): 3}
    again = plan_runs(None, db, tests, random.Random(3), tried=tried)
    assert again[0] != plan[0] and again[-1] == plan[0]


def test_realize_run_applies_job_field_knobs_through_a_job_file(tmp_path):
    t, k, note = realize_run("ops_formats", {"ops": ["GEMM"], "fmts": ["FP8"]}, 4, workdir=tmp_path)
    assert (t, k) == ("ops_formats", {"ops": ["GEMM"], "fmts": ["FP8"]})  # the sequence's own knobs
    t, k, note = realize_run("remainders", {"fmt": "FP8ALT", "data": "specials"}, 4, workdir=tmp_path)
    assert t == "directed" and pathlib.Path(k["file"]).exists(), note
    jobs = load_jobs(k["file"])
    assert jobs and all(j.fmt == "FP8ALT" and j.data == "specials" for j in jobs)
    t, k, note = realize_run("zero_dim", {"n_jobs": 30}, 4, workdir=tmp_path)
    assert t == "directed" and len(load_jobs(k["file"])) == 30
    t, k, _ = realize_run("directed", {"file": "{coverage_dir}/closure_witnesses.yaml"}, 4)
    assert t == "directed" and pathlib.Path(k["file"]).exists()
    t, k, _ = realize_run("directed", {"m": 13}, 4, workdir=tmp_path)
    assert t == "directed" and all(j.m == 13 or j.is_noop for j in load_jobs(k["file"]))


def test_until_closure_stops_when_closed_and_compares_with_unbiased_runs(tmp_path):
    tp = {"name": "mini", "testpoints": [
        {"name": "zeros", "desc": "d", "spec": "3", "tests": ["zero_dim"], "coverage": ["zero_job.reason"]},
        {"name": "queue", "desc": "d", "spec": "3", "tests": ["queued_contexts"], "coverage": ["queue.depth"]},
        {"name": "ctl", "desc": "d", "spec": "3", "tests": ["soft_clear"],
         "coverage": ["control.kind_x_phase/soft_clear/*"],
         "targets": [{"bins": "control.kind_x_phase/soft_clear/*", "test": "soft_clear", "knobs": {"count": 1}}]},
    ]}
    hits = {"zero_dim": "zero_job.reason", "queued_contexts": "queue.depth",
            "soft_clear": "control.kind_x_phase/soft_clear/*"}
    clock = {"t": 0.0}
    seen = []

    def run_batch(specs):
        clock["t"] += 1.0
        out = []
        for s in specs:
            seen.append(s)
            cov = RedmuleCoverage(ENG)
            for tg in s["targets"]:
                if tg["test"] in hits:
                    _hit(cov.db, hits[tg["test"]])
            d = tmp_path / "runs" / s["mode"] / s["test"] / str(s["seed"])
            _save(cov, d, s["test"], s["seed"])
            out.append({"status": "pass", "sim_cycles": 1000, "dir": str(d)})
        return out

    rep = until_closure(run_batch, 100.0, testplan=tp, tests=sorted(all_tests()), workdir=tmp_path, seed=2,
                            batch_size=2, log=None, clock=lambda: clock["t"], pack_cycles=0)
    tg = rep["targeted"]
    assert tg["closed"] and tg["cycles_to_closure"] == tg["cycles"] <= 4000, tg["history"]
    assert tg["runs"] <= 4
    assert {s["target"]["test"] for s in seen if s["mode"] == "targeted"} >= set(hits)
    ub = rep["unbiased"]
    assert ub["wall_s"] <= tg["wall_s"] + 1.0 and ub["runs"] >= 1
    assert rep["comparison"]["targeted_cycles_to_level"] is not None
    text = format_loop(rep)
    assert "targeted" in text and "unbiased" in text and "CLOSED" in text


# --------------------------------------------------------------------------- code coverage


def test_parse_dat_and_lcov_of_synthetic_points(tmp_path):
    def key(**kv):
        return "".join(f"\x01{k}\x02{v}" for k, v in kv.items())

    pts = {
        key(f="/a.sv", l=3, n=1, t="line", page="v_line/a", o="block", S="3-4", h="top.a"): 2,
        key(f="/a.sv", l=5, n=1, t="branch", page="v_branch/a", o="if", S="5", h="top.a"): 0,
        key(f="/a.sv", l=5, n=2, t="branch", page="v_branch/a", o="else", h="top.a"): 4,
        key(f="/a.sv", l=1, n=9, t="toggle", page="v_toggle/a", o="q:0->1", h="top.a"): 1,
        key(f="/a.sv", l=1, n=9, t="toggle", page="v_toggle/a", o="q:1->0", h="top.a"): 0,
        key(f="/a.sv", l=1, n=9, t="toggle", page="v_toggle/a", o="q:1->0", h="top.b"): 3,
    }
    for i in (1, 2):
        codecov.write_dat(pts, tmp_path / f"r{i}" / "coverage.dat")
    merged = codecov.merge_dat(codecov.find_dat(tmp_path))
    assert sorted(merged.values()) == [0, 0, 2, 4, 6, 8]
    files = codecov.per_file(merged)
    fa = files["/a.sv"]
    assert fa.lines == {3: {("line", "3", "1", "block", "3-4"): 4}, 4: {("line", "3", "1", "block", "3-4"): 4},
                        5: {("branch", "5", "1", "if", "5"): 0, ("branch", "5", "2", "else", ""): 8}}
    assert (fa.lf, fa.lh) == (3, 2)  # line 5 has a branch never taken
    assert (fa.tf, fa.th) == (2, 2)  # q:1->0 toggled in instance b: summed over instances
    rec = codecov.parse_lcov(codecov.lcov_text(files))["/a.sv"]
    assert rec["DA"] == {3: 4, 4: 4, 5: 0} and rec["LH"] == 2 and rec["BRF"] == 2 and rec["BRH"] == 2


def test_code_coverage_of_a_coverage_build_is_wellformed_lcov(tmp_path, build_root):
    from redmule_verif.sim.build import build
    from redmule_verif.sim.runner import env_config, run_test

    cfg = env_config([HERE.parent / "fixtures" / "fixture_dut.sv"], top="fixture_dut", mem_words=4096, coverage=True)
    sim = build(cfg, build_root)
    recs = []
    for seed in (1, 2):
        recs.append(run_test(sim, "fixture_jobs", seed=seed, out_dir=tmp_path / "runs" / "fixture_jobs" / str(seed),
                             knobs={"grant": "random" if seed == 1 else "always"}, timeout=120,
                             module="checks_tb", python_path=[HERE.parent / "env" / "checks"]))
    assert all(r["status"] == "pass" for r in recs), [r["message"] for r in recs]
    dats = codecov.find_dat(tmp_path)
    assert len(dats) == 2
    res = coverage_report(tmp_path)
    code = res["code"]
    assert code["runs"] == 2
    info = pathlib.Path(code["info"]).read_text()
    lcov = codecov.parse_lcov(info)  # strict: raises on a malformed record
    dut = [f for f in lcov if f.endswith("fixture_dut.sv")]
    assert dut and not any(f.endswith("redmule_harness.sv") for f in lcov)
    rec = lcov[dut[0]]
    assert rec["LF"] > 10 and 0 < rec["LH"] <= rec["LF"] and rec["BRF"] > 100 and 0 < rec["BRH"] < rec["BRF"]
    # merged counts are the sum of the two runs
    one = codecov.read_dat(dats[0])
    two = codecov.read_dat(dats[1])
    merged = codecov.read_dat(tmp_path / "coverage_merged.dat")
    k = next(k for k in one if "clk_i:0->1" in k)
    assert merged[k] == one[k] + two[k] > 0
    index = pathlib.Path(code["html"])
    assert index.exists() and "fixture_dut.sv" in index.read_text()
    assert len(list(index.parent.glob("f*.html"))) == len(lcov)
    summary = json.loads((tmp_path / "closure.json").read_text())
    assert summary["code"]["total"]["lines"] == sum(r["LF"] for r in lcov.values())
    assert res["coverage_files"] == 2 and res["_db"]["job"].samples >= 4


def test_until_closure_packs_small_targets_into_one_directed_run(tmp_path):
    tp = {"name": "mini", "testpoints": [
        {"name": "zeros", "desc": "d", "spec": "3", "tests": ["zero_dim"], "coverage": ["zero_job.reason"]},
        {"name": "ctl", "desc": "d", "spec": "3", "tests": ["soft_clear"],
         "coverage": ["control.kind_x_phase/soft_clear/*"]},
    ]}
    seen = []

    def run_batch(specs):
        seen.extend(specs)
        return [{"status": "pass", "sim_cycles": 10, "dir": str(tmp_path / "none")} for _ in specs]

    rep = until_closure(run_batch, 1e9, testplan=tp, tests=["zero_dim", "soft_clear"], workdir=tmp_path,
                            batch_size=1, max_runs=1, compare=False, log=None, pack_cycles=10**7)
    assert rep["targeted"]["runs"] == 1 and len(seen) == 1
    spec = seen[0]
    assert spec["test"] == "directed" and {t["test"] for t in spec["targets"]} == {"zero_dim", "soft_clear"}
    jobs = load_jobs(spec["knobs"]["file"])
    assert jobs[0].launch == "serial" and any(j.control for j in jobs) and any(j.is_noop for j in jobs)


def test_coverage_command_parser_has_the_loop():
    ns = _args("out")
    assert not ns.until_closure and ns.dir == "out"
    ap = argparse.ArgumentParser()
    coverage_cmd.add_arguments(ap)
    ns = ap.parse_args(["out", "--until-closure", "--budget", "3", "-j", "2"])
    assert ns.until_closure and ns.budget == 3 and ns.jobs == 2 and ns.dir == "out"
