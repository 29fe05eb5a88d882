"""Many runs per simulator process: the outer side of a batch worker.

A :class:`WorkerSession` keeps one simulator process (the cocotb module
:mod:`redmule_verif.sim.worker_tests`) and hands it runs one at a time over a
pipe; :meth:`WorkerSession.run_test` has the signature and the record of
:func:`redmule_verif.sim.runner.run_test`, so every tool can take it as its
``run_fn``. Faults stay per run:

* a hang is the environment's (the watchdog fails that run; the worker
  restarts the harness and goes on);
* a run that outlives its wall-clock limit is killed with the process and
  recorded as ``timeout``; the next run starts a new process;
* a crash (segfault, ``$fatal``, a Python exception outside a test, any exit
  before the run ended) records the active run as ``error`` with the tail of
  the process log appended to the run's ``sim.log``; the next run starts a new
  process. Nothing is skipped silently.

Runs that ask for waves, other plusargs or environment variables of the
process itself (anything but ``REDMULE_*``) go through the single-run path:
those are per-process settings. :func:`run_batch` runs a list of specs on one session and
reports one record per run.
"""

from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import subprocess
import tempfile
import threading
import time
from typing import Callable

from redmule_verif.sim.build import cocotb_env
from redmule_verif.sim.paths import DEFAULT_RTL
from redmule_verif.sim.runner import run_test

WORKER_MODULE = "redmule_verif.sim.worker_tests"
DEFAULT_SLOTS = 256        # runs per process at most (the process is then replaced)
STARTUP_TIMEOUT = 300.0    # seconds for a new process to ask for its first run
LOG_TAIL_LINES = 60


def _shm_dir() -> str | None:
    d = "/dev/shm"
    return d if os.path.isdir(d) and os.access(d, os.W_OK) else None


def log_tail(path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = pathlib.Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "".join(text.splitlines(True)[-lines:])


class WorkerSession:
    """One simulator process at a time on ``sim``, running runs one after another."""

    def __init__(self, sim, work_dir, slots: int = DEFAULT_SLOTS, python_path=(), name: str = "worker",
                 stop=None, plusargs=(), harness_trace: bool = True):
        self.sim = sim
        # False: the harness writes no trace at all (benchmarks only: the monitors are blind, the TRACE check
        # fails every run); the cost of the trace channel is what such a run saves
        self.harness_trace = harness_trace
        self.work_dir = pathlib.Path(work_dir).resolve()
        self.slots = max(1, int(slots))
        self.python_path = list(python_path)
        self.plusargs = list(plusargs)  # of the process: every run of the session gets them
        self.name = name
        self.stop = stop
        self.proc: subprocess.Popen | None = None
        self.processes = 0          # processes started
        self.runs = 0               # runs handed out in the current process
        self.busy_s = 0.0           # wall time with a process alive (start-up included)
        self._t_proc = 0.0
        self._buf = b""
        self._trace_dir = None

    # -- process
    @property
    def log(self) -> pathlib.Path:
        return self.work_dir / f"{self.name}-{self.processes}.log"

    def _start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.processes += 1
        self.runs = 0
        shm = _shm_dir()
        self._trace_dir = tempfile.mkdtemp(prefix="redmule-trace-", dir=shm or str(self.work_dir))
        trace = os.path.join(self._trace_dir, "tcdm_trace.log")
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        env = cocotb_env(self.sim, WORKER_MODULE, self.python_path, None, 1, self.work_dir / "results.xml", {
            "REDMULE_WORKER_FDS": f"{p2c_r},{c2p_w}", "REDMULE_WORKER_SLOTS": str(self.slots),
            "REDMULE_WORKER_TRACE": trace})
        with open(self.log, "w") as fh:
            # code coverage (coverage builds) is written when the process ends: one file per process
            # (exactly that name, which `redmule-verif coverage DIR` merges)
            cov = self.work_dir / f"{self.name}-{self.processes}.cov" / "coverage.dat"
            cov.parent.mkdir(parents=True, exist_ok=True)
            trace_arg = [f"+tcdm_log={trace}"] if self.harness_trace else []
            self.proc = subprocess.Popen([str(self.sim.binary), *trace_arg, f"+verilator+coverage+file+{cov}",
                                          *self.plusargs],
                                         cwd=self.work_dir, env=env,
                                         stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                         pass_fds=(p2c_r, c2p_w))
        os.close(p2c_r)
        os.close(c2p_w)
        self._tx = os.fdopen(p2c_w, "w", buffering=1)
        self._rx = c2p_r
        self._buf = b""
        self._t_proc = time.monotonic()

    def _kill(self) -> int | None:
        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        rc = self.proc.wait()
        self._reap()
        return rc

    def _reap(self) -> None:
        for f in (getattr(self, "_tx", None),):
            try:
                f and f.close()
            except OSError:
                pass
        try:
            os.close(self._rx)
        except (OSError, TypeError):
            pass
        self.busy_s += time.monotonic() - self._t_proc
        self.proc = None
        if self._trace_dir:
            for f in pathlib.Path(self._trace_dir).glob("*"):
                f.unlink(missing_ok=True)
            try:
                os.rmdir(self._trace_dir)
            except OSError:
                pass
            self._trace_dir = None

    def close(self, timeout: float = 60.0) -> None:
        """End the process normally (its final blocks run: code coverage is written)."""
        if self.proc is None:
            return
        try:
            msg = self._read(time.monotonic() + 10)
            if msg == "ready":
                self._tx.write("\n")
                self._tx.flush()
            self.proc.wait(timeout=timeout)
            self._reap()
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self._kill()

    def _read(self, deadline: float) -> str | None:
        """The next message line; None at EOF (the process ended); '' when the deadline passed."""
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return ""
            if self.stop is not None and self.stop.is_set():
                return None
            r, _, _ = select.select([self._rx], [], [], min(left, 0.5))
            if not r:
                continue
            chunk = os.read(self._rx, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode().strip()

    # -- one run
    def run_test(self, sim, test: str, seed: int, out_dir, knobs: dict | None = None, timeout: float | None = 600,
                 waves: bool = False, extra_env: dict | None = None, plusargs=(), module=None, python_path=(),
                 assert_cycles: bool | None = None, trace: bool = False) -> dict:
        """Like :func:`redmule_verif.sim.runner.run_test`, in this session's process."""
        process_env = [k for k in (extra_env or {}) if not k.startswith("REDMULE_")]  # e.g. LIBPYTHON_LOC, COCOTB_*
        if waves or process_env or list(plusargs) != self.plusargs or str(sim.binary) != str(self.sim.binary) or \
                [str(pathlib.Path(x).resolve()) for x in python_path or self.python_path] != \
                [str(pathlib.Path(x).resolve()) for x in self.python_path]:
            kw = {"module": module} if module else {}
            return run_test(sim, test, seed, out_dir, knobs=knobs, timeout=timeout, waves=waves,
                            extra_env=extra_env, plusargs=plusargs, python_path=python_path,
                            assert_cycles=assert_cycles, **kw)
        out = pathlib.Path(out_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        if assert_cycles is None:
            assert_cycles = str(DEFAULT_RTL) in sim.config.sources
        knobs = dict(knobs or {})
        if isinstance(knobs.get("file"), str) and os.path.isfile(knobs["file"]):
            knobs["file"] = os.path.abspath(knobs["file"])
        env = {"REDMULE_TEST": test, "REDMULE_SEED": str(int(seed)), "REDMULE_KNOBS": json.dumps(knobs)}
        if assert_cycles:
            env["REDMULE_ASSERT_CYCLES"] = "1"
        env.update(getattr(self.sim, "run_env", None) or {})  # the DUT's profile and waivers (DutOptions.run_env)
        env.update({k: str(v) for k, v in (extra_env or {}).items()})
        spec = {"id": f"{self.processes}.{self.runs}", "test": test, "seed": int(seed), "dir": str(out),
                "env": env, "trace": bool(trace), "module": module}
        for stale in ("summary.json", "coverage.json", "result.json", "window.json"):
            (out / stale).unlink(missing_ok=True)
        status, message, wall = self._hand_out(spec, out, timeout)
        return self._record(test, seed, out, status, message, wall)

    def _hand_out(self, spec: dict, out: pathlib.Path, timeout: float | None):
        fresh = self.proc is None
        if fresh:
            self._start()
        msg = self._read(time.monotonic() + STARTUP_TIMEOUT)
        if msg != "ready":
            return self._crashed(out, "before it took the run" if fresh else "between runs", msg)
        self.runs += 1
        self._tx.write(json.dumps(spec) + "\n")
        self._tx.flush()
        t0 = time.monotonic()
        deadline = t0 + (timeout if timeout else 1e9)
        started = False
        while True:
            msg = self._read(deadline)
            if msg == "":
                self._kill()
                self._append_log(out, "the run was killed at its wall-clock limit")
                return "timeout", f"wall-clock limit of {timeout:g} s reached; simulator killed", \
                    time.monotonic() - t0
            if msg is None:
                return (*self._crashed(out, "during the run" if started else "as it took the run", None)[:2],
                        time.monotonic() - t0)
            if msg.startswith("start "):
                started = True
                t0 = time.monotonic()
            elif msg.startswith("end "):
                wall = time.monotonic() - t0
                if self.runs >= self.slots:
                    self.close()
                return None, None, wall

    def _crashed(self, out: pathlib.Path, when: str, msg):
        stopped = self.stop is not None and self.stop.is_set()
        rc = self._kill() if (stopped or self.proc.poll() is None) else self.proc.wait()
        log = self.log
        if self.proc is not None:
            self._reap()
        self._append_log(out, f"the simulator process ended {when} (exit code {rc})")
        if stopped:
            return "interrupted", "killed: the regression was interrupted", 0.0
        return "error", (f"simulator exited with code {rc} {when} and wrote no results (crash?); "
                         f"see {out / 'sim.log'} (process log {log})"), 0.0

    def _append_log(self, out: pathlib.Path, what: str) -> None:
        tail = log_tail(self.log)
        with open(out / "sim.log", "a") as fh:
            fh.write(f"\n==== {what}; last lines of the process log {self.log}:\n{tail}")

    def _record(self, test, seed, out: pathlib.Path, status, message, wall) -> dict:
        result = {}
        if status is None:
            try:
                result = json.loads((out / "result.json").read_text())
                status, message = result["status"], result.get("message", "")
            except (OSError, ValueError, KeyError):
                status, message = "error", f"the run ended without a result.json; see {out / 'sim.log'}"
        summary = {}
        if (out / "summary.json").exists():
            try:
                summary = json.loads((out / "summary.json").read_text())
            except ValueError:
                summary = {}
        return {
            "test": test, "seed": int(seed), "status": status, "wall_s": round(wall, 2),
            "sim_cycles": summary.get("sim_cycles"), "jobs_checked": summary.get("jobs_checked", 0),
            "message": message, "first_errors": summary.get("first_errors", []), "log": str(out / "sim.log"),
            "dir": str(out), "waves": None, "summary": summary, "window_s": result.get("window_s"),
            "body_s": result.get("body_s"),
        }

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            self._kill()


def run_batch(sim, specs, on_record: Callable, work_dir, slots: int = DEFAULT_SLOTS, stop=None,
              name: str = "worker", trace: bool = False) -> WorkerSession:
    """Run RunSpecs ``specs`` one after another in worker processes; ``on_record(spec, raw_record)`` per run
    (raw: the runner's record, before :func:`redmule_verif.flow.records.run_record`)."""
    session = WorkerSession(sim, work_dir, slots=slots, name=name, stop=stop)
    try:
        for spec in specs:
            if stop is not None and stop.is_set():
                on_record(spec, None)
                continue
            raw = session.run_test(sim, spec.test, spec.seed, spec.dir, knobs=spec.knobs, timeout=spec.timeout,
                                   waves=spec.waves, extra_env=spec.env, assert_cycles=spec.assert_cycles,
                                   trace=trace)
            on_record(spec, raw)
    finally:
        if stop is not None and stop.is_set():
            session._kill()
        else:
            session.close()
    return session


class SessionRunFn:
    """A ``run_fn`` with :func:`~redmule_verif.sim.runner.run_test`'s signature whose runs share worker
    processes: one :class:`WorkerSession` per calling thread and simulator (two per thread at most: the
    oldest is closed). For the tools whose runs are decided one at a time (shrink,
    qualify): the start-up of a simulator process is paid once per session, not per run. ``close()`` at
    the end."""

    def __init__(self, work_dir, slots: int = DEFAULT_SLOTS, stop=None):
        self.work_dir = pathlib.Path(work_dir)
        self.slots = slots
        self.stop = stop
        self.sessions: dict[tuple, WorkerSession] = {}
        self.per_thread = 2  # qualify alternates between a mutant and the clean RTL
        self._n = 0
        self._lock = threading.Lock()

    def __call__(self, sim, test, seed, out_dir, **kw) -> dict:
        key = (threading.get_ident(), str(sim.binary))
        session = self.sessions.get(key)
        if session is None:
            mine = [k for k in self.sessions if k[0] == key[0]]
            if len(mine) >= self.per_thread:  # the thread's oldest session goes (e.g. the previous mutant's)
                self.sessions.pop(mine[0]).close()
            with self._lock:
                self._n += 1
                n = self._n
            session = self.sessions[key] = WorkerSession(sim, self.work_dir, slots=self.slots,
                                                         name=f"session{n:03d}", stop=self.stop)
        return session.run_test(sim, test, seed, out_dir, **kw)

    def close(self) -> None:
        for session in list(self.sessions.values()):
            session.close()
        self.sessions.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
