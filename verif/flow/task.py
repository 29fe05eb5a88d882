"""One array task of a farm regression: a batch of runs on an already built simulator.

    python -m redmule_verif.flow.task BATCH.json

``BATCH.json`` (written by :class:`redmule_verif.flow.farm.FarmLauncher`) lists
the runs (:class:`~redmule_verif.flow.records.RunSpec` fields), where each
one's record goes, the pickled :class:`~redmule_verif.sim.build.Sim` of each
run (a built simulator in the build cache: the task never builds; a binary
that is not there is an error record saying the cache must be on a shared
filesystem), the repro-line DUT options and the runner:

* ``batch``: :func:`redmule_verif.sim.batch.run_batch` (many runs per simulator
  process) when that module is there, else
* ``single``: :func:`redmule_verif.sim.runner.run_test` per run, or
* ``MODULE:FUNCTION``: any function with run_test's signature (tests use it).

Each run's final record (:func:`~redmule_verif.flow.records.run_record`) is
written atomically to its ``record`` path as soon as the run ends; a run whose
record is already there (a preempted task submitted again) is not run twice.
When the batch ends, ``done`` (a small JSON summary) is written: the launcher
tells a task that ended normally from one that died by it.

SIGTERM (Slurm's time limit, scancel, preemption) stops the task at once: the
simulator is killed and the run in progress gets NO record, so the launcher
records it with Slurm's own reason for the end of the task.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pathlib
import pickle
import signal
import socket
import sys
import threading
import time

from redmule_verif.flow.records import RunSpec, run_record, tool_error_record
from redmule_verif.flow.results_io import write_json

TERMINATED_RC = 143


class Terminated(BaseException):
    """SIGTERM / SIGINT reached the task."""


def spec_to_json(spec: RunSpec) -> dict:
    d = dataclasses.asdict(spec)
    d["dir"] = str(spec.dir)
    return d


def spec_from_json(d: dict) -> RunSpec:
    d = dict(d)
    d["dir"] = pathlib.Path(d["dir"])
    fields = {f.name for f in dataclasses.fields(RunSpec)}
    return RunSpec(**{k: v for k, v in d.items() if k in fields})


def resolve_runner(name: str):
    """(kind, function): ``batch`` / ``single`` / ``MODULE:FUNCTION``; ``auto`` = batch when available."""
    if name in ("auto", "batch"):
        try:
            from redmule_verif.sim.batch import run_batch
            return "batch", run_batch
        except ImportError:
            if name == "batch":
                raise
            name = "single"
    if name == "single":
        from redmule_verif.sim.runner import run_test
        return "single", run_test
    mod, _, attr = name.partition(":")
    return "single", getattr(importlib.import_module(mod), attr)


def _where() -> dict:
    job = os.environ.get("SLURM_ARRAY_JOB_ID")
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    return {"host": socket.gethostname(), "slurm_job": f"{job}_{task}" if job and task else None}


def run_task(batch_file) -> int:
    batch = json.loads(pathlib.Path(batch_file).read_text())
    sys.path[:0] = [p for p in batch.get("python_path", []) if p not in sys.path]
    build_args = batch.get("build_args", [])
    where = _where()
    stop = threading.Event()

    def _term(signum, frame):
        stop.set()
        raise Terminated(signum)

    old = {s: signal.signal(s, _term) for s in (signal.SIGTERM, signal.SIGINT)}
    kind, fn = resolve_runner(batch.get("runner", "auto"))
    sims: dict[str, object] = {}
    t0 = time.monotonic()
    counts = {"runs": 0, "written": 0, "skipped_existing": 0}

    def write(entry: dict, spec: RunSpec, raw: dict | None, status=None, message="") -> None:
        if stop.is_set():  # the task is being killed: the launcher records this run with Slurm's reason
            return
        rec = run_record(spec, raw, build_args, status, message)
        rec["launcher"] = {"engine": batch.get("engine", "slurm"), "batch": batch.get("name"), **where}
        write_json(entry["record"], rec)
        counts["written"] += 1

    def sim_of(entry: dict):
        path = entry["sim"]
        if path not in sims:
            with open(path, "rb") as fh:
                sim = pickle.load(fh)
            if not pathlib.Path(sim.binary).exists():
                raise FileNotFoundError(
                    f"simulator {sim.binary} is not on {where['host']}: the build cache must be on a filesystem "
                    "the compute nodes share, at the same path (array tasks never build)")
            sims[path] = sim
        return sims[path]

    todo = []
    for entry in batch["runs"]:
        if os.path.exists(entry["record"]):
            counts["skipped_existing"] += 1
            continue
        todo.append((entry, spec_from_json(entry["spec"])))
    try:
        # runs grouped by simulator (qualify mixes mutants): one batch worker per simulator
        groups: dict[str, list] = {}
        for entry, spec in todo:
            groups.setdefault(entry["sim"], []).append((entry, spec))
        for sim_path, items in groups.items():
            try:
                sim = sim_of(items[0][0])
            except Exception as exc:  # noqa: BLE001 - every run of the group becomes an error record
                for entry, spec in items:
                    write(entry, spec, None, "error", f"array task on {where['host']}: {type(exc).__name__}: {exc}")
                continue
            if kind == "batch":
                by_id = {id(spec): entry for entry, spec in items}

                def on_record(spec, raw, by_id=by_id):
                    counts["runs"] += 1
                    if raw is None:
                        return
                    write(by_id[id(spec)], spec, raw)

                fn(sim, [spec for _, spec in items], on_record, pathlib.Path(batch_file).parent / "workers"
                   / f"{batch.get('name', 'task')}-{os.getpid()}", stop=stop)
            else:
                for entry, spec in items:
                    counts["runs"] += 1
                    try:
                        raw = fn(sim, spec.test, spec.seed, spec.dir, knobs=spec.knobs, timeout=spec.timeout,
                                 waves=spec.waves, extra_env=spec.env, assert_cycles=spec.assert_cycles)
                    except Terminated:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a broken run is a record
                        if not stop.is_set():
                            rec = tool_error_record(spec, exc, build_args)
                            rec["launcher"] = {"engine": batch.get("engine", "slurm"), **where}
                            write_json(entry["record"], rec)
                        continue
                    write(entry, spec, raw)
    except Terminated:
        return TERMINATED_RC
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    write_json(batch["done"], {"runs": counts["runs"], "written": counts["written"],
                               "skipped_existing": counts["skipped_existing"], "runner": kind,
                               "wall_s": round(time.monotonic() - t0, 2), **where})
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m redmule_verif.flow.task BATCH.json", file=sys.stderr)
        return 2
    return run_task(argv[0])


if __name__ == "__main__":
    sys.exit(main())
