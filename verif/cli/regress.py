"""``redmule-verif regress``: a suite, every test x seed in parallel (or, with ``--until-closure``, the
closure loop)."""

from __future__ import annotations

import argparse
import pathlib
import sys

from redmule_verif.cli.common import PROG
from redmule_verif.env.testlist import runs_under
from redmule_verif.model.profile import load_profile
from redmule_verif.cli.launch import add_launcher_options, closure_launcher_factory, farm_launcher
from redmule_verif.flow.resume import done_records, previous_results
from redmule_verif.flow.triage import KnownIssuesError, load_known_issues
from redmule_verif.flow.results_io import load_results
from redmule_verif.sim.build import BuildError
from redmule_verif.sim.dut import DutOptions, UsageError
from redmule_verif.tools.characterise.characterise import Characteriser
from redmule_verif.tools.closure.code_waivers import WaiverError, code_waivers_arg, load_waivers
from redmule_verif.tools.closure.loop import LOOP_DEFAULTS, loop_command
from redmule_verif.tools.regress.plan import default_base_seed, plan
from redmule_verif.tools.regress.report import archive_previous, history_files, write_build_failure
from redmule_verif.tools.regress.run import Regression
from redmule_verif.tools.regress.suite import SuiteError, load_suite

NAME = "regress"
HELP = "run a suite: every test x seed, in parallel"


def add_arguments(p) -> None:
    p.add_argument("--suite", default=None,
                   help="suite name (sequences/suites/NAME.yaml) or a YAML file (default nightly; with --resume, "
                        "the suite of OUT/results.json)")
    p.add_argument("--seeds", type=int, default=None, metavar="N", help="N seeds for every entry (overrides the suite)")
    p.add_argument("--seed", type=int, default=None, metavar="BASE",
                   help="base seed the run seeds derive from (default: the suite's, else today's date YYYYMMDD)")
    p.add_argument("-j", "--jobs", type=int, default=2, metavar="J", help="parallel runs (default 2)")
    p.add_argument("--out", default="out/regress", metavar="DIR", help="output directory (default out/regress)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="wall-clock limit per run (s), overriding the suite's limits")
    p.add_argument("--previous", nargs="+", action="extend", default=None, metavar="RESULTS.json",
                   help="earlier results: new failure buckets and trend plots (default: OUT/history)")
    p.add_argument("--rerun-failures", type=int, default=3, metavar="N",
                   help="rerun the first failure of the first N buckets with waves (default 3; 0: never)")
    p.add_argument("--until-closure", action="store_true",
                   help="instead of the suite: keep adding runs aimed at open testplan bins until the testplan "
                   "is closed or --budget is spent, and compare with unbiased runs on the same budget")
    p.add_argument("--budget", type=float, default=10.0, metavar="MINUTES",
                   help="wall-clock budget of --until-closure (default 10)")
    p.add_argument("--known-issues", metavar="FILE", default=None,
                   help="YAML list of known bugs ({id, title, match (regex on the root cause), status, link}): "
                        "their buckets are marked known, not new")
    p.add_argument("--fail-on", choices=("any", "new"), default="any",
                   help="exit 1 on any failure (default) or only when a bucket is new (not known, not seen before)")
    p.add_argument("--characterise", type=int, default=3, metavar="N",
                   help="shrink the first failure of the first N new buckets and rerun it under variations "
                        "(grant stalls, alone, SOFT_CLEAR before, format, cores) to say what it needs (0: never)")
    p.add_argument("--code-coverage", action="store_true",
                   help="build the DUT with Verilator line and toggle coverage and report code coverage "
                   "(covered / waived / open, waivers of --code-waivers) in results.json and on the console")
    p.add_argument("--code-waivers", default=None, metavar="FILE",
                   help="reviewed code-coverage waivers (default coverage/code_waivers.yaml; a waiver of a file "
                   "the build does not have is not applicable, never an error)")
    p.add_argument("--resume", action="store_true",
                   help="finish the regression of OUT: run only the runs with no final record in OUT/results.json "
                        "(or in their run directory), with the same suite and seeds, and merge")
    add_launcher_options(p)


def _until_closure(args) -> int:
    """``regress --until-closure``: the closure loop into OUT."""
    loop_args = argparse.Namespace(**vars(args))
    loop_args.dir = str(pathlib.Path(args.out).resolve())
    for key, value in LOOP_DEFAULTS.items():
        setattr(loop_args, key, value)
    loop_args.run_timeout = args.timeout or 600
    loop_args.seed = args.seed if args.seed is not None else 1
    return loop_command(loop_args, launcher_factory=closure_launcher_factory(args))


def _previous(args, out: pathlib.Path, suite_name: str) -> list[dict]:
    previous = []
    for p in args.previous or []:
        try:
            previous.append(load_results(p))
        except ValueError as exc:
            print(f"{PROG} regress: warning: --previous {exc}", file=sys.stderr)
    if not args.previous:
        for f in history_files(out, suite_name):
            try:
                previous.append(load_results(f))
            except ValueError:
                pass
    return previous


def main(args) -> int:
    if args.until_closure:
        return _until_closure(args)
    if args.jobs < 1:
        raise UsageError("-j must be at least 1")
    if args.seeds is not None and args.seeds < 1:
        raise UsageError("--seeds must be at least 1")
    dut = DutOptions.from_args(args)
    out = pathlib.Path(args.out).resolve()  # run directories must be absolute (the simulator runs inside them)
    resumed_from = None
    if args.resume:
        try:
            resumed_from = previous_results(out)
        except ValueError as exc:
            print(f"{PROG} regress: --resume: {exc}", file=sys.stderr)
            return 2
        if resumed_from is not None:
            args.suite = args.suite or resumed_from.get("suite_file") or resumed_from.get("suite")
            if args.seed is None:
                args.seed = resumed_from.get("base_seed")
    args.suite = args.suite or "nightly"
    try:
        suite = load_suite(args.suite, eng=dut.engine(), mem=dut.memory())
        known = load_known_issues(args.known_issues) if args.known_issues else []
        waivers = code_waivers_arg(args.code_waivers) if args.code_coverage else None
        if waivers is not None:
            load_waivers(waivers)  # a broken waiver file is said now, not after the regression
    except (SuiteError, KnownIssuesError, WaiverError) as exc:
        print(f"{PROG} regress: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    archived = None if resumed_from is not None else archive_previous(out)
    previous = _previous(args, out, suite.name)
    base = args.seed if args.seed is not None else (suite.seed if suite.seed is not None else default_base_seed())
    runs = plan(suite, out, base, seeds=args.seeds, timeout=args.timeout)
    prof = load_profile(dut.profile)
    excluded = sorted({r.test for r in runs if not runs_under(r.test, prof)})
    if excluded:  # said, and recorded in results.json (build.not_run): never a silent pass
        runs = [r for r in runs if runs_under(r.test, prof)]
        print(f"not run under profile {prof.name} (its stimulus breaks the profile's conventions): "
              f"{', '.join(excluded)}", flush=True)
    kept = done_records(runs, resumed_from) if args.resume else {}
    if args.resume:
        print(f"resume: {len(kept)} of {len(runs)} runs already have their final record in {out}; "
              f"running the other {len(runs) - len(kept)}", flush=True)
    print(f"suite {suite.name}: {len(runs)} runs ({len(suite.entries)} entries), base seed {base}, -j {args.jobs}, "
          f"launcher {args.launcher}, out {out}" + (f" (earlier results kept in {archived})" if archived else ""),
          flush=True)
    try:
        sim = dut.build(coverage=args.code_coverage, quiet=False)
    except BuildError as exc:
        write_build_failure(out, suite, base, str(exc), dut.cli_args())
        print(f"{PROG} regress: build failed (recorded in {out / 'results.json'}); nothing was submitted: {exc}",
              file=sys.stderr)
        return 2
    launcher = farm_launcher(args, sim, out, dut.cli_args(), previous, log=lambda s: print(s, flush=True))
    reg = Regression(suite, runs, sim, out, {**dut.build_info(sim), "not_run": excluded}, dut.cli_args(), jobs=args.jobs,
                     previous=previous, rerun_failures=args.rerun_failures,
                     waves_sim_factory=lambda: dut.build(waves=True, quiet=False), base_seed=base,
                     known=known, fail_on=args.fail_on, characterise=Characteriser(dut, sim, out / "characterise"),
                     characterise_max=args.characterise, launcher=launcher, resumed=kept,
                     code_coverage=args.code_coverage, code_waivers=waivers)
    return reg.run()
