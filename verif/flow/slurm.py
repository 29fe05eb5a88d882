"""Regression engines: Slurm job arrays (`SlurmLauncher`) and local processes
(`LocalLauncher`), behind one interface.

A regression is many (test, seed) runs; each run is an `ArrayTask`: a command
(argv, cwd, env) that writes its JSON run record (`record_path`) when it ends
normally and enforces its own wall-clock limit (`time_limit_s`). An engine runs
a list of tasks and reports each one exactly once, as it reaches a final state,
through `on_finished(task, outcome)`; a task that ended without its record is
reported with the engine's reason (for Slurm, Slurm's own: "TIMEOUT: DUE TO
TIME LIMIT", "CANCELLED by 0", "OUT_OF_MEMORY: ...", "CANCELLED:
DependencyNeverSatisfied ..."), never lost.

    launcher = SlurmLauncher("out/regress/slurm", SlurmOptions(partition="short", mem="4G"))
    build = launcher.submit_job(["redmule-verif", "build", ...], cwd=repo)      # optional
    outcomes = launcher.run(tasks, on_finished=record_it, on_progress=show, after=build)

`run()` = `submit()` + `wait()`; `wait()` (or a loop of your own calling
`poll()`) polls the queue every `poll_s` seconds. Ctrl-C / SIGTERM during
`run()` cancel everything submitted (scancel) before the exception goes on;
call `cancel()` yourself in any other exit path. `LocalLauncher` has the same
methods and callbacks and runs the tasks as subprocesses, N at a time.

How the Slurm engine works. `submit()` writes one small shell script per task
(`WORK/tasks/c<chunk>/<i>.sh`: cd, export, exec argv) and one array script per
chunk of at most `max_array_size` tasks (`WORK/arrays/c<chunk>.sh`, which execs
the task script named by SLURM_ARRAY_TASK_ID), and submits each chunk with one
`sbatch --array=0-(n-1)` (stdout/stderr per task in `WORK/logs/%A_%a.{out,err}`,
optionally `--dependency=afterok:<build job> --kill-on-invalid-dep=yes`). The
work folder must be on a filesystem the compute nodes share. `poll()` reads
`scontrol -o show job <array id>` once per array (final states stay there for
the cluster's MinJobAge; `sacct` would need slurmdbd, which small clusters lack)
and, when a task reaches a final state, reads the tail of its stderr for
slurmstepd's own words ("CANCELLED AT ... DUE TO TIME LIMIT", "exceeded memory
limit") to give the reason, and checks its record. A task the controller has
forgotten (purged after MinJobAge before we saw it end) keeps its last seen
state; its end is then taken from sacct when there is accounting, else
inferred from its record and stderr, else reported as UNKNOWN with the last
seen state. Preempted tasks (and any state in `requeue_states`) are submitted
again (`sbatch --array=<their indices>`) up to `max_requeue` times.

What a cluster needs: the Slurm client commands on the machine that runs the
regression (sacct optional); the work folder, the records' folders, the
repository with its build cache and the project's virtual environment on a
filesystem the compute nodes share, at the same paths (the jobs get the
submitter's environment, sbatch --export=ALL, so PATH finds `redmule-verif`
and its Python); g++ and make on the node that runs a build job (or build
before submitting and pass no `after`); a partition whose MaxTime admits the
derived --time; MinJobAge (default 300 s) well above `poll_s`.

Why not submitit (1.5.4 on PyPI; its wheel read, not installed): it runs
pickled Python callables, not commands (a command needs its CommandFunction
wrapper) through `python -m submitit.core._submit`, so submitit and cloudpickle
must be installed in the nodes' Python; `executor.batch()` does pack
submissions into one job array, `dependency` is passed through as an sbatch
parameter, and `cancel()` is scancel job by job; but every state comes from
`sacct` alone (SlurmInfoWatcher), so on a cluster without slurmdbd every job is
UNKNOWN and none of the reasons above (time limit, memory, cancelled,
dependency never satisfied) can be told; and its requeue on preemption relies
on a signal handler inside the pickled callable. What is needed here is four
commands (sbatch, scontrol, scancel, squeue) whose text output has been stable
for many Slurm versions, so the engine calls them itself: standard library
only, nothing to install on the nodes but the project.

Standard library only; no import from the rest of the framework.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import pathlib
import re
import shlex
import signal as _signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from redmule_verif.flow.executor import signal_handlers

# Final states as Slurm names them (job_state_string); anything else is still queued or running.
FINAL_STATES = frozenset({
    "COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
    "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT",
})
QUEUED_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"})
# Pending reasons that mean the job will never run.
NEVER_RUNS = frozenset({"DependencyNeverSatisfied", "BadConstraints", "InvalidAccount", "InvalidQOS",
                        "PartitionTimeLimit", "PartitionNodeLimit", "PartitionDown"})
# Errors worth a retry (for sbatch only those that mean nothing was submitted:
# after a time-out the job may exist, and a retry would submit it twice).
TRANSIENT = ("Socket timed out", "Unable to contact slurm controller", "temporarily unavailable",
             "Slurm temporarily unable", "Connection refused", "Zero Bytes were transmitted",
             "Transport endpoint", "try again")
TRANSIENT_SUBMIT = ("Unable to contact slurm controller", "Slurm temporarily unable", "Connection refused")


class SlurmError(RuntimeError):
    """A Slurm command failed (the message has its stderr)."""


class SlurmUnavailable(SlurmError):
    """The Slurm client commands are not installed here."""


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass
class ArrayTask:
    """One run: `argv` in `cwd` with `env` added to the environment. It writes
    `record_path` when it ends normally and enforces `time_limit_s` itself
    (the engine's limit is only a backstop)."""

    index: int
    argv: list[str]
    cwd: str | os.PathLike = "."
    env: dict[str, str] = field(default_factory=dict)
    record_path: str | os.PathLike | None = None
    time_limit_s: float | None = None
    name: str = ""

    def label(self) -> str:
        return self.name or f"task {self.index}"


@dataclass
class TaskOutcome:
    """How a task ended. `state` is Slurm's final state (refined: a job Slurm
    calls FAILED or CANCELLED for exceeding its memory is OUT_OF_MEMORY);
    `reason` is one human line starting with the state; `slurm_state` and
    `slurm_reason` are Slurm's own words (the local engine uses the same ones)."""

    state: str
    reason: str
    exit_code: int | None = None
    signal: int | None = None
    record_exists: bool = False
    record_path: str = ""
    job_id: str = ""
    attempts: int = 1
    started: bool = True
    stdout: str = ""
    stderr: str = ""
    slurm_state: str = ""
    slurm_reason: str = ""
    elapsed_s: float | None = None

    @property
    def ok(self) -> bool:
        """Ended normally: COMPLETED, exit 0, and its record written (the
        record holds the run's own verdict)."""
        return (self.state == "COMPLETED" and not self.exit_code and not self.signal
                and (self.record_exists or not self.record_path))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Progress:
    total: int
    queued: int
    running: int
    done: int
    failing: int

    def __str__(self) -> str:
        return f"{self.done}/{self.total} done ({self.failing} failing), {self.running} running, {self.queued} queued"


@dataclass
class SlurmOptions:
    """sbatch options of every array task (and defaults of `submit_job`).

    time: minutes per task; None derives it from the tasks' own limits:
    ceil((max time_limit_s * (1 + time_margin) + time_pad_s) / 60), or
    `default_time` when no task has a limit."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: int | None = None
    mem: str | None = None
    cpus_per_task: int = 1
    extra_args: list[str] = field(default_factory=list)
    max_requeue: int = 2
    poll_s: float = 10.0
    job_name: str = "redmule-verif"
    max_running: int | None = None
    max_array_size: int = 1000
    time_margin: float = 0.2
    time_pad_s: float = 120.0
    default_time: int = 60
    record_grace_s: float = 10.0
    requeue_states: tuple[str, ...] = ("PREEMPTED",)

    def time_minutes(self, tasks: Iterable[ArrayTask] = ()) -> int:
        if self.time is not None:
            return int(self.time)
        limits = [t.time_limit_s for t in tasks if t.time_limit_s]
        if not limits:
            return self.default_time
        return max(1, math.ceil((max(limits) * (1 + self.time_margin) + self.time_pad_s) / 60))

    def sbatch_args(self, minutes: int) -> list[str]:
        args = [f"--time={minutes}", f"--cpus-per-task={self.cpus_per_task}"]
        for flag, value in (("--partition", self.partition), ("--account", self.account),
                            ("--qos", self.qos), ("--mem", self.mem)):
            if value:
                args.append(f"{flag}={value}")
        return args + list(self.extra_args)


OnFinished = Callable[[ArrayTask, TaskOutcome], None]
OnProgress = Callable[[Progress], None]


# ---------------------------------------------------------------------------
# Helpers shared by both engines
# ---------------------------------------------------------------------------


def expand_indices(spec: str) -> list[int]:
    """Slurm's ArrayTaskId: '5', '0-3', '0-9%2', '1,3,5-7', '1-7:2'."""
    spec = spec.split("%", 1)[0].strip()
    out: list[int] = []
    if not spec or spec in ("N/A", "(null)"):
        return out
    for part in spec.split(","):
        step = 1
        if ":" in part:
            part, s = part.split(":", 1)
            step = int(s)
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1, step))
        else:
            out.append(int(part))
    return out


def format_indices(indices: Iterable[int]) -> str:
    """Compact '0-3,7,9-10' for sbatch --array."""
    xs = sorted(set(indices))
    parts, i = [], 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        parts.append(str(xs[i]) if i == j else f"{xs[i]}-{xs[j]}")
        i = j + 1
    return ",".join(parts)


_KEY = re.compile(r"(?:(?<=\s)|^)([A-Za-z][\w/:.()-]*)=")


def parse_scontrol_line(line: str) -> dict[str, str]:
    """`scontrol -o show job` prints one record a line as Key=Value pairs; a
    value runs up to the next ' Key=' (some values, e.g. Reason or Comment,
    can hold spaces)."""
    rec: dict[str, str] = {}
    matches = list(_KEY.finditer(line))
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(line)
        rec[m.group(1)] = line[m.end():end].strip()
    return rec


def parse_exit(code: str | None) -> tuple[int | None, int | None]:
    """'3:0' -> (3, None); '0:9' -> (0, 9)."""
    if not code or ":" not in code:
        return None, None
    a, b = code.split(":", 1)
    try:
        ec, sig = int(a), int(b)
    except ValueError:
        return None, None
    return ec, (sig or None)


_STEPD = re.compile(r"\*\*\* (?:JOB|STEP) (\S+) ON (\S+) CANCELLED AT (\S+)(?: DUE TO ([A-Z][A-Z _]*?))?(?: \*\*\*|$)")
_OOM = re.compile(r"exceeded (?:job )?memory limit|oom-kill event|out of memory", re.I)


def stderr_facts(path: str | os.PathLike | None, tail_bytes: int = 32768) -> dict:
    """What slurmstepd wrote in a task's stderr: cancelled at / due to, memory."""
    facts: dict = {}
    if not path:
        return facts
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - tail_bytes))
            text = f.read().decode(errors="replace")
    except OSError:
        return facts
    for m in _STEPD.finditer(text):
        facts["cancelled_at"] = m.group(3)
        if m.group(4):
            facts["due_to"] = m.group(4).strip()
        facts["stepd_line"] = m.group(0).strip(" *")
    oom = [ln.split("error: ", 1)[-1].strip() for ln in text.splitlines() if _OOM.search(ln)]
    if oom:
        facts["oom"] = max(oom, key=len)  # the most telling line: with the step and the numbers
    return facts


def signal_name(sig: int | None) -> str:
    if not sig:
        return ""
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def describe(slurm_state: str, slurm_reason: str = "", exit_code: int | None = None, sig: int | None = None,
             facts: dict | None = None, cancelled_by: str | None = None, record_path=None,
             record_exists: bool = False, started: bool = True, extra: str = "") -> tuple[str, str]:
    """(state, reason line) of a task from Slurm's words."""
    facts = facts or {}
    reason = "" if slurm_reason in ("None", "(null)") else (slurm_reason or "")
    state = slurm_state
    if facts.get("oom") and state in ("FAILED", "CANCELLED", "OUT_OF_MEMORY"):
        state = "OUT_OF_MEMORY"
    due = facts.get("due_to")
    if state == "COMPLETED":
        if record_path and not record_exists:
            text = f"COMPLETED: exit code 0 but no record at {record_path}"
        else:
            text = "COMPLETED"
    elif state == "FAILED":
        if sig:
            what = f"killed by {signal_name(sig)}"
        elif exit_code is not None:
            what = f"exit code {exit_code}"
        else:
            what = "failed"
        text = f"FAILED: {what}" + (f" ({reason})" if reason else "")
    elif state == "TIMEOUT":
        text = f"TIMEOUT: DUE TO {due}" if due else f"TIMEOUT: {reason or 'TimeLimit'}"
    elif state == "CANCELLED":
        if reason in NEVER_RUNS:
            text = f"CANCELLED: {reason}"
        elif cancelled_by is not None:
            text = f"CANCELLED by {cancelled_by}"
        elif due:
            text = f"CANCELLED: DUE TO {due}"
        elif facts.get("cancelled_at"):
            text = f"CANCELLED at {facts['cancelled_at']} (scancel by a user or an administrator)"
        else:
            text = "CANCELLED" + (f": {reason}" if reason else "") + ("" if started else " before it started")
    elif state == "OUT_OF_MEMORY":
        text = f"OUT_OF_MEMORY: {facts['oom']}" if facts.get("oom") else f"OUT_OF_MEMORY: {reason or 'OutOfMemory'}"
    elif state == "PREEMPTED":
        text = f"PREEMPTED: DUE TO {due}" if due else f"PREEMPTED: {reason or 'preempted'}"
    else:
        bits = [b for b in (reason, f"DUE TO {due}" if due else "", facts.get("stepd_line", "")) if b]
        text = f"{state}: {'; '.join(bits)}" if bits else state
    if extra:
        text += f" ({extra})"
    return state, text


def signals_interrupt(signals=(_signal.SIGTERM, _signal.SIGHUP)):
    """Within the block, SIGTERM and SIGHUP raise KeyboardInterrupt like Ctrl-C
    (so the engines cancel what they submitted). No-op outside the main thread."""
    return signal_handlers({s: _raise_interrupt for s in signals})


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _signals_ignored(signals=(_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)):
    return signal_handlers({s: _signal.SIG_IGN for s in signals})


def _shell_script(task_or_job: str, argv: list[str], cwd, env: dict[str, str]) -> str:
    lines = ["#!/bin/bash", f"# {task_or_job}: written by redmule_verif.flow.slurm"]
    if cwd is not None:
        lines.append(f"cd -- {shlex.quote(str(cwd))} || exit 97")
    for k, v in env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise ValueError(f"bad environment variable name {k!r}")
        lines.append(f"export {k}={shlex.quote(str(v))}")
    lines.append("exec " + " ".join(shlex.quote(str(a)) for a in argv))
    return "\n".join(lines) + "\n"


def _write(path: pathlib.Path, text: str, mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class _Base:
    """What both engines share: task bookkeeping, callbacks, run()."""

    def __init__(self):
        self.outcomes: dict[int, TaskOutcome] = {}
        self._tasks: dict[int, ArrayTask] = {}
        self._on_finished: OnFinished | None = None
        self._on_progress: OnProgress | None = None
        self._last_progress: Progress | None = None
        self.cancelled = False

    def _check_tasks(self, tasks: list[ArrayTask]) -> None:
        seen = set()
        for t in tasks:
            if t.index in self._tasks or t.index in seen:
                raise ValueError(f"task index {t.index} submitted twice")
            if not t.argv:
                raise ValueError(f"task {t.index} has no command")
            seen.add(t.index)

    def _add_tasks(self, tasks: list[ArrayTask]) -> None:
        self._check_tasks(tasks)
        for t in tasks:
            self._tasks[t.index] = t

    def _finish(self, task: ArrayTask, outcome: TaskOutcome) -> None:
        if task.index in self.outcomes:
            return
        self.outcomes[task.index] = outcome
        if self._on_finished:
            self._on_finished(task, outcome)

    def _progress(self, queued: int, running: int) -> Progress:
        done = len(self.outcomes)
        failing = sum(1 for o in self.outcomes.values() if not o.ok)
        p = Progress(total=len(self._tasks), queued=queued, running=running, done=done, failing=failing)
        if self._on_progress and p != self._last_progress:
            self._on_progress(p)
        self._last_progress = p
        return p

    def unfinished(self) -> list[ArrayTask]:
        return [t for i, t in self._tasks.items() if i not in self.outcomes]

    def wait(self, on_finished: OnFinished | None = None, on_progress: OnProgress | None = None,
             timeout: float | None = None) -> dict[int, TaskOutcome]:
        """Poll until every submitted task has its outcome (or `timeout` s:
        TimeoutError, nothing cancelled). Any exception (Ctrl-C, a callback's)
        cancels everything first."""
        self._on_finished = on_finished or self._on_finished
        self._on_progress = on_progress or self._on_progress
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                self.poll()
                if not self.unfinished():
                    return dict(self.outcomes)
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"{len(self.unfinished())} tasks still unfinished")
                self._sleep()
        except TimeoutError:
            raise
        except BaseException:
            self.cancel()
            raise

    def run(self, tasks: list[ArrayTask], on_finished: OnFinished | None = None,
            on_progress: OnProgress | None = None, after: str | None = None,
            handle_signals: bool = True) -> dict[int, TaskOutcome]:
        """submit() + wait(); SIGTERM/SIGHUP act as Ctrl-C (cancel, then raise
        KeyboardInterrupt) when `handle_signals`."""
        ctx = signals_interrupt() if handle_signals else contextlib.nullcontext()
        with ctx:
            try:
                self.submit(tasks, after=after)
            except BaseException:
                self.cancel()
                raise
            return self.wait(on_finished, on_progress)

    # engines implement these
    def submit(self, tasks: list[ArrayTask], after: str | None = None) -> list[str]:
        raise NotImplementedError

    def poll(self) -> list[tuple[ArrayTask, TaskOutcome]]:
        raise NotImplementedError

    def cancel(self, wait: bool = True, timeout: float = 60.0) -> None:
        raise NotImplementedError

    def _sleep(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# Slurm
# ---------------------------------------------------------------------------


@dataclass
class _SlurmTask:
    task: ArrayTask
    chunk: int
    slot: int                  # index inside the chunk's array
    job: str                   # current array job id
    attempts: int = 1
    state: str | None = None   # last seen
    reason: str = ""
    exit: str = ""
    restarts: int = 0
    started: bool = False
    missing: int = 0           # consecutive polls not found
    final_seen: float | None = None
    submitted: float = 0.0
    start_time: str = ""
    end_time: str = ""


class SlurmLauncher(_Base):
    """Runs tasks as Slurm job arrays; see the module docstring.

    work_dir: a folder on the filesystem shared with the compute nodes (the
    generated scripts and the per-task logs go there).
    env: environment added to os.environ for the client commands (e.g.
    SLURM_CONF; the submitted jobs get the same, sbatch --export=ALL)."""

    def __init__(self, work_dir: str | os.PathLike, options: SlurmOptions | None = None,
                 env: dict[str, str] | None = None):
        super().__init__()
        self.work = pathlib.Path(work_dir).resolve()
        self.options = options or SlurmOptions()
        self.env = dict(env or {})
        self.uid = os.getuid()
        self._st: dict[int, _SlurmTask] = {}
        self._by_job: dict[tuple[str, int], _SlurmTask] = {}
        self._chunks: list[list[int]] = []          # chunk -> task indices by slot
        self._chunk_script: list[pathlib.Path] = []
        self._chunk_minutes: list[int] = []
        self.jobs: list[str] = []                   # every job id submitted (arrays and single jobs)
        self._job_outcomes: dict[str, TaskOutcome] = {}
        self._dependency: dict[int, str] = {}       # chunk -> job id it waits for
        self._n_single = 0
        self.calls = 0                              # Slurm commands run (for the benchmark)
        self.poll_errors = 0                        # polls the controller did not answer
        self.last_error = ""

    # ---- client commands ----
    def _client(self, args: list[str], check: bool = True, retries: int = 3,
                timeout: float = 60.0) -> subprocess.CompletedProcess:
        env = dict(os.environ, SLURM_BITSTR_LEN="0", **self.env)
        delay = 1.0
        for attempt in range(retries + 1):
            self.calls += 1
            try:
                r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                                   stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                r = subprocess.CompletedProcess(args, 124, "", f"{args[0]} timed out after {timeout} s")
            except FileNotFoundError as e:
                raise SlurmUnavailable(f"{args[0]} not found: is Slurm installed on this machine? ({e})") from None
            retry_on = TRANSIENT_SUBMIT if args[0] == "sbatch" else TRANSIENT
            transient = r.returncode != 0 and r.returncode != 124 and any(
                t.lower() in r.stderr.lower() for t in retry_on)
            if r.returncode == 0 or not transient or attempt == retries:
                break
            time.sleep(delay)
            delay *= 2
        if check and r.returncode != 0:
            raise SlurmError(f"{' '.join(args[:2])}... failed (rc={r.returncode}): {r.stderr.strip()}")
        return r

    def _sbatch(self, args: list[str]) -> str:
        r = self._client(["sbatch", "--parsable", *args])
        job = r.stdout.strip().split(";")[0].strip()
        if not job.isdigit():
            raise SlurmError(f"sbatch printed no job id: {r.stdout!r} {r.stderr!r}")
        self.jobs.append(job)
        self._write_manifest()
        return job

    def _write_manifest(self) -> None:
        """WORK/launcher.json: job ids and task slots, to scancel or inspect by hand."""
        data = {"jobs": self.jobs, "chunks": self._chunks,
                "tasks": {i: {"job": s.job, "slot": s.slot, "attempts": s.attempts} for i, s in self._st.items()}}
        try:
            _write(self.work / "launcher.json", json.dumps(data, indent=1), 0o644)
        except OSError:
            pass

    # ---- submission ----
    def submit_job(self, argv: list[str], cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                   name: str = "build", time_min: int | None = None, after: str | None = None,
                   extra_args: list[str] | None = None) -> str:
        """Submit one batch job (e.g. the simulator build that the arrays wait
        for with `submit(..., after=job)`); returns its job id."""
        self.work.mkdir(parents=True, exist_ok=True)
        self._n_single += 1
        script = self.work / "jobs" / f"{name}-{self._n_single}.sh"
        _write(script, _shell_script(f"job {name}", list(argv), cwd, env or {}))
        logs = self.work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        args = [f"--job-name={self.options.job_name}-{name}", f"--chdir={self.work}", "--export=ALL",
                "--open-mode=append", f"--output={logs / (name + '-%j.out')}", f"--error={logs / (name + '-%j.err')}",
                *self.options.sbatch_args(time_min or self.options.time or self.options.default_time),
                *(extra_args or [])]
        if after:
            args += [f"--dependency=afterok:{after}", "--kill-on-invalid-dep=yes"]
        return self._sbatch([*args, str(script)])

    def submit(self, tasks: list[ArrayTask], after: str | None = None) -> list[str]:
        """Submit the tasks as job arrays (one per `max_array_size` tasks);
        returns the array job ids. May be called more than once."""
        tasks = list(tasks)
        if not tasks:
            return []
        self._check_tasks(tasks)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "logs").mkdir(exist_ok=True)
        minutes = self.options.time_minutes(tasks)
        size = max(1, self.options.max_array_size)
        ids = []
        for start in range(0, len(tasks), size):
            part = tasks[start:start + size]
            chunk = len(self._chunks)
            self._chunks.append([t.index for t in part])
            tdir = self.work / "tasks" / f"c{chunk}"
            for slot, t in enumerate(part):
                _write(tdir / f"{slot}.sh", _shell_script(f"task {t.index} ({t.label()})", t.argv, t.cwd, t.env))
            script = self.work / "arrays" / f"c{chunk}.sh"
            _write(script, "#!/bin/bash\n"
                           f"# job array {chunk} of {self.options.job_name}: task i runs {tdir}/i.sh\n"
                           f'exec /bin/bash {shlex.quote(str(tdir))}/"${{SLURM_ARRAY_TASK_ID:?not an array task}}".sh\n')
            self._chunk_script.append(script)
            self._chunk_minutes.append(minutes)
            if after:
                self._dependency[chunk] = after
            spec = f"0-{len(part) - 1}"
            if self.options.max_running:
                spec += f"%{self.options.max_running}"
            job = self._submit_array(chunk, spec, after)  # raises: these tasks are not registered
            self._add_tasks(part)
            now = time.monotonic()
            for slot, t in enumerate(part):
                st = _SlurmTask(task=t, chunk=chunk, slot=slot, job=job, submitted=now)
                self._st[t.index] = st
                self._by_job[(job, slot)] = st
            self._write_manifest()
            ids.append(job)
        return ids

    def _submit_array(self, chunk: int, spec: str, after: str | None) -> str:
        logs = self.work / "logs"
        args = [f"--array={spec}", f"--job-name={self.options.job_name}", f"--chdir={self.work}", "--export=ALL",
                "--open-mode=append", f"--output={logs / '%A_%a.out'}", f"--error={logs / '%A_%a.err'}",
                *self.options.sbatch_args(self._chunk_minutes[chunk])]
        if after:
            args += [f"--dependency=afterok:{after}", "--kill-on-invalid-dep=yes"]
        return self._sbatch([*args, str(self._chunk_script[chunk])])

    # ---- state ----
    def _show(self, job: str) -> tuple[list[dict], bool]:
        """(records, known): the controller's records of a job (all tasks of an
        array); known=False when it has forgotten the job (or never had it)."""
        r = self._client(["scontrol", "-o", "show", "job", job], check=False)
        if r.returncode != 0:
            if "invalid job id" in r.stderr.lower():
                return [], False
            raise SlurmError(f"scontrol show job {job}: {r.stderr.strip()}")
        return [parse_scontrol_line(ln) for ln in r.stdout.splitlines() if ln.strip()], True

    def job_outcome(self, job: str) -> TaskOutcome | None:
        """The outcome of a single job (e.g. the build job), None while it is
        queued or running."""
        if job in self._job_outcomes:
            return self._job_outcomes[job]
        try:
            recs, known = self._show(job)
        except SlurmError:
            return None
        if not known:
            acct = self._sacct(job)
            if not acct:
                return TaskOutcome(state="UNKNOWN", reason=f"UNKNOWN: the controller has forgotten job {job}",
                                   job_id=job)
            recs = [acct]
        rec = recs[0]
        state = rec.get("JobState", "")
        if state not in FINAL_STATES:
            return None
        ec, sig = parse_exit(rec.get("ExitCode"))
        err = rec.get("StdErr", "")
        facts = stderr_facts(err)
        state, text = describe(state, rec.get("Reason", ""), ec, sig, facts,
                               cancelled_by=str(self.uid) if self.cancelled else None)
        o = TaskOutcome(state=state, reason=text, exit_code=ec, signal=sig, job_id=job, stdout=rec.get("StdOut", ""),
                        stderr=err, slurm_state=rec.get("JobState", ""), slurm_reason=rec.get("Reason", ""))
        self._job_outcomes[job] = o
        return o

    def _sacct(self, job: str) -> dict | None:
        """A forgotten job's end from accounting, when the cluster has it."""
        try:
            r = self._client(["sacct", "-n", "-P", "-X", "-j", job, "-o", "JobID,State,ExitCode,Reason"],
                             check=False, retries=0, timeout=30)
        except SlurmError:
            return None
        for ln in r.stdout.splitlines():
            parts = ln.split("|")
            if len(parts) >= 4 and parts[0] == job:
                state = parts[1].split()[0] if parts[1] else ""
                return {"JobState": state, "ExitCode": parts[2], "Reason": parts[3],
                        "by": parts[1].split("by", 1)[1].strip() if " by " in parts[1] else ""}
        return None

    def _logs(self, st: _SlurmTask) -> tuple[pathlib.Path, pathlib.Path]:
        base = self.work / "logs" / f"{st.job}_{st.slot}"
        return base.with_suffix(".out"), base.with_suffix(".err")

    def poll(self) -> list[tuple[ArrayTask, TaskOutcome]]:
        """One look at the queue: reports (on_finished) and returns the tasks
        that reached their final state since the last poll."""
        newly: list[tuple[ArrayTask, TaskOutcome]] = []
        open_tasks = [st for i, st in self._st.items() if i not in self.outcomes]
        by_job: dict[str, list[_SlurmTask]] = {}
        for st in open_tasks:
            by_job.setdefault(st.job, []).append(st)
        requeue: dict[int, list[_SlurmTask]] = {}
        never: list[_SlurmTask] = []
        for job, sts in by_job.items():
            try:
                recs, known = self._show(job)
            except SlurmUnavailable:
                raise
            except SlurmError as e:
                self.poll_errors += 1   # the controller did not answer: try again next poll
                self.last_error = str(e)
                continue
            seen: set[int] = set()
            truncated = False
            for rec in recs:
                spec = rec.get("ArrayTaskId", "")
                if "..." in spec:
                    truncated = True
                    spec = spec.split("...")[0].rstrip(",-")
                try:
                    slots = expand_indices(spec)
                except ValueError:
                    truncated = True
                    continue
                for slot in slots:
                    st = self._by_job.get((job, slot))
                    if st is None or st.task.index in self.outcomes:
                        continue
                    seen.add(slot)
                    st.missing = 0
                    st.state = rec.get("JobState", "")
                    st.reason = rec.get("Reason", "")
                    st.exit = rec.get("ExitCode", "")
                    st.start_time, st.end_time = rec.get("StartTime", ""), rec.get("EndTime", "")
                    try:
                        st.restarts = int(rec.get("Restarts", "0") or 0)
                    except ValueError:
                        pass
                    if st.state not in QUEUED_STATES and st.state not in FINAL_STATES:
                        st.started = True
            for st in sts:
                if st.slot in seen:
                    continue
                if truncated and known:
                    continue
                st.missing += 1   # twice in a row: not a glitch of one answer
                if st.missing >= 2:
                    o = self._forgotten(st)
                    if o is not None:
                        self._finish(st.task, o)
                        newly.append((st.task, o))
            # what the seen ones mean
            for st in sts:
                if st.task.index in self.outcomes or st.slot not in seen:
                    continue
                if st.state in FINAL_STATES:
                    if (st.state in self.options.requeue_states and not self.cancelled
                            and st.attempts <= self.options.max_requeue):
                        requeue.setdefault(st.chunk, []).append(st)
                        continue
                    o = self._final(st)
                    if o is not None:
                        self._finish(st.task, o)
                        newly.append((st.task, o))
                elif st.state in QUEUED_STATES and st.reason in NEVER_RUNS:
                    never.append(st)
        if never:
            self._never_runs(never, newly)
        for chunk, sts in requeue.items():
            self._requeue(chunk, sts)
        queued = sum(1 for st in self._st.values()
                     if st.task.index not in self.outcomes and (st.state is None or st.state in QUEUED_STATES))
        running = sum(1 for st in self._st.values() if st.task.index not in self.outcomes) - queued
        self._progress(queued, running)
        return newly

    def _final(self, st: _SlurmTask, rec_state: str | None = None, extra: str = "") -> TaskOutcome | None:
        out, err = self._logs(st)
        rp = st.task.record_path
        exists = bool(rp) and os.path.exists(rp)
        state = rec_state or st.state or "UNKNOWN"
        if state == "COMPLETED" and rp and not exists:
            # a shared filesystem may show the record a little later
            now = time.monotonic()
            if st.final_seen is None:
                st.final_seen = now
            if now - st.final_seen < self.options.record_grace_s:
                return None
        ec, sig = parse_exit(st.exit)
        facts = stderr_facts(err)
        by = str(self.uid) if self.cancelled and state == "CANCELLED" and st.reason not in NEVER_RUNS else None
        if state in self.options.requeue_states and st.attempts > 1:
            extra = f"submitted {st.attempts} times, max_requeue={self.options.max_requeue}" + (
                f"; {extra}" if extra else "")
        dep = self._dependency.get(st.chunk)
        if st.reason == "DependencyNeverSatisfied" and dep:
            dep_o = self.job_outcome(dep)
            extra = f"afterok:{dep} ended {dep_o.reason if dep_o else 'unknown'}" + (f"; {extra}" if extra else "")
        started = (st.started or out.exists() or err.exists()) and st.reason not in NEVER_RUNS
        fstate, text = describe(state, st.reason, ec, sig, facts, cancelled_by=by, record_path=rp,
                                record_exists=exists, started=started, extra=extra)
        return TaskOutcome(state=fstate, reason=text, exit_code=ec, signal=sig, record_exists=exists,
                           record_path=str(rp or ""), job_id=f"{st.job}_{st.slot}",
                           attempts=st.attempts + st.restarts, started=started,
                           stdout=str(out) if out.exists() else "", stderr=str(err) if err.exists() else "",
                           slurm_state=state, slurm_reason=st.reason,
                           elapsed_s=_elapsed(st.start_time, st.end_time))

    def _forgotten(self, st: _SlurmTask) -> TaskOutcome | None:
        """The controller no longer knows the task: keep the last seen state if
        it was final, else ask sacct, else infer from the record and stderr."""
        last = st.state
        if last in FINAL_STATES:
            return self._final(st)
        jid = f"{st.job}_{st.slot}"
        acct = self._sacct(jid)
        if acct and acct.get("JobState") in FINAL_STATES:
            st.state, st.exit, st.reason = acct["JobState"], acct.get("ExitCode", ""), acct.get("Reason", "")
            return self._final(st, extra="from sacct")
        _, err = self._logs(st)
        facts = stderr_facts(err)
        rp = st.task.record_path
        seen = f"last seen {last or 'never'}"
        if rp and os.path.exists(rp):
            st.exit = st.exit or "0:0"
            return self._final(st, rec_state="COMPLETED", extra=f"the controller forgot the job, {seen}; "
                                                                 "state inferred from its record")
        if facts.get("due_to") == "TIME LIMIT":
            return self._final(st, rec_state="TIMEOUT", extra=f"the controller forgot the job, {seen}")
        if facts.get("oom"):
            return self._final(st, rec_state="OUT_OF_MEMORY", extra=f"the controller forgot the job, {seen}")
        if facts.get("cancelled_at"):
            return self._final(st, rec_state="CANCELLED", extra=f"the controller forgot the job, {seen}")
        out, err = self._logs(st)
        return TaskOutcome(state="UNKNOWN", job_id=jid, attempts=st.attempts, started=st.started,
                           record_path=str(rp or ""),
                           reason=f"UNKNOWN: the controller forgot job {jid} (MinJobAge), {seen}; "
                                  "no record, no accounting",
                           stdout=str(out) if out.exists() else "", stderr=str(err) if err.exists() else "",
                           slurm_state=last or "", slurm_reason=st.reason)

    def _never_runs(self, sts: list[_SlurmTask], newly: list) -> None:
        """Pending tasks that can never start (e.g. their build job failed):
        cancel them and report them with Slurm's reason."""
        ids = sorted({f"{st.job}_{st.slot}" for st in sts})
        self._client(["scancel", *ids], check=False)
        for st in sts:
            st.state = "CANCELLED"
            st.started = False
            o = self._final(st)
            if o is not None:
                self._finish(st.task, o)
                newly.append((st.task, o))

    def _requeue(self, chunk: int, sts: list[_SlurmTask]) -> None:
        spec = format_indices(st.slot for st in sts)
        job = self._submit_array(chunk, spec, None)
        now = time.monotonic()
        for st in sts:
            self._by_job.pop((st.job, st.slot), None)
            st.job, st.attempts, st.state, st.reason, st.exit = job, st.attempts + 1, None, "", ""
            st.started, st.missing, st.final_seen, st.submitted = False, 0, None, now
            self._by_job[(job, st.slot)] = st
        self._write_manifest()

    def active_jobs(self) -> list[str]:
        """Our jobs that squeue still shows (pending, running, completing)."""
        if not self.jobs:
            return []
        r = self._client(["squeue", "-h", "-o", "%i %T", "-j", ",".join(sorted(set(self.jobs)))], check=False)
        return [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]

    def cancel(self, wait: bool = True, timeout: float = 60.0) -> None:
        """scancel every job this launcher submitted (arrays and single jobs);
        with `wait`, until squeue shows none of them, then report every task
        still open (CANCELLED by <uid>, or the state Slurm gave it). A second
        Ctrl-C or SIGTERM does not interrupt it."""
        with _signals_ignored():
            self._cancel(wait, timeout)

    def _cancel(self, wait: bool, timeout: float) -> None:
        self.cancelled = True
        if not self.jobs:
            return
        ids = sorted(set(self.jobs))
        try:
            self._client(["scancel", *ids], check=False, retries=2)
        except SlurmUnavailable:
            return
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self.active_jobs():
                    break
            except SlurmUnavailable:
                return
            except SlurmError:
                pass
            time.sleep(0.5)
        try:
            self.poll()
        except Exception:
            pass
        for st in list(self._st.values()):
            if st.task.index not in self.outcomes:
                st.state = "CANCELLED"
                o = self._final(st) or TaskOutcome(state="CANCELLED", reason=f"CANCELLED by {self.uid}",
                                                   job_id=f"{st.job}_{st.slot}", started=st.started)
                self._finish(st.task, o)

    def _sleep(self) -> None:
        time.sleep(self.options.poll_s)


def _elapsed(start: str, end: str) -> float | None:
    import datetime as _dt
    try:
        a = _dt.datetime.fromisoformat(start)
        b = _dt.datetime.fromisoformat(end)
    except (TypeError, ValueError):
        return None
    return max(0.0, (b - a).total_seconds())


# ---------------------------------------------------------------------------
# Local
# ---------------------------------------------------------------------------


@dataclass
class _LocalJob:
    jid: str
    task: ArrayTask | None
    argv: list[str]
    cwd: object
    env: dict
    out: pathlib.Path
    err: pathlib.Path
    limit_s: float | None
    after: str | None = None
    proc: subprocess.Popen | None = None
    t0: float = 0.0
    killed: str = ""           # "TIMEOUT" / "CANCELLED"
    term_at: float | None = None
    rc: int | None = None


class LocalLauncher(_Base):
    """The same interface as SlurmLauncher, running the tasks here as
    subprocesses, `jobs` at a time. Its limit per task (the backstop, like
    Slurm's --time) is `time_min` minutes, or derived from the tasks' own
    limits as SlurmOptions does. States and reasons are Slurm's words:
    COMPLETED, FAILED (exit code or signal), TIMEOUT ("DUE TO TIME LIMIT"),
    CANCELLED ("by <uid>", or DependencyNeverSatisfied when the job it waits
    for failed). No memory limit is enforced."""

    KILL_WAIT_S = 2.0

    def __init__(self, work_dir: str | os.PathLike, jobs: int = 2, time_min: int | None = None,
                 poll_s: float = 0.05, options: SlurmOptions | None = None):
        super().__init__()
        self.work = pathlib.Path(work_dir).resolve()
        self.jobs_n = max(1, jobs)
        self.options = dataclasses.replace(options) if options else SlurmOptions()
        if time_min is not None:
            self.options.time = time_min
        self.poll_s = poll_s
        self.uid = os.getuid()
        self._queue: list[_LocalJob] = []
        self._running: list[_LocalJob] = []
        self._singles: dict[str, _LocalJob] = {}
        self._job_outcomes: dict[str, TaskOutcome] = {}
        self._n = 0
        self.jobs: list[str] = []

    def _start(self, j: _LocalJob) -> None:
        j.out.parent.mkdir(parents=True, exist_ok=True)
        with open(j.out, "ab") as out, open(j.err, "ab") as err:
            try:
                j.proc = subprocess.Popen(j.argv, cwd=j.cwd, env=dict(os.environ, **j.env), stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=err, start_new_session=True)
            except OSError as e:
                err.write(f"cannot start {j.argv[0]}: {e}\n".encode())
                j.rc = 127
        j.t0 = time.monotonic()

    def submit_job(self, argv: list[str], cwd=None, env: dict[str, str] | None = None, name: str = "build",
                   time_min: int | None = None, after: str | None = None, extra_args=None) -> str:
        """Start one job now (not counted against `jobs`); returns its id."""
        self._n += 1
        jid = f"local-{name}-{self._n}"
        logs = self.work / "logs"
        minutes = time_min or self.options.time or self.options.default_time
        j = _LocalJob(jid, None, list(argv), cwd, dict(env or {}), logs / f"{jid}.out", logs / f"{jid}.err",
                      minutes * 60.0, after)
        self._singles[jid] = j
        self.jobs.append(jid)
        if after is None:
            self._start(j)
            self._running.append(j)
        else:
            self._queue.insert(0, j)
        return jid

    def submit(self, tasks: list[ArrayTask], after: str | None = None) -> list[str]:
        tasks = list(tasks)
        if not tasks:
            return []
        self._add_tasks(tasks)
        minutes = self.options.time if self.options.time is not None else self.options.time_minutes(tasks)
        limit = float(minutes) * 60.0
        self._n += 1
        batch = f"local-array-{self._n}"
        logs = self.work / "logs"
        for t in tasks:
            jid = f"{batch}_{t.index}"
            self._queue.append(_LocalJob(jid, t, list(t.argv), t.cwd, dict(t.env), logs / f"{jid}.out",
                                         logs / f"{jid}.err", limit, after))
        self.jobs.append(batch)
        return [batch]

    def job_outcome(self, job: str) -> TaskOutcome | None:
        if job in self._job_outcomes:
            return self._job_outcomes[job]
        j = self._singles.get(job)
        if j is None or j.rc is None:
            return None
        o = self._outcome(j, job)
        self._job_outcomes[job] = o
        return o

    def _outcome(self, j: _LocalJob, jid: str, dep: TaskOutcome | None = None) -> TaskOutcome:
        rp = j.task.record_path if j.task else None
        exists = bool(rp) and os.path.exists(rp)
        started = j.proc is not None or j.rc is not None
        ec = sig = None
        extra = ""
        if dep is not None:
            state, reason = "CANCELLED", "DependencyNeverSatisfied"
            extra = f"afterok:{j.after} ended {dep.reason}"
            started = False
        elif j.killed == "CANCELLED" or (j.killed == "" and j.rc is None):
            state, reason = "CANCELLED", "None"
        elif j.killed == "TIMEOUT":
            state, reason = "TIMEOUT", "TimeLimit"
        else:
            rc = j.rc
            ec, sig = (rc, None) if rc >= 0 else (0, -rc)
            state = "COMPLETED" if rc == 0 else "FAILED"
            reason = "None" if rc == 0 else ("NonZeroExitCode" if rc > 0 else "JobLaunchFailure")
        if j.killed and j.rc is not None and j.rc < 0:
            ec, sig = 0, -j.rc
        facts = {"due_to": "TIME LIMIT"} if j.killed == "TIMEOUT" else {}
        fstate, text = describe(state, reason, ec, sig, facts,
                                cancelled_by=str(self.uid) if state == "CANCELLED" and dep is None else None,
                                record_path=rp, record_exists=exists, started=started, extra=extra)
        elapsed = (time.monotonic() - j.t0) if j.t0 else None
        return TaskOutcome(state=fstate, reason=text, exit_code=ec, signal=sig, record_exists=exists,
                           record_path=str(rp or ""), job_id=jid,
                           started=started, stdout=str(j.out) if j.out.exists() else "",
                           stderr=str(j.err) if j.err.exists() else "", slurm_state=state,
                           slurm_reason=reason, elapsed_s=elapsed)

    def _done(self, j: _LocalJob, newly: list, dep: TaskOutcome | None = None) -> None:
        if j.task is None:
            self._job_outcomes[j.jid] = self._outcome(j, j.jid, dep)
            return
        o = self._outcome(j, j.jid, dep)
        self._finish(j.task, o)
        newly.append((j.task, o))

    def poll(self) -> list[tuple[ArrayTask, TaskOutcome]]:
        newly: list = []
        now = time.monotonic()
        for j in list(self._running):
            if j.rc is None and j.proc is not None:
                j.rc = j.proc.poll()
            if j.rc is not None:
                self._running.remove(j)
                self._done(j, newly)
                continue
            if j.term_at is None and j.limit_s and now - j.t0 > j.limit_s:
                j.killed = "TIMEOUT"
                self._signal(j, _signal.SIGTERM)
                j.term_at = now
            elif j.term_at is not None and now - j.term_at > self.KILL_WAIT_S:
                self._signal(j, _signal.SIGKILL)
        # start what may start
        slots = self.jobs_n - sum(1 for j in self._running if j.task is not None)
        for j in list(self._queue):
            if j.after:
                dep = self.job_outcome(j.after) if j.after in self._singles else None
                if j.after in self._singles and dep is None:
                    continue  # the job it waits for is still running
                if dep is not None and not dep.ok:
                    self._queue.remove(j)
                    self._done(j, newly, dep)
                    continue
            if j.task is not None:
                if slots <= 0:
                    continue
                slots -= 1
            self._queue.remove(j)
            self._start(j)
            self._running.append(j)
        queued = sum(1 for j in self._queue if j.task is not None)
        running = sum(1 for j in self._running if j.task is not None)
        self._progress(queued, running)
        return newly

    def _signal(self, j: _LocalJob, sig) -> None:
        if j.proc is None:
            return
        try:
            os.killpg(j.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def active_jobs(self) -> list[str]:
        return [j.jid for j in self._running if j.rc is None]

    def cancel(self, wait: bool = True, timeout: float = 60.0) -> None:
        """Kill every running task (SIGTERM, SIGKILL after KILL_WAIT_S) and
        report them and the queued ones CANCELLED by <uid>."""
        with _signals_ignored():
            self._cancel()

    def _cancel(self) -> None:
        self.cancelled = True
        newly: list = []
        for j in list(self._queue):
            self._queue.remove(j)
            j.killed = "CANCELLED"
            self._done(j, newly)
        for j in self._running:
            if j.rc is None:
                j.killed = "CANCELLED"
                self._signal(j, _signal.SIGTERM)
        deadline = time.monotonic() + self.KILL_WAIT_S
        while any(j.proc is not None and j.proc.poll() is None for j in self._running):
            if time.monotonic() > deadline:
                for j in self._running:
                    self._signal(j, _signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)
        for j in list(self._running):
            j.rc = j.proc.returncode if j.proc is not None else j.rc
            self._running.remove(j)
            self._done(j, newly)

    def _sleep(self) -> None:
        time.sleep(self.poll_s)
