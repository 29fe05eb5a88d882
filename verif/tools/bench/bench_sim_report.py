"""The console report of ``make bench-sim``: the table per grant profile, the profiler's view and the
decomposition of the env/bare gap."""

from __future__ import annotations

import statistics


def fmt_rate(x) -> str:
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def build_line(name, sim, took) -> str:
    how = (f"cache hit ({took:.1f} s now; {sim.build_seconds:.0f} s when it was built)" if sim.cached
           else f"built now in {sim.build_seconds:.0f} s")
    return f"  {name:<34} {how}"


def _pct(x) -> str:
    return f"{100 * x:.1f}%" if x is not None else "-"


def print_table(results: dict) -> None:
    print()
    print("cycles: TRIGGER response to done event. cycles/s: over the wall time of that window (env: the window ends")
    print("when Python wakes up for the event). ratio = env / bare (goal >= 0.3). cpu ratio: the same on process CPU")
    print("time. MACs chk/s: M*N*K / env wall time of the whole job (data + reference + backdoor + simulation +")
    print("Z check). py win: Python time inside the window / window wall (callbacks). py run: Python time /")
    print("the test's run (build phase to report), both without a profiler.")
    hdr = (f"{'profile':<8} {'cycles':>7} {'bare cyc':>8} {'bare cyc/s':>10} {'env cyc/s':>10} {'ratio':>6} "
           f"{'cpu ratio':>9} {'job s':>6} {'MACs chk/s':>10} {'py win':>7} {'py run':>7} {'bare Z':>6} {'env':>5}")
    print(hdr)
    print("-" * len(hdr))
    for prof, r in results.items():
        pywin = r["py_window_s"] / r["window_s"] if r["py_window_s"] is not None and r["window_s"] else None
        print(f"{prof:<8} {r['cycles'] or '-':>7} {r['bare_cycles'] or '-':>8} {fmt_rate(r['bare_cps']):>10} "
              f"{fmt_rate(r['env_cps']):>10} {r['ratio'] or 0:>6.2f} {r['ratio_cpu'] or 0:>9.2f} "
              f"{r['env_job_s'] or 0:>6.2f} {fmt_rate(r['macs_per_s']):>10} {_pct(pywin):>7} "
              f"{_pct(r['py_run_share']):>7} {r['z_check'] or '-':>6} {r['env_status'] or '-':>5}")
    print()
    for prof, r in results.items():
        parts = r["parts"]
        print(f"{prof}: env {fmt_rate(r['env_cps'])} cycles/s vs bare {fmt_rate(r['bare_cps'])} cycles/s, "
              f"ratio {r['ratio'] or 0:.2f} (cpu {r['ratio_cpu'] or 0:.2f}); {r['cycles']} cycles "
              f"(bare {r['bare_cycles']}); {r['reacts_window']} Python wake-ups in the window; "
              f"{fmt_rate(r['macs_per_s'])} MACs checked/s: job {r['env_job_s'] or 0:.2f} s = simulation "
              f"{r['window_s_of_job'] or 0:.2f} s + prepare {parts.get('prepare_s', 0):.2f} s (data, reference, "
              f"backdoor writes) + trace poll {parts.get('poll_s', 0):.2f} s + Z check {parts.get('check_s', 0):.2f} s"
              f" + other")


def print_profiler(prof_res: dict) -> None:
    print()
    if prof_res.get("error"):
        print(f"profiler run ({prof_res['profile']}): {prof_res['error']}")
    else:
        print(f"profiler (cProfile via COCOTB_ENABLE_PROFILING, {prof_res['profile']}): Python "
              f"{prof_res['python_s']:.2f} s of a {prof_res['run_s']:.2f} s run = "
              f"{100 * (prof_res['share'] or 0):.0f}% Python share (the profiler inflates Python time); "
              f"profiled window {prof_res['window_s'] or 0:.2f} s, job {prof_res['job_s'] or 0:.2f} s")
        print("  Python own time by file:")
        for f, tt in prof_res["by_file"][:8]:
            print(f"    {tt:7.3f} s  {f}")
        print("  functions with the most own time:")
        for tt, ct, nc, where in prof_res["top"][:10]:
            print(f"    {tt:7.3f} s own {ct:7.3f} s cum {nc:>8} calls  {where}")
        print(f"  stats: {prof_res['pstat']} (python -m pstats)")


def print_decomposition(d: dict, repeat: int) -> None:
    print()
    print(f"where the env's window time goes ({d['profile']}; cycles per CPU second, best of {repeat}; "
          f"wall in brackets):")

    def step(label, cpu, wall, ref_cpu):
        extra = f"  {cpu / ref_cpu:.2f} of bare" if cpu and ref_cpu else ""
        print(f"  {label:<58} {fmt_rate(cpu):>8} ({fmt_rate(wall)}){extra}")

    b = d["cps_cpu"].get("bare")
    step("bare C++ harness (memory and grants in C++)", b, d["cps"].get("bare"), b)
    step("C++ loop + env SV harness, no trace file", d["cps_cpu"].get("sv_notrace"), d["cps"].get("sv_notrace"), b)
    step("C++ loop + env SV harness + trace file (as the env runs it)", d["cps_cpu"].get("sv_trace"),
         d["cps"].get("sv_trace"), b)
    step("  the same built as the env (--vpi --public-depth 1)", d["cps_cpu"].get("sv_vpi"), d["cps"].get("sv_vpi"),
         b)
    step("env: + cocotb's simulation loop (VPI callbacks, GPI clock)", d["env_cps_cpu"], d["env_cps"], b)
    print(f"  (Z check of the C++ runs: {', '.join(f'{kk} {v}' for kk, v in d['z_checks'].items())})")
    rp = d["raw_parts"]
    print(f"  backdoor: the job takes {d['env_job_s'] or 0:.2f} s with the env's TcdmMemory "
          f"(prepare {d['env_parts'].get('prepare_s', 0):.2f} s, Z check {d['env_parts'].get('check_s', 0):.2f} s)"
          f", {d['raw_job_s'] or 0:.2f} s with direct GPI word handles (prepare {rp.get('prepare_s', 0):.2f} s, "
          f"Z check {rp.get('check_s', 0):.2f} s; run {d['raw_status']})")


def print_report(results: dict, prof_res: dict | None, decomp: dict | None, repeat: int) -> None:
    print_table(results)
    if prof_res:
        print_profiler(prof_res)
    if decomp:
        print_decomposition(decomp, repeat)
    ratios = [r["ratio"] for r in results.values() if r["ratio"]]
    if ratios:
        print()
        print(f"env/bare ratio: min {min(ratios):.2f}, median {statistics.median(ratios):.2f} "
              f"(goal >= 0.3, aiming for 0.5)")
