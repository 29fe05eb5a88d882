"""The ``redmule-verif`` command: one module a subcommand, each with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``main(args) -> int``.

    redmule-verif run TEST --seed S [--knobs JSON] [--waves] [--out DIR]
    redmule-verif regress [--suite NAME|FILE] [--seeds N] [-j J] [--out DIR] [--timeout S]
                          [--seed BASE] [--previous RESULTS.json ...] [--rerun-failures N]
    redmule-verif repro TEST --seed S [--knobs JSON] [--waves]
    redmule-verif list | shrink | coverage | qualify ...

Every subcommand takes the DUT options (:mod:`redmule_verif.sim.dut`). Exit
status: 0 pass, 1 a test failed, 2 usage or build error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from redmule_verif.cli import coverage, qualify, regress, repro, run, shrink
from redmule_verif.cli import list_cmd
from redmule_verif.cli.common import PROG
from redmule_verif.flow.executor import stop_signals
from redmule_verif.sim.build import BuildError
from redmule_verif.sim.dut import UsageError, add_dut_options

COMMANDS = (run, regress, repro, list_cmd, shrink, coverage, qualify)


def make_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description="Verification of the RedMulE matrix engine: run tests, "
                                 "regressions and repros on any RTL that meets the port contract.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Run `redmule-verif COMMAND --help` for a command's options.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in COMMANDS:
        # the command's own options win over a DUT option of the same name (qualify's --cxx-opt default)
        p = sub.add_parser(mod.NAME, help=mod.HELP, conflict_handler="resolve")
        add_dut_options(p)
        mod.add_arguments(p)
        p.set_defaults(func=mod.main)
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with stop_signals():
        args = make_parser().parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except UsageError as exc:
            print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
            return 130
        except BuildError as exc:
            print(f"{PROG} {args.command}: build failed: {exc}", file=sys.stderr)
            return 2
