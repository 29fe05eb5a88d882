"""report.html of a regression: one self-contained static page (no scripts, no external assets).

Sections: the totals (pass rate, runs, wall time, jobs per hour, build), trend
plots (inline SVG drawn here) of pass rate and testplan closure across the
previous results files and this one, the failure buckets (count, new or seen
before, first message, repro commands, waves), coverage per testpoint with its
holes, and every run.
"""

from __future__ import annotations

import json
import pathlib

from redmule_verif.flow.html import BASE_CSS, e as _e, kpis, pct as _pct, rel as _rel

CSS = BASE_CSS + """
.pass{color:#176f2c;font-weight:600} .fail,.error,.timeout{color:#b3261e;font-weight:600}
.interrupted,.skipped{color:#8a6d00;font-weight:600}
.new{background:#b3261e;color:#fff;border-radius:3px;padding:0 5px;font-size:11px}
.seen{background:#888;color:#fff;border-radius:3px;padding:0 5px;font-size:11px}
.bar{background:#eee;width:160px;height:10px;display:inline-block;vertical-align:middle}
.bar i{background:#2e7d32;height:10px;display:block}
"""


def trend_svg(points: list[dict], key: str, title: str, width: int = 560, height: int = 180) -> str:
    """A line plot of points[i][key] (0..100 or None) with the points' labels on the x axis."""
    pad_l, pad_r, pad_t, pad_b = 44, 14, 26, 38
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    vals = [(i, p.get(key)) for i, p in enumerate(points)]
    n = max(1, len(points) - 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{_e(title)}" style="border:1px solid #ddd;background:#fff;margin-right:12px">',
             f'<text x="{pad_l}" y="16" font-size="13" font-weight="600">{_e(title)}</text>']
    for v in (0, 25, 50, 75, 100):
        y = pad_t + h - h * v / 100
        parts.append(f'<line x1="{pad_l}" y1="{y:.1f}" x2="{pad_l + w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{v}%</text>')

    def xy(i, v):
        x = pad_l + (w * i / n if len(points) > 1 else w / 2)
        return x, pad_t + h - h * max(0.0, min(100.0, v)) / 100

    coords = [xy(i, v) for i, v in vals if v is not None]
    if len(coords) > 1:
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{d}"/>')
    for i, v in vals:
        if v is None:
            continue
        x, y = xy(i, v)
        last = i == len(points) - 1
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{4 if last else 3}" '
                     f'fill="{"#b3261e" if last else "#1565c0"}"><title>{_e(points[i]["label"])}: {v:.1f} %'
                     f'</title></circle>')
    step = max(1, len(points) // 6)
    for i, p in enumerate(points):
        if i % step and i != len(points) - 1:
            continue
        x, _ = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{pad_t + h + 14}" font-size="9" text-anchor="middle">'
                     f'{_e(p["label"][5:16])}</text>')
    if not coords:
        parts.append(f'<text x="{pad_l + w / 2}" y="{pad_t + h / 2}" font-size="12" text-anchor="middle" '
                     f'fill="#777">no data</text>')
    parts.append("</svg>")
    return "".join(parts)


def _trend_points(results: dict, previous: list[dict]) -> list[dict]:
    pts = []
    for r in sorted(previous, key=lambda r: str(r.get("started", ""))) + [results]:
        s = r.get("summary") or {}
        cov = s.get("coverage") or {}
        rate = s.get("pass_rate")
        pts.append({"label": str(r.get("started", "?")).replace("T", " "),
                    "pass": None if rate is None else 100 * rate,
                    "closure": cov.get("testplan_percent")})
    return pts


def render(results: dict, previous: list[dict] = ()) -> str:
    s = results.get("summary", {})
    base = None
    runs = results.get("runs", [])
    if runs:
        base = str(pathlib.Path(runs[0]["dir"]).parent.parent.parent)
    b = results.get("build", {})
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
           f"<title>redmule-verif regression {_e(results.get('suite'))} {_e(results.get('started'))}</title>",
           f"<style>{CSS}</style></head><body>",
           f"<h1>Regression <code>{_e(results.get('suite'))}</code></h1>",
           f"<div class='muted'>started {_e(results.get('started'))} UTC, base seed {_e(results.get('base_seed'))}, "
           f"{_e(results.get('jobs'))} parallel runs"
           + (" &mdash; <b class='interrupted'>INTERRUPTED</b>" if s.get("interrupted_regression") else "")
           + "</div>"]
    kp = [("pass rate", _pct(s.get("pass_rate"))), ("runs", f"{s.get('finished', 0)}/{s.get('planned', 0)}"),
            ("pass", s.get("pass", 0)), ("fail", s.get("fail", 0)), ("error", s.get("error", 0)),
            ("timeout", s.get("timeout", 0)), ("failure buckets", len(s.get("buckets", []))),
            ("new buckets", s.get("new_buckets", 0)), ("wall time", f"{s.get('elapsed_s', 0):.0f} s"),
            ("jobs checked", s.get("jobs_checked", 0)), ("jobs / hour", s.get("jobs_per_hour") or "-")]
    cov = s.get("coverage") or {}
    if "testplan_percent" in cov:
        kp.append(("testplan closure", f"{cov['testplan_percent']:.1f} %"))
        kp.append(("functional coverage", f"{cov['functional_percent']:.1f} %"))
    out.append(kpis(kp))
    out.append(f"<p class='muted'>DUT: top <code>{_e(b.get('top'))}</code>, RTL "
               f"<code>{_e(' '.join(b.get('rtl') or []))}</code>, parameters <code>"
               f"{_e(json.dumps(b.get('parameters') or {}, sort_keys=True))}</code>, "
               f"memory {_e(b.get('mem_kib'))} KiB; "
               f"build <code>{_e(b.get('dir'))}</code> ({'cached' if b.get('cached') else 'built'}, "
               f"{_e(b.get('build_seconds'))} s)</p>")

    # trends
    pts = _trend_points(results, list(previous))
    out.append("<h2>Trends</h2>")
    if len(pts) == 1:
        out.append("<p class='muted'>No previous results given (<code>--previous RESULTS.json ...</code>, or "
                   "earlier regressions in OUT/history): the plots show this regression only.</p>")
    out.append("<div>" + trend_svg(pts, "pass", "pass rate") + trend_svg(pts, "closure", "testplan closure")
               + "</div>")

    # buckets: one per root cause, what is new tonight first
    out.append("<h2>Failure buckets</h2>")
    buckets = s.get("buckets", [])
    if not buckets:
        out.append("<p class='pass'>No failures.</p>")
    else:
        fresh = [b for b in buckets if b.get("new")]
        out.append(f"<p><b>{len(fresh)} new tonight</b>, {s.get('known_buckets', 0)} known issue(s), "
                   f"{len(buckets) - len(fresh) - s.get('known_buckets', 0)} seen before; one bucket per root "
                   f"cause (the earliest error of each run).</p>")
        if s.get("waived"):
            out.append("<p class='muted'>Waived checks (demoted to warnings): " + ", ".join(
                f"{_e(k)} x{v}" for k, v in s["waived"].items()) + "</p>")
        out.append("<table><tr><th>#</th><th>count</th><th>status</th><th>root cause</th><th>tests</th>"
                   "<th>first failure</th></tr>")
        for i, bk in enumerate(buckets, 1):
            kn = bk.get("known")
            tag = ("<span class='new'>NEW</span>" if bk.get("new") else
                   f"<span class='seen'>known <a href='{_e(kn['link'])}'>{_e(kn['id'])}</a>: {_e(kn['title'])} "
                   f"({_e(kn['status'])})</span>" if kn else "<span class='seen'>seen before</span>")
            ch = bk.get("characterised") or {}
            if ch.get("line") or ch.get("error"):
                tag += f"<div><b>needs:</b> {_e(ch.get('line') or ch.get('error'))}</div>"
            if ch.get("job_file"):
                tag += f"<div>shrunk job: <code>{_e(ch['job_file'])}</code></div>"
            sc = bk.get("scope") or {}
            if sc.get("formats") or sc.get("ops"):
                tag += (f"<div class='muted'>seen in {_e(', '.join(sc.get('formats', [])))} / "
                        f"{_e(', '.join(sc.get('ops', [])))}"
                        + (f"; never in {_e(', '.join(sc['formats_clean'] + sc['ops_clean']))}"
                           if sc.get("formats_clean") or sc.get("ops_clean") else "") + "</div>")
            if bk.get("checks"):
                tag += f"<div class='muted'>errors seen in these runs: {_e(', '.join(bk['checks']))}</div>"
            f = bk["first"]
            repros = "".join(f"<pre>{_e(r['repro'])}</pre>" for r in bk.get("runs", [])[:5])
            more = len(bk.get("runs", [])) - 5
            waves = f"<div>waves: <code>{_e(f.get('waves'))}</code></div>" if f.get("waves") else ""
            out.append(
                f"<tr><td>{i}</td><td>{bk['count']}</td><td class='{_e(bk['status'])}'>{_e(bk['status'])}</td>"
                f"<td>{tag} <code>{_e(bk['signature'])}</code></td><td>{_e(', '.join(bk['tests']))}</td>"
                f"<td>{_e(f['test'])} seed {_e(f['seed'])} &mdash; <a href='{_e(_rel(f.get('log'), base))}'>log</a>"
                f"<pre>{_e(f['message'][:1000])}</pre>repro:{repros}"
                + (f"<div class='muted'>... {more} more</div>" if more > 0 else "") + f"{waves}</td></tr>")
        out.append("</table>")

    kinds = s.get("error_kinds") or {}
    if kinds:
        out.append("<h2>Every error kind</h2><p class='muted'>Each check that fired in a failing run, in how many "
                   "runs, and in how many it was the root cause: a check that is never the root cause is "
                   "masked by another (waive that one to see behind it).</p><table><tr><th>check</th>"
                   "<th>runs</th><th>root cause in</th></tr>")
        for k, v in kinds.items():
            out.append(f"<tr><td><code>{_e(k)}</code></td><td>{v['runs']}</td><td>{v['root']}</td></tr>")
        out.append("</table>")

    # coverage
    out.append("<h2>Coverage by testpoint</h2>")
    if not cov:
        out.append("<p class='muted'>No run wrote coverage.</p>")
    elif "error" in cov:
        out.append(f"<p class='fail'>Coverage could not be merged: {_e(cov['error'])}</p>")
    else:
        out.append(f"<p>Merged {cov['files']} coverage file(s): testplan closure "
                   f"<b>{cov['testplan_percent']:.1f} %</b> ({cov['testplan_hit']}/{cov['testplan_bins']} bins), "
                   f"functional coverage {cov['functional_percent']:.1f} %; {len(cov['closed'])} testpoints closed, "
                   f"{len(cov['open'])} open.</p>")
        out.append("<table><tr><th>testpoint</th><th>closure</th><th></th><th>hit/bins</th><th>tests</th>"
                   "<th>holes</th></tr>")
        for name, tp in cov["testpoints"].items():
            pct = tp["percent"]
            bar = f"<span class='bar'><i style='width:{max(0, min(100, pct)):.0f}%'></i></span>"
            if tp.get("checks_only"):
                holes = "<span class='muted'>checked by checkers (no bins)</span>"
            elif tp["n_holes"]:
                listed = "<br>".join(f"<code>{_e(h)}</code>" for h in tp["holes"])
                more = tp["n_holes"] - len(tp["holes"])
                holes = (f"<details><summary>{tp['n_holes']} hole(s)</summary>{listed}"
                         + (f"<div class='muted'>... {more} more</div>" if more > 0 else "") + "</details>")
            else:
                holes = "<span class='pass'>closed</span>"
            if tp.get("unsampled"):
                holes += f"<div class='fail'>never sampled: {_e(', '.join(tp['unsampled']))}</div>"
            out.append(f"<tr><td>{_e(name)}</td><td>{pct:.1f} %</td><td>{bar}</td><td>{tp['hit']}/{tp['bins']}</td>"
                       f"<td>{_e(', '.join(tp.get('tests', [])))}</td><td>{holes}</td></tr>")
        out.append("</table>")

    # runs
    out.append("<h2>Runs</h2><table><tr><th>test</th><th>seed</th><th>status</th><th>wall s</th><th>sim cycles</th>"
               "<th>jobs</th><th>knobs</th><th>log</th><th>signature</th></tr>")
    for r in runs:
        out.append(f"<tr><td>{_e(r['test'])}</td><td>{_e(r['seed'])}</td><td class='{_e(r['status'])}'>"
                   f"{_e(r['status'])}</td><td>{_e(r.get('wall_s'))}</td><td>{_e(r.get('sim_cycles'))}</td>"
                   f"<td>{_e(r.get('jobs_checked'))}</td><td><code>{_e(json.dumps(r.get('knobs') or {}))}</code></td>"
                   f"<td><a href='{_e(_rel(r.get('log'), base))}'>log</a></td><td><code>{_e(r.get('signature'))}"
                   f"</code></td></tr>")
    out.append("</table>")
    if results.get("previous"):
        out.append("<p class='muted'>Compared with: " + ", ".join(f"<code>{_e(p)}</code>" for p in
                                                                  results["previous"]) + "</p>")
    out.append("</body></html>\n")
    return "\n".join(out)
