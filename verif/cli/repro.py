"""``redmule-verif repro TEST --seed S ...``: rerun exactly one test and seed (a failure's repro line)."""

from __future__ import annotations

import pathlib

from redmule_verif.cli.run import add_test_arguments, run_one

NAME = "repro"
HELP = "rerun exactly one test and seed (a failure's repro line)"


def add_arguments(p) -> None:
    add_test_arguments(p, "run directory (default out/repro/TEST/SEED)")


def main(args) -> int:
    return run_one(args, pathlib.Path("out") / "repro" / args.test / str(args.seed))
