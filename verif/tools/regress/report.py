"""What a regression writes: the summary and failure buckets of results.json, junit.xml, the merged
coverage, the history of earlier results (trend plots), the build-failure results and the console summary."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import xml.etree.ElementTree as ET

from redmule_verif.coverage.redmule_cov import RedmuleCoverage
from redmule_verif.coverage.testplan import closure, load_testplan
from redmule_verif.flow import triage
from redmule_verif.flow.records import FAILING, MAX_MESSAGE
from redmule_verif.flow.results_io import atomic_write, load_results, write_json
from redmule_verif.tools.regress.suite import Suite

RESULTS_SCHEMA = "redmule-verif/regress-results/1"


def bucket_key(r: dict) -> str:
    """A run's bucket before merging: its root cause (older records: the first error's signature)."""
    return r.get("root_cause") or r.get("signature") or ""


def summarise(runs: list[dict], planned: int, elapsed: float, previous: list[dict] = (),
              known: list[triage.KnownIssue] = ()) -> dict:
    """Counts, rates and failure buckets: one bucket per root cause (triage), each marked known (a known
    issue matches it), seen (an earlier regression had it) or new; new buckets first."""
    counts = {k: 0 for k in ("pass", "fail", "error", "timeout", "interrupted", "skipped")}
    for r in runs:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    completed = sum(counts[k] for k in ("pass", "fail", "error", "timeout"))
    old_sigs = set()
    for prev in previous:
        for r in prev.get("runs", []):
            if r.get("status") in FAILING:
                old_sigs.add(bucket_key(r))
    failing = [r for r in runs if r["status"] in FAILING]
    merged = triage.merge_buckets([bucket_key(r) for r in failing])
    buckets: dict[str, dict] = {}
    for r in failing:
        key = merged[bucket_key(r)]
        b = buckets.get(key)
        if b is None:
            issue = triage.known_issue_of(key, known)
            seen = key in old_sigs
            b = buckets[key] = {
                "signature": key, "count": 0, "status": r["status"], "tests": [], "checks": [],
                "known": {"id": issue.id, "title": issue.title, "status": issue.status, "link": issue.link}
                if issue else None,
                "seen": seen, "new": issue is None and not seen,
                "first": {"test": r["test"], "seed": r["seed"], "message": r["message"][:1000], "repro": r["repro"],
                          "log": r["log"], "waves": r.get("waves"), "first_error": r.get("signature", ""),
                          "knobs": r.get("knobs") or {}, "dir": r.get("dir")},
                "runs": []}
        b["count"] += 1
        if r["test"] not in b["tests"]:
            b["tests"].append(r["test"])
        for ev in triage.distinct(triage.events_of(r)):  # every distinct error kind the bucket's runs showed
            if ev.check not in b["checks"]:
                b["checks"].append(ev.check)
        b["runs"].append({"test": r["test"], "seed": r["seed"], "repro": r["repro"]})
    # every distinct error kind, not only root causes: in how many runs it fired, of how many it was the root
    kinds: dict[str, dict] = {}
    for r in failing:
        root = bucket_key(r).split(" ")[0]
        for check in {e.check for e in triage.events_of(r) if not e.waived}:
            k = kinds.setdefault(check, {"runs": 0, "root": 0})
            k["runs"] += 1
            k["root"] += check == root
    for key, b in buckets.items():  # where the bucket's error shows, across its runs (and where it does not)
        mine = [r for r in failing if merged[bucket_key(r)] == key]
        b["scope"] = triage.scope(mine, key.split(" ")[0])
    jobs = sum(int(r.get("jobs_checked") or 0) for r in runs)
    cycles = sum(int(r.get("sim_cycles") or 0) for r in runs)
    waived: dict[str, int] = {}
    for r in runs:
        for k, n in (r.get("waived") or {}).items():
            waived[k] = waived.get(k, 0) + n
    return {
        "planned": planned, "finished": len(runs), **counts, "completed": completed,
        "pass_rate": round(counts["pass"] / completed, 4) if completed else None,
        "elapsed_s": round(elapsed, 1),
        "run_wall_s": round(sum(float(r.get("wall_s") or 0) for r in runs), 1),
        "jobs_checked": jobs, "sim_cycles": cycles,
        "jobs_per_hour": round(jobs * 3600 / elapsed) if elapsed > 0 else None,
        "buckets": sorted(buckets.values(), key=lambda b: (not b["new"], b["known"] is not None, -b["count"],
                                                           b["signature"])),
        "new_buckets": sum(1 for b in buckets.values() if b["new"]),
        "known_buckets": sum(1 for b in buckets.values() if b["known"]),
        "waived": waived,
        "error_kinds": dict(sorted(kinds.items(), key=lambda kv: (-kv[1]["runs"], kv[0]))),
    }


def junit_xml(results: dict) -> str:
    runs = results["runs"]
    summ = results.get("summary", {})
    ts = ET.Element("testsuites", name=f"redmule-verif regress {results.get('suite')}")
    suite = ET.SubElement(
        ts, "testsuite", name=str(results.get("suite")), tests=str(len(runs)),
        failures=str(sum(r["status"] == "fail" for r in runs)),
        errors=str(sum(r["status"] in ("error", "timeout") for r in runs)),
        skipped=str(sum(r["status"] in ("interrupted", "skipped") for r in runs)),
        time=f"{float(summ.get('elapsed_s') or 0):.1f}", timestamp=str(results.get("started", "")))
    for r in runs:
        tc = ET.SubElement(suite, "testcase", classname=f"redmule.{r['test']}", name=f"{r['test']}.seed{r['seed']}",
                           time=f"{float(r.get('wall_s') or 0):.2f}")
        body = f"{r['message']}\nrepro: {r['repro']}\nlog: {r['log']}"
        if r.get("waves"):
            body += f"\nwaves: {r['waves']}"
        if r["status"] == "fail":
            ET.SubElement(tc, "failure", message=r["signature"], type="fail").text = body
        elif r["status"] in ("error", "timeout"):
            ET.SubElement(tc, "error", message=r["signature"], type=r["status"]).text = body
        elif r["status"] in ("interrupted", "skipped"):
            ET.SubElement(tc, "skipped", message=r["signature"])
        out = ET.SubElement(tc, "system-out")
        out.text = (f"seed {r['seed']} knobs {json.dumps(r.get('knobs') or {}, sort_keys=True)} "
                    f"jobs_checked {r.get('jobs_checked')} sim_cycles {r.get('sim_cycles')}\n"
                    f"repro: {r['repro']}\nlog: {r['log']}\n")
    ET.indent(ts)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(ts, encoding="unicode") + "\n"


def coverage_summary(run_dirs, max_holes: int = 40) -> dict | None:
    """Merge the runs' coverage.json and measure testplan closure; None when no run wrote coverage."""
    files = [str(pathlib.Path(d) / "coverage.json") for d in run_dirs if (pathlib.Path(d) / "coverage.json").exists()]
    if not files:
        return None
    try:
        cov = RedmuleCoverage.load(files, strict=False)
        rep = cov.report()
        res = closure(load_testplan(), cov)
    except Exception as exc:  # noqa: BLE001 - a coverage problem must not lose the regression's results
        return {"error": f"{type(exc).__name__}: {exc}", "files": len(files)}
    tps = {}
    for name, r in res["testpoints"].items():
        tps[name] = {"percent": r["percent"], "hit": r["hit"], "bins": r["bins"] - r["waived"],
                     "holes": r["holes"][:max_holes], "n_holes": len(r["holes"]),
                     "unsampled": r.get("unsampled", []), "tests": r.get("tests", []),
                     "checks_only": not r["bins"]}
    groups = {n: {"percent": g["percent"], "hit": g["hit"], "bins": g["bins"] - g["waived"]}
              for n, g in rep["covergroups"].items()}
    return {"files": len(files), "functional_percent": rep["total"]["percent"],
            "testplan_percent": res["total"]["percent"], "testplan_bins": res["total"]["bins"],
            "testplan_hit": res["total"]["hit"], "closed": res["total"]["closed"], "open": res["total"]["open"],
            "testpoints": tps, "covergroups": groups}


def hms(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def write_build_failure(out: pathlib.Path, suite: Suite, base_seed: int, message: str, build_args) -> dict:
    """The DUT did not build: results.json and junit.xml say so (no run could start)."""
    res = {"schema": RESULTS_SCHEMA, "suite": suite.name, "suite_file": str(suite.path) if suite.path else None,
           "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "base_seed": base_seed,
           "build": {"error": message[:MAX_MESSAGE], "args": list(build_args)}, "previous": [], "runs": [],
           "summary": {**summarise([], 0, 0.0), "build_error": message[:MAX_MESSAGE]}}
    write_json(pathlib.Path(out) / "results.json", res)
    ts = ET.Element("testsuites", name=f"redmule-verif regress {suite.name}")
    ts_suite = ET.SubElement(ts, "testsuite", name=suite.name, tests="1", failures="0", errors="1", skipped="0")
    tc = ET.SubElement(ts_suite, "testcase", classname="redmule.build", name="build")
    ET.SubElement(tc, "error", message="the DUT did not build", type="build").text = message
    atomic_write(pathlib.Path(out) / "junit.xml",
                 '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(ts, encoding="unicode") + "\n")
    return res


def history_files(out: pathlib.Path, suite: str, limit: int = 50) -> list[pathlib.Path]:
    hist = pathlib.Path(out) / "history"
    files = sorted(hist.glob("results-*.json")) if hist.is_dir() else []
    keep = []
    for f in files:
        try:
            if json.loads(f.read_text()).get("suite") == suite:
                keep.append(f)
        except (OSError, json.JSONDecodeError):
            continue
    return keep[-limit:]


def archive_previous(out: pathlib.Path) -> pathlib.Path | None:
    """Move an earlier results.json of OUT into OUT/history (it feeds the trend plots)."""
    cur = pathlib.Path(out) / "results.json"
    try:
        data = load_results(cur)
    except ValueError:
        return None
    if not data["runs"]:
        return None
    stamp = str(data.get("started", "unknown")).replace(":", "").replace("+", "_")
    dest = pathlib.Path(out) / "history" / f"results-{stamp}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    data.pop("_path", None)
    write_json(dest, data)
    return dest


def print_summary(res: dict, out: pathlib.Path, stream, interrupted: bool) -> None:
    """The console summary at the end of a regression."""
    s = res["summary"]
    p = stream
    rate = f"{100 * s['pass_rate']:.1f} %" if s["pass_rate"] is not None else "-"
    p.write(f"\nregression {res['suite']}: {s['finished']}/{s['planned']} runs, {s['pass']} pass, "
            f"{s['fail']} fail, {s['error']} error, {s['timeout']} timeout"
            + (f", {s['interrupted']} interrupted, {s['skipped']} not started" if interrupted else "")
            + f"; pass rate {rate}; {hms(s['elapsed_s'])} elapsed; {s['jobs_checked']} jobs checked"
            + (f" ({s['jobs_per_hour']} jobs/h)" if s.get("jobs_per_hour") else "") + "\n")
    cov = s.get("coverage")
    if cov and "testplan_percent" in cov:
        p.write(f"coverage: testplan {cov['testplan_percent']:.1f} % ({len(cov['closed'])} testpoints closed, "
                f"{len(cov['open'])} open), functional {cov['functional_percent']:.1f} %\n")
    for b in s["buckets"]:
        tag = "NEW " if b["new"] else (f"known {b['known']['id']} " if b.get("known") else "")
        p.write(f"  {b['count']:3d} x {b['status'].upper():<7} {tag}{b['signature']}\n"
                f"        repro: {b['first']['repro']}\n")
        if b.get("characterised"):
            p.write(f"        needs: {b['characterised'].get('line', '')}\n")
    p.write(f"results: {out / 'results.json'}  junit: {out / 'junit.xml'}  "
            f"report: {out / 'report.html'}\n")
    p.flush()

