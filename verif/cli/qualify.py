"""``redmule-verif qualify``: inject the catalogue's bugs into the RTL and check that the suite catches them
(:mod:`redmule_verif.tools.qualify.qualifier`).

Exit status: 0 every simulated non-equivalent mutant was killed, 1 some survived (or were left incomplete),
2 usage, catalogue or baseline build error.
"""

from __future__ import annotations

import json
import pathlib
import sys

from redmule_verif.flow.batching import batched_run_fn, close_run_fn
from redmule_verif.cli.launch import add_launcher_options, remote_run_fn
from redmule_verif.sim.build import BuildError
from redmule_verif.sim.dut import DutOptions
from redmule_verif.tools.qualify import mutants as mu
from redmule_verif.tools.qualify.plan import DEFAULT_BASE_SEED, DEFAULT_SEEDS, order_runs, plan_runs
from redmule_verif.tools.qualify.qualifier import DEFAULT_SHRINK_RUNS, Qualifier, Settings, report_only
from redmule_verif.tools.qualify.workspace import DEFAULT_CXX_OPT, Workspace
from redmule_verif.tools.regress.suite import SuiteError

NAME = "qualify"
HELP = "qualify the environment: inject bugs, check that they are caught"
DEFAULT_OUT = "out/qualify"


def add_arguments(parser) -> None:
    parser.add_argument("--mutants", nargs="+", metavar="ID", default=None,
                        help="mutant ids to run (default: every mutant of the catalogue)")
    parser.add_argument("--classes", nargs="+", metavar="CLASS", default=None, choices=mu.CLASSES,
                        help="only mutants of these classes")
    parser.add_argument("--catalogue", default=None, metavar="FILE",
                        help=f"mutant catalogue (default {mu.CATALOGUE})")
    parser.add_argument("--suite", default=None, metavar="NAME|FILE",
                        help="regression suite whose runs qualify each mutant (default: nightly if it exists, "
                             f"else every test x {DEFAULT_SEEDS} seeds)")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="N seeds of every suite entry (overrides the suite's seed counts)")
    parser.add_argument("--all-tests", action="store_true",
                        help="also run every test of the environment that the suite does not (N seeds, default 2)")
    parser.add_argument("--extra", action="store_true",
                        help="also run the sequences of sequences/library_extra.py (N seeds, default 2; as directed "
                             "job files when the test module does not import them yet)")
    parser.add_argument("--seed", type=int, default=None, metavar="BASE",
                        help=f"base seed of the runs (default: the suite's, else {DEFAULT_BASE_SEED})")
    parser.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                        help="wall-clock budget; stops cleanly with partial results")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="wall-clock limit per run (default: the suite's)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="J",
                        help="mutants qualified in parallel (default 1: builds and runs already use the cores)")
    parser.add_argument("--shrink-runs", type=int, default=DEFAULT_SHRINK_RUNS, metavar="N",
                        help=f"shrink each kill to a minimal job with up to N runs (default {DEFAULT_SHRINK_RUNS}; "
                             "0: no shrinking)")
    parser.add_argument("--include-equivalent", action="store_true",
                        help="simulate the mutants marked equivalent too (they should survive)")
    parser.add_argument("--no-assert-cycles", action="store_true",
                        help="do not assert the timing model (default: asserted for the project's own RTL)")
    parser.add_argument("--cxx-opt", default=DEFAULT_CXX_OPT, choices=("O0", "O1", "O2", "default"),
                        help=f"C++ optimisation of the mutant and baseline builds (default {DEFAULT_CXX_OPT}: "
                             "builds dominate the cost; 'default' = the build layer's)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the decided results (killed, build-error, not-applicable) of OUT/qualify.json "
                             "and run the rest (survivors, incomplete, not run, new mutants)")
    parser.add_argument("--report-only", action="store_true",
                        help="simulate nothing: recompute the summary of OUT/qualify.json with the catalogue's current "
                             "equivalence verdicts and rewrite qualify.json and qualify.html")
    parser.add_argument("--list", action="store_true", help="list the catalogue and the planned runs, run nothing")
    add_launcher_options(parser)


def _rtl_location(args) -> tuple[pathlib.Path, str | None]:
    paths = getattr(args, "rtl", None) or [str(mu.RTL_DIR / mu.FILELIST)]
    if len(paths) != 1:
        raise ValueError("qualify mutates one RTL: give a single --rtl (a .f file list or a directory)")
    p = pathlib.Path(paths[0]).expanduser().resolve()
    if p.is_dir():
        return p, None
    if p.suffix == ".f" and p.is_file():
        return p.parent, p.name
    raise ValueError(f"--rtl {paths[0]}: qualify needs a .f file list or a directory")


def _list(chosen, runs, label, problems) -> int:
    for m in chosen:
        print(f"{m.id:<30} {m.cls:<10} {'EQUIVALENT ' if m.is_equivalent else ''}{m.description[:90]}")
    print(f"\n{len(runs)} runs ({label}), cheapest first:")
    for r in order_runs(runs, {}):
        print(f"  {r.test:<20} seed {r.seed:<11} ~{r.est_s:6.1f} s  {json.dumps(r.knobs) if r.knobs else ''}")
    for p in problems:
        print("PROBLEM:", p)
    return 2 if problems else 0


def _previous(args, out: pathlib.Path, cat) -> dict | None:
    if not (args.resume and (out / "qualify.json").exists()):
        return None
    try:
        previous = json.loads((out / "qualify.json").read_text())
    except ValueError as exc:
        raise ValueError(f"--resume: {out / 'qualify.json'} is not valid JSON ({exc})") from None
    for r in previous.get("mutants", []):
        if r.get("id") in cat:
            r["equivalent"] = cat[r["id"]].equivalent
    return previous


def _print_summary(s: dict, out: pathlib.Path) -> None:
    rate = s["kill_rate"]
    print(f"\nkill rate {'-' if rate is None else f'{100 * rate:.1f} %'}: {s['killed']} killed, {s['survived']} "
          f"survived, statuses {s['by_status']}")
    if s["survivors"]:
        print("survivors: " + ", ".join(s["survivors"]))
    if s["equivalent_survivors"]:
        print("survivors marked equivalent: " + ", ".join(s["equivalent_survivors"]))
    if s["equivalence_refuted"]:
        print("KILLED although marked equivalent (fix the catalogue): " + ", ".join(s["equivalence_refuted"]))
    t = s["time_to_kill_runs_s"]
    if t["median"] is not None:
        print(f"time to kill (runs): median {t['median']:.0f} s, p90 {t['p90']:.0f} s, max {t['max']:.0f} s")
    print(f"results: {out / 'qualify.json'}  report: {out / 'qualify.html'}")


def main(args) -> int:
    dut = DutOptions.from_args(args)
    out = pathlib.Path(args.out)
    try:
        cat = mu.load_catalogue(args.catalogue)
        chosen = cat.select(args.mutants, args.classes, include_equivalent=True)
        rtl_dir, filelist = _rtl_location(args)
        label, runs = plan_runs(args.suite, dut.engine(), dut.memory(), seeds=args.seeds, base_seed=args.seed,
                                timeout=args.timeout, all_tests_too=args.all_tests, extra=args.extra,
                                jobs_dir=out / "jobs")
    except (mu.CatalogueError, ValueError, SuiteError) as exc:
        print(f"redmule-verif qualify: {exc}", file=sys.stderr)
        return 2
    if args.list:
        return _list(chosen, runs, label, [p for m in chosen for p in mu.validate(mu.Catalogue({m.id: m}), rtl_dir)])
    try:
        if args.report_only:
            s = report_only(out, cat)["summary"]
            print(json.dumps({k: s[k] for k in ("kill_rate", "killed", "survived", "survivors",
                                                "equivalent_survivors", "equivalence_refuted")}))
            return 0
        previous = _previous(args, out, cat)
    except (OSError, ValueError) as exc:
        print(f"redmule-verif qualify: {'--report-only: ' if args.report_only else ''}{exc}", file=sys.stderr)
        return 2
    print(f"qualify: {len(chosen)} mutant(s), {len(runs)} run(s) each at most ({label}), out {out}"
          + (f", budget {args.budget:g} min" if args.budget else ""), flush=True)
    settings = Settings(budget_s=args.budget * 60 if args.budget else None, jobs=args.jobs,
                        shrink_runs=args.shrink_runs, include_equivalent=args.include_equivalent,
                        assert_cycles=False if args.no_assert_cycles else None, suite_label=label,
                        catalogue_path=str(cat.path) if cat.path else None)
    ws = Workspace(out, rtl_dir, filelist, dut.replace(rtl=()))
    # --launcher slurm: every run of the hunt is an array task (the mutants are built here, one at a time per
    # qualify thread: -j N hunts N mutants at once); shrinking a kill runs here
    remote = remote_run_fn(args, out.resolve(), ws.dut.cli_args(rtl=False, cxx_opt=False))
    local = None if remote else batched_run_fn(out.resolve() / "_workers")  # runs share worker processes
    q = Qualifier(chosen, runs, ws, settings, log=lambda s: print(s, flush=True), previous=previous,
                  run_fn=remote or local)
    if remote:
        remote.stop = q.stop
    try:
        ws.clean_sim()
    except BuildError as exc:
        print(f"redmule-verif qualify: the clean RTL does not build: {exc}", file=sys.stderr)
        return 2
    try:
        s = q.run()["summary"]
    finally:
        if remote:
            remote.close()
        close_run_fn(local)
    _print_summary(s, out)
    incomplete = s["by_status"].get("incomplete", 0) + s["by_status"].get("not-run", 0)
    bad = s["survived"] + s["by_status"].get("error", 0) + s["by_status"].get("build-error", 0)
    return 1 if (bad or incomplete) else 0
