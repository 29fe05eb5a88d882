"""What Slurm costs, measured, and the nightly's wall time on a farm, modelled (``make bench-slurm``).

    python -m redmule_verif.tools.bench.slurm_scale [--measure] [--costs RESULTS.json] [--overhead S]

1. With ``--measure`` (needs a Slurm cluster: ``make bench-slurm`` starts the
   private test cluster), :mod:`redmule_verif.flow.bench_slurm` runs short and
   long tasks through Slurm and locally and prints the per-task overhead, its
   share of the run, and the batch size (runs per array task) keeping it under
   5 %. The overhead it finds feeds the model (else ``--overhead``, default the
   0.8 s measured on the 2-core development machine).
2. The model: the nightly's runs (their measured wall times from a results.json
   given with ``--costs``; else the nightly suite's planned runs with the cost
   model of :mod:`redmule_verif.tools.qualify.plan`, scaled to the measured mean
   of 3.8 s a run: 862 runs in 21-33 min on 2 cores) are packed into array
   tasks as :func:`redmule_verif.flow.farm.pack` does and list-scheduled on
   1, 10, 100 and 1000 nodes of 2 cores: every task costs the Slurm overhead
   on its slot plus its runs; the first task starts after the submission and
   scheduler pick-up latency, the end is seen one poll later on average.
   Local execution (2 cores, no Slurm) is the reference.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import statistics

from redmule_verif.flow.farm import DEFAULT_TASK_S, pack
from redmule_verif.flow.records import RunSpec

MEASURED_MEAN_S = 3.8        # the nightly: 862 runs in 21-33 min on 2 cores (issue 12)
DEFAULT_OVERHEAD_S = 0.8     # Slurm 22.05 on the 2-core development machine: 0.7-0.9 s per array task
DEFAULT_LATENCY_S = 1.5      # sbatch + first task running
DEFAULT_POLL_S = 5.0
NODES = (1, 10, 100, 1000)
CORES = 2


def nightly_costs(results_path=None) -> list[float]:
    if results_path:
        with open(results_path) as fh:
            runs = json.load(fh)["runs"]
        return [float(r["wall_s"]) for r in runs if r.get("wall_s")]
    import pathlib
    import tempfile

    from redmule_verif.tools.qualify.plan import Run, estimate
    from redmule_verif.tools.regress.plan import plan
    from redmule_verif.tools.regress.suite import load_suite
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig

    suite = load_suite("nightly", check_knobs=False)
    specs = plan(suite, pathlib.Path(tempfile.gettempdir()) / "scale-model", suite.seed or 1)
    eng, mem = EngineConfig(), MemoryConfig()
    est = [estimate(Run(s.test, s.seed, s.knobs, s.timeout, s.env), eng, mem).est_s for s in specs]
    k = MEASURED_MEAN_S / statistics.mean(est)
    return [e * k for e in est]


def schedule(costs: list[float], slots: int, task_s: float, overhead_s: float) -> tuple[float, int]:
    """(makespan, tasks): the runs packed into tasks of ~task_s, longest task first on the first free slot."""
    specs = [RunSpec(i, "r", i, {}, 600.0, {}, None) for i in range(len(costs))]
    batches = pack(specs, lambda s: costs[s.index], task_s)
    durations = sorted((overhead_s + sum(costs[s.index] for s in b) for b in batches), reverse=True)
    free = [0.0] * min(slots, len(durations))
    heapq.heapify(free)
    end = 0.0
    for d in durations:
        t = heapq.heappop(free) + d
        end = max(end, t)
        heapq.heappush(free, t)
    return end, len(durations)


def local_wall(costs: list[float], cores: int = CORES) -> float:
    return schedule(costs, cores, 0, 0.0)[0]


def model(costs, overhead_s=DEFAULT_OVERHEAD_S, latency_s=DEFAULT_LATENCY_S, poll_s=DEFAULT_POLL_S,
          nodes=NODES, task_choices=(0.0, None, 20.0, 60.0)) -> dict:
    """Rows per node count: wall time for each batching policy (None: the 5 % batch size)."""
    min_task = overhead_s / 0.05
    rows = []
    for n in nodes:
        slots = n * CORES
        row = {"nodes": n, "slots": slots, "policies": {}}
        for choice in task_choices:
            task_s = min_task if choice is None else choice
            span, tasks = schedule(costs, slots, task_s, overhead_s)
            row["policies"][_label(choice, min_task)] = {"wall_s": span + latency_s + poll_s / 2, "tasks": tasks}
        # adaptive: one task per slot when that keeps tasks >= the 5 % size, else the 5 % size
        task_s = max(min_task, sum(costs) / slots)
        span, tasks = schedule(costs, slots, task_s, overhead_s)
        row["policies"]["adaptive"] = {"wall_s": span + latency_s + poll_s / 2, "tasks": tasks}
        rows.append(row)
    return {"runs": len(costs), "work_s": sum(costs), "mean_s": statistics.mean(costs), "max_s": max(costs),
            "local_wall_s": local_wall(costs), "overhead_s": overhead_s, "min_task_s": min_task, "rows": rows}


def _label(choice, min_task) -> str:
    if choice is None:
        return f"5% ({min_task:.0f} s tasks)"
    if choice <= 0:
        return "1 run/task"
    return f"{choice:.0f} s tasks" + (" (default)" if choice == DEFAULT_TASK_S else "")


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def format_model(m: dict) -> str:
    pols = list(m["rows"][0]["policies"])
    out = [f"nightly: {m['runs']} runs, {m['work_s'] / 60:.0f} core-minutes (mean {m['mean_s']:.1f} s, longest "
           f"{m['max_s']:.0f} s); local on {CORES} cores: {_hms(m['local_wall_s'])}",
           f"Slurm: {m['overhead_s']:.2f} s per array task; tasks of >= {m['min_task_s']:.0f} s keep it under 5 %",
           "",
           "| nodes (x2 cores) | " + " | ".join(pols) + " | speed-up (adaptive) |",
           "|---:|" + "---:|" * len(pols) + "---:|"]
    for r in m["rows"]:
        cells = [f"{_hms(r['policies'][p]['wall_s'])} ({r['policies'][p]['tasks']} tasks)" for p in pols]
        out.append(f"| {r['nodes']} | " + " | ".join(cells)
                   + f" | {m['local_wall_s'] / r['policies']['adaptive']['wall_s']:.1f}x |")
    return "\n".join(out)


def crossovers(costs, overhead_s=DEFAULT_OVERHEAD_S, latency_s=DEFAULT_LATENCY_S, poll_s=DEFAULT_POLL_S) -> dict:
    """Nodes from which Slurm beats local; nodes beyond which doubling gains < 10 % (adaptive policy)."""
    local = local_wall(costs)
    min_task = overhead_s / 0.05

    def wall(n):
        task_s = max(min_task, sum(costs) / (n * CORES))
        return schedule(costs, n * CORES, task_s, overhead_s)[0] + latency_s + poll_s / 2

    beats = next((n for n in range(1, 65) if wall(n) < local), None)
    n, sat = 1, None
    while n <= 4096:
        if wall(2 * n) > 0.9 * wall(n):
            sat = n
            break
        n *= 2
    return {"beats_local_from_nodes": beats, "saturates_at_nodes": sat,
            "floor_s": wall(4096), "longest_run_s": max(costs)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--measure", action="store_true", help="measure Slurm's cost per task first (needs Slurm)")
    ap.add_argument("--costs", help="results.json of a nightly: its runs' wall times are the model's costs")
    ap.add_argument("--overhead", type=float, default=None, help="Slurm cost per array task (s)")
    ap.add_argument("--poll", type=float, default=DEFAULT_POLL_S, help="launcher poll interval (s)")
    a = ap.parse_args(argv)
    overhead = a.overhead
    if a.measure:
        from redmule_verif.flow import bench_slurm
        rows = bench_slurm.main_rows([])
        longs = [r for r in rows if r["kind"] == "long"]
        if overhead is None and longs:
            overhead = max(0.05, longs[0]["overhead_s"])
    overhead = DEFAULT_OVERHEAD_S if overhead is None else overhead
    costs = nightly_costs(a.costs)
    print()
    print(format_model(model(costs, overhead, poll_s=a.poll)))
    c = crossovers(costs, overhead, poll_s=a.poll)
    print(f"\ncrossovers (adaptive batching): Slurm beats local from {c['beats_local_from_nodes']} node(s); "
          f"beyond {c['saturates_at_nodes']} nodes doubling gains < 10 % (floor {_hms(c['floor_s'])}: the longest "
          f"run is {c['longest_run_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
