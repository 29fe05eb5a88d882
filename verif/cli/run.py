"""``redmule-verif run TEST --seed S``: one test with one seed (``repro`` is the same with another default
output directory)."""

from __future__ import annotations

import pathlib

from redmule_verif.cli.common import check_test, parse_env, parse_knobs
from redmule_verif.flow.records import RunSpec, run_record
from redmule_verif.sim.dut import DutOptions
from redmule_verif.sim.runner import run_test

NAME = "run"
HELP = "run one test with one seed"


def add_test_arguments(p, out_help: str) -> None:
    p.add_argument("test", help="test name (a library sequence; see `redmule-verif list`)")
    p.add_argument("--seed", type=int, required=True, help="run seed")
    p.add_argument("--knobs", default=None, metavar="JSON", help="sequence knobs, a JSON object")
    p.add_argument("--waves", action="store_true",
                   help="dump waves next to the log (FST when the build supports it, else VCD)")
    p.add_argument("--out", default=None, metavar="DIR", help=out_help)
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="wall-clock limit (s); default none")
    p.add_argument("--env", action="append", default=None, metavar="NAME=VALUE",
                   help="extra environment variable of the run (repeatable), e.g. REDMULE_HANG_CYCLES=5000")


def add_arguments(p) -> None:
    add_test_arguments(p, "run directory (default out/run/TEST/SEED)")


def print_record(rec: dict) -> None:
    print(f"{rec['test']} seed={rec['seed']}: {rec['status'].upper()}  {rec['wall_s']:.1f} s, "
          f"{rec.get('jobs_checked') or 0} jobs checked, {rec.get('sim_cycles')} cycles")
    if rec["status"] != "pass":
        print(f"signature: {rec['signature']}")
        for line in (rec.get("first_errors") or [rec.get("message", "")])[:3]:
            print("  " + line[:2000].replace("\n", "\n  "))
    print(f"log:   {rec['log']}")
    if rec.get("waves"):
        print(f"waves: {rec['waves']}")
    print(f"repro: {rec['repro']}")


def run_one(args, default_out: pathlib.Path) -> int:
    check_test(args.test)
    knobs = parse_knobs(args.knobs)
    env = parse_env(args.env)
    dut = DutOptions.from_args(args)
    sim = dut.build(waves=args.waves, quiet=False)
    # absolute: the simulator runs in its run directory and cocotb resolves its results file from there
    spec = RunSpec(0, args.test, args.seed, knobs, args.timeout, env,
                   pathlib.Path(args.out or default_out).resolve(), waves=args.waves)
    raw = run_test(sim, spec.test, spec.seed, spec.dir, knobs=knobs, timeout=spec.timeout, waves=spec.waves,
                   extra_env=env)
    print_record(run_record(spec, raw, dut.cli_args()))
    return 0 if raw["status"] == "pass" else 1


def main(args) -> int:
    return run_one(args, pathlib.Path("out") / "run" / args.test / str(args.seed))
