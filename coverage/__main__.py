"""Command line: merge coverage files, report them, measure testplan closure.

    python -m redmule_verif.coverage report  FILES_OR_DIRS... [--holes N] [--json]
    python -m redmule_verif.coverage merge   FILES_OR_DIRS... -o merged.json
    python -m redmule_verif.coverage closure FILES_OR_DIRS... [--testplan PATH] [--tests a,b,...]
                                             [--next N] [--json]

A directory stands for the *.json coverage files in it. ``closure`` validates the
testplan first when ``--tests`` gives the known test names. The exit status is 0,
or 2 on a usage, file or testplan error.
"""

from __future__ import annotations

import argparse
import json
import sys

from .covergroup import CoverageDB, CoverageError, format_report
from .testplan import TestplanError, closure, format_closure, load_testplan, next_runs, validate_testplan


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.coverage", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("report", help="merged functional-coverage report")
    r.add_argument("files", nargs="+")
    r.add_argument("--holes", type=int, default=20, help="holes listed per covergroup")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    m = sub.add_parser("merge", help="merge coverage files into one")
    m.add_argument("files", nargs="+")
    m.add_argument("-o", "--output", required=True)
    c = sub.add_parser("closure", help="per-testpoint closure of the testplan")
    c.add_argument("files", nargs="+")
    c.add_argument("--testplan", default=None, help="testplan YAML (default: the packaged one)")
    c.add_argument("--tests", default=None, help="comma-separated known test names: validate the testplan")
    c.add_argument("--next", type=int, default=0, help="also list the N most useful next runs")
    c.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        db = CoverageDB.load(args.files)
        if args.cmd == "report":
            rep = db.report()
            print(json.dumps(rep, indent=1) if args.json else format_report(rep, args.holes))
        elif args.cmd == "merge":
            db.save(args.output)
            print(f"merged {len(db.meta.get('runs', []))} run(s) into {args.output}")
        else:
            tp = load_testplan(args.testplan)
            if args.tests:
                validate_testplan(tp, db, [t.strip() for t in args.tests.split(",") if t.strip()])
            res = closure(tp, db)
            if args.next:
                res["next_runs"] = next_runs(res, args.next)
            if args.json:
                print(json.dumps(res, indent=1))
            else:
                print(format_closure(res))
                for run in res.get("next_runs", []):
                    print(f"  next: {run['test']} {run['knobs']} ({len(run['holes'])} holes)")
    except (CoverageError, TestplanError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
