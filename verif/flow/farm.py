"""Runs on a batch scheduler: the :class:`~redmule_verif.flow.executor.Launcher` of ``--launcher slurm``.

:class:`FarmLauncher` packs the RunSpecs into batches of about ``task_s``
seconds of estimated work (longest first, each run to the lightest batch), one
job-array task per batch (:mod:`redmule_verif.flow.task` runs it on the node,
on the simulator built before anything was submitted), and reports each run's
record as soon as its task has written it, so results.json grows while the
array runs. The engine is :class:`redmule_verif.flow.slurm.SlurmLauncher` (or
its local twin, :class:`redmule_verif.flow.slurm.LocalLauncher`, which runs the
same task command here: the tests use it).

A task that ends without writing some of its records (wall-time limit, out of
memory, node failure, preemption beyond the requeue limit, scancel by
somebody) gives those runs an ``error`` record whose message is Slurm's reason
(``TIMEOUT: DUE TO TIME LIMIT``, ``CANCELLED at ... (scancel by a user or an
administrator)``, ...). Ctrl-C / SIGTERM cancel every submitted job (scancel)
and record the runs that never ended as ``interrupted`` (started) or
``skipped`` (never started): ``regress --resume`` runs exactly those again.

:class:`RemoteRuns` is the same machinery behind a synchronous
``run_fn(sim, test, seed, out_dir, ...)`` (the runner's signature), for the
tools whose runs depend on each other (qualify's hunt, shrink): each call
becomes an array task, calls made together from several threads share one
array.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import pathlib
import pickle
import sys
import threading
import time
from typing import Callable

from redmule_verif.flow import slurm as engine_mod
from redmule_verif.flow.executor import Launcher, stop_signals
from redmule_verif.flow.records import FAILING, RunSpec, run_record
from redmule_verif.flow.task import spec_to_json
from redmule_verif.flow.results_io import atomic_write, write_json

DEFAULT_TASK_S = 20.0       # target work per array task (Slurm costs ~0.8 s a task: ~4 %; >= 16 s keeps it < 5 %)
DEFAULT_EST_S = 4.0         # a run's cost when nothing better is known (nightly: ~3.8 s a run on 2 cores)
RECORD_NAME = "run_record.json"
TASK_STARTUP_S = 60.0       # added to a batch's limit (Python start, simulator process start-up)


def record_path(spec: RunSpec) -> pathlib.Path:
    """Where an array task writes a run's final record: in the run's own directory."""
    return pathlib.Path(spec.dir) / RECORD_NAME


def estimates_from(previous) -> dict[str, float]:
    """Mean wall time per test of earlier results (pass/fail runs)."""
    est: dict[str, list] = {}
    for prev in previous or ():
        for r in prev.get("runs", []):
            if r.get("wall_s") and r.get("status") in ("pass", "fail"):
                est.setdefault(r["test"], []).append(float(r["wall_s"]))
    return {t: sum(v) / len(v) for t, v in est.items()}


def pack(specs: list[RunSpec], est: Callable[[RunSpec], float], task_s: float) -> list[list[RunSpec]]:
    """Batches of about ``task_s`` estimated seconds: longest run first, each to the lightest batch
    (``task_s`` <= 0: one run a batch). Runs keep their order inside a batch."""
    if not specs:
        return []
    if task_s <= 0:
        return [[s] for s in specs]
    total = sum(est(s) for s in specs)
    n = max(1, min(len(specs), math.ceil(total / task_s)))
    loads = [0.0] * n
    batches: list[list[RunSpec]] = [[] for _ in range(n)]
    for s in sorted(specs, key=lambda s: (-est(s), s.index)):
        i = min(range(n), key=lambda k: (loads[k], k))
        batches[i].append(s)
        loads[i] += est(s)
    return [sorted(b, key=lambda s: s.index) for b in batches if b]


@dataclasses.dataclass
class FarmProgress:
    """Runs by state (queued/running from the scheduler, done/failing from the records) and tasks."""

    total: int
    done: int = 0
    failing: int = 0
    running: int = 0
    queued: int = 0
    tasks: int = 0
    tasks_running: int = 0
    tasks_queued: int = 0

    def __str__(self) -> str:
        return (f"{self.done}/{self.total} done ({self.failing} failing), {self.running} running, "
                f"{self.queued} queued [{self.tasks} array tasks: {self.tasks_running} running, "
                f"{self.tasks_queued} queued]")


def _sim_file(work: pathlib.Path, sim) -> str:
    """The pickled simulator (once per build) the tasks load: they never build."""
    key = getattr(sim, "key", None) or hashlib.sha256(pickle.dumps(sim)).hexdigest()
    path = work / "sims" / f"{str(key)[:24]}.pickle"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, pickle.dumps(sim))
    return str(path)


def atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class _Batches:
    """Batch files, array tasks and record scanning shared by FarmLauncher and RemoteRuns."""

    def __init__(self, work, engine, build_args, runner: str, python_path, engine_name: str):
        self.work = pathlib.Path(work).resolve()
        self.engine = engine
        self.build_args = list(build_args)
        self.runner = runner
        self.python_path = [str(p) for p in python_path]
        self.engine_name = engine_name
        self.n = 0
        self.members: dict[int, list[tuple[RunSpec, str]]] = {}    # task index -> [(spec, its sim file)]

    def task(self, items: list[tuple[RunSpec, str]]) -> engine_mod.ArrayTask:
        i = self.n
        self.n += 1
        bdir = self.work / "batches"
        bfile = bdir / f"b{i:05d}.json"
        done = bdir / f"b{i:05d}.done.json"
        done.unlink(missing_ok=True)
        runs = []
        for spec, sim_file in items:
            rp = record_path(spec)
            rp.unlink(missing_ok=True)  # a record of an earlier regression in the same directory
            pathlib.Path(spec.dir).mkdir(parents=True, exist_ok=True)
            runs.append({"spec": spec_to_json(spec), "record": str(rp), "sim": sim_file})
        write_json(bfile, {"name": f"b{i:05d}", "engine": self.engine_name, "runner": self.runner,
                           "python_path": self.python_path, "build_args": self.build_args,
                           "done": str(done), "runs": runs})
        self.members[i] = list(items)
        limit = sum(float(s.timeout or 600.0) for s, _ in items) + TASK_STARTUP_S
        label = items[0][0].test if len(items) == 1 else f"{len(items)} runs"
        return engine_mod.ArrayTask(index=i, argv=[sys.executable, "-m", "redmule_verif.flow.task", str(bfile)],
                                    cwd=str(self.work), env={"PYTHONSAFEPATH": "1"}, record_path=str(done),
                                    time_limit_s=limit, name=f"b{i:05d} {label}")

    @staticmethod
    def read_record(spec: RunSpec) -> dict | None:
        try:
            rec = json.loads(record_path(spec).read_text())
        except (OSError, ValueError):
            return None
        if rec.get("test") != spec.test or rec.get("seed") != spec.seed:
            return None
        return rec

    def lost(self, spec: RunSpec, outcome: engine_mod.TaskOutcome, status: str = "error") -> dict:
        """The record of a run whose task ended without writing it: Slurm's reason."""
        logs = " ".join(p for p in (outcome.stdout, outcome.stderr) if p)
        msg = (f"{self.engine_name} array task {outcome.job_id or '?'} ended {outcome.reason} before this run "
               f"wrote its record" + (f"; task logs: {logs}" if logs else ""))
        rec = run_record(spec, None, self.build_args, status, msg)
        rec["launcher"] = {"engine": self.engine_name, "state": outcome.state, "reason": outcome.reason,
                           "job": outcome.job_id, "attempts": outcome.attempts}
        return rec


def make_engine(kind: str, work, options: engine_mod.SlurmOptions | None = None, jobs: int = 2, env=None):
    """``slurm``: SlurmLauncher; ``local-array``: the local twin (same tasks, here)."""
    work = pathlib.Path(work)
    if kind == "slurm":
        return engine_mod.SlurmLauncher(work, options or engine_mod.SlurmOptions(), env=env)
    if kind == "local-array":
        return engine_mod.LocalLauncher(work, jobs=jobs, options=options)
    raise ValueError(f"unknown engine {kind!r}")


class FarmLauncher(Launcher):
    """RunSpecs as job-array tasks (see the module docstring)."""

    def __init__(self, sim, work_dir, build_args=(), *, engine="slurm", options=None, jobs: int = 2,
                 task_s: float = DEFAULT_TASK_S, estimates: dict[str, float] | None = None,
                 runner: str = "auto", python_path=(), engine_env=None, log: Callable[[str], None] | None = None):
        super().__init__()
        self.sim = sim
        self.work = pathlib.Path(work_dir).resolve()
        self.options = options or engine_mod.SlurmOptions()
        self.engine_kind = engine
        self.jobs = jobs
        self.task_s = task_s
        self.estimates = dict(estimates or {})
        self.runner = runner
        self.python_path = list(python_path)
        self.engine_env = engine_env
        self.build_args = list(build_args)
        self.log = log or (lambda s: None)
        self.engine = None
        self.last_progress: FarmProgress | None = None

    def est(self, spec: RunSpec) -> float:
        if spec.test in self.estimates:
            return self.estimates[spec.test]
        return min(DEFAULT_EST_S, float(spec.timeout or DEFAULT_EST_S))

    def launch(self, specs, on_record, on_progress=None) -> bool:
        specs = list(specs)
        if not specs:
            return False
        self.engine = eng = make_engine(self.engine_kind, self.work, self.options, self.jobs, self.engine_env)
        b = _Batches(self.work, eng, self.build_args, self.runner, self.python_path, self.engine_kind)
        sim_file = _sim_file(self.work, self.sim)
        tasks = [b.task([(s, sim_file) for s in batch]) for batch in pack(specs, self.est, self.task_s)]
        open_specs = {s.index: s for s in specs}
        task_of = {s.index: t.index for t in tasks for s, _ in b.members[t.index]}
        prog = FarmProgress(total=len(specs), tasks=len(tasks))

        def report(spec: RunSpec, rec: dict) -> None:
            open_specs.pop(spec.index, None)
            prog.done += 1
            prog.failing += rec["status"] in FAILING
            on_record(spec, rec)

        def scan() -> None:
            for i, spec in list(open_specs.items()):
                rec = b.read_record(spec)
                if rec is not None:
                    report(spec, rec)

        def finished(task, outcome) -> None:
            for spec, _ in b.members[task.index]:
                if spec.index not in open_specs:
                    continue
                rec = b.read_record(spec)
                if rec is None:
                    if self.stop.is_set():
                        status = "interrupted" if outcome.started else "skipped"
                        rec = b.lost(spec, outcome, status)
                        rec["message"] = ("killed: the regression was interrupted (" if outcome.started else
                                          "not started: the regression was interrupted (") + outcome.reason + ")"
                    else:
                        rec = b.lost(spec, outcome)
                report(spec, rec)

        def progress(p) -> None:
            if on_progress is None:
                return
            states = self._task_states(eng)
            prog.tasks_running = sum(1 for t in tasks if t.index not in eng.outcomes and states.get(t.index) == "R")
            prog.tasks_queued = sum(1 for t in tasks if t.index not in eng.outcomes and states.get(t.index) != "R")
            prog.running = sum(1 for i in open_specs if states.get(task_of[i]) == "R")
            prog.queued = len(open_specs) - prog.running
            if dataclasses.astuple(prog) != (dataclasses.astuple(self.last_progress) if self.last_progress else None):
                self.last_progress = dataclasses.replace(prog)
                on_progress(self.last_progress)

        interrupted = False
        with stop_signals(), engine_mod.signals_interrupt():
            try:
                eng._on_finished = finished
                eng.submit(tasks)
                self.log(f"submitted {len(specs)} runs as {len(tasks)} array tasks ({self.engine_kind}; "
                         f"work {self.work})")
                while eng.unfinished() or open_specs:
                    eng.poll()
                    scan()
                    progress(None)
                    if not eng.unfinished():
                        break
                    if self.stop.is_set():
                        raise KeyboardInterrupt
                    eng._sleep()
            except KeyboardInterrupt:
                interrupted = True
                self.stop.set()
                self.log("interrupted: cancelling the submitted jobs ...")
                eng.cancel()
                scan()
            finally:
                if not interrupted and eng.unfinished():  # a callback raised
                    eng.cancel()
        # anything still open (cannot happen unless the engine lost a task): never a lost run
        for t in tasks:
            if any(s.index in open_specs for s, _ in b.members[t.index]):
                finished(t, eng.outcomes.get(t.index) or engine_mod.TaskOutcome(
                    state="UNKNOWN", reason="UNKNOWN: the task's end was not seen", started=False))
        progress(None)
        self.interrupted = self.interrupted or interrupted
        return interrupted

    @staticmethod
    def _task_states(eng) -> dict[int, str]:
        """task index -> 'R' running / 'Q' queued, from the engine's last look at the scheduler."""
        out = {}
        st = getattr(eng, "_st", None)
        if st is not None:  # Slurm
            for i, s in st.items():
                out[i] = "Q" if s.state is None or s.state in engine_mod.QUEUED_STATES else "R"
            return out
        for j in getattr(eng, "_running", []):
            if j.task is not None:
                out[j.task.index] = "R"
        for j in getattr(eng, "_queue", []):
            if j.task is not None:
                out[j.task.index] = "Q"
        return out


class RemoteRuns:
    """A thread-safe ``run_fn`` (the runner's signature) whose runs are array tasks.

    Calls made while the dispatcher thread sleeps (``gather_s``) go into one
    array. ``stop`` (a threading.Event, e.g. the Qualifier's): when set, every
    submitted job is cancelled and the waiting calls return ``interrupted``
    records. ``close()`` cancels whatever is left."""

    def __init__(self, work_dir, build_args=(), *, engine="slurm", options=None, jobs: int = 2,
                 runner: str = "auto", python_path=(), engine_env=None, gather_s: float = 0.3, stop=None):
        self.work = pathlib.Path(work_dir).resolve()
        self.eng = make_engine(engine, self.work, options, jobs, engine_env)
        self.b = _Batches(self.work, self.eng, build_args, runner, python_path, engine)
        self.gather_s = gather_s
        self.stop = stop or threading.Event()
        self.lock = threading.Lock()
        self.pending: list[tuple[RunSpec, str, cf.Future]] = []
        self.futures: dict[int, tuple[RunSpec, cf.Future]] = {}
        self.n = 0
        self.closed = False
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __call__(self, sim, test, seed, out_dir, knobs=None, timeout=600, waves=False, extra_env=None,
                 assert_cycles=None, **_ignored) -> dict:
        with self.lock:
            self.n += 1
            spec = RunSpec(self.n, test, int(seed), dict(knobs or {}), timeout, dict(extra_env or {}),
                           pathlib.Path(out_dir).resolve(), waves, assert_cycles)
            fut: cf.Future = cf.Future()
            self.pending.append((spec, _sim_file(self.work, sim), fut))
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="remote-runs", daemon=True)
                self.thread.start()
        rec = fut.result()
        # the runner's record shape (what the tools read): the summary fields are in the final record already
        return dict(rec, summary={"trace_sha256": rec.get("trace_sha256"),
                                  **{k: rec[k] for k in ("errors_detail", "job_outcomes", "waived", "checks_fired")
                                     if k in rec}})

    def _loop(self) -> None:
        try:
            self.eng._on_finished = self._finished
            while not self.closed:
                with self.lock:
                    todo, self.pending = self.pending, []
                    if todo and not self.stop.is_set():
                        tasks = [self.b.task([(spec, sim_file)]) for spec, sim_file, _ in todo]
                        for t, (spec, _, fut) in zip(tasks, todo):
                            self.futures[t.index] = (spec, fut)
                        self.eng.submit(tasks)
                    elif todo:
                        for spec, _, fut in todo:
                            fut.set_result(run_record(spec, None, self.b.build_args, "skipped",
                                                      "not started: interrupted"))
                if self.stop.is_set():
                    self._cancel()
                    time.sleep(self.gather_s)
                    continue
                if self.eng.unfinished():
                    self.eng.poll()
                time.sleep(self.gather_s)
        except BaseException as exc:  # noqa: BLE001 - the waiting calls get an error record each
            self.error = exc
            with self.lock:
                for spec, fut in self.futures.values():
                    if not fut.done():
                        fut.set_result(run_record(spec, None, self.b.build_args, "error",
                                                  f"the scheduler failed: {type(exc).__name__}: {exc}"))
                for spec, _, fut in self.pending:
                    fut.set_result(run_record(spec, None, self.b.build_args, "error",
                                              f"the scheduler failed: {type(exc).__name__}: {exc}"))

    def _finished(self, task, outcome) -> None:
        spec, fut = self.futures[task.index]
        rec = self.b.read_record(spec)
        if rec is None:
            rec = self.b.lost(spec, outcome, "interrupted" if self.stop.is_set() else "error")
        if not fut.done():
            fut.set_result(rec)

    def _cancel(self) -> None:
        if self.eng.unfinished():
            with contextlib.suppress(Exception):
                self.eng.cancel()

    def kill(self) -> int:
        """For run_pool's ``kill``: cancel every submitted job."""
        self.stop.set()
        return len(self.eng.unfinished())

    def close(self) -> None:
        self.closed = True
        if self.thread is not None:
            self.thread.join(timeout=120)
        self._cancel()
