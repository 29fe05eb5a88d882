"""The qualification summary: kill rate (over the mutants not marked equivalent), by class, time and runs
to kill, the killing tests; and the one-line progress of a mutant."""

from __future__ import annotations

import statistics

from redmule_verif.tools.qualify.mutants import CLASSES

TTK_BUCKETS = (15, 30, 60, 120, 300, 600, 1800)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    i = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
    return v[i]


def progress_line(r: dict) -> str:
    s = r["status"]
    if s == "killed":
        return (f"{r['id']:<30} KILLED   by {r['test']} seed {r['seed']} after {r['runs']} run(s), "
                f"{r.get('wall_to_kill_s')} s, {r['sim_cycles']} cycles: {r.get('signature', '')[:100]}")
    if s == "survived":
        return f"{r['id']:<30} SURVIVED {r['runs']} run(s), {r['run_wall_s']} s"
    return f"{r['id']:<30} {s.upper()} {str(r.get('message') or '')[:200]}"


def summarise(muts: list[dict]) -> dict:
    by = {}
    for r in muts:
        by[r["status"]] = by.get(r["status"], 0) + 1
    # a mutant marked equivalent in the catalogue is outside the kill rate, simulated or not; one that was
    # killed anyway refutes its equivalence argument (reported)
    killed = [r for r in muts if r["status"] == "killed" and not r.get("equivalent")]
    survived = [r for r in muts if r["status"] == "survived" and not r.get("equivalent")]
    refuted = [r["id"] for r in muts if r["status"] == "killed" and r.get("equivalent")]
    eq_survived = [r["id"] for r in muts if r["status"] == "survived" and r.get("equivalent")]
    decided = len(killed) + len(survived)
    ttk = [float(r["wall_to_kill_s"]) for r in killed if r.get("wall_to_kill_s") is not None]
    ttk_runs = [float(r["run_wall_s"]) for r in killed]
    cyc = [int(r["sim_cycles"]) for r in killed]
    classes = {}
    for c in CLASSES:
        k = sum(1 for r in killed if r["class"] == c)
        s = sum(1 for r in survived if r["class"] == c)
        classes[c] = {"killed": k, "survived": s, "kill_rate": (k / (k + s)) if k + s else None,
                      "equivalent": sum(1 for r in muts if r["class"] == c and r.get("equivalent"))}
    hist = []
    lo = 0
    for hi in TTK_BUCKETS + (None,):
        n = sum(1 for t in ttk_runs if t >= lo and (hi is None or t < hi))
        hist.append({"from_s": lo, "to_s": hi, "count": n})
        lo = hi
    killers = {}
    for r in killed:
        t = r.get("origin") or r["test"]
        killers[t] = killers.get(t, 0) + 1

    def dist(v):
        return {"min": min(v) if v else None, "median": statistics.median(v) if v else None,
                "p90": percentile(v, 0.9), "max": max(v) if v else None,
                "mean": round(statistics.fmean(v), 1) if v else None}

    return {
        "mutants": len(muts),
        "by_status": by,
        "killed": len(killed),
        "survived": len(survived),
        "kill_rate": (len(killed) / decided) if decided else None,
        "kill_rate_note": "killed / (killed + survived) over the mutants not marked equivalent in the catalogue: "
                          "equivalent, not-applicable, build-error, incomplete and not-run mutants are not in the "
                          "denominator",
        "survivors": [r["id"] for r in survived],
        "equivalent_survivors": eq_survived,
        "equivalence_refuted": refuted,
        "equivalent": sum(1 for r in muts if r.get("equivalent")),
        "by_class": classes,
        "time_to_kill_runs_s": dist(ttk_runs),
        "time_to_kill_with_build_s": dist(ttk),
        "runs_to_kill": dist([r["runs"] for r in killed]),
        "sim_cycles_to_kill": dist(cyc),
        "time_to_kill_histogram": hist,
        "killing_tests": dict(sorted(killers.items(), key=lambda kv: -kv[1])),
    }
