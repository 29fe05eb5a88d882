"""How runs are grouped into batches, one batch per worker process (many runs per simulator process).

A run's cost is estimated from its job list (``sequences.library.sequence_cost``:
stall-free cycles, generated outside simulation) at the environment's speed,
plus the per-run overhead of a batch worker; tests whose jobs are made inside
the simulation get a fixed estimate. :func:`plan_batches` packs the runs into
batches of about ``batch_seconds`` (longest first, each to the lightest batch),
at least one batch per parallel job, so that a batch lasts a few tens of
seconds and the tail stays short. ``runs_per_process=1`` gives one run per
batch: the old one-process-per-run mode.
"""

from __future__ import annotations

import functools
import json
import math

from redmule_verif.flow.records import RunSpec

DEFAULT_BATCH_S = 30.0      # target wall time of one batch (one worker process)
ENV_CYCLES_PER_S = 40_000   # the environment's speed on short jobs, for estimates only
RUN_OVERHEAD_S = 0.3        # per run in a batch worker (restart, env build, files)
DEFAULT_RUN_S = 1.5         # a test whose cost cannot be estimated outside simulation
#: what launchers and run functions use when not told otherwise (the commands set them from
#: --runs-per-process / --batch-seconds)
DEFAULTS = {"runs_per_process": None, "batch_seconds": DEFAULT_BATCH_S}


@functools.lru_cache(maxsize=4096)
def _cycles(test: str, seed: int, knobs_json: str, params_json: str) -> int | None:
    try:
        from redmule_verif.model.encoding import MEM_BASE, MEM_WORDS
        from redmule_verif.sequences.items import EngineConfig, MemoryConfig
        from redmule_verif.sequences.library import SEQUENCES, generate, sequence_cost

        if test not in SEQUENCES:
            return None
        params = json.loads(params_json)
        eng = EngineConfig.from_params(params)
        mem = MemoryConfig(base=int(params.get("MEM_BASE", MEM_BASE)), size=4 * int(params.get("MEM_WORDS", MEM_WORDS)))
        knobs = {k: v for k, v in json.loads(knobs_json).items() if k not in ("corrupt_z", "check_delay")}
        return int(sequence_cost(generate(test, seed, eng, mem, **knobs), eng))
    except Exception:  # noqa: BLE001 - an estimate, never an error
        return None


def estimator(sim=None):
    """``est(spec) -> seconds`` for the DUT of ``sim`` (its parameters give the engine geometry)."""
    params = {}
    if sim is not None:
        params = {k: v for k, v in dict(sim.config.params).items()}
    params_json = json.dumps(params, sort_keys=True, default=str)

    def est(spec: RunSpec) -> float:
        cyc = _cycles(spec.test, int(spec.seed), json.dumps(spec.knobs or {}, sort_keys=True, default=str),
                      params_json)
        if cyc is None:
            return DEFAULT_RUN_S
        return RUN_OVERHEAD_S + cyc / ENV_CYCLES_PER_S

    return est


def plan_batches(specs: list[RunSpec], est, jobs: int = 1, batch_seconds: float = DEFAULT_BATCH_S,
                 runs_per_process: int | None = None) -> list[list[RunSpec]]:
    """The batches of ``specs`` (see the module docstring); runs keep their order inside a batch."""
    specs = list(specs)
    if not specs:
        return []
    if runs_per_process == 1:
        return [[s] for s in specs]
    costs = {id(s): float(est(s)) for s in specs}
    total = sum(costs.values())
    n = max(int(jobs), math.ceil(total / max(batch_seconds, 1e-3)))
    if runs_per_process:
        n = max(n, math.ceil(len(specs) / runs_per_process))
    n = max(1, min(len(specs), n))
    loads = [0.0] * n
    batches: list[list[RunSpec]] = [[] for _ in range(n)]
    for s in sorted(specs, key=lambda s: (-costs[id(s)], s.index)):
        i = min((k for k in range(n) if not runs_per_process or len(batches[k]) < runs_per_process),
                key=lambda k: (loads[k], k))
        batches[i].append(s)
        loads[i] += costs[id(s)]
    order = {id(s): i for i, s in enumerate(specs)}
    out = [sorted(b, key=lambda s: order[id(s)]) for b in batches if b]
    return sorted(out, key=lambda b: -sum(costs[id(s)] for s in b))  # heaviest batch first


def batched_run_fn(work_dir, stop=None):
    """The run function of the tools that decide runs one at a time (shrink, qualify): a
    :class:`~redmule_verif.sim.batch.SessionRunFn` (runs share worker processes), or the single-run
    :func:`~redmule_verif.sim.runner.run_test` when one run per process was asked for. Close it with
    :func:`close_run_fn`."""
    if DEFAULTS.get("runs_per_process") == 1:
        from redmule_verif.sim.runner import run_test
        return run_test
    from redmule_verif.sim.batch import SessionRunFn
    return SessionRunFn(work_dir, slots=DEFAULTS.get("runs_per_process") or 256, stop=stop)


def close_run_fn(fn) -> None:
    close = getattr(fn, "close", None)
    if close is not None:
        close()
