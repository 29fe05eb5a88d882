"""Simulation throughput of the environment against a bare C++ harness: ``python -m redmule_verif.tools.bench.bench_sim``.

For one GEMM job (default 128 x 128 x 128 FP16 GEMM) under each grant
profile (always, random p = 0.5, bursty on 16 / off 4, banks: 8 cores at
rate 0.25 on 16 banks), it runs side by side, in the same process and
interleaved, the same RTL and the same job on

* the bare harness ``verif/bench_harness.cpp`` (Verilator C++, no Python),
  built with ``harness_cpp=``; it loads the job's X, W, Y written by this
  module and checks Z against ``ref.gemm_op``;
* the pyuvm environment (``redmule_harness.sv`` + cocotb + every checker),
  through the test module ``tests/bench_sim/bench_sim_tb.py``, which stamps
  time.perf_counter() in the simulator process.

What is measured (Python start-up and builds are never in a figure):

* cycles: from the TRIGGER write's response to the done event (spec section 7);
* bare cycles/s: cycles / wall time of that window in the C++ harness;
* env cycles/s: cycles / wall time of the same window in the env, from the
  TRIGGER response to Python's wake-up for the event;
* ratio = env cycles/s / bare cycles/s (goal >= 0.3); the same ratio on the
  CPU time of the two processes in that window is printed too (it does not
  move when other jobs share the cores);
* MACs checked/s: M*N*K / the env's wall time of the whole job, from the
  start of the job (data, reference model, backdoor writes of X, W, Y) to the
  end of the scoreboard's Z check;
* Python share: time spent in Python callbacks (every GPI callback is timed)
  over the wall time of the window, and over the test's run (build phase to
  report phase); one more env run under cProfile (cocotb's
  COCOTB_ENABLE_PROFILING) gives the profiler's figure and the functions the
  Python time goes to.

Each pair is run ``--repeat`` times and the fastest of each side is kept (the
machine is shared: the best run is the one least disturbed).

Decomposition (first profile, unless ``--no-decompose``): the same C++ loop
built around the env's SV harness (``-DBENCH_SV_HARNESS``: memory, grants,
protocol checker and trace in SystemVerilog, no cocotb, no VPI), with and
without its trace file, splits the env/bare gap of the window into the SV
harness's per-cycle work and cocotb's simulation loop; and one env run with
a leaner backdoor (the test module's ``backdoor: raw`` experiment) shows what
the per-word cocotb handles cost the job.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import pstats
import subprocess
import sys
import tempfile
import time

from redmule_verif.sim.build import SimConfig, build
from redmule_verif.sim.runner import env_config, run_test
from redmule_verif.model.encoding import MEM_BASE, MEM_WORDS
from redmule_verif.sequences.items.job import GemmJob, GrantProfile, MemoryConfig

from redmule_verif.sim import paths
from redmule_verif.sim.paths import DEFAULT_RTL, HARNESS
from redmule_verif.tools.bench.bench_sim_report import build_line, print_report

HARNESS_CPP = paths.BENCH_HARNESS_CPP
TB_MODULE = "redmule_verif.tools.bench.bench_sim_tb"
TB_TEST = "bench_job"
DEFAULT_PARAMS = {"L": 12, "H": 4, "P": 3, "N_CORES": 8, "ID_WIDTH": 8}
MEM = MemoryConfig(base=MEM_BASE, size=4 * MEM_WORDS)

PROFILES = {
    "always": dict(kind="always"),
    "random": dict(kind="random", p=0.5),
    "bursty": dict(kind="bursty", on=16, off=4),
    "banks": dict(kind="banks", core_rate=0.25, n_banks=16, n_cores=8),
}


# --------------------------------------------------------------------------- builds


def bare_config(rtl=None, parameters=None) -> SimConfig:
    """The bare C++ harness around the RedMulE top (no cocotb)."""
    params = dict(DEFAULT_PARAMS)
    params.update(parameters or {})
    return SimConfig.make([rtl or DEFAULT_RTL], "redmule", parameters=params, harness_cpp=HARNESS_CPP)


def build_bare(cache_root=None, parameters=None):
    return build(bare_config(parameters=parameters), cache_root)


def sv_harness_config(rtl=None, parameters=None, mem=MEM, vpi: bool = False) -> SimConfig:
    """The C++ loop around the env's SV harness (redmule_harness.sv), no cocotb: for the decomposition.

    ``vpi=True`` compiles it with the env's simulator options (--vpi --public-depth 1) as well.
    """
    params = dict(DEFAULT_PARAMS)
    params.update(parameters or {})
    params.update(MEM_WORDS=mem.size // 4, MEM_BASE=mem.base)
    extra = ("-CFLAGS", "-DBENCH_SV_HARNESS") + (("--vpi", "--public-depth", "1") if vpi else ())
    return SimConfig.make([rtl or DEFAULT_RTL, HARNESS], "redmule_harness", parameters=params,
                          defines={"DUT_MODULE": "redmule"}, harness_cpp=HARNESS_CPP, extra_args=extra)


# --------------------------------------------------------------------------- the job


def _align(a: int, n: int = 256) -> int:
    return (a + n - 1) // n * n


def bench_job(m=128, n=128, k=128, profile="always", seed=1, op="GEMM", fmt="FP16", mem=MEM,
              data_seed=None) -> GemmJob:
    """The benchmark's job: X, W, Z packed from the memory base, grant profile ``profile`` seeded with ``seed``."""
    eb = 2 if fmt == "FP16" else 1
    x = mem.base
    w = _align(x + m * n * eb)
    z = _align(w + n * k * eb)
    if z + m * k * eb > mem.end:
        raise ValueError(f"a {m}x{n}x{k} {fmt} job needs {z + m * k * eb - mem.base} bytes; the TCDM has {mem.size}")
    grant = GrantProfile(seed=seed, **PROFILES[profile])
    return GemmJob(op, fmt, m, n, k, x, w, z, core=0, data_seed=seed if data_seed is None else data_seed,
                   grant=grant, name=f"bench_{profile}")


def write_job_files(job: GemmJob, out_dir) -> pathlib.Path:
    """x.bin, w.bin, (y.bin,) z_ref.bin: raw little-endian bits for the bare harness's --data."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x, w, y = job.make_data()
    for name, arr in (("x", x), ("w", w), ("y", y), ("z_ref", job.expected())):
        if arr is not None:
            (out / f"{name}.bin").write_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    return out


def bare_command(sim, job: GemmJob, data_dir=None, mem=MEM) -> list[str]:
    g = job.grant
    cmd = [str(sim.binary), str(job.m), str(job.n), str(job.k), job.op, job.fmt, g.kind, repr(float(g.p)),
           str(int(g.seed) & 0xFFFFFFFF),
           "--x-base", hex(job.x_base), "--w-base", hex(job.w_base), "--z-base", hex(job.z_base),
           "--core", str(job.core), "--mem-base", hex(mem.base), "--mem-words", str(mem.size // 4),
           "--on", str(g.on), "--off", str(g.off), "--core-rate", repr(float(g.core_rate)),
           "--n-banks", str(g.n_banks), "--n-cores", str(g.n_cores), "--max-stall", str(g.max_stall)]
    if data_dir is not None:
        cmd += ["--data", str(data_dir)]
    return cmd


def run_bare(sim, job: GemmJob, data_dir=None, timeout: float = 600, mem=MEM, plusargs=(), cwd=None) -> dict:
    """Run the bare harness on ``job``; its JSON line as a dict (status 'error' if it printed none)."""
    t0 = time.perf_counter()
    proc = subprocess.run(bare_command(sim, job, data_dir, mem) + list(plusargs), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            rec = json.loads(line)
            rec["process_s"] = wall
            rec["returncode"] = proc.returncode
            return rec
    return {"status": "error", "returncode": proc.returncode, "message": (proc.stdout + proc.stderr)[-2000:]}


def run_env(sim, job: GemmJob, seed: int, out_dir, profiler: bool = False, timeout: float = 1800,
            knobs: dict | None = None) -> dict:
    """Run ``job`` through the environment; the run record plus bench.json (and the profile's stats)."""
    extra = {"COCOTB_ENABLE_PROFILING": "1"} if profiler else {}
    t0 = time.perf_counter()
    rec = run_test(sim, TB_TEST, seed, out_dir, knobs={"job": job.to_dict(), **(knobs or {})}, timeout=timeout,
                   extra_env=extra,
                   module=TB_MODULE)
    rec["process_s"] = time.perf_counter() - t0
    bench = pathlib.Path(out_dir) / "bench.json"
    rec["bench"] = json.loads(bench.read_text()) if bench.exists() else {}
    pstat = pathlib.Path(out_dir) / "cocotb.pstat"
    if profiler and pstat.exists():
        rec["pstat"] = str(pstat)
    return rec


# --------------------------------------------------------------------------- profile analysis


def profile_summary(pstat_path, top: int = 12) -> dict:
    """Total Python time in cProfile's stats and the functions with the most own time."""
    st = pstats.Stats(str(pstat_path))
    rows = []
    for (fname, line, func), (cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append((tt, ct, nc, f"{_short(fname)}:{line}({func})"))
    rows.sort(reverse=True)
    by_file: dict = {}
    for tt, _ct, _nc, where in rows:
        key = where.split(":")[0]
        by_file[key] = by_file.get(key, 0.0) + tt
    return {"total_tt": st.total_tt, "top": rows[:top],
            "by_file": sorted(by_file.items(), key=lambda kv: -kv[1])[:top]}


def _short(fname: str) -> str:
    for marker in ("site-packages/", "/verif/", "/sequences/", "/tests/"):
        if marker in fname:
            return fname.split(marker, 1)[1] if marker == "site-packages/" else marker.strip("/") + "/" + \
                fname.split(marker, 1)[1]
    return fname if fname.startswith("~") else os.path.basename(fname)


def _best(runs, key):
    ok = [r for r in runs if r.get(key)]
    return max(ok, key=lambda r: r[key]) if ok else (runs[0] if runs else {})


def measure_profile(prof: str, args, bare_sim, env_sim, out: pathlib.Path) -> dict:
    """The bare and env runs of one grant profile, interleaved, ``args.repeat`` times; the best of each."""
    m, n, k = args.m, args.n, args.k
    macs = m * n * k
    job = bench_job(m, n, k, prof, args.seed, op=args.op, fmt=args.fmt)
    data = write_job_files(job, out / prof / "data")
    bare_runs, env_runs = [], []
    for r in range(args.repeat):
        b = run_bare(bare_sim, job, data)
        bare_runs.append(b)
        e = run_env(env_sim, job, args.seed, out / prof / f"env{r}")
        env_runs.append(e)
        be = e["bench"]
        print(f"  [{prof} #{r}] bare {b.get('status')} {b.get('cycles')} cycles in {b.get('wall_s', 0):.3f} s "
              f"(cpu {b.get('cpu_s', 0):.3f} s, Z {b.get('z_check')}); env {e['status']} "
              f"{be.get('window_cycles')} cycles in {be.get('window_s', 0):.3f} s "
              f"(cpu {be.get('window_cpu_s', 0):.3f} s), job {be.get('job_s', 0):.3f} s, "
              f"process {e['process_s']:.1f} s", flush=True)
    for e in env_runs:
        be = e["bench"]
        e["cps"] = be["window_cycles"] / be["window_s"] if be.get("window_s") else None
        e["cps_cpu"] = be["window_cycles"] / be["window_cpu_s"] if be.get("window_cpu_s") else None
    bb = _best(bare_runs, "cycles_per_s")
    bc = _best(bare_runs, "cycles_per_cpu_s")
    eb = _best(env_runs, "cps")
    ec = _best(env_runs, "cps_cpu")
    ej = min((e for e in env_runs if e["bench"].get("job_s")), key=lambda e: e["bench"]["job_s"], default=eb)
    be = eb.get("bench", {})
    res = {
        "profile": prof, "grant": job.grant.to_dict(),
        "env_status": eb.get("status"), "bare_status": bb.get("status"), "z_check": bb.get("z_check"),
        "cycles": be.get("window_cycles"), "bare_cycles": bb.get("cycles"),
        "bare_cps": bb.get("cycles_per_s"), "env_cps": eb.get("cps"),
        "bare_cps_cpu": bc.get("cycles_per_cpu_s"), "env_cps_cpu": ec.get("cps_cpu"),
        "env_job_s": ej["bench"].get("job_s"),
        "py_window_s": be.get("py_window_s"), "window_s": be.get("window_s"),
        "reacts_window": be.get("reacts_window"),
        "py_run_share": (eb["bench"]["py_total_s"] / eb["bench"]["run_s"]) if be.get("run_s") else None,
        "parts": ej["bench"].get("parts", {}),
        "window_s_of_job": ej["bench"].get("window_s"),
        "bare_runs": bare_runs, "env_runs": [{kk: v for kk, v in e.items() if kk != "summary"} for e in env_runs],
    }
    res["ratio"] = res["env_cps"] / res["bare_cps"] if res["env_cps"] and res["bare_cps"] else None
    res["ratio_cpu"] = (res["env_cps_cpu"] / res["bare_cps_cpu"]
                        if res["env_cps_cpu"] and res["bare_cps_cpu"] else None)
    res["macs_per_s"] = macs / res["env_job_s"] if res["env_job_s"] else None
    return res


def profiler_run(prof: str, args, env_sim, out: pathlib.Path) -> dict:
    """One more env run under cProfile (cocotb's COCOTB_ENABLE_PROFILING): where the Python time goes."""
    job = bench_job(args.m, args.n, args.k, prof, args.seed, op=args.op, fmt=args.fmt)
    e = run_env(env_sim, job, args.seed, out / prof / "profiled", profiler=True)
    if e.get("pstat"):
        s = profile_summary(e["pstat"])
        be = e["bench"]
        prof_res = {"profile": prof, "status": e["status"], "python_s": s["total_tt"], "run_s": be.get("run_s"),
                    "share": s["total_tt"] / be["run_s"] if be.get("run_s") else None,
                    "window_s": be.get("window_s"), "job_s": be.get("job_s"), "top": s["top"],
                    "by_file": s["by_file"], "pstat": e["pstat"]}
    else:
        prof_res = {"profile": prof, "status": e["status"], "error": "no cocotb.pstat written: " + e["message"]}
    return prof_res


def decompose(prof: str, args, bare_sim, env_sim, cache, out: pathlib.Path, r0: dict) -> dict:
    """The env/bare gap split into the SV harness's per-cycle work and cocotb's loop, and the backdoor's cost."""
    job = bench_job(args.m, args.n, args.k, prof, args.seed, op=args.op, fmt=args.fmt)
    data = out / prof / "data"
    t0 = time.perf_counter()
    sv_sim = build(sv_harness_config(), cache)
    t_sv = time.perf_counter() - t0
    print(build_line("C++ loop around the SV harness", sv_sim, t_sv))
    t0 = time.perf_counter()
    vpi_sim = build(sv_harness_config(vpi=True), cache)
    print(build_line("  the same, --vpi --public-depth 1", vpi_sim, time.perf_counter() - t0))
    rows = {"bare": [], "sv_trace": [], "sv_notrace": [], "sv_vpi": [], "env_raw": []}
    for r in range(args.repeat):
        rows["bare"].append(run_bare(bare_sim, job, data))
        tdir = out / prof / "sv_harness"
        tdir.mkdir(parents=True, exist_ok=True)
        rows["sv_trace"].append(run_bare(sv_sim, job, data, plusargs=["+tcdm_log=tcdm_trace.log"], cwd=tdir))
        rows["sv_notrace"].append(run_bare(sv_sim, job, data, cwd=tdir))
        rows["sv_vpi"].append(run_bare(vpi_sim, job, data, plusargs=["+tcdm_log=tcdm_trace.log"], cwd=tdir))
        rows["env_raw"].append(run_env(env_sim, job, args.seed, out / prof / f"env_raw{r}",
                                       knobs={"backdoor": "raw"}))
    best = {kk: _best(v, "cycles_per_cpu_s") for kk, v in rows.items() if kk != "env_raw"}
    best_wall = {kk: _best(v, "cycles_per_s") for kk, v in rows.items() if kk != "env_raw"}
    raw = min((e for e in rows["env_raw"] if e["bench"].get("job_s")), key=lambda e: e["bench"]["job_s"],
              default={"bench": {}, "status": "error"})
    decomp = {"profile": prof, "sv_build_s": sv_sim.build_seconds, "sv_cached": sv_sim.cached,
              "cps_cpu": {kk: v.get("cycles_per_cpu_s") for kk, v in best.items()},
              "cps": {kk: v.get("cycles_per_s") for kk, v in best_wall.items()},
              "env_cps_cpu": r0["env_cps_cpu"], "env_cps": r0["env_cps"],
              "env_job_s": r0["env_job_s"], "env_parts": r0["parts"],
              "raw_status": raw.get("status"), "raw_job_s": raw["bench"].get("job_s"),
              "raw_parts": raw["bench"].get("parts", {}), "rows": rows,
              "z_checks": {kk: v.get("z_check") for kk, v in best.items()}}

    return decomp


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.tools.bench.bench_sim",
                                 description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=128)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--k", type=int, default=128)
    ap.add_argument("--op", default="GEMM")
    ap.add_argument("--fmt", default="FP16")
    ap.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated, of " + ", ".join(PROFILES))
    ap.add_argument("--seed", type=int, default=1, help="data seed and grant seed of every job")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each side per profile (the fastest is kept)")
    ap.add_argument("--out", default=str(paths.out_dir("bench_sim")))
    ap.add_argument("--no-profiler", action="store_true", help="skip the env run under cProfile")
    ap.add_argument("--no-decompose", action="store_true",
                    help="skip the decomposition (C++ loop around the SV harness, lean-backdoor env run)")
    ap.add_argument("--fresh-build", action="store_true",
                    help="build both simulators in an empty cache, so that the build times are measured now")
    ap.add_argument("--json", default=None, help="also write every figure to this JSON file")
    args = ap.parse_args(argv)
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    for p in profiles:
        if p not in PROFILES:
            ap.error(f"unknown profile {p!r}; use {', '.join(PROFILES)}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"bench-sim: {args.m}x{args.n}x{args.k} {args.fmt} {args.op}, profiles {', '.join(profiles)}, "
          f"seed {args.seed}, best of {args.repeat}; RTL {DEFAULT_RTL} "
          f"(L={DEFAULT_PARAMS['L']} H={DEFAULT_PARAMS['H']} P={DEFAULT_PARAMS['P']})")
    try:
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (shared: compare ratios, not absolutes)")
    except OSError:
        pass

    # ---- builds
    tmp = tempfile.TemporaryDirectory(prefix="bench_sim_build_") if args.fresh_build else None
    cache = tmp.name if tmp else None
    t0 = time.perf_counter()
    bare_sim = build_bare(cache)
    t_bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    env_sim = build(env_config(mem_words=MEM_WORDS), cache)
    t_env = time.perf_counter() - t0
    print("builds (Verilator -O2, lean):")
    print(build_line("bare C++ harness (harness_cpp)", bare_sim, t_bare))
    print(build_line("env, cocotb --public-depth 1", env_sim, t_env))
    results = {prof: measure_profile(prof, args, bare_sim, env_sim, out) for prof in profiles}
    prof_res = profiler_run(profiles[0], args, env_sim, out) if not args.no_profiler and profiles else None
    decomp = (decompose(profiles[0], args, bare_sim, env_sim, cache, out, results[profiles[0]])
              if not args.no_decompose and profiles else None)
    print_report(results, prof_res, decomp, args.repeat)
    if args.json:
        builds = {"bare_s": bare_sim.build_seconds, "bare_cached": bare_sim.cached,
                  "env_s": env_sim.build_seconds, "env_cached": env_sim.cached}
        pathlib.Path(args.json).write_text(json.dumps({"results": results, "profiler": prof_res,
                                                       "decomposition": decomp, "builds": builds},
                                                      indent=1, default=str))
    if tmp:
        tmp.cleanup()
    bad = [p for p, r in results.items() if r["env_status"] != "pass" or r["bare_status"] != "pass"]
    if bad:
        print(f"FAILED runs: {', '.join(bad)} (see {out})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
