"""What Slurm costs per task, against running the same tasks here.

    python -m redmule_verif.flow.bench_slurm [--slots 2] [--short 0.2x16] [--long 5x4] [--partition P]

runs N tasks of D seconds (a Python process that sleeps D s and writes its
record) through LocalLauncher (`--slots` at a time) and through SlurmLauncher
(one job array on the cluster that SLURM_CONF names; give it `--slots` CPUs,
e.g. a partition of that size or `--max-running`), for short and long tasks,
and prints for each:

  submit     the sbatch call (one array for all the tasks)
  first      submission -> first task running (scheduler pick-up)
  wall       both engines' wall-clock time, and the engine's cost per task:
             overhead = (wall_slurm - wall_local) * slots / N  (slot-seconds a task loses)
  share      overhead / D
  batch      runs per array task (one task running k runs in a row) that keep
             the overhead under 5 % of the work: ceil(overhead / (0.05 * D))

On a shared cluster the queue wait of a busy partition is part of `first`
and `wall`: run it when the partition is idle to see the engine's own cost.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
import tempfile
import time

try:
    from .slurm import ArrayTask, LocalLauncher, SlurmLauncher, SlurmOptions
except ImportError:  # run as a script
    from slurm import ArrayTask, LocalLauncher, SlurmLauncher, SlurmOptions


def tasks(n: int, seconds: float, folder: pathlib.Path) -> list[ArrayTask]:
    out = []
    for i in range(n):
        rec = folder / "records" / f"{i}.json"
        rec.parent.mkdir(parents=True, exist_ok=True)
        code = f"import time, json; time.sleep({seconds}); json.dump({{'i': {i}}}, open({str(rec)!r}, 'w'))"
        out.append(ArrayTask(i, [sys.executable, "-c", code], cwd=str(folder), record_path=str(rec),
                             time_limit_s=seconds + 60))
    return out


def measure(n: int, seconds: float, slots: int, work: pathlib.Path, opts: SlurmOptions) -> dict:
    t0 = time.monotonic()
    local = LocalLauncher(work / "local", jobs=slots).run(tasks(n, seconds, work / "local"))
    wall_local = time.monotonic() - t0
    assert all(o.ok for o in local.values()), [o.reason for o in local.values() if not o.ok]

    la = SlurmLauncher(work / "slurm", opts)
    first_running = []
    t0 = time.monotonic()

    def progress(p):
        if p.running and not first_running:
            first_running.append(time.monotonic() - t_sub)

    la.submit(tasks(n, seconds, work / "slurm"))
    t_sub = time.monotonic()
    submit_s = t_sub - t0
    out = la.wait(on_progress=progress)
    wall_slurm = time.monotonic() - t0
    bad = [o.reason for o in out.values() if not o.ok]
    if bad:
        raise SystemExit(f"Slurm tasks failed: {bad[:3]}")
    overhead = max(0.0, (wall_slurm - wall_local) * slots / n)
    return {
        "n": n, "seconds": seconds, "submit_s": submit_s, "first_s": first_running[0] if first_running else None,
        "wall_local": wall_local, "wall_slurm": wall_slurm, "overhead_s": overhead,
        "share": overhead / seconds, "batch": max(1, math.ceil(overhead / (0.05 * seconds))),
        "calls": la.calls,
    }


def parse_size(text: str) -> tuple[float, int]:
    d, n = text.lower().split("x")
    return float(d), int(n)


def main(argv=None) -> int:
    main_rows(argv)
    return 0


def main_rows(argv=None) -> list[dict]:
    """Measure and print; returns the rows (short and long)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slots", type=int, default=2, help="tasks at a time (local jobs; Slurm CPUs available)")
    ap.add_argument("--short", default="0.2x16", help="short tasks: SECONDSxCOUNT")
    ap.add_argument("--long", default="5x4", help="long tasks: SECONDSxCOUNT")
    ap.add_argument("--partition")
    ap.add_argument("--account")
    ap.add_argument("--max-running", type=int)
    ap.add_argument("--poll", type=float, default=0.5, help="Slurm poll interval (s)")
    ap.add_argument("--work", help="work folder (on the shared filesystem; default a temporary one)")
    a = ap.parse_args(argv)
    (pathlib.Path(os.getcwd()) / "out").mkdir(exist_ok=True)
    work = pathlib.Path(a.work or tempfile.mkdtemp(prefix="bench-slurm-", dir=pathlib.Path(os.getcwd()) / "out"))
    opts = SlurmOptions(partition=a.partition, account=a.account, max_running=a.max_running, poll_s=a.poll, time=5)
    rows = []
    for kind, spec in (("short", a.short), ("long", a.long)):
        d, n = parse_size(spec)
        r = measure(n, d, a.slots, work / kind, opts)
        r["kind"] = kind
        rows.append(r)
    print(f"{'tasks':>12} {'submit':>7} {'first':>6} {'local':>7} {'slurm':>7} {'overhead/task':>13} {'share':>6} "
          f"{'batch<5%':>8} {'calls':>5}")
    for r in rows:
        first = f"{r['first_s']:.1f}" if r["first_s"] is not None else "-"
        print(f"{r['kind'] + ' ' + str(r['n']) + 'x' + format(r['seconds'], 'g') + 's':>12} {r['submit_s']:7.2f} "
              f"{first:>6} {r['wall_local']:7.1f} {r['wall_slurm']:7.1f} {r['overhead_s']:12.2f}s "
              f"{100 * r['share']:5.0f}% {r['batch']:8d} {r['calls']:5d}")
    print(f"(slots={a.slots}, poll {a.poll} s; work folder {work})")
    return rows


if __name__ == "__main__":
    sys.exit(main())
