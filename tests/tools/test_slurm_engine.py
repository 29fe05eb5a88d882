"""The Slurm engine (redmule_verif.flow.slurm) against a real single-node Slurm
cluster (tests/slurm_cluster.py), and its local twin.

Select with `-m slurm`. The tests that need the cluster skip when Slurm is not
installed (REDMULE_REQUIRE_SLURM=1 makes that a failure); the others
(parsing, reasons, a controller that forgets jobs, the local engine) always run.
The slowest test is the wall-time one (Slurm limits are whole minutes, checked
every 30 s): about 60-90 s.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from redmule_verif.flow.slurm import (
    ArrayTask,
    LocalLauncher,
    SlurmLauncher,
    SlurmOptions,
    describe,
    expand_indices,
    format_indices,
    parse_exit,
    parse_scontrol_line,
    stderr_facts,
)

pytest_plugins = ["slurm_cluster"]
pytestmark = pytest.mark.slurm

PY = sys.executable
POLL = 0.3


def py_task(i: int, code: str, tmp: pathlib.Path, env=None, record=True, limit=None) -> ArrayTask:
    """A task running python code; in the code, `REC` is its record path and `I` its index."""
    rec = tmp / "records" / f"{i}.json"
    rec.parent.mkdir(parents=True, exist_ok=True)
    prog = f"import json, os, sys, time\nREC = {str(rec)!r}\nI = {i}\n" + textwrap.dedent(code)
    return ArrayTask(index=i, argv=[PY, "-c", prog], cwd=str(tmp), env=dict(env or {}),
                     record_path=str(rec) if record else None, time_limit_s=limit, name=f"t{i}")


WRITE = """
rec = {"i": I, "square": I * I, "x": os.environ.get("RV_X"), "cwd": os.getcwd(), "array": "SLURM_ARRAY_TASK_ID" in os.environ}
json.dump(rec, open(REC, "w"))
"""


def short(reason: str) -> str:
    return reason.split(" (")[0]


# --------------------------------------------------------------------------
# without a cluster
# --------------------------------------------------------------------------


def test_indices_round_trip():
    assert expand_indices("5") == [5]
    assert expand_indices("0-3") == [0, 1, 2, 3]
    assert expand_indices("0-9%2") == list(range(10))
    assert expand_indices("1,3,5-7") == [1, 3, 5, 6, 7]
    assert expand_indices("1-7:2") == [1, 3, 5, 7]
    assert expand_indices("N/A") == []
    assert format_indices([7, 0, 1, 2, 3, 9, 10]) == "0-3,7,9-10"
    assert expand_indices(format_indices([4, 8, 9, 12])) == [4, 8, 9, 12]


def test_parse_scontrol_line():
    line = ("JobId=12 ArrayJobId=10 ArrayTaskId=2 JobName=rv UserId=root(0) JobState=TIMEOUT Reason=TimeLimit "
            "Dependency=(null) Requeue=1 Restarts=0 ExitCode=0:15 Comment=two words here StdErr=/w/logs/10_2.err")
    rec = parse_scontrol_line(line)
    assert rec["ArrayJobId"] == "10" and rec["ArrayTaskId"] == "2" and rec["JobState"] == "TIMEOUT"
    assert rec["Reason"] == "TimeLimit" and rec["Comment"] == "two words here"
    assert rec["StdErr"] == "/w/logs/10_2.err"
    assert parse_exit(rec["ExitCode"]) == (0, 15)
    assert parse_exit("3:0") == (3, None)


def test_reasons(tmp_path):
    err = tmp_path / "e"
    err.write_text("boom\nslurmstepd-n1: error: *** JOB 7 ON n1 CANCELLED AT 2026-01-01T10:00:00 DUE TO TIME LIMIT ***\n")
    assert describe("TIMEOUT", "TimeLimit", 0, 15, stderr_facts(err))[1] == "TIMEOUT: DUE TO TIME LIMIT"
    err.write_text("slurmstepd-n1: error: StepId=11.batch exceeded memory limit (434872320 > 104857600), being killed\n"
                   "slurmstepd-n1: error: *** JOB 11 ON n1 CANCELLED AT 2026-01-01T10:00:00 ***\n")
    state, text = describe("FAILED", "JobLaunchFailure", 0, 9, stderr_facts(err))
    assert state == "OUT_OF_MEMORY" and text.startswith("OUT_OF_MEMORY: StepId=11.batch exceeded memory limit")
    assert describe("CANCELLED", "None", 0, 15, {}, cancelled_by="0")[1] == "CANCELLED by 0"
    assert describe("CANCELLED", "DependencyNeverSatisfied", started=False)[1] == "CANCELLED: DependencyNeverSatisfied"
    assert describe("FAILED", "NonZeroExitCode", 3)[1] == "FAILED: exit code 3 (NonZeroExitCode)"
    assert describe("COMPLETED", "None", 0, None, record_path="/r.json")[1] == "COMPLETED: exit code 0 but no record at /r.json"
    assert describe("NODE_FAIL", "NodeDown")[1] == "NODE_FAIL: NodeDown"


def test_time_from_task_limits():
    tasks = [ArrayTask(0, ["true"], time_limit_s=600), ArrayTask(1, ["true"], time_limit_s=1200)]
    assert SlurmOptions().time_minutes(tasks) == 26          # 1200 * 1.2 + 120 s
    assert SlurmOptions(time=5).time_minutes(tasks) == 5
    assert SlurmOptions().time_minutes([ArrayTask(0, ["true"])]) == 60
    args = SlurmOptions(partition="p", account="a", qos="q", mem="2G", extra_args=["--nice=5"]).sbatch_args(7)
    assert args == ["--time=7", "--cpus-per-task=1", "--partition=p", "--account=a", "--qos=q", "--mem=2G", "--nice=5"]


class ScriptedSlurm(SlurmLauncher):
    """A SlurmLauncher whose client commands answer from a script (no cluster)."""

    def __init__(self, work, answers, **kw):
        super().__init__(work, SlurmOptions(poll_s=0, record_grace_s=0, **kw))
        self.answers = answers  # {"scontrol": [list of (rc, stdout, stderr)], ...}
        self.next_job = 100
        self.commands = []

    def _client(self, args, check=True, retries=3, timeout=60.0):
        self.commands.append(args)
        if args[0] == "sbatch":
            self.next_job += 1
            return subprocess.CompletedProcess(args, 0, f"{self.next_job}\n", "")
        queue = self.answers.get(args[0])  # the last answer repeats
        rc, out, err = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else (1, "", f"{args[0]}: no accounting")
        return subprocess.CompletedProcess(args, rc, out, err)


def _rec(job, slot, state, reason="None", exit="0:0"):
    return (f"JobId={job + slot} ArrayJobId={job} ArrayTaskId={slot} JobState={state} Reason={reason} "
            f"Dependency=(null) Restarts=0 ExitCode={exit} StartTime=2026-01-01T10:00:00 EndTime=2026-01-01T10:00:05")


def test_forgotten_jobs_keep_last_state(tmp_path):
    """The controller purges the array (MinJobAge) between two polls: a task
    seen COMPLETED keeps that; one last seen RUNNING whose record exists is
    COMPLETED (inferred); one with no record and no accounting is UNKNOWN,
    with its last seen state; none is lost."""
    tasks = [py_task(i, WRITE, tmp_path) for i in range(3)]
    pathlib.Path(tasks[1].record_path).write_text("{}")
    first = "\n".join([_rec(101, 0, "COMPLETED"), _rec(101, 1, "RUNNING"), _rec(101, 2, "RUNNING")])
    la = ScriptedSlurm(tmp_path / "w", {"scontrol": [(0, first, ""), (1, "", "slurm_load_jobs error: Invalid job id specified")]})
    got = {}
    la.submit(tasks)
    la.wait(on_finished=lambda t, o: got.setdefault(t.index, o))
    assert sorted(got) == [0, 1, 2]
    assert got[0].state == "COMPLETED"
    assert got[1].state == "COMPLETED" and "inferred from its record" in got[1].reason and got[1].record_exists
    assert got[2].state == "UNKNOWN" and "last seen RUNNING" in got[2].reason
    assert any(c[0] == "sacct" for c in la.commands)  # accounting was asked first


def test_preempted_requeued_until_max(tmp_path):
    tasks = [py_task(0, WRITE, tmp_path)]
    la = ScriptedSlurm(tmp_path / "w", {"scontrol": [
        (0, _rec(101, 0, "PREEMPTED", exit="0:15"), ""),
        (0, _rec(102, 0, "PREEMPTED", exit="0:15"), ""),
    ]}, max_requeue=1)
    out = la.run(tasks, handle_signals=False)
    sbatch = [c for c in la.commands if c[0] == "sbatch"]
    assert len(sbatch) == 2 and "--array=0" in sbatch[1]
    assert out[0].state == "PREEMPTED" and out[0].attempts == 2 and "max_requeue=1" in out[0].reason


def test_local_timeout_and_cancel(tmp_path):
    """The local engine's backstop limit and cancel(), in Slurm's words."""
    tasks = [py_task(0, "time.sleep(60)", tmp_path), py_task(1, WRITE, tmp_path)]
    out = LocalLauncher(tmp_path / "w", jobs=2, time_min=0.05).run(tasks)
    assert out[0].state == "TIMEOUT" and out[0].reason == "TIMEOUT: DUE TO TIME LIMIT" and not out[0].record_exists
    assert out[1].ok and out[1].record_exists
    la = LocalLauncher(tmp_path / "w2", jobs=1)
    la.submit([py_task(i, "time.sleep(60)", tmp_path / "c") for i in range(3)])
    la.poll()
    la.cancel()
    assert not la.active_jobs()
    assert [la.outcomes[i].reason for i in range(3)] == [f"CANCELLED by {os.getuid()}"] * 3
    assert [la.outcomes[i].started for i in range(3)] == [True, False, False]


# --------------------------------------------------------------------------
# against the cluster
# --------------------------------------------------------------------------


@pytest.fixture
def slurm(slurm_cluster, tmp_path):
    """A factory of launchers on the test cluster, cancelled at the end."""
    made = []

    def make(sub="w", **kw):
        kw.setdefault("poll_s", POLL)
        la = SlurmLauncher(tmp_path / sub, SlurmOptions(**kw), env=slurm_cluster.env)
        made.append(la)
        return la

    yield make
    for la in made:
        la.cancel(wait=False)


def test_array_equals_local(slurm, tmp_path):
    """The same tasks through both engines: same states, exit codes, signals,
    records (but the one field that tells the engines apart)."""
    def tasks(tmp):
        ts = [py_task(i, WRITE, tmp, env={"RV_X": f"x{i}"}) for i in range(4)]
        ts.append(py_task(4, WRITE + "sys.exit(1)\n", tmp))
        ts.append(py_task(5, "sys.exit(2)", tmp))
        ts.append(py_task(6, "os.kill(os.getpid(), 9)", tmp))
        return ts

    seen = []
    t0 = time.monotonic()
    s_out = slurm().run(tasks(tmp_path / "s"), on_finished=lambda t, o: seen.append(t.index))
    t_slurm = time.monotonic() - t0
    l_out = LocalLauncher(tmp_path / "lw", jobs=2).run(tasks(tmp_path / "l"))
    assert sorted(seen) == list(range(7))
    for i in range(7):
        s, lo = s_out[i], l_out[i]
        assert (s.state, s.exit_code, s.signal, s.record_exists, short(s.reason)) == \
               (lo.state, lo.exit_code, lo.signal, lo.record_exists, short(lo.reason)), i
        if s.record_exists:
            rs = json.load(open(tmp_path / "s" / "records" / f"{i}.json"))
            rl = json.load(open(tmp_path / "l" / "records" / f"{i}.json"))
            assert rs.pop("array") is True and rl.pop("array") is False
            assert rs.pop("cwd") == str(tmp_path / "s") and rl.pop("cwd") == str(tmp_path / "l")
            assert rs == rl
    assert [s_out[i].state for i in range(7)] == ["COMPLETED"] * 4 + ["FAILED"] * 3
    assert s_out[5].reason == "FAILED: exit code 2 (NonZeroExitCode)" and not s_out[5].record_exists
    assert s_out[6].signal == 9 and s_out[6].reason.startswith("FAILED: killed by SIGKILL")
    assert t_slurm < 30


def test_failure_modes_come_back_with_slurm_reasons(slurm, slurm_cluster, tmp_path):
    """One array (--time=1, --mem=200M): a task over the wall-time limit, one
    scancelled while running, one over its memory, one that exits 0 without
    its record: each comes back with Slurm's reason, none lost."""
    tasks = [
        py_task(0, "time.sleep(300)", tmp_path),                                   # TIMEOUT
        py_task(1, "time.sleep(300)", tmp_path),                                   # scancel
        py_task(2, "a = b'x' * (600 << 20)\ntime.sleep(20)\nopen(REC, 'w').write('{}')", tmp_path),  # memory
        py_task(3, "print('no record')", tmp_path),                                # no record
    ]
    la = slurm(time=1, mem="200M")
    cancelled = []

    def progress(p):
        st = la._st[1]
        if not cancelled and st.state == "RUNNING":
            slurm_cluster.run(["scancel", f"{st.job}_{st.slot}"])
            cancelled.append(time.monotonic())

    t0 = time.monotonic()
    out = la.run(tasks, on_progress=progress)
    took = time.monotonic() - t0
    assert out[0].state == "TIMEOUT" and out[0].reason == "TIMEOUT: DUE TO TIME LIMIT", out[0]
    assert not out[0].record_exists and out[0].signal == 15
    assert out[1].state == "CANCELLED" and out[1].reason.startswith("CANCELLED at "), out[1]
    assert "scancel by a user" in out[1].reason
    # linuxproc + OverMemoryKill: "StepId=... exceeded memory limit (...)"; cgroup: "... oom-kill event(s) ..."
    assert out[2].state == "OUT_OF_MEMORY" and ("memory limit" in out[2].reason or "oom-kill" in out[2].reason), out[2]
    assert not out[2].record_exists
    assert out[3].state == "COMPLETED" and "no record" in out[3].reason and not out[3].ok
    assert out[3].stdout and "no record" in pathlib.Path(out[3].stdout).read_text()
    assert 55 < took < 150, took


@pytest.mark.parametrize("engine", ["slurm", "local"])
def test_failing_build_means_the_array_never_runs(engine, slurm, tmp_path):
    tasks = [py_task(i, WRITE, tmp_path) for i in range(3)]
    la = slurm() if engine == "slurm" else LocalLauncher(tmp_path / "lw")
    build = la.submit_job([PY, "-c", "import sys, time; time.sleep(1); sys.exit(4)"], name="build")
    out = la.run(tasks, after=build)
    assert sorted(out) == [0, 1, 2]
    for o in out.values():
        assert o.state == "CANCELLED" and o.reason.startswith("CANCELLED: DependencyNeverSatisfied"), o
        assert "ended FAILED: exit code 4" in o.reason, o.reason
        assert not o.started and not o.record_exists
    b = la.job_outcome(build)
    assert b.state == "FAILED" and b.exit_code == 4
    assert not la.active_jobs()


def test_build_job_runs_first(slurm, tmp_path):
    stamp = tmp_path / "built"
    la = slurm()
    build = la.submit_job([PY, "-c", f"import time; time.sleep(2); open({str(stamp)!r}, 'w').write('ok')"])
    code = f"json.dump({{'built': open({str(stamp)!r}).read()}}, open(REC, 'w'))"
    out = la.run([py_task(i, code, tmp_path) for i in range(2)], after=build)
    assert all(o.ok and o.record_exists for o in out.values()), out
    assert la.job_outcome(build).state == "COMPLETED"


def test_cancel_leaves_nothing_in_squeue(slurm, slurm_cluster, tmp_path):
    la = slurm()
    build = la.submit_job([PY, "-c", "import time; time.sleep(300)"])
    la.submit([py_task(i, "time.sleep(300)", tmp_path) for i in range(3)], after=build)
    la.submit([py_task(10 + i, "time.sleep(300)", tmp_path) for i in range(3)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        la.poll()
        if la._last_progress.running >= 1:
            break
        time.sleep(POLL)
    assert len(la.active_jobs()) >= 2
    la.cancel()
    assert slurm_cluster.jobs() == []
    assert sorted(la.outcomes) == [0, 1, 2, 10, 11, 12]
    assert {o.state for o in la.outcomes.values()} == {"CANCELLED"}
    assert all(o.reason.startswith(f"CANCELLED by {os.getuid()}") for o in la.outcomes.values()), la.outcomes


def test_preempted_tasks_are_requeued(slurm, slurm_cluster, tmp_path):
    """Both tasks are preempted by a job of the `urgent` partition; the engine
    submits them again and they complete on their second attempt."""
    la = slurm(max_requeue=1)
    code = "time.sleep(6)\njson.dump({'ok': 1}, open(REC, 'w'))"
    la.submit([py_task(i, code, tmp_path) for i in range(2)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        la.poll()
        if la._last_progress.running == 2:
            break
        time.sleep(POLL)
    urgent = slurm_cluster.run(["sbatch", "--parsable", "-p", "urgent", "-c", "2", "-o", "/dev/null",
                                "--wrap", "sleep 2"]).stdout.strip()
    out = la.wait(timeout=90)
    assert all(o.ok and o.record_exists and o.attempts == 2 for o in out.values()), out
    first = la.jobs[0]
    r = slurm_cluster.run(["scontrol", "-o", "show", "job", first])
    assert r.stdout.count("JobState=PREEMPTED") == 2
    assert "JobState=COMPLETED" in slurm_cluster.run(["scontrol", "-o", "show", "job", urgent]).stdout


def test_sigterm_cancels_everything(slurm_cluster, tmp_path):
    """A driver process killed with SIGTERM (or Ctrl-C) scancels its jobs."""
    import redmule_verif.flow.slurm as engine

    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("engine", {engine.__file__!r})
        m = importlib.util.module_from_spec(spec); sys.modules["engine"] = m; spec.loader.exec_module(m)
        tasks = [m.ArrayTask(i, [{PY!r}, "-c", "import time; time.sleep(300)"]) for i in range(4)]
        la = m.SlurmLauncher({str(tmp_path / 'w')!r}, m.SlurmOptions(poll_s=0.3))
        la.run(tasks, on_progress=lambda p: print("progress", p, flush=True))
    """))
    env = dict(os.environ, **slurm_cluster.env)
    p = subprocess.Popen([PY, str(driver)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if "2 running" in line:
                break
        assert len(slurm_cluster.jobs()) >= 2
        p.send_signal(signal.SIGTERM)
        rc = p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
    assert rc != 0 and "KeyboardInterrupt" in p.stderr.read()
    assert slurm_cluster.jobs() == []
