"""Regressions on Slurm (``--launcher slurm``) against a real single-node cluster
(tests/tools/slurm_cluster.py), and the farm layer without one.

Without a cluster (always run): batch packing, the resume rule, the farm
launcher on the local twin of the engine (lost runs with the engine's reason).

Against the cluster (marker slurm; skipped without Slurm unless
REDMULE_REQUIRE_SLURM=1):
- a small suite on Slurm gives the same runs, statuses and trace hashes as locally;
- a task killed by the wall-time limit and one killed by scancel become error records with Slurm's reason;
- --resume after an interrupted Slurm regression completes it (the finished runs are not run again);
- a build failure stops before anything is submitted and says why.

The fault and resume tests run a stand-in runner (tests/tools/farm_fake_runner.py, through
REDMULE_TASK_RUNNER) so that they cost no CPU; the equality test runs the real simulator.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from redmule_verif.flow.farm import FarmLauncher, pack
from redmule_verif.flow.records import RunSpec
from redmule_verif.flow.resume import done_records

pytest_plugins = ["slurm_cluster"]

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCRIPT = pathlib.Path(sys.executable).parent / "redmule-verif"
FAKE = {"REDMULE_TASK_RUNNER": "farm_fake_runner:run", "REDMULE_TASK_PYTHONPATH": str(HERE)}


def _env(**extra):
    env = dict(os.environ, PYTHONSAFEPATH="1", **extra)
    env["PATH"] = str(SCRIPT.parent) + os.pathsep + env.get("PATH", "")
    return env


def _suite(tmp_path, entries, name="suite.yaml", seed=11):
    p = tmp_path / name
    p.write_text(json.dumps({"seed": seed, "timeout": 120, "tests": entries}))
    return p


def _results(out):
    return json.loads((pathlib.Path(out) / "results.json").read_text())


# --------------------------------------------------------------------------- without a cluster


def test_pack_balances_batches_and_keeps_order():
    specs = [RunSpec(i, "t", i, {}, 60, {}, pathlib.Path(f"/x/{i}")) for i in range(10)]
    cost = {i: c for i, c in enumerate([30, 1, 1, 1, 1, 1, 1, 1, 1, 2])}
    batches = pack(specs, lambda s: cost[s.index], 20)
    assert sorted(s.index for b in batches for s in b) == list(range(10))
    assert len(batches) == 2  # 40 s of work in tasks of ~20 s
    assert all([s.index for s in b] == sorted(s.index for s in b) for b in batches)
    assert [len(b) for b in pack(specs, lambda s: 1.0, 0)] == [1] * 10
    assert len(pack(specs, lambda s: 1.0, 1000)) == 1


def test_resume_keeps_final_records_only(tmp_path):
    specs = [RunSpec(i, "t", 100 + i, {}, 60, {}, tmp_path / "runs" / str(i)) for i in range(5)]
    prev = {"runs": [{"test": "t", "seed": 100, "status": "pass", "dir": str(specs[0].dir)},
                     {"test": "t", "seed": 101, "status": "error", "dir": str(specs[1].dir)},
                     {"test": "t", "seed": 102, "status": "interrupted", "dir": str(specs[2].dir)},
                     {"test": "t", "seed": 103, "status": "skipped", "dir": str(specs[3].dir)}]}
    # run 4 was written by its array task after the driver stopped: taken from its run directory
    specs[4].dir.mkdir(parents=True)
    (specs[4].dir / "run_record.json").write_text(json.dumps({"test": "t", "seed": 104, "status": "fail",
                                                              "knobs": {}}))
    kept = done_records(specs, prev)
    assert sorted(kept) == [0, 1, 4] and kept[4]["status"] == "fail"


def test_farm_on_the_local_engine_records_every_run(tmp_path):
    """The Slurm path (batch files, the task command, records in the run directories) with the engine's
    local twin: a run whose task dies is an error record with the engine's reason, never lost."""
    sys.path.insert(0, str(HERE))
    from farm_fake_runner import FakeSim

    specs = [RunSpec(i, "t", 100 + i, {"sleep": 0.1, **({"fail": 1} if i == 2 else {}),
                                       **({"die": 1} if i == 4 else {})}, 30, {}, tmp_path / "runs" / str(i))
             for i in range(6)]
    la = FarmLauncher(FakeSim(), tmp_path / "work", ["--cxx-opt", "O0"], engine="local-array", jobs=2, task_s=0.25,
                      estimates={"t": 0.1}, runner="farm_fake_runner:run", python_path=[str(HERE)])
    got, progress = {}, []
    assert la.launch(specs, lambda s, r: got.__setitem__(s.index, r), progress.append) is False
    assert sorted(got) == list(range(6))
    assert [got[i]["status"] for i in range(6)] == ["pass", "pass", "fail", "pass", "error", "pass"]
    lost = got[4]
    assert "ended FAILED: exit code 3" in lost["message"] and lost["launcher"]["state"] == "FAILED"
    assert lost["repro"].endswith("--cxx-opt O0")
    assert got[0]["launcher"]["engine"] == "local-array" and got[0]["trace_sha256"]
    assert progress[-1].done == 6 and progress[-1].failing == 2 and progress[-1].tasks == 3


# --------------------------------------------------------------------------- against the cluster


def _regress(args, cwd, env=None, timeout=900):
    return subprocess.run([str(SCRIPT), "regress", *args], cwd=cwd, env=env or _env(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slurm
def test_slurm_regression_equals_local(slurm_cluster, tmp_path):
    """A small suite on Slurm: same runs, statuses and transaction-trace hashes as locally; results.json,
    junit.xml and report.html as usual; the array tasks ran in Slurm."""
    suite = _suite(tmp_path, [{"test": "random_jobs", "seeds": 2, "knobs": {"count": 2}},
                              {"test": "zero_dim", "seeds": 1}, {"test": "reg_access", "seeds": 1}])
    common = ["--suite", str(suite), "--rerun-failures", "0", "--characterise", "0", "-j", "2"]
    t0 = time.monotonic()
    s = _regress([*common, "--launcher", "slurm", "--slurm-poll", "0.5", "--task-seconds", "10",
                  "--out", str(tmp_path / "slurm")], tmp_path)
    t_slurm = time.monotonic() - t0
    assert s.returncode == 0, s.stdout[-4000:] + s.stderr[-3000:]
    loc = _regress([*common, "--out", str(tmp_path / "local")], tmp_path)
    assert loc.returncode == 0, loc.stdout[-4000:] + loc.stderr[-3000:]
    rs, rl = _results(tmp_path / "slurm"), _results(tmp_path / "local")

    def answers(res):
        return [(r["test"], r["seed"], r["status"], r["trace_sha256"], r["sim_cycles"], r["jobs_checked"])
                for r in res["runs"]]

    assert answers(rs) == answers(rl)
    assert all(r["trace_sha256"] for r in rs["runs"]) and len(rs["runs"]) == 4
    assert all((r.get("launcher") or {}).get("slurm_job") for r in rs["runs"]), rs["runs"]
    assert "submitted 4 runs as" in s.stdout and "running" in s.stdout
    ET.parse(tmp_path / "slurm" / "junit.xml")
    assert (tmp_path / "slurm" / "report.html").exists()
    assert slurm_cluster.jobs() == []
    print(f"slurm regression of 4 runs: {t_slurm:.1f} s")


@pytest.mark.slurm
def test_slurm_walltime_and_scancel_are_error_records(slurm_cluster, tmp_path):
    """One run per task, --time 1: a run that never ends is killed by Slurm's time limit, one is scancelled
    from outside; both are error records with Slurm's reason; the third passes."""
    suite = _suite(tmp_path, [{"test": "zero_dim", "seeds": 1, "env": {"FAKE": "hang"}},
                              {"test": "reg_access", "seeds": 1, "env": {"FAKE": "hang"}},
                              {"test": "random_jobs", "seeds": 1, "env": {"FAKE_SLEEP": "1"}}])
    out = tmp_path / "out"
    p = subprocess.Popen([str(SCRIPT), "regress", "--suite", str(suite), "--launcher", "slurm", "--time", "1",
                          "--task-seconds", "0", "--slurm-poll", "0.5", "--rerun-failures", "0",
                          "--characterise", "0", "--out", str(out)], cwd=tmp_path, env=_env(**FAKE),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        manifest = out / "slurm" / "launcher.json"
        deadline = time.monotonic() + 120
        victim = None
        while time.monotonic() < deadline and victim is None:
            time.sleep(0.5)
            try:
                m = json.loads(manifest.read_text())
            except (OSError, ValueError):
                continue
            job = m["tasks"]["1"]["job"]
            r = slurm_cluster.run(["squeue", "-h", "-j", f"{job}_1", "-o", "%T"], check=False)
            if r.stdout.strip() == "RUNNING":
                victim = f"{job}_1"
        assert victim, "task 1 never ran"
        slurm_cluster.run(["scancel", victim])
        text, _ = p.communicate(timeout=240)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 1, text[-4000:]
    runs = {r["test"]: r for r in _results(out)["runs"]}
    to, cancelled, ok = runs["zero_dim"], runs["reg_access"], runs["random_jobs"]
    assert to["status"] == "error" and "TIMEOUT: DUE TO TIME LIMIT" in to["message"], to
    assert to["launcher"]["state"] == "TIMEOUT"
    assert cancelled["status"] == "error" and "CANCELLED at" in cancelled["message"], cancelled
    assert "scancel by a user or an administrator" in cancelled["message"]
    assert ok["status"] == "pass"
    assert to["signature"] != cancelled["signature"]
    assert slurm_cluster.jobs() == []


@pytest.mark.slurm
def test_slurm_resume_completes_an_interrupted_regression(slurm_cluster, tmp_path):
    suite = _suite(tmp_path, [{"test": "random_jobs", "seeds": 6, "env": {"FAKE_SLEEP": "2"}}])
    out = tmp_path / "out"
    args = ["--suite", str(suite), "--launcher", "slurm", "--task-seconds", "0", "--slurm-poll", "0.3",
            "--rerun-failures", "0", "--characterise", "0", "--out", str(out)]
    p = subprocess.Popen([str(SCRIPT), "regress", *args], cwd=tmp_path, env=_env(**FAKE),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if len(_results(out)["runs"]) >= 2:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        text, _ = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, text[-3000:]
    assert slurm_cluster.jobs() == [], "scancel left jobs behind"
    first = _results(out)
    assert len(first["runs"]) == 6 and first["summary"]["interrupted_regression"] is True
    done_first = {(r["test"], r["seed"]): r for r in first["runs"] if r["status"] == "pass"}
    assert 2 <= len(done_first) < 6, [r["status"] for r in first["runs"]]
    assert {r["status"] for r in first["runs"]} <= {"pass", "interrupted", "skipped"}
    # resume: no --suite, the seeds of OUT
    r = _regress(["--resume", "--launcher", "slurm", "--task-seconds", "0", "--slurm-poll", "0.3",
                  "--rerun-failures", "0", "--characterise", "0", "--out", str(out)], tmp_path, _env(**FAKE))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f"resume: {len(done_first)} of 6 runs already have their final record" in r.stdout
    second = _results(out)
    assert [(x["test"], x["seed"]) for x in second["runs"]] == [(x["test"], x["seed"]) for x in first["runs"]]
    assert all(x["status"] == "pass" for x in second["runs"])
    for x in second["runs"]:  # the runs finished before the interrupt were not run again
        if (x["test"], x["seed"]) in done_first:
            assert x["launcher"] == done_first[(x["test"], x["seed"])]["launcher"]
    assert slurm_cluster.jobs() == []


@pytest.mark.slurm
def test_slurm_build_failure_submits_nothing(slurm_cluster, tmp_path):
    suite = _suite(tmp_path, [{"test": "zero_dim", "seeds": 1}])
    out = tmp_path / "out"

    def known_jobs():  # every job the controller knows, ended ones included
        return slurm_cluster.run(["squeue", "-h", "-t", "all", "-o", "%i"]).stdout.split()

    before = known_jobs()
    r = _regress(["--suite", str(suite), "--launcher", "slurm", "--rtl", str(REPO / "tests" / "fixtures" / "broken.sv"),
                  "--top", "broken", "--out", str(out)], tmp_path, timeout=600)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    assert "build failed" in r.stderr and "nothing was submitted" in r.stderr
    assert not (out / "slurm").exists()
    assert known_jobs() == before
    res = _results(out)
    assert res["build"].get("error") or "build" in json.dumps(res["summary"]).lower()


def test_remote_runs_is_a_run_fn(tmp_path):
    """RemoteRuns (qualify's and shrink's runs on the farm): synchronous calls from several threads share
    arrays; each returns the run's record; a task that dies gives an error record with the reason."""
    import concurrent.futures as cf

    from redmule_verif.flow.farm import RemoteRuns

    sys.path.insert(0, str(HERE))
    from farm_fake_runner import FakeSim

    rr = RemoteRuns(tmp_path / "work", ["--cxx-opt", "O0"], engine="local-array", jobs=2,
                    runner="farm_fake_runner:run", python_path=[str(HERE)], gather_s=0.05)
    try:
        with cf.ThreadPoolExecutor(3) as pool:
            futs = [pool.submit(rr, FakeSim(), "t", 7 + i, tmp_path / "runs" / str(i),
                                knobs={"sleep": 0.1, **({"die": 1} if i == 2 else {})}, timeout=30)
                    for i in range(3)]
            recs = [f.result(timeout=60) for f in futs]
    finally:
        rr.close()
    assert [r["status"] for r in recs] == ["pass", "pass", "error"]
    assert recs[0]["summary"]["trace_sha256"] == recs[0]["trace_sha256"]
    assert "ended FAILED: exit code 3" in recs[2]["message"]
