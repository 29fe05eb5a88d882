"""qualify.html: the qualification results as a self-contained page, or as a section a regression report
can embed (:func:`render_section`)."""

from __future__ import annotations

from redmule_verif.flow.html import BASE_CSS, e as _e, kpis, page
from redmule_verif.tools.qualify.mutants import Mutant

CSS = BASE_CSS + """
.killed{color:#176f2c;font-weight:600} .survived,.error,.build-error{color:#b3261e;font-weight:600}
.equivalent,.not-applicable,.incomplete,.not-run,.running{color:#8a6d00;font-weight:600}
"""


def _fmt_s(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    return f"{x:.0f} s" if x < 120 else f"{x / 60:.1f} min"


def _hist_svg(hist: list[dict], width: int = 520, height: int = 150) -> str:
    n = len(hist)
    top = max([h["count"] for h in hist] + [1])
    bw = (width - 40) / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" role="img" '
             f'aria-label="time to kill histogram">']
    for i, h in enumerate(hist):
        bh = (height - 20) * h["count"] / top
        x = 30 + i * bw
        y = height - bh
        label = f"<{h['to_s']}s" if h["to_s"] is not None else f">={h['from_s']}s"
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bw - 4:.1f}" height="{bh:.1f}" fill="#2e7d32"/>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle">{h["count"]}</text>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{height + 14}" font-size="11" text-anchor="middle">{label}</text>')
    parts.append(f'<line x1="28" y1="{height}" x2="{width - 8}" y2="{height}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def render_section(res: dict) -> str:
    """The qualification results as an HTML fragment (a <section>), for a page or a regression report."""
    s = res.get("summary") or {}
    rate = s.get("kill_rate")
    out = ['<section class="qualify">', "<h2>Mutation qualification</h2>"]
    out.append(f'<p class="muted">suite: {_e(res.get("suite"))}; RTL: {_e(res.get("rtl_dir"))}; parameters: '
               f'{_e(res.get("parameters") or "defaults")}; started {_e(res.get("started"))}, '
               f'{_fmt_s(res.get("elapsed_s"))} elapsed'
               + (" (budget exhausted: partial results)" if res.get("budget_exhausted") else "") + "</p>")
    for h in res.get("history") or []:
        out.append(f'<p class="muted">results marked "resumed" come from an earlier run: started {_e(h.get("started"))}, '
                   f'suite {_e(h.get("suite"))}, RTL {_e(h.get("rtl_version"))}</p>')
    ttk = s.get("time_to_kill_runs_s") or {}
    kp = [("kill rate", "-" if rate is None else f"{100 * rate:.1f} %"),
          ("killed", s.get("killed")), ("survived", s.get("survived")),
          ("equivalent", s.get("equivalent", 0)),
          ("mutants", s.get("mutants")), ("median time to kill", _fmt_s(ttk.get("median"))),
          ("p90 time to kill", _fmt_s(ttk.get("p90")))]
    out.append(kpis(kp, quote='"'))
    out.append(f'<p class="muted">{_e(s.get("kill_rate_note"))}. Time to kill = wall time of the runs up to and '
               "including the killing run (build time excluded; with the build: "
               f'median {_fmt_s((s.get("time_to_kill_with_build_s") or {}).get("median"))}).</p>')
    out.append("<h3>By class</h3><table><tr><th>class</th><th>killed</th><th>survived</th><th>equivalent</th>"
               "<th>kill rate</th></tr>")
    for c, v in (s.get("by_class") or {}).items():
        kr = "-" if v.get("kill_rate") is None else f"{100 * v['kill_rate']:.0f} %"
        out.append(f"<tr><td>{_e(c)}</td><td>{v['killed']}</td><td>{v['survived']}</td><td>{v['equivalent']}</td>"
                   f"<td>{kr}</td></tr>")
    out.append("</table>")
    out.append("<h3>Time to kill</h3>" + _hist_svg(s.get("time_to_kill_histogram") or []))
    kt = s.get("killing_tests") or {}
    if kt:
        out.append("<p>Killing tests: " + ", ".join(f"{_e(t)} ({n})" for t, n in kt.items()) + "</p>")
    out.append("<h3>Mutants</h3><table><tr><th>mutant</th><th>class</th><th>status</th><th>runs</th>"
               "<th>time to kill</th><th>cycles</th><th>killed by</th><th>signature / reason</th></tr>")
    for r in res.get("mutants", []):
        st = r["status"]
        if st == "killed":
            by = f"{_e(r.get('test'))} seed {_e(r.get('seed'))}" + (
                f" ({_e(r['origin'])} job list)" if r.get("origin") else "")
            detail = (f"<code>{_e(r.get('signature'))}</code><details><summary>repro, first error, change"
                      f"</summary><pre>{_e(r.get('repro'))}</pre><pre>{_e(r.get('first_error'))}</pre>"
                      f"<pre>{_e(Mutant(r['id'], r['class'], '', r['file'], r['find'], r['replace']).diff())}</pre>")
            sh = r.get("shrunk")
            if sh and sh.get("after"):
                detail += "<b>shrunk:</b><pre>" + _e("\n".join(sh["after"])) + "</pre>"
            detail += "</details>"
            ttk_s = _fmt_s(r.get("run_wall_s"))
        elif st == "equivalent" or r.get("equivalent"):
            by, ttk_s, detail = "", "-", "<b>equivalent:</b> " + _e(r.get("equivalent"))
            if st == "killed":
                detail = "<b>KILLED although marked equivalent: the argument is wrong</b> " + detail
            elif st == "survived":
                st = "survived (equivalent)"
        else:
            by, ttk_s = "", "-"
            detail = _e(r.get("verdict") or r.get("message") or "") + (
                f"<details><summary>change</summary><pre>"
                f"{_e(Mutant(r['id'], r['class'], '', r['file'], r['find'], r['replace']).diff())}</pre></details>")
        out.append(f'<tr><td title="{_e(r.get("description"))}"><b>{_e(r["id"])}</b>'
                   + (' <span class="muted">(resumed)</span>' if r.get("resumed") else "") + '<br>'
                   f'<span class="muted">{_e(r.get("description"))}</span></td><td>{_e(r["class"])}</td>'
                   f'<td class="{_e(st.split()[0])}">{_e(st)}</td><td>{_e(r.get("runs"))}</td><td>{ttk_s}</td>'
                   f'<td>{_e(r.get("sim_cycles"))}</td><td>{by}</td><td>{detail}</td></tr>')
    out.append("</table>")
    broken = res.get("broken_on_clean_rtl") or []
    if broken:
        out.append("<h3>Runs set aside (they fail on the clean RTL)</h3><table><tr><th>run</th><th>status</th>"
                   "<th>signature</th></tr>")
        for b in broken:
            out.append(f"<tr><td>{_e(b['test'])} seed {_e(b['seed'])}</td><td>{_e(b['status'])}</td>"
                       f"<td><code>{_e(b.get('signature'))}</code></td></tr>")
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def render(res: dict) -> str:
    """A self-contained page (no scripts, no external assets)."""
    return page("redmule-verif qualify", CSS, render_section(res))
