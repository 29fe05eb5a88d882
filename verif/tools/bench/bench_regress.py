"""``make bench-regress``: what a regression user feels, one process per run against batch workers.

The smoke suite (same base seed, same runs) is run on the same build, ``-j`` at a time, ``--rounds`` times
(default 3, the two modes one after the other in alternating order; a shared machine's load changes within
a minute, so the round with the median ratio is the one reported, with every round's ratio): once in the
old mode (one simulator process per run, :func:`~redmule_verif.sim.runner.run_test`) and once with batch
workers (many runs per simulator process, :class:`~redmule_verif.flow.executor.LocalLauncher`). For each
mode it prints

* runs per CPU-hour, jobs checked per CPU-hour, simulated cycles per CPU-second (CPU: user + system of
  every simulator process and of this process during the mode);
* that rate as a fraction of the bare C++ harness's cycles per CPU-second, measured in the same
  invocation (128^3 FP16 GEMM, always-grant, as ``make bench-sim``);
* the per-run overhead: wall time of a run minus its simulation window (the base test's run phase:
  clock, reset, the job sequence), where a batched run's wall time is its worker's whole life (process
  start-up included) shared among its runs.

Then the window itself: the 128^3 job of ``bench-sim`` in batch workers against the bare harness, env/bare,
interleaved with it: with the trace on (as every run has it: to tmpfs for the monitor, hashed as it is read,
no file in the run directory) and with the harness's trace off (what the trace channel costs; the monitors
are blind then, so that run fails its TRACE check: a measurement, not a mode). The results
of both modes are compared run by run (status, trace hash, cycles). Everything goes to
``out/bench-regress/bench_regress.json``.

With ``--before TREE`` (a checkout of the project from before the batch workers, with its own venv in
``TREE/.venv``) the same suite and base seed also run through that tree's own ``redmule-verif regress``, one
process per run, in the same invocation: what a regression cost before this work. Its stimulus is its own
(the suite's tests have changed since), so its runs are not compared one by one; jobs checked and simulated
cycles per CPU-second are the comparable figures.

    python -m redmule_verif.tools.bench.bench_regress [-j 2] [--suite smoke] [--seed 1] [--repeat 2] [--before TREE]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

from redmule_verif.flow.executor import LocalLauncher
from redmule_verif.flow.results_io import write_json
from redmule_verif.sim.batch import WorkerSession
from redmule_verif.sim.build import build
from redmule_verif.sim.runner import TEST_MODULE, env_config, run_test
from redmule_verif.tools.bench import bench_sim
from redmule_verif.tools.regress.plan import plan
from redmule_verif.tools.regress.suite import load_suite

PROBE = "redmule_verif.sim.window_probe"


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _probe_run_test(sim, test, seed, out_dir, **kw):
    """The single-run path with the window probe added to the test modules (cocotb takes a list)."""
    return run_test(sim, test, seed, out_dir, module=f"{TEST_MODULE},{PROBE}", **kw)


def _window(rec: dict) -> float | None:
    if rec.get("window_s") is not None:
        return rec["window_s"]
    p = pathlib.Path(rec["dir"]) / "window.json"
    try:
        return json.loads(p.read_text()).get("window_s")
    except (OSError, ValueError):
        return None


def run_mode(name: str, sim, specs, jobs: int, batch_seconds: float) -> dict:
    single = name == "single"
    raw: dict[int, dict] = {}
    launcher = LocalLauncher(sim, jobs, runs_per_process=1 if single else None, batch_seconds=batch_seconds,
                             run_fn=_probe_run_test if single else run_test)
    c0, t0 = _cpu(), time.monotonic()
    recs = launcher.run_all(specs)
    wall, cpu = time.monotonic() - t0, _cpu() - c0
    for spec, rec in zip(specs, recs):
        raw[spec.index] = rec
    n = len(recs)
    cycles = sum(int(r.get("sim_cycles") or 0) for r in recs)
    jobs_checked = sum(int(r.get("jobs_checked") or 0) for r in recs)
    windows = [_window(r) for r in recs]
    if single:
        run_walls = [float(r["wall_s"]) for r in recs]
    else:  # a worker's whole life (start-up, runs, end) shared among its runs
        busy = sum(s.busy_s for s in launcher.sessions)
        run_walls = [busy / n] * n
    overheads = [w - win for w, win in zip(run_walls, windows) if win is not None]
    return {
        "mode": name, "runs": n, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "processes": n if single else sum(s.processes for s in launcher.sessions),
        "pass": sum(r["status"] == "pass" for r in recs),
        "sim_cycles": cycles, "jobs_checked": jobs_checked,
        "runs_per_cpu_h": n / (cpu / 3600), "jobs_per_cpu_h": jobs_checked / (cpu / 3600),
        "cycles_per_cpu_s": cycles / cpu,
        "window_s": round(sum(w for w in windows if w), 2),
        "window_cycles_per_s": cycles / sum(w for w in windows if w) if any(windows) else None,
        "overhead_per_run_s": statistics.mean(overheads) if overheads else None,
        "records": {str(i): {k: r.get(k) for k in ("test", "seed", "status", "trace_sha256", "sim_cycles",
                                                   "jobs_checked", "wall_s")} for i, r in raw.items()},
    }


def run_before(tree: pathlib.Path, suite: str, seed: int, jobs: int, out: pathlib.Path) -> dict:
    """The suite through another checkout's own CLI (one process per run), CPU of all its processes."""
    cli = tree / ".venv" / "bin" / "redmule-verif"
    if not cli.exists():
        raise SystemExit(f"bench-regress: --before {tree}: no {cli}; create that tree's venv first "
                         f"(cd {tree} && bash tools/install_venv.sh python3 {tree}/.venv)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDMULE_")}
    env["PATH"] = f"{cli.parent}{os.pathsep}{env.get('PATH', '')}"
    def regress(d):
        return subprocess.run([str(cli), "regress", "--suite", suite, "--seed", str(seed), "-j", str(jobs), "--out",
                               str(d), "--rerun-failures", "0"], cwd=tree, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    regress(out.with_name(out.name + "-warmup"))  # its build (that tree has no build command) and warm caches
    c0, t0 = _cpu(), time.monotonic()
    proc = regress(out)
    wall, cpu = time.monotonic() - t0, _cpu() - c0
    try:
        recs = json.loads((out / "results.json").read_text())["runs"]
    except (OSError, ValueError, KeyError):
        raise SystemExit(f"bench-regress: --before {tree}: its regress left no results ({out}/results.json); "
                         f"exit {proc.returncode}: {proc.stderr[-600:]}")
    n = len(recs)
    cycles = sum(int(r.get("sim_cycles") or 0) for r in recs)
    jobs_checked = sum(int(r.get("jobs_checked") or 0) for r in recs)
    return {"tree": str(tree), "runs": n, "pass": sum(r.get("status") == "pass" for r in recs),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "sim_cycles": cycles, "jobs_checked": jobs_checked,
            "runs_per_cpu_h": n / (cpu / 3600), "jobs_per_cpu_h": jobs_checked / (cpu / 3600),
            "cycles_per_cpu_s": cycles / cpu}


def bare_rate(out: pathlib.Path, repeat: int) -> tuple[dict, object, pathlib.Path]:
    bare = bench_sim.build_bare()
    job = bench_sim.bench_job(128, 128, 128, "always", 1)
    data = bench_sim.write_job_files(job, out / "data")
    runs = [bench_sim.run_bare(bare, job, data) for _ in range(repeat)]
    best = max(runs, key=lambda r: r.get("cycles_per_cpu_s") or 0)
    return best, job, data


def _window_run(session: WorkerSession, sim, job, d: pathlib.Path) -> dict:
    session.run_test(sim, bench_sim.TB_TEST, 1, d, knobs={"job": job.to_dict()}, timeout=1800,
                     module=bench_sim.TB_MODULE)
    b = json.loads((d / "bench.json").read_text()) if (d / "bench.json").exists() else {}
    if b.get("window_cpu_s"):
        b["cps_cpu"] = b["window_cycles"] / b["window_cpu_s"]
        b["cps"] = b["window_cycles"] / b["window_s"]
    b["trace_file_kept"] = (d / "tcdm_trace.log").exists()
    return b


def windows_in_batch(sim, bare, job, data, out: pathlib.Path, repeat: int) -> dict:
    """The 128^3 job in two batch workers, interleaved with the bare harness (one warm-up run each, then
    ``repeat`` rounds; the best of each side, and each round's env/bare, which a changing load on the machine
    disturbs less): the env as it runs (trace on: to tmpfs for the monitor, no
    file kept in the run directory) and with the harness's trace off (a measurement of what the trace
    channel costs: its monitors see nothing, so such a run fails its TRACE check)."""
    best: dict = {"on": {}, "off": {}, "bare": {}, "bare_wall": {}, "pair_ratios": {"on": [], "off": []}}
    sessions = {"on": WorkerSession(sim, out / "workers", name="window_trace_on"),
                "off": WorkerSession(sim, out / "workers", name="window_trace_off", harness_trace=False)}
    try:
        for r in range(repeat + 1):
            b = bench_sim.run_bare(bare, job, data)
            if (b.get("cycles_per_cpu_s") or 0) > best["bare"].get("cycles_per_cpu_s", 0):
                best["bare"] = b
            if (b.get("cycles_per_s") or 0) > best["bare_wall"].get("cycles_per_s", 0):
                best["bare_wall"] = b
            for key, session in sessions.items():
                w = _window_run(session, sim, job, out / f"win_{key}{r}")
                assert not w["trace_file_kept"], "the trace file is kept only when asked"
                if r and w.get("cps_cpu", 0) > best[key].get("cps_cpu", 0):
                    best[key] = w
                if r and w.get("cps_cpu") and b.get("cycles_per_cpu_s"):  # against the bare run of its round
                    best["pair_ratios"][key].append(w["cps_cpu"] / b["cycles_per_cpu_s"])
    finally:
        for session in sessions.values():
            session.close()
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bench-regress", description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--suite", default="smoke")
    ap.add_argument("--seed", type=int, default=1, help="base seed (default 1, as the smoke baseline)")
    ap.add_argument("--batch-seconds", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3, help="bare harness and window runs (best of)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the two modes, one after the other in "
                                                           "alternating order; the median round's ratio is reported")
    ap.add_argument("--out", default="out/bench-regress")
    ap.add_argument("--before", metavar="TREE", help="also run the suite through this checkout's own regress "
                                                      "(one process per run, its own venv TREE/.venv)")
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out).resolve()
    sim = build(env_config())
    suite = load_suite(args.suite)
    print(f"bench-regress: suite {suite.name}, base seed {args.seed}, -j {args.jobs}, out {out}", flush=True)
    bare, job, data = bare_rate(out / "bare", args.repeat)
    bare_cps = bare["cycles_per_cpu_s"]
    print(f"bare C++ harness: {bare['cycles']} cycles, {bare_cps:,.0f} cycles/CPU-s (best of {args.repeat})",
          flush=True)
    rounds = []  # each: {"single": ..., "batched": ...}, the modes one after the other (order alternating)
    for r in range(args.rounds):
        got = {}
        for name in (("single", "batched") if r % 2 == 0 else ("batched", "single")):
            specs = plan(suite, out / f"{name}{r}", args.seed)
            print(f"round {r + 1}/{args.rounds} {name}: {len(specs)} runs ...", flush=True)
            got[name] = run_mode(name, sim, specs, args.jobs, args.batch_seconds)
        rounds.append(got)
    ratios = [g["batched"]["runs_per_cpu_h"] / g["single"]["runs_per_cpu_h"] for g in rounds]
    median_round = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
    modes = rounds[median_round]  # the round with the median ratio is the one printed in full
    before = None
    if args.before:
        print(f"before: {args.before}, its own regress ...", flush=True)
        before = run_before(pathlib.Path(args.before).resolve(), args.suite, args.seed, args.jobs, out / "before")
    win = windows_in_batch(sim, bench_sim.build_bare(), job, data, out / "window", args.repeat)
    if win["bare"].get("cycles_per_cpu_s", 0) > bare_cps:  # the best bare run of the invocation
        bare, bare_cps = win["bare"], win["bare"]["cycles_per_cpu_s"]
    # wall-clock ratios against the fastest bare run on the wall clock (on a loaded machine that is not the
    # run with the best CPU rate)
    bare_wall = max(bare.get("cycles_per_s") or 0, win["bare_wall"].get("cycles_per_s") or 0)
    same = diff = 0
    keys = ("status", "trace_sha256", "sim_cycles", "jobs_checked")
    for i, a in rounds[0]["single"]["records"].items():  # every run of every mode and round against the first
        others = [g[m]["records"][i] for g in rounds for m in ("single", "batched")]
        if all(all(a[k] == b[k] for k in keys) for b in others):
            same += 1
        else:
            diff += 1
            print(f"  DIFFERENT: {[{k: b[k] for k in keys} for b in others]}")
    s, b = modes["single"], modes["batched"]
    rows = [("runs / CPU-hour", "runs_per_cpu_h", "{:,.0f}"), ("jobs checked / CPU-hour", "jobs_per_cpu_h", "{:,.0f}"),
            ("simulated cycles / CPU-s", "cycles_per_cpu_s", "{:,.0f}")]
    print(f"\n{'':34s}{'one process per run':>22s}{'batch workers':>16s}{'ratio':>8s}")
    for label, key, fmt in rows:
        print(f"{label:34s}{fmt.format(s[key]):>22s}{fmt.format(b[key]):>16s}{b[key] / s[key]:>7.1f}x")
    print(f"{'  fraction of bare cycles/CPU-s':34s}{s['cycles_per_cpu_s'] / bare_cps:>22.4f}"
          f"{b['cycles_per_cpu_s'] / bare_cps:>16.4f}")
    print(f"{'per-run overhead (s, wall-window)':34s}{s['overhead_per_run_s']:>22.3f}{b['overhead_per_run_s']:>16.3f}")
    print(f"{'wall / CPU (s)':34s}{s['wall_s']:>11.1f} / {s['cpu_s']:<8.1f}{b['wall_s']:>7.1f} / {b['cpu_s']:<7.1f}")
    print(f"{'simulator processes':34s}{s['processes']:>22d}{b['processes']:>16d}")
    print(f"{'env cycles/s inside the windows':34s}{s['window_cycles_per_s'] or 0:>22,.0f}"
          f"{b['window_cycles_per_s'] or 0:>16,.0f}")
    print(f"{'share of batched CPU in the windows':34s}{'':>22s}{b['window_s'] / b['cpu_s']:>16.2f}")
    print(f"same results run by run (status, trace hash, cycles, jobs; both modes, every round): {same}/{same + diff}")
    if len(rounds) > 1:
        print(f"runs / CPU-hour ratio in each of the {len(rounds)} rounds: "
              + ", ".join(f"{x:.1f}x" for x in ratios) + f" (the median round is printed above)")
    if before:
        print(f"\nbefore batch workers ({before['tree']}: its own suite and stimulus, one process per run; "
              f"{before['runs']} runs, {before['pass']} pass, wall / CPU {before['wall_s']:.1f} / {before['cpu_s']:.1f} s)")
        print(f"{'':34s}{'before':>22s}{'batch workers':>16s}{'ratio':>8s}")
        for label, key, fmt in rows:
            print(f"{label:34s}{fmt.format(before[key]):>22s}{fmt.format(b[key]):>16s}{b[key] / before[key]:>7.1f}x")
    print(f"bare C++ harness, best of the invocation: {bare_cps:,.0f} cycles/CPU-s")
    for key, label in (("off", "harness trace off (the channel's cost; monitors blind)"),
                       ("on", "trace on (tmpfs, hashed as read, no file kept)")):
        w = win[key]
        if w.get("cps_cpu"):
            pairs = win["pair_ratios"][key]
            print(f"window of the 128^3 job in a batch worker, {label}: {w['window_cycles']} cycles, "
                  f"{w['cps_cpu']:,.0f} cycles/CPU-s = {w['cps_cpu'] / bare_cps:.3f} of bare "
                  f"(wall: {w['cps']:,.0f} cycles/s = {w['cps'] / bare_wall:.3f}); against the bare run of the "
                  f"same round: median {statistics.median(pairs):.3f} of {len(pairs)}")
    write_json(out / "bench_regress.json", {"bare": bare, "modes": modes, "rounds": rounds, "ratios": ratios,
                                            "window_128": win, "same": same, "different": diff, "before": before,
                                            "args": vars(args)})
    print(f"results: {out / 'bench_regress.json'}")
    return 0 if diff == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
