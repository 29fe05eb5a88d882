"""The one parallel pool of the tools, and the launchers that run simulations on it.

:func:`run_pool` runs work items on ``jobs`` threads with one interrupt
behaviour: Ctrl-C or SIGTERM (see :func:`stop_signals`) sets the stop event,
kills the simulators still running (:func:`kill_children`), waits for their
threads, and reports the items never started and the ones that would not end,
so the caller writes valid partial results.

A :class:`Launcher` takes a list of :class:`~redmule_verif.flow.records.RunSpec`
and calls back with one record per run as the runs finish, plus progress
counts. Launchers work in batches: :meth:`Launcher.batches` groups the runs
(:func:`redmule_verif.flow.batching.plan_batches`: by estimated cost, about
``batch_seconds`` each; ``runs_per_process=1`` is one run a batch), and a batch
is run by one worker, a simulator process that runs its runs one after another
(:func:`redmule_verif.sim.batch.run_batch`; as a command line:
``python -m redmule_verif.flow.task BATCH.json``, which writes one record per
run). :class:`LocalLauncher` runs the batches here, ``jobs`` at a time; the
farm launcher (:mod:`redmule_verif.flow.farm`) runs each as an array task.
"""

from __future__ import annotations

import abc
import concurrent.futures as cf
import contextlib
import dataclasses
import os
import pathlib
import signal
import threading
import time
import traceback
from typing import Callable, Iterable

from redmule_verif.flow.batching import DEFAULTS, estimator, plan_batches
from redmule_verif.flow.records import FAILING, RunSpec, run_record, tool_error_record
from redmule_verif.sim.runner import run_test

GRACE_S = 60.0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def signal_handlers(handlers: dict):
    """Within the block, ``handlers`` ({signal: handler}) replace the process's handlers; the previous
    ones come back on exit. A no-op outside the main thread (only it may set handlers)."""
    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig, handler in handlers.items():
            try:
                old[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def stop_signals():
    """Ctrl-C and SIGTERM raise KeyboardInterrupt in the main thread (even when the shell started the
    process with SIGINT ignored, as a background job); the previous handlers come back on exit."""
    return signal_handlers({signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _raise_interrupt})


def _children(binaries) -> list[int]:
    """PIDs of this process's children (running one of ``binaries`` when given)."""
    me = os.getpid()
    names = {os.path.basename(str(b)) for b in binaries or ()}
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid != me:
                continue
            cmd = (d / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if not names or os.path.basename(cmd) in names:
            found.append(int(d.name))
    return found


def kill_children(binaries=None) -> int:
    """SIGKILL the simulators this process started (each runs in its own session: its whole group)."""
    n = 0
    for pid in _children(binaries):
        try:
            os.killpg(pid, signal.SIGKILL)
            n += 1
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
                n += 1
            except OSError:
                pass
    return n


@dataclasses.dataclass
class PoolOutcome:
    interrupted: bool = False
    not_started: list = dataclasses.field(default_factory=list)
    abandoned: list = dataclasses.field(default_factory=list)  # still running when the grace time ran out


def run_pool(items: Iterable, work: Callable, on_done: Callable, jobs: int, stop: threading.Event,
             kill: Callable[[], int] = kill_children, on_interrupt: Callable[[int], None] | None = None,
             grace_s: float = GRACE_S, name: str = "flow") -> PoolOutcome:
    """``work(item)`` for every item on ``jobs`` threads, in order; ``on_done(item, result, exc)`` in the
    calling thread as each ends. Ctrl-C: see the module docstring."""
    todo = list(items)
    running: dict[cf.Future, object] = {}
    outcome = PoolOutcome()

    def finish(done):
        for fut in done:
            item = running.pop(fut)
            exc = fut.exception()
            on_done(item, None if exc else fut.result(), exc)

    with cf.ThreadPoolExecutor(max_workers=max(1, int(jobs)), thread_name_prefix=name) as pool:
        try:
            while todo or running:
                while todo and len(running) < jobs and not stop.is_set():
                    item = todo.pop(0)
                    running[pool.submit(work, item)] = item
                if stop.is_set() and not running:
                    break
                done, _ = cf.wait(list(running), timeout=0.5, return_when=cf.FIRST_COMPLETED)
                finish(done)
        except KeyboardInterrupt:
            outcome.interrupted = True
            stop.set()
            if on_interrupt:
                on_interrupt(len(running))
            deadline = time.monotonic() + grace_s
            while running and time.monotonic() < deadline:
                try:
                    kill()
                    done, _ = cf.wait(list(running), timeout=0.2, return_when=cf.FIRST_COMPLETED)
                    finish(done)
                except KeyboardInterrupt:
                    continue
        outcome.not_started = todo
        outcome.abandoned = list(running.values())
    return outcome


@dataclasses.dataclass
class Progress:
    """Counts a launcher reports after every finished run."""

    total: int
    done: int = 0
    failing: int = 0
    running: int = 0


class Launcher(abc.ABC):
    """Runs RunSpecs and reports one record per run (see the module docstring)."""

    #: runs per simulator process (1: the old one-process-per-run mode; None: batches by estimated cost)
    runs_per_process: int | None = None
    batch_seconds: float = DEFAULTS["batch_seconds"]

    def __init__(self):
        self.stop = threading.Event()
        self.interrupted = False

    def batches(self, specs: list[RunSpec], jobs: int = 1, est=None) -> list[list[RunSpec]]:
        """``specs`` grouped into the batches of one worker process each."""
        return plan_batches(specs, est or estimator(getattr(self, "sim", None)), jobs, self.batch_seconds,
                            self.runs_per_process)

    @abc.abstractmethod
    def launch(self, specs: list[RunSpec], on_record: Callable[[RunSpec, dict], None],
               on_progress: Callable[[Progress], None] | None = None) -> bool:
        """Run ``specs``; ``on_record(spec, record)`` once per spec (runs not made: status skipped or
        interrupted). Returns True when interrupted."""

    def run_all(self, specs: list[RunSpec]) -> list[dict]:
        """The records of ``specs``, in their order."""
        got: dict[int, dict] = {}
        pos = {id(s): i for i, s in enumerate(specs)}
        self.launch(specs, lambda spec, rec: got.__setitem__(pos[id(spec)], rec))
        return [got[i] for i in range(len(specs))]


class LocalLauncher(Launcher):
    """Simulator processes on this machine, ``jobs`` at a time, on a built ``sim``."""

    def __init__(self, sim, jobs: int = 2, build_args=(), run_fn: Callable = run_test,
                 on_interrupt: Callable[[int], None] | None = None, runs_per_process: int | None = 0,
                 batch_seconds: float | None = None, work_dir=None, trace: bool = False):
        super().__init__()
        self.sim = sim
        self.jobs = max(1, int(jobs))
        self.build_args = list(build_args)
        self.run_fn = run_fn
        self.on_interrupt = on_interrupt
        # 0 / None: the command's defaults (redmule_verif.flow.batching.DEFAULTS)
        self.runs_per_process = runs_per_process if runs_per_process else DEFAULTS["runs_per_process"]
        self.batch_seconds = float(batch_seconds or DEFAULTS["batch_seconds"])
        self.work_dir = work_dir
        self.trace = trace
        self.sessions = []  # the batch workers of the last launch (process counts, busy time)

    @property
    def batched(self) -> bool:
        """Batch workers (many runs per simulator process) unless one run per process was asked for or the
        runs go through another run function (tests, remote runs)."""
        return self.runs_per_process != 1 and self.run_fn is run_test

    def _run(self, spec: RunSpec) -> dict:
        if self.stop.is_set():
            return run_record(spec, None, self.build_args, "skipped", "not started: the regression was interrupted")
        try:
            rec = self.run_fn(self.sim, spec.test, spec.seed, spec.dir, knobs=spec.knobs, timeout=spec.timeout,
                              waves=spec.waves, extra_env=spec.env, assert_cycles=spec.assert_cycles)
        except Exception as exc:  # noqa: BLE001 - a broken run is a record, never a lost result
            return run_record(spec, None, self.build_args, "error",
                              f"the runner raised {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        if self.stop.is_set() and rec["status"] not in ("pass", "fail"):
            return run_record(spec, rec, self.build_args, "interrupted", "killed: the regression was interrupted")
        return run_record(spec, rec, self.build_args)

    def launch(self, specs, on_record, on_progress=None) -> bool:
        if self.batched and specs:
            return self._launch_batches(list(specs), on_record, on_progress)
        counts = Progress(len(specs))

        def done(spec, rec, exc):
            if exc is not None:
                rec = tool_error_record(spec, exc, self.build_args)
            counts.done += 1
            counts.failing += rec["status"] in FAILING
            on_record(spec, rec)
            if on_progress:
                on_progress(counts)

        binary = getattr(self.sim, "binary", None)
        with stop_signals():
            out = run_pool(specs, self._run, done, self.jobs, self.stop,
                           kill=lambda: kill_children([binary] if binary else None),
                           on_interrupt=self.on_interrupt, name="launch")
        for spec in out.not_started:
            on_record(spec, run_record(spec, None, self.build_args, "skipped",
                                       "not started: the regression was interrupted"))
        for spec in out.abandoned:  # threads that would not end: recorded anyway
            on_record(spec, run_record(spec, None, self.build_args, "interrupted",
                                       "killed: the regression was interrupted"))
        self.interrupted = self.interrupted or out.interrupted
        return out.interrupted

    # -- batch workers
    def _workers_dir(self, specs) -> pathlib.Path:
        if self.work_dir:
            return pathlib.Path(self.work_dir)
        common = pathlib.Path(os.path.commonpath([str(s.dir) for s in specs]))
        return (common if len(specs) > 1 else common.parent) / "_workers"

    def _launch_batches(self, specs, on_record, on_progress) -> bool:
        from redmule_verif.sim.batch import run_batch  # the simulator side is only needed here

        counts = Progress(len(specs))
        lock = threading.Lock()
        reported: set = set()
        batches = self.batches(specs, self.jobs)
        work = self._workers_dir(specs)
        self.sessions = []

        def record(spec, raw, status=None, message=""):
            if raw is None and status is None:
                status, message = "skipped", "not started: the regression was interrupted"
            elif raw is not None and self.stop.is_set() and raw["status"] not in ("pass", "fail"):
                status, message = "interrupted", "killed: the regression was interrupted"
            rec = run_record(spec, raw, self.build_args, status, message)
            with lock:
                if id(spec) in reported:
                    return
                reported.add(id(spec))
                counts.done += 1
                counts.failing += rec["status"] in FAILING
                on_record(spec, rec)
                if on_progress:
                    on_progress(counts)

        def run_one_batch(item):
            n, batch = item
            self.sessions.append(run_batch(self.sim, batch, record, work, stop=self.stop, name=f"batch{n:03d}",
                                           trace=self.trace))

        def done(item, result, exc):
            if exc is not None:  # the batch driver itself broke: its unreported runs are error records
                for spec in item[1]:
                    if id(spec) not in reported:
                        rec = tool_error_record(spec, exc, self.build_args)
                        with lock:
                            reported.add(id(spec))
                            counts.done += 1
                            counts.failing += 1
                            on_record(spec, rec)

        binary = getattr(self.sim, "binary", None)
        with stop_signals():
            out = run_pool(list(enumerate(batches)), run_one_batch, done, self.jobs, self.stop,
                           kill=lambda: kill_children([binary] if binary else None),
                           on_interrupt=self.on_interrupt, name="batch")
        for _, batch in out.not_started + out.abandoned:
            for spec in batch:
                record(spec, None, "skipped" if id(spec) not in reported else None)
        self.interrupted = self.interrupted or out.interrupted
        return out.interrupted
