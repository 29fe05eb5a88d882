"""redmule_verif.tools.shrink.shrink: a failing seed becomes a minimal failing directed job.

The end-to-end case builds the project's RTL with one injected arithmetic bug
(the min/max unit orders -0 and +0 as equal, so only min/max jobs that compare
signed zeros fail), runs a three-job list whose middle job has signed zeros,
and checks that the shrinker finds that job, makes it smaller, keeps the
failure signature, and writes a job file that replays the failure. The other
cases drive the algorithm with a simulated "simulator" (no build) so that
every path (job named or not, prefix needed, budget) is checked in
milliseconds.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

from redmule_verif.tools.shrink.failure import failing_element, failing_job_index, failure_signature
from redmule_verif.tools.shrink.shrinker import shrink
from redmule_verif.tools.shrink.surgery import crop, lighter_grant, materialize, plain_values
from redmule_verif.sequences.items.job import GemmJob, GrantProfile, dump_jobs, format_job, load_jobs

B = 0x1000_0000
REPO = pathlib.Path(__file__).resolve().parents[2]


def _jobs():
    return [
        GemmJob("MINMAX", "FP16", 5, 6, 7, B, B + 0x100, B + 0x200, core=1, data_seed=1, data="small_ints"),
        GemmJob("MINMAX", "FP16", 9, 7, 11, B + 0x400, B + 0x600, B + 0x800, core=2, data_seed=2, data="specials",
                class_weights={"+zero": 1, "-zero": 1, "+norm": 1, "-norm": 1},
                grant=GrantProfile("random", p=0.5, seed=5)),
        GemmJob("MINMAX", "FP16", 4, 4, 4, B + 0xC00, B + 0xD00, B + 0xE00, core=3, data_seed=3, data="small_ints"),
    ]


# --------------------------------------------------------------------------- pure helpers


def test_failure_signature_normalises_what_changes_between_seeds():
    a = {"status": "fail", "first_errors": [
        "[uvm.x.scoreboard1234] Z MISMATCH in job #3 id=3 core=2 GEMM FP16 M=12 N=5 K=7 X@0x10000000 "
        "W@0x10000100 Z@0x10000200 (seed 9): 5 of 84 elements differ\n  z[1][2]: ..."]}
    b = {"status": "fail", "first_errors": [
        "[uvm.x.scoreboard99] Z MISMATCH in job #0 id=0 core=0 GEMM FP16 M=1 N=1 K=1 X@0x10000400 "
        "W@0x10000600 Z@0x10000800 (seed 1): 1 of 1 elements differ"]}
    c = json.loads(json.dumps(b).replace("GEMM FP16", "GEMM FP8"))
    assert failure_signature(a) == failure_signature(b) != failure_signature(c)
    assert failure_signature({"status": "pass"}) == ""
    assert failing_job_index(a) == 3 and failing_element(a) == (1, 2)
    assert failing_job_index({"status": "fail", "first_errors": ["PROTOCOL RQ-3 violated in cycle 7"]}) is None


def test_materialize_and_crop_keep_the_values():
    j = _jobs()[1]
    m = materialize(j)
    x, w, y = j.make_data()
    assert np.array_equal(m.x, x) and np.array_equal(m.w, w) and np.array_equal(m.y, y)
    c = crop(m, rows=[2], reds=[0, 3], cols=[5])
    assert (c.m, c.n, c.k) == (1, 2, 1)
    assert c.x[0, 1] == x[2, 3] and c.w[1, 0] == w[3, 5] and c.y[0, 0] == y[2, 5]
    p = plain_values(c)
    assert all(v in (0x3C00,) or (v & 0x7C00) not in (0, 0x7C00) for v in np.concatenate([p.x.ravel(), p.w.ravel()]))
    assert lighter_grant(GrantProfile("random", p=0.5)).p == 0.75
    assert lighter_grant(GrantProfile("always")) is None


# --------------------------------------------------------------------------- algorithm, simulated DUT


class FakeSim:
    """Stands for a build: the shrinker only reads its parameters."""

    class config:
        params = {"L": 4, "H": 2, "P": 1, "N_CORES": 8, "MEM_BASE": B, "MEM_WORDS": 4096}


def _fake_runner(named=True, needs_previous=False):
    """A 'simulator' whose DUT fails a MINMAX FP16 job when X holds -0 and W holds +0 (any place)."""
    calls = []

    def run(sim, test, seed, out_dir, knobs=None, timeout=None):
        jobs = load_jobs(knobs["file"])
        calls.append(jobs)
        for i, j in enumerate(jobs):
            x, w, _ = j.make_data()
            if j.op == "MINMAX" and (x == 0x8000).any() and (w == 0).any() and (not needs_previous or i > 0):
                r = int(np.argwhere(x == 0x8000)[0][0])
                head = (f"Z MISMATCH in job #{i} id={i} core={j.core} {j.op} {j.fmt} M={j.m} N={j.n} K={j.k} "
                        f"X@{j.x_base:#x} W@{j.w_base:#x} Z@{j.z_base:#x} (seed {seed}): 1 of {j.m * j.k} "
                        f"elements differ\n  z[{r}][0]: expected 0x8000 (-zero) actual 0x0000 (+zero): sign")
                if not named:
                    head = f"PROTOCOL RQ-3 violated in cycle {100 + i}: add changed"
                return {"status": "fail", "message": "directed: 1 error(s) logged", "first_errors": [head],
                        "dir": str(out_dir), "wall_s": 0.1, "summary": {"jobs": len(jobs)}}
        return {"status": "pass", "message": "", "first_errors": [], "dir": str(out_dir), "wall_s": 0.1,
                "summary": {"jobs": len(jobs)}}

    return run, calls


@pytest.mark.parametrize("named", [True, False])
def test_shrink_algorithm_on_a_simulated_bug(tmp_path, named):
    src = dump_jobs(_jobs(), tmp_path / "orig.yaml")
    run, calls = _fake_runner(named=named)
    res = shrink(FakeSim, "directed", 1, {"file": str(src)}, budget_runs=40, out_dir=tmp_path / "w",
                     output=tmp_path / "min.yaml", log=None, run_fn=run)
    assert res.reproduced and res.culprit_index == 1
    assert len(res.jobs) == 1 and res.shrunk
    j = res.jobs[0]
    assert j.launch == "serial" and j.grant.kind == "always" and j.control == []
    assert j.m * j.n * j.k < 9 * 7 * 11
    assert res.runs <= 40 and res.runs == len(calls)
    # the written file replays the failure, and says how to run it
    again = run(None, "directed", 1, tmp_path / "again", knobs={"file": str(res.path)})
    assert failure_signature(again) == res.signature
    assert "redmule-verif run directed --seed 1 --knobs" in res.repro and str(res.path) in res.repro
    assert res.yaml.startswith("# Directed test from")
    report = res.report()
    assert "tried:" in report and "KEPT" in report and "job #1" in report


def test_shrink_keeps_the_prefix_when_the_failure_needs_it(tmp_path):
    src = dump_jobs(_jobs(), tmp_path / "orig.yaml")
    run, _ = _fake_runner(needs_previous=True)
    res = shrink(FakeSim, "directed", 1, {"file": str(src)}, budget_runs=30, out_dir=tmp_path / "w",
                     output=tmp_path / "min.yaml", log=None, run_fn=run)
    assert res.reproduced and len(res.jobs) == 2
    assert [a.step for a in res.attempts][:2] == ["one-job", "prefix"]
    assert res.jobs[1].m * res.jobs[1].n * res.jobs[1].k < 9 * 7 * 11


def test_budget_bounds_the_runs_and_a_passing_seed_is_reported(tmp_path):
    src = dump_jobs(_jobs(), tmp_path / "orig.yaml")
    run, calls = _fake_runner()
    res = shrink(FakeSim, "directed", 1, {"file": str(src)}, budget_runs=3, out_dir=tmp_path / "w",
                     output=tmp_path / "min.yaml", log=None, run_fn=run)
    assert res.runs == 3 == len(calls) and res.path.exists()
    ok = dump_jobs([_jobs()[0]], tmp_path / "ok.yaml")
    res = shrink(FakeSim, "directed", 1, {"file": str(ok)}, out_dir=tmp_path / "w2", log=None, run_fn=run)
    assert not res.reproduced and res.path is None and "does not fail" in res.report()


# --------------------------------------------------------------------------- real DUT, injected bug


def _buggy_rtl(dst: pathlib.Path) -> pathlib.Path:
    """A copy of rtl/ whose FP16 min/max treats -0 and +0 as equal (signed-zero ordering lost)."""
    shutil.copytree(REPO / "rtl", dst)
    f = dst / "redmule_fp16_minmax.sv"
    text = f.read_text()
    old = "a_lt_b = a_i[15];"
    assert text.count(old) == 1, "the min/max RTL changed: update the injected bug"
    f.write_text(text.replace(old, "a_lt_b = a_i[15] & ((|a_i[14:0]) | (|b_i[14:0]));  // injected bug"))
    return dst / "redmule.f"


def test_shrink_injected_minmax_bug(tmp_path, build_root):
    from redmule_verif.sim.build import build
    from redmule_verif.sim.runner import env_config, run_test

    rtl = _buggy_rtl(tmp_path / "rtl")
    sim = build(env_config([rtl], parameters={"L": 4, "H": 2, "P": 1}, mem_words=4096), build_root)
    src = dump_jobs(_jobs(), tmp_path / "orig.yaml")
    res = shrink(sim, "directed", 1, {"file": str(src)}, budget_runs=9, out_dir=tmp_path / "work",
                     output=tmp_path / "shrunk.yaml", log=None, timeout=120)
    first = res.first_record
    assert res.reproduced, first
    assert "MISMATCH" in res.signature and "MINMAX FP16" in res.signature, res.signature
    assert res.culprit_index == 1, res.report()
    assert res.runs <= 9
    assert len(res.jobs) == 1 and res.shrunk, res.report()
    j = res.jobs[0]
    assert j.op == "MINMAX" and j.m * j.n * j.k < 9 * 7 * 11, format_job(j)
    assert j.grant.kind == "always" and j.class_weights is None
    # the directed test written replays the same failure
    again = run_test(sim, "directed", 1, tmp_path / "replay", knobs={"file": str(res.path)}, timeout=120)
    assert again["status"] == "fail"
    assert failure_signature(again) == res.signature
