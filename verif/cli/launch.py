"""The launcher options of ``regress``, ``qualify``, ``coverage --until-closure`` and ``shrink``:
``--launcher local|slurm`` and the sbatch options, turned into a launcher (:mod:`redmule_verif.flow.farm`).

``local`` (the default) runs the simulations here as before. ``slurm`` submits
them as job arrays; the simulator is built here first (nothing is submitted
when the build fails), and the array tasks load it from the build cache, which
must be on a filesystem the compute nodes share. ``local-array`` runs the very
same array tasks as local processes (the Slurm path without Slurm: for tests).

Two environment variables exist for the framework's own tests:
``REDMULE_TASK_RUNNER`` (``MODULE:FUNCTION`` the array tasks run instead of the
simulator) and ``REDMULE_TASK_PYTHONPATH`` (where that module is).
"""

from __future__ import annotations

import os
import pathlib

from redmule_verif.flow import batching, farm
from redmule_verif.flow.slurm import SlurmOptions
from redmule_verif.sim.dut import UsageError

LAUNCHERS = ("local", "slurm", "local-array")


def add_launcher_options(p) -> None:
    g = p.add_argument_group("launcher (where the simulations run)")
    g.add_argument("--launcher", choices=LAUNCHERS, default="local",
                   help="local: here, -j at a time (default); slurm: Slurm job arrays (build here first, the build "
                        "cache and OUT on a shared filesystem); local-array: the Slurm path run here, for tests")
    g.add_argument("--partition", default=None, help="sbatch --partition")
    g.add_argument("--account", default=None, help="sbatch --account")
    g.add_argument("--qos", default=None, help="sbatch --qos")
    g.add_argument("--time", type=int, default=None, metavar="MINUTES",
                   help="sbatch --time of every array task (default: from the runs' own limits, a backstop)")
    g.add_argument("--mem", default=None, metavar="SIZE", help="sbatch --mem of every array task, e.g. 4G")
    g.add_argument("--cpus-per-task", type=int, default=1, metavar="N", help="sbatch --cpus-per-task (default 1)")
    g.add_argument("--sbatch-arg", action="append", default=None, metavar="ARG",
                   help="any other sbatch option, one word each (repeatable), e.g. --sbatch-arg=--constraint=avx2")
    g.add_argument("--task-seconds", type=float, default=farm.DEFAULT_TASK_S, metavar="S",
                   help=f"estimated work per array task: runs are packed into tasks of about S seconds so that "
                        f"Slurm's ~1 s per task stays small (default {farm.DEFAULT_TASK_S:g}; 0: one run per task)")
    g.add_argument("--slurm-poll", type=float, default=5.0, metavar="S",
                   help="seconds between two looks at the queue (default 5)")
    g.add_argument("--max-requeue", type=int, default=2, metavar="N",
                   help="preempted tasks are submitted again up to N times (default 2)")
    g.add_argument("--runs-per-process", type=int, default=None, metavar="N",
                   help="runs one simulator process makes, one after another (default: batches of about "
                        "--batch-seconds; 1: one process per run, the old mode)")
    g.add_argument("--batch-seconds", type=float, default=batching.DEFAULT_BATCH_S, metavar="S",
                   help=f"estimated work of one batch worker (default {batching.DEFAULT_BATCH_S:g})")


def configure_batching(args) -> None:
    """The batch options of the command become the defaults of every local launcher and run function."""
    rpp = getattr(args, "runs_per_process", None)
    if rpp is not None and rpp < 1:
        raise UsageError("--runs-per-process must be at least 1")
    batching.DEFAULTS["runs_per_process"] = rpp
    batching.DEFAULTS["batch_seconds"] = float(getattr(args, "batch_seconds", None) or batching.DEFAULT_BATCH_S)


def slurm_options(args) -> SlurmOptions:
    if args.cpus_per_task < 1:
        raise UsageError("--cpus-per-task must be at least 1")
    if args.time is not None and args.time < 1:
        raise UsageError("--time is in whole minutes, at least 1")
    return SlurmOptions(partition=args.partition, account=args.account, qos=args.qos, time=args.time,
                        mem=args.mem, cpus_per_task=args.cpus_per_task, extra_args=list(args.sbatch_arg or []),
                        poll_s=args.slurm_poll if args.launcher == "slurm" else 0.1,
                        max_requeue=args.max_requeue)


def _test_hooks() -> dict:
    runner = os.environ.get("REDMULE_TASK_RUNNER") or (
        "single" if batching.DEFAULTS.get("runs_per_process") == 1 else "auto")
    path = [p for p in os.environ.get("REDMULE_TASK_PYTHONPATH", "").split(os.pathsep) if p]
    return {"runner": runner, "python_path": path}


def farm_launcher(args, sim, out, build_args, previous=(), log=None):
    """None for ``--launcher local`` (the tool's own local launcher), else a FarmLauncher into OUT/slurm."""
    configure_batching(args)
    if args.launcher == "local":
        return None
    return farm.FarmLauncher(sim, pathlib.Path(out) / "slurm", build_args, engine=_engine(args),
                             options=slurm_options(args), jobs=getattr(args, "jobs", 2) or 2,
                             task_s=args.task_seconds, estimates=farm.estimates_from(previous), log=log,
                             **_test_hooks())


def remote_run_fn(args, out, build_args=(), stop=None):
    """None for ``--launcher local``, else a RemoteRuns (a run_fn whose runs are array tasks) into OUT/slurm."""
    configure_batching(args)
    if args.launcher == "local":
        return None
    return farm.RemoteRuns(pathlib.Path(out) / "slurm", build_args, engine=_engine(args), options=slurm_options(args),
                           jobs=getattr(args, "jobs", 2) or 2, stop=stop, **_test_hooks())


def _engine(args) -> str:
    return "slurm" if args.launcher == "slurm" else "local-array"


def closure_launcher_factory(args):
    """For the closure loop: ``factory(sim, out)`` -> a FarmLauncher per batch of the loop (None: local)."""
    configure_batching(args)
    if args.launcher == "local":
        return None
    build_args = []

    def factory(sim, out):
        return farm_launcher(args, sim, out, build_args)

    return factory
