"""The ``redmule-verif`` command.

    redmule-verif run TEST --seed S [--knobs JSON] [--waves] [--out DIR]
    redmule-verif regress [--suite NAME|FILE] [--seeds N] [-j J] [--out DIR] [--timeout S]
                          [--seed BASE] [--previous RESULTS.json ...] [--rerun-failures N]
    redmule-verif repro TEST --seed S [--knobs JSON] [--waves]
    redmule-verif list
    redmule-verif shrink | coverage | qualify ...   (verif/shrink.py, closure.py, qualify.py)

Every subcommand takes the DUT options: ``--rtl PATH`` (repeatable: a .f file
list, files or a directory; default rtl/redmule.f), ``--top NAME``,
``-P NAME=VALUE`` (repeatable: L, H, P, N_CORES, ID_WIDTH), ``--mem-kib N``,
``--no-dut-params`` (a top without the L/H/P parameters), ``--build-dir``
(the build cache) and ``--cxx-opt O0|O1|O2`` (C++ optimisation of the
simulator). Exit status: 0 pass, 1 a test failed, 2 usage or build error,
130 interrupted.

Subcommands that live in their own module (``shrink``, ``coverage``,
``qualify``) are imported only when used: the module provides
``add_arguments(parser)`` and ``main(args) -> int``; its parser already has the
DUT options (its own definitions win on a clash), and it may call
:func:`dut_config`, :func:`build_sim` and :func:`dut_build_args` of this module.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import shlex
import sys

from redmule_verif.sim.runner import DEFAULT_RTL, DUT_PARAMS

PROG = "redmule-verif"
DEFAULT_MEM_KIB = 128
HOOKS = {
    "shrink": ("redmule_verif.tools.shrink.shrink", "shrink a failing run to a minimal job list"),
    "coverage": ("redmule_verif.tools.closure.closure", "coverage closure: merge, report, drive the runs that close holes"),
    "qualify": ("redmule_verif.tools.qualify.qualify", "qualify the environment: inject bugs, check that they are caught"),
}


class UsageError(Exception):
    pass


# --------------------------------------------------------------------------- DUT options


def add_dut_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("DUT options")
    g.add_argument("--rtl", action="append", metavar="PATH", default=None,
                   help="RTL: a .f file list, HDL files or a directory (repeatable; default rtl/redmule.f)")
    g.add_argument("--top", default="redmule", metavar="NAME", help="top module of the DUT (default redmule)")
    g.add_argument("-P", dest="param", action="append", metavar="NAME=VALUE", default=None,
                   help=f"DUT parameter (repeatable): {', '.join(DUT_PARAMS)}")
    g.add_argument("--mem-kib", type=int, default=DEFAULT_MEM_KIB, metavar="N",
                   help=f"TCDM size in KiB (default {DEFAULT_MEM_KIB})")
    g.add_argument("--no-dut-params", action="store_true",
                   help="the top has no L/H/P/N_CORES/ID_WIDTH parameters (give the geometry with -P anyway)")
    g.add_argument("--build-dir", metavar="DIR", default=None, help="build cache root (default build/cache)")
    g.add_argument("--cxx-opt", choices=("O0", "O1", "O2"), default=None,
                   help="C++ optimisation of the simulator (default: the build layer's -O2; O0 compiles about "
                        "4x faster, for short runs)")


def parse_params(items) -> dict:
    params = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise UsageError(f"-P {item!r}: expected NAME=VALUE, e.g. -P L=8")
        if name not in DUT_PARAMS:
            raise UsageError(f"-P {name}: unknown DUT parameter (known: {', '.join(DUT_PARAMS)})")
        try:
            params[name] = int(value, 0)
        except ValueError:
            raise UsageError(f"-P {item!r}: the value must be an integer") from None
    return params


def _rtl_paths(args) -> list[str]:
    paths = args.rtl or [str(DEFAULT_RTL)]
    out = []
    for p in paths:
        rp = pathlib.Path(p).expanduser()
        if not rp.exists():
            raise UsageError(f"--rtl {p}: no such file or directory")
        out.append(str(rp.resolve()))
    return out


def _mem_words(args) -> int:
    if args.mem_kib <= 0 or args.mem_kib * 1024 > 16 * 1024 * 1024:
        raise UsageError(f"--mem-kib {args.mem_kib}: legal 1 .. 16384")
    return args.mem_kib * 1024 // 4


def dut_config(args, waves: bool = False):
    """The build configuration of the DUT options (the harness around the RTL)."""
    from redmule_verif.sim.runner import env_config

    try:
        cfg = env_config(rtl=_rtl_paths(args), top=args.top, parameters=parse_params(args.param),
                         mem_words=_mem_words(args), waves=waves, dut_params=not args.no_dut_params)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    opt = _cxx_opt(args)
    if opt:  # appended after the build layer's -O2: the last -O wins
        cfg = cfg.with_(extra_args=tuple(cfg.extra_args) + ("-CFLAGS", f"-{opt}"))
    return cfg


def _cxx_opt(args) -> str | None:
    opt = getattr(args, "cxx_opt", None)
    return None if opt in (None, "", "default") else opt


def dut_build_args(args) -> list[str]:
    """The DUT options as command-line arguments (for repro lines): the non-default ones, paths absolute."""
    out = []
    if args.rtl:
        for p in _rtl_paths(args):
            out += ["--rtl", p]
    if args.top != "redmule":
        out += ["--top", args.top]
    for k, v in sorted(parse_params(args.param).items()):
        out += ["-P", f"{k}={v}"]
    if args.mem_kib != DEFAULT_MEM_KIB:
        out += ["--mem-kib", str(args.mem_kib)]
    if args.no_dut_params:
        out += ["--no-dut-params"]
    if args.build_dir:
        out += ["--build-dir", str(pathlib.Path(args.build_dir).resolve())]
    if _cxx_opt(args):
        out += ["--cxx-opt", _cxx_opt(args)]
    return out


def build_sim(args, waves: bool = False, quiet: bool = False):
    """Build (or take from the cache) the simulator of the DUT options."""
    from redmule_verif.sim.build import build

    cfg = dut_config(args, waves=waves)
    if not quiet:
        print(f"building {args.top} ({'waves' if waves else 'no waves'}) ...", flush=True)
    sim = build(cfg, cache_root=args.build_dir)
    if not quiet:
        print(f"build {'cached' if sim.cached else 'done'}: {sim.dir} ({sim.build_seconds:.1f} s)", flush=True)
    return sim


def build_info(args, sim) -> dict:
    return {"rtl": _rtl_paths(args), "top": args.top, "parameters": sim.config.params,
            "mem_kib": args.mem_kib, "dut_params": not args.no_dut_params, "key": sim.key, "dir": str(sim.dir),
            "cached": sim.cached, "build_seconds": sim.build_seconds, "cxx_opt": _cxx_opt(args) or "O2",
            "args": dut_build_args(args)}


def parse_knobs(text) -> dict:
    if not text:
        return {}
    try:
        knobs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--knobs {text!r}: not JSON ({exc}); e.g. --knobs '{{\"count\": 4}}'") from None
    if not isinstance(knobs, dict):
        raise UsageError(f"--knobs {text!r}: must be a JSON object")
    return knobs


def parse_env(items) -> dict:
    env = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise UsageError(f"--env {item!r}: expected NAME=VALUE")
        env[k] = v
    return env


def _check_test(name: str) -> None:
    from redmule_verif.tools.regress.regress import known_tests

    tests = known_tests()
    if name not in tests:
        raise UsageError(f"unknown test {name!r}; tests: {', '.join(tests)} (see `{PROG} list`)")


# --------------------------------------------------------------------------- subcommands


def _print_record(rec: dict, repro: str) -> None:
    print(f"{rec['test']} seed={rec['seed']}: {rec['status'].upper()}  {rec['wall_s']:.1f} s, "
          f"{rec.get('jobs_checked') or 0} jobs checked, {rec.get('sim_cycles')} cycles")
    if rec["status"] != "pass":
        from redmule_verif.flow.signature import signature

        print(f"signature: {signature(rec)}")
        for line in (rec.get("first_errors") or [rec.get("message", "")])[:3]:
            print("  " + line[:2000].replace("\n", "\n  "))
    print(f"log:   {rec['log']}")
    if rec.get("waves"):
        print(f"waves: {rec['waves']}")
    print(f"repro: {repro}")


def _run_one(args, out_dir: pathlib.Path) -> int:
    from redmule_verif.sim.runner import repro_command, run_test

    _check_test(args.test)
    knobs = parse_knobs(args.knobs)
    env = parse_env(args.env)
    sim = build_sim(args, waves=args.waves)
    # absolute: the simulator runs in out_dir and cocotb resolves its results file from there
    rec = run_test(sim, args.test, args.seed, pathlib.Path(out_dir).resolve(), knobs=knobs, timeout=args.timeout,
                   waves=args.waves, extra_env=env)
    bargs = dut_build_args(args) + [a for k, v in sorted(env.items()) for a in ("--env", f"{k}={v}")]
    _print_record(rec, repro_command(args.test, args.seed, bargs, knobs or None))
    return 0 if rec["status"] == "pass" else 1


def cmd_run(args) -> int:
    out = pathlib.Path(args.out) if args.out else pathlib.Path("out") / "run" / args.test / str(args.seed)
    return _run_one(args, out)


def cmd_repro(args) -> int:
    out = pathlib.Path(args.out) if args.out else pathlib.Path("out") / "repro" / args.test / str(args.seed)
    return _run_one(args, out)


def cmd_list(args) -> int:
    from redmule_verif.tools.regress.regress import SuiteError, available_suites, known_tests, load_suite

    print("tests:")
    for name, doc in known_tests().items():
        print(f"  {name:<20} {doc[:100]}")
    print("suites:")
    for name, path in available_suites().items():
        try:
            s = load_suite(path, check_knobs=False)
            runs = sum(e.seeds if isinstance(e.seeds, int) else len(e.seeds) for e in s.entries)
            desc = s.description.splitlines()[0] if s.description else ""
            print(f"  {name:<20} {runs} runs, {len(s.entries)} entries  {desc}")
        except SuiteError as exc:
            print(f"  {name:<20} INVALID: {exc}")
    print("subcommands from other modules:")
    for name, (mod, helptext) in HOOKS.items():
        print(f"  {name:<20} {'available' if _hook_available(mod) else 'not available yet'}  ({mod})")
    return 0


def _regress_until_closure(args) -> int:
    """``regress --until-closure``: the closure loop of redmule_verif.tools.closure.closure into OUT."""
    from redmule_verif.tools.closure import closure

    loop_args = argparse.Namespace(**vars(args))
    loop_args.dir = str(pathlib.Path(args.out).resolve())
    defaults = dict(tests=None, code_coverage=False, batch=None, no_compare=False, max_runs=None,
                    pack_cycles=40000, run_timeout=args.timeout or 600, testplan=None, json=False,
                    seed=args.seed if args.seed is not None else 1)
    for key, value in defaults.items():
        setattr(loop_args, key, value)
    return closure.loop_main(loop_args)


def cmd_regress(args) -> int:
    if args.until_closure:
        return _regress_until_closure(args)
    from redmule_verif.tools.regress.regress import (Regression, SuiteError, archive_previous, default_base_seed,
                                       history_files, load_results, load_suite, plan)
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig

    if args.jobs < 1:
        raise UsageError("-j must be at least 1")
    if args.seeds is not None and args.seeds < 1:
        raise UsageError("--seeds must be at least 1")
    params = parse_params(args.param)
    try:
        eng = EngineConfig.from_params(params)
        mem = MemoryConfig(size=_mem_words(args) * 4)
        suite = load_suite(args.suite, eng=eng, mem=mem)
    except SuiteError as exc:
        print(f"{PROG} regress: {exc}", file=sys.stderr)
        return 2
    previous = []
    for p in args.previous or []:
        try:
            previous.append(load_results(p))
        except ValueError as exc:
            print(f"{PROG} regress: warning: --previous {exc}", file=sys.stderr)
    out = pathlib.Path(args.out).resolve()  # run directories must be absolute (the simulator runs inside them)
    out.mkdir(parents=True, exist_ok=True)
    archived = archive_previous(out)
    if not args.previous:
        for f in history_files(out, suite.name):
            try:
                previous.append(load_results(f))
            except ValueError:
                pass
    base = args.seed if args.seed is not None else (suite.seed if suite.seed is not None else default_base_seed())
    runs = plan(suite, out, base, seeds=args.seeds, timeout=args.timeout)
    print(f"suite {suite.name}: {len(runs)} runs ({len(suite.entries)} entries), base seed {base}, -j {args.jobs}, "
          f"out {out}" + (f" (earlier results kept in {archived})" if archived else ""), flush=True)
    from redmule_verif.sim.build import BuildError

    try:
        sim = build_sim(args)
    except BuildError as exc:
        from redmule_verif.tools.regress.regress import write_build_failure

        write_build_failure(out, suite, base, str(exc), dut_build_args(args))
        print(f"{PROG} regress: build failed (recorded in {out / 'results.json'}): {exc}", file=sys.stderr)
        return 2

    def waves_sim():
        return build_sim(args, waves=True)

    reg = Regression(suite, runs, sim, out, build_info(args, sim), dut_build_args(args), jobs=args.jobs,
                     previous=previous, rerun_failures=args.rerun_failures, waves_sim_factory=waves_sim,
                     base_seed=base)
    return reg.run()


# --------------------------------------------------------------------------- hooks


def _hook_available(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _load_hook(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


# --------------------------------------------------------------------------- parser


def _command_of(argv) -> str | None:
    for a in argv:
        if not a.startswith("-"):
            return a
        if a in ("-h", "--help"):
            return None
    return None


def make_parser(argv=()) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description="Verification of the RedMulE matrix engine: run tests, "
                                 "regressions and repros on any RTL that meets the port contract.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Run `redmule-verif COMMAND --help` for a command's options.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def one_test(p, out_help):
        p.add_argument("test", help="test name (a library sequence; see `redmule-verif list`)")
        p.add_argument("--seed", type=int, required=True, help="run seed")
        p.add_argument("--knobs", default=None, metavar="JSON", help="sequence knobs, a JSON object")
        p.add_argument("--waves", action="store_true",
                       help="dump waves next to the log (FST when the build supports it, else VCD)")
        p.add_argument("--out", default=None, metavar="DIR", help=out_help)
        p.add_argument("--timeout", type=float, default=None, metavar="S", help="wall-clock limit (s); default none")
        p.add_argument("--env", action="append", default=None, metavar="NAME=VALUE",
                       help="extra environment variable of the run (repeatable), e.g. REDMULE_HANG_CYCLES=5000")
        add_dut_options(p)

    p = sub.add_parser("run", help="run one test with one seed")
    one_test(p, "run directory (default out/run/TEST/SEED)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("regress", help="run a suite: every test x seed, in parallel")
    p.add_argument("--suite", default="nightly", help="suite name (sequences/suites/NAME.yaml) or a YAML file")
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
    add_dut_options(p)
    p.set_defaults(func=cmd_regress)

    p = sub.add_parser("repro", help="rerun exactly one test and seed (a failure's repro line)")
    one_test(p, "run directory (default out/repro/TEST/SEED)")
    p.set_defaults(func=cmd_repro)

    p = sub.add_parser("list", help="list the tests and suites")
    add_dut_options(p)
    p.set_defaults(func=cmd_list)

    chosen = _command_of(argv)
    for name, (module, helptext) in HOOKS.items():
        p = sub.add_parser(name, help=f"{helptext} ({module})", conflict_handler="resolve")
        add_dut_options(p)
        p.set_defaults(func=None, hook=name, hook_module=module, hook_mod=None)
        if chosen == name:
            mod = _load_hook(module)
            if mod is not None:
                mod.add_arguments(p)
                p.set_defaults(hook_mod=mod)
    return ap


def _terminate(signum, frame):
    raise KeyboardInterrupt


def _install_signal_handlers() -> dict:
    """Ctrl-C and SIGTERM stop a command cleanly (KeyboardInterrupt), even when the shell started it
    with SIGINT ignored (a background job). Returns the previous handlers."""
    import signal
    import threading

    old = {}
    if threading.current_thread() is threading.main_thread():
        old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        old[signal.SIGTERM] = signal.signal(signal.SIGTERM, _terminate)
    return old


def main(argv=None) -> int:
    import signal

    old = _install_signal_handlers()
    try:
        return _main(argv)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = _command_of(argv)
    if chosen in HOOKS and "-h" not in argv and "--help" not in argv and _load_hook(HOOKS[chosen][0]) is None:
        print(f"{PROG} {chosen}: not available yet ({HOOKS[chosen][0]} is missing)", file=sys.stderr)
        return 2
    ap = make_parser(argv)
    args = ap.parse_args(argv)
    try:
        if getattr(args, "hook", None):
            if args.hook_mod is None:
                print(f"{PROG} {args.hook}: not available yet ({args.hook_module} is missing)", file=sys.stderr)
                return 2
            return int(args.hook_mod.main(args) or 0)
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from redmule_verif.sim.build import BuildError

        if isinstance(exc, BuildError):
            print(f"{PROG} {args.command}: build failed: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
