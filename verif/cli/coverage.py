"""``redmule-verif coverage DIR``: the merged coverage report of the runs under DIR, or with
``--until-closure`` the closure loop into DIR.

Exit status: 0; 1 when a covergroup is never sampled or the testplan is invalid
(the loop: not closed within the budget); 2 when DIR holds no coverage at all,
or on a usage or build error.
"""

from __future__ import annotations

import json
import pathlib
import sys

from redmule_verif.cli.launch import add_launcher_options, closure_launcher_factory
from redmule_verif.tools.closure.loop import loop_command
from redmule_verif.tools.closure.code_waivers import code_waivers_arg
from redmule_verif.tools.closure.report import coverage_report, format_report

NAME = "coverage"
HELP = "coverage closure: merge, report, drive the runs that close holes"


def add_arguments(parser) -> None:
    parser.add_argument("dir", help="directory of runs (any depth: every coverage.json / coverage.dat), "
                        "or with --until-closure the output directory of the loop")
    parser.add_argument("--testplan", default=None, help="testplan YAML (default coverage/testplan.yaml)")
    parser.add_argument("--holes", type=int, default=5, help="holes listed per testpoint (default 5)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-code", action="store_true", help="skip code coverage (coverage.dat)")
    parser.add_argument("--code-waivers", default=None, metavar="FILE",
                        help="reviewed code-coverage waivers (default coverage/code_waivers.yaml; 'none': no "
                        "waivers)")
    parser.add_argument("--source", action="append", default=[], metavar="DIR",
                        help="folder of the RTL sources when the paths coverage.dat recorded are not readable here "
                        "(coverage measured on another machine or in a moved tree); repeatable")
    parser.add_argument("--include-harness", action="store_true",
                        help="keep the environment's harness (redmule_harness.sv) in code coverage")
    g = parser.add_argument_group("closure loop")
    g.add_argument("--until-closure", action="store_true",
                   help="run tests aimed at open bins until the testplan is closed or the budget is spent")
    g.add_argument("--budget", type=float, default=10.0, metavar="MINUTES",
                   help="wall-clock budget of the targeted loop (default 10); the unbiased comparison "
                   "gets the same again")
    g.add_argument("-j", "--jobs", type=int, default=2, help="parallel runs (default 2)")
    g.add_argument("--batch", type=int, default=None, help="runs per batch (default: -j)")
    g.add_argument("--seed", type=int, default=1, help="base seed of the loop (default 1)")
    g.add_argument("--tests", default=None, help="comma-separated tests the loop may run (default all)")
    g.add_argument("--no-compare", action="store_true", help="skip the unbiased comparison")
    g.add_argument("--max-runs", type=int, default=None, help="also stop after this many runs")
    g.add_argument("--pack-cycles", type=int, default=40000,
                   help="pack small targets into one directed run of at most this many estimated cycles "
                   "(default 40000; 0: one run per target)")
    g.add_argument("--run-timeout", type=float, default=600, help="wall-clock limit per run (s)")
    g.add_argument("--code-coverage", action="store_true",
                   help="loop on a build with Verilator line/toggle coverage (slower)")
    add_launcher_options(parser)


def main(args) -> int:
    if args.until_closure:
        return loop_command(args, launcher_factory=closure_launcher_factory(args))
    root = pathlib.Path(args.dir)
    if not root.exists():
        print(f"error: {root}: no such directory", file=sys.stderr)
        return 2
    try:
        res = coverage_report(root, testplan=args.testplan, code=not args.no_code,
                              exclude=() if args.include_harness else ("redmule_harness.sv",),
                              code_waivers=code_waivers_arg(args.code_waivers), source_dirs=args.source)
    except Exception as e:  # noqa: BLE001 - unreadable coverage / testplan file
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: v for k, v in res.items() if k != "_db"}, indent=1, default=str))
    else:
        print(format_report(res, args.holes))
    if res["functional"] is None and not res.get("code"):
        print(f"error: no coverage.json or coverage.dat under {root}", file=sys.stderr)
        return 2
    return 1 if res["problems"] else 0
