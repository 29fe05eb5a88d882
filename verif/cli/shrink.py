"""``redmule-verif shrink TEST --seed S``: shrink a failing run to a minimal failing job list.

Exit status: 0 shrunk (or could not shrink further, the failure is written); 1 the seed does not fail;
2 error.
"""

from __future__ import annotations

import json
import sys

import pathlib

from redmule_verif.cli.common import parse_knobs
from redmule_verif.flow.batching import batched_run_fn, close_run_fn
from redmule_verif.cli.launch import add_launcher_options, remote_run_fn
from redmule_verif.sequences.library import SEQUENCES
from redmule_verif.sim.dut import DutOptions
from redmule_verif.tools.shrink.shrinker import DEFAULT_BUDGET, shrink

NAME = "shrink"
HELP = "shrink a failing run to a minimal job list"


def add_arguments(parser) -> None:
    parser.add_argument("test", help="test (library sequence) name")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--knobs", default=None, help="JSON object of knobs, as given to the failing run")
    parser.add_argument("--budget-runs", type=int, default=DEFAULT_BUDGET,
                        help=f"most simulations, the first run included (default {DEFAULT_BUDGET})")
    parser.add_argument("--out", default=None, help="work directory (default out/shrink/TEST-SEED)")
    parser.add_argument("--output", default=None,
                        help="job file to write (default sequences/directed/shrunk_TEST_sSEED.yaml)")
    parser.add_argument("--timeout", type=float, default=None, help="wall-clock limit per run (s)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of text")
    add_launcher_options(parser)


def main(args) -> int:
    knobs = parse_knobs(args.knobs)
    if args.test not in SEQUENCES:
        print(f"error: test {args.test!r} is not a library sequence: only a sequence's job list can be "
              f"regenerated and shrunk (sequences: {', '.join(sorted(SEQUENCES))})", file=sys.stderr)
        return 2
    dut = DutOptions.from_args(args)
    try:
        sim = dut.build(quiet=args.json)
    except Exception as e:  # noqa: BLE001 - BuildError, bad parameters
        print(f"error: {e}", file=sys.stderr)
        return 2
    log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    work = pathlib.Path(args.out or f"out/shrink/{args.test}-{args.seed}").resolve()
    remote = remote_run_fn(args, work, dut.cli_args())  # --launcher slurm: every trial run is an array task
    local = None if remote else batched_run_fn(work / "_workers")  # trial runs share worker processes
    try:
        res = shrink(sim, args.test, args.seed, knobs, args.budget_runs, args.out, args.output, args.timeout,
                     log=log, build_args=dut.cli_args(), run_fn=remote or local)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if remote:
            remote.close()
        close_run_fn(local)
    if args.json:
        print(json.dumps(res.to_dict(), indent=1, default=str))
    else:
        print(res.report())
    return 0 if res.reproduced else 1
