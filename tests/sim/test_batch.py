"""The batch worker (many runs per simulator process): same answers, faults per run.

* Same answers: short tests run alone (the single-run path, one process each)
  and in one batch in an order that puts every pair in both orders and each
  first; every run gives the same result, trace hash, cycles, checks and
  coverage wherever it ran.
* A hang (the watchdog) ends only its run: the worker resets and goes on in the
  same process, and the next run is still identical to its single run.
* A run past its wall-clock limit is a ``timeout`` and the rest of the batch
  goes on in a new process.
* A crash of the simulator (segfault, an exit in the middle of a run) records
  the active run as ``error`` with the process log's tail in its log, and the
  rest of the batch runs in a new process; nothing is skipped.
"""

from __future__ import annotations

import hashlib
import json
import pathlib

import pytest

from redmule_verif.flow.executor import LocalLauncher
from redmule_verif.flow.records import RunSpec, run_record
from redmule_verif.sim.batch import WorkerSession, run_batch
from redmule_verif.sim.build import build
from redmule_verif.sim.runner import env_config, run_test

HERE = pathlib.Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"
CHECKS_TB = HERE.parent / "env" / "checks"
TB = HERE / "batch_tb"
RUNS = {"zero_dim": (2123806244, {}), "back_to_back": (42843744, {"count": 3}), "reg_access": (232141306, {"rounds": 1})}
SAME = ("status", "sim_cycles", "jobs_checked", "trace_sha256", "checks_fired", "stall_histogram", "tcdm_loads",
        "tcdm_stores", "event_pulses", "reg_accesses", "cycle_reports")


@pytest.fixture(scope="module")
def sim(build_root):
    return build(env_config(), build_root)


@pytest.fixture(scope="module")
def singles(sim, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    return {t: run_test(sim, t, seed, out / t, knobs=knobs, timeout=300) for t, (seed, knobs) in RUNS.items()}


def _facts(rec: dict) -> dict:
    s = dict(rec.get("summary") or {})
    facts = {k: s.get(k) for k in SAME}
    facts["status"] = rec["status"]
    cov = pathlib.Path(rec["dir"]) / "coverage.json"
    if cov.exists():
        d = json.loads(cov.read_text())
        d.get("meta", {}).pop("runs", None)
        facts["coverage"] = d
    return facts


def test_same_answers_alone_first_and_after_any_other_run(sim, singles, tmp_path):
    for t, rec in singles.items():
        assert rec["status"] == "pass" and rec["summary"]["trace_sha256"], (t, rec["message"])
    # every ordered pair of the three tests appears once, and each test once first in a batch
    order = ["zero_dim", "back_to_back", "reg_access", "zero_dim", "reg_access", "back_to_back", "zero_dim"]
    got = []
    with WorkerSession(sim, tmp_path / "w") as session:
        for i, t in enumerate(order):
            seed, knobs = RUNS[t]
            got.append(session.run_test(sim, t, seed, tmp_path / f"{i}_{t}", knobs=knobs, timeout=300))
        assert session.processes == 1
    with WorkerSession(sim, tmp_path / "w2") as session:  # the other two tests first in a process
        for t in ("back_to_back", "reg_access"):
            seed, knobs = RUNS[t]
            got.append(session.run_test(sim, t, seed, tmp_path / f"first_{t}", knobs=knobs, timeout=300))
    for rec in got:
        assert _facts(rec) == _facts(singles[rec["test"]]), f"{rec['test']} in {rec['dir']}"
        assert not (pathlib.Path(rec["dir"]) / "tcdm_trace.log").exists()  # the trace file only when asked


def test_trace_hash_is_computed_as_read_and_is_the_files_sha256(singles):
    """The monitor hashes the trace as it consumes it (no re-read at the end): the digest is the sha256 of
    the trace file the single run leaves."""
    for t, rec in singles.items():
        trace = pathlib.Path(rec["dir"]) / "tcdm_trace.log"
        assert rec["summary"]["trace_sha256"] == hashlib.sha256(trace.read_bytes()).hexdigest(), t


def test_trace_file_when_asked_is_the_single_runs_file(sim, singles, tmp_path):
    seed, knobs = RUNS["back_to_back"]
    with WorkerSession(sim, tmp_path / "w") as session:
        rec = session.run_test(sim, "back_to_back", seed, tmp_path / "r", knobs=knobs, timeout=300, trace=True)
    single = pathlib.Path(singles["back_to_back"]["dir"]) / "tcdm_trace.log"
    assert (tmp_path / "r" / "tcdm_trace.log").read_bytes() == single.read_bytes()


def test_a_hang_ends_only_its_run(sim, singles, tmp_path):
    """back_to_back with no cycle budget to speak of: the watchdog fails it; the worker goes on."""
    seed, knobs = RUNS["back_to_back"]
    hang_env = {"REDMULE_BUDGET_FACTOR": "0.01", "REDMULE_BUDGET_SLACK": "0"}
    with WorkerSession(sim, tmp_path / "w") as session:
        hung = session.run_test(sim, "back_to_back", seed, tmp_path / "hung", knobs=knobs, timeout=300,
                                extra_env=hang_env)
        seed0, knobs0 = RUNS["zero_dim"]
        after = session.run_test(sim, "zero_dim", seed0, tmp_path / "after", knobs=knobs0, timeout=300)
        assert session.processes == 1
    alone = run_test(sim, "back_to_back", seed, tmp_path / "alone", knobs=knobs, timeout=300, extra_env=hang_env)
    assert hung["status"] == "fail" and alone["status"] == "fail"
    assert hung["summary"]["checks_fired"] == alone["summary"]["checks_fired"] and hung["summary"]["checks_fired"]
    assert hung["first_errors"] == alone["first_errors"]
    assert _facts(after) == _facts(singles["zero_dim"])
    # the run's own log has the components' messages (pyuvm's loggers do not propagate to the root)
    log = (tmp_path / "hung" / "sim.log").read_text()
    assert "HANG" in log and "uvm_test_top.env.watchdog" in log, log[-2000:]
    assert "HANG" not in (tmp_path / "after" / "sim.log").read_text()


def test_fixture_hang_and_wall_clock_limit_in_a_batch(build_root, tmp_path):
    """The fixture DUT that never finishes a job: with the watchdog armed each run fails on its own in one
    process; with it off the run hits its wall-clock limit, is killed, and the next run gets a new process."""
    fsim = build(env_config([FIXTURES / "fixture_dut.sv"], top="fixture_dut", mem_words=4096), build_root)
    watchdog = {"REDMULE_HANG_CYCLES": "300"}
    no_watchdog = {"REDMULE_HANG_CYCLES": "0", "REDMULE_BUDGET_FACTOR": "0", "REDMULE_BUDGET_SLACK": "0",
                   "REDMULE_STUCK_CYCLES": "0"}  # every liveness check off: only the wall-clock limit is left
    plan = [("a", watchdog, 120), ("b", watchdog, 120), ("c", no_watchdog, 8), ("d", watchdog, 120)]
    recs = {}
    with WorkerSession(fsim, tmp_path / "w", python_path=[CHECKS_TB], plusargs=["+fixture_bug=never_finish"]) as s:
        for name, env, limit in plan:
            recs[name] = s.run_test(fsim, "fixture_jobs", 3, tmp_path / name, module="checks_tb", timeout=limit,
                                    extra_env=env, python_path=[CHECKS_TB], plusargs=["+fixture_bug=never_finish"])
            if name == "b":
                assert s.processes == 1
        assert s.processes == 2
    for name in "abd":
        assert recs[name]["status"] == "fail", recs[name]
        assert "HANG" in json.dumps(recs[name]["summary"]["checks_fired"]), recs[name]["summary"]["checks_fired"]
    assert recs["c"]["status"] == "timeout" and "wall-clock limit" in recs["c"]["message"]
    assert recs["a"]["summary"]["trace_sha256"] == recs["d"]["summary"]["trace_sha256"]


@pytest.mark.parametrize("crash", ["segfault", "exit_now"])
def test_a_crash_records_the_active_run_and_the_batch_goes_on(sim, singles, tmp_path, crash):
    seed0, knobs0 = RUNS["zero_dim"]
    specs = [RunSpec(0, "zero_dim", seed0, knobs0, 300.0, {}, tmp_path / "r0"),
             RunSpec(1, crash, 1, {}, 300.0, {}, tmp_path / "r1"),
             RunSpec(2, "zero_dim", seed0, knobs0, 300.0, {}, tmp_path / "r2")]
    recs = {}
    session = WorkerSession(sim, tmp_path / "w", python_path=[TB])
    for spec in specs:
        raw = session.run_test(sim, spec.test, spec.seed, spec.dir, knobs=spec.knobs, timeout=spec.timeout,
                               module="crash_tb" if spec.test == crash else None, python_path=[TB])
        recs[spec.index] = run_record(spec, raw, ["--cxx-opt", "O2"])
    session.close()
    assert session.processes == 2
    assert recs[0]["status"] == "pass" and recs[2]["status"] == "pass"
    assert recs[2]["trace_sha256"] == singles["zero_dim"]["summary"]["trace_sha256"]
    bad = recs[1]
    assert bad["status"] == "error" and "crash" in bad["message"]
    assert "-11" in bad["message"] if crash == "segfault" else "code 3" in bad["message"]
    assert "last lines of the process log" in pathlib.Path(bad["log"]).read_text()
    assert bad["repro"].startswith(f"redmule-verif repro {crash} --seed 1")


def test_local_launcher_batches_give_one_record_per_run(sim, singles, tmp_path):
    specs = [RunSpec(i, t, RUNS[t][0], RUNS[t][1], 300.0, {}, tmp_path / "runs" / t / str(i))
             for i, t in enumerate(["zero_dim", "back_to_back", "zero_dim", "reg_access"])]
    launcher = LocalLauncher(sim, jobs=2, batch_seconds=30)
    assert len(launcher.batches(specs, 2)) == 2
    recs = launcher.run_all(specs)
    assert [r["test"] for r in recs] == [s.test for s in specs]
    for r in recs:
        assert r["status"] == "pass" and r["trace_sha256"] == singles[r["test"]]["summary"]["trace_sha256"]
        assert r["repro"].startswith(f"redmule-verif repro {r['test']} --seed ")
    assert sum(s.processes for s in launcher.sessions) == 2
    assert len(LocalLauncher(sim, jobs=2, runs_per_process=1).batches(specs, 2)) == 4


def test_a_stimulus_stopped_by_a_hang_still_writes_its_summary(sim, tmp_path):
    """ctrl_cross gives up (JobAbandoned) when the watchdog fires: the run fails with its summary.json
    (checks fired, cycles), which triage needs, in a batch as alone."""
    hang_env = {"REDMULE_BUDGET_FACTOR": "0.01", "REDMULE_BUDGET_SLACK": "0"}
    alone = run_test(sim, "ctrl_cross", 1, tmp_path / "alone", knobs={"rounds": 1}, timeout=300, extra_env=hang_env)
    with WorkerSession(sim, tmp_path / "w") as session:
        batched = session.run_test(sim, "ctrl_cross", 1, tmp_path / "batched", knobs={"rounds": 1}, timeout=300,
                                   extra_env=hang_env)
    for rec in (alone, batched):
        assert rec["status"] == "fail", rec["message"]
        assert rec["summary"] and "HANG_OVER_BUDGET" in rec["summary"]["checks_fired"], rec
        assert rec["summary"]["sim_cycles"] > 0
        assert "stimulus stopped" in (pathlib.Path(rec["dir"]) / "sim.log").read_text()  # seed 1 takes that path
