"""Code-coverage sign-off: the reviewed waivers of RTL lines and toggle bits, and covered / waived / open.

A waiver file (``coverage/code_waivers.yaml``) lists what no legal stimulus can reach, each entry with
the reason a reviewer accepted::

    waivers:
      - id: REGFILE-ADDR-HI                # unique, quoted in reports
        file: redmule_regfile.sv           # basename or path suffix of the RTL file
        kind: toggle                       # line | toggle
        signal: addr_i                     # toggle: the signal (a glob on the name before '[')
        bits: "31:12"                      # toggle, optional: the bits (hi:lo or one bit); default all
        direction: "0->1"                  # toggle, optional: one direction only
        category: address-bits             # see CATEGORIES
        reason: "the register port decodes add[9:0] only (spec 3); ..."
      - id: SCHED-DEFAULT
        file: redmule_scheduler.sv
        kind: line
        text: 'default: *state_d = IDLE'   # line: a regex searched in each source line ...
        lines: [120, "130-132"]            # ... and/or explicit lines
        category: defensive-default
        reason: "..."

A waiver applies only to points the regression left uncovered: a waived point that is hit counts as
covered (and the waiver is reported as *hit*, a sign it should be reviewed). A waiver that matches no
point of a file the build has is *stale* (the RTL moved under it) and is reported as a problem; a
waiver of a file the build does not have (another RTL) is not applicable and ignored.

Sign-off (issue 13's targets): every line covered or waived, at most 2 % of lines waived; at least
95 % of toggle points covered or waived.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import pathlib
import re
from typing import Iterable, Mapping

import yaml

from redmule_verif.sim.paths import CODE_WAIVERS

CATEGORIES = {
    "unreachable-by-spec": "the spec makes the state or value impossible (the reason cites the rule)",
    "tied-off-parameter": "a parameter or input the top ties to a constant for every legal configuration",
    "address-bits": "address bits above the register window or above the memory size",
    "constant": "a signal that is constant by construction (a zero-extended or replicated field)",
    "defensive-default": "a default branch or an error path kept for safety that no encoding reaches",
    "unreachable-by-design": "the design's own structure excludes it (the reason says which signals and why)",
    "observability": "a signal that exists only to be observed (debug, trace) and has no function",
}
KINDS = ("line", "toggle")
LINE_TARGET = 100.0          # % of lines covered or waived
LINE_WAIVED_MAX = 2.0        # % of lines waived at most
TOGGLE_TARGET = 95.0         # % of toggle points covered or waived
_KEYS = {"id", "file", "kind", "reason", "category", "lines", "text", "signal", "bits", "direction"}
_TOGGLE_RE = re.compile(r"^(?P<name>.*?)(?:\[(?P<bit>\d+)\])?:(?P<dir>0->1|1->0)$")  # the bit: the last index


class WaiverError(ValueError):
    """A waiver file that cannot be used as it is (the message says which entry and what to fix)."""


@dataclasses.dataclass(frozen=True)
class Waiver:
    """One reviewed waiver: which points of which file, and why."""

    id: str
    file: str
    kind: str
    reason: str
    category: str
    lines: tuple = ()
    text: str | None = None
    signal: str | None = None
    bits: tuple | None = None            # (lo, hi) inclusive
    direction: str | None = None

    def applies_to_file(self, path: str) -> bool:
        p = path.replace("\\", "/")
        return p == self.file or p.endswith("/" + self.file.lstrip("/")) or fnmatch.fnmatch(p.rsplit("/", 1)[-1], self.file)

    def line_matches(self, line: int, source: list[str]) -> bool:
        if line in self.lines:
            return True
        if self.text is not None and 0 < line <= len(source):
            return re.search(self.text, source[line - 1]) is not None
        return False

    def toggle_matches(self, comment: str) -> bool:
        m = _TOGGLE_RE.match(comment)
        if not m:
            return False
        name = m.group("name")
        if not (fnmatch.fnmatchcase(name, self.signal) or fnmatch.fnmatchcase(name.split("[", 1)[0], self.signal)):
            return False
        if self.direction and m.group("dir") != self.direction:
            return False
        if self.bits is not None:
            if m.group("bit") is None:
                return False
            b = int(m.group("bit"))
            return self.bits[0] <= b <= self.bits[1]
        return True


def _ranges(v, where: str) -> tuple:
    out: list[int] = []
    for item in v if isinstance(v, list) else [v]:
        s = str(item).strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", s)
        if not m:
            raise WaiverError(f"{where}: lines: {item!r} is not a line number or a range 'a-b'")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if b < a:
            raise WaiverError(f"{where}: lines: range {s} runs backwards")
        out.extend(range(a, b + 1))
    return tuple(out)


def _bits(v, where: str) -> tuple:
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", str(v))
    if not m:
        raise WaiverError(f"{where}: bits: {v!r} is not 'hi:lo' or one bit number")
    hi, lo = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
    return (min(hi, lo), max(hi, lo))


def parse_waivers(data, source: str = "<waivers>") -> list[Waiver]:
    """Validate a waiver document (the YAML's content) into :class:`Waiver` objects."""
    if data is None:
        return []
    items = data.get("waivers") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise WaiverError(f"{source}: expected a mapping with a 'waivers:' list (or a list of waivers)")
    out, seen = [], set()
    for i, w in enumerate(items):
        where = f"{source}: waiver #{i + 1}"
        if not isinstance(w, Mapping):
            raise WaiverError(f"{where}: expected a mapping, got {type(w).__name__}")
        where = f"{source}: waiver {w.get('id', '#' + str(i + 1))}"
        unknown = set(w) - _KEYS
        if unknown:
            raise WaiverError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_KEYS))}")
        for k in ("id", "file", "kind", "reason", "category"):
            if not str(w.get(k) or "").strip():
                raise WaiverError(f"{where}: '{k}' is required (a waiver without a reason is not reviewable)")
        if w["id"] in seen:
            raise WaiverError(f"{where}: duplicate id")
        seen.add(w["id"])
        if w["kind"] not in KINDS:
            raise WaiverError(f"{where}: kind {w['kind']!r}: use one of {', '.join(KINDS)}")
        if w["category"] not in CATEGORIES:
            raise WaiverError(f"{where}: category {w['category']!r}: use one of {', '.join(CATEGORIES)}")
        kw = dict(id=str(w["id"]), file=str(w["file"]), kind=w["kind"], reason=str(w["reason"]).strip(),
                  category=w["category"])
        if w["kind"] == "line":
            if "signal" in w or "bits" in w or "direction" in w:
                raise WaiverError(f"{where}: a line waiver takes 'text' and/or 'lines', not signal/bits/direction")
            if "lines" not in w and "text" not in w:
                raise WaiverError(f"{where}: a line waiver needs 'text' (a regex on the source line) or 'lines'")
            if "text" in w:
                try:
                    re.compile(str(w["text"]))
                except re.error as e:
                    raise WaiverError(f"{where}: text {w['text']!r} is not a valid regex: {e}") from None
                kw["text"] = str(w["text"])
            if "lines" in w:
                kw["lines"] = _ranges(w["lines"], where)
        else:
            if "lines" in w or "text" in w:
                raise WaiverError(f"{where}: a toggle waiver takes 'signal' (+ 'bits', 'direction'), not lines/text")
            if not str(w.get("signal") or "").strip():
                raise WaiverError(f"{where}: a toggle waiver needs 'signal'")
            kw["signal"] = str(w["signal"])
            if "bits" in w:
                kw["bits"] = _bits(w["bits"], where)
            if "direction" in w:
                if w["direction"] not in ("0->1", "1->0"):
                    raise WaiverError(f"{where}: direction {w['direction']!r}: use '0->1' or '1->0'")
                kw["direction"] = w["direction"]
        out.append(Waiver(**kw))
    return out


def load_waivers(path) -> list[Waiver]:
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise WaiverError(f"{path}: cannot read the waiver file ({e.strerror}); give an existing file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise WaiverError(f"{path}: not valid YAML: {e}") from None
    return parse_waivers(data, str(path))


def code_waivers_arg(value):
    """The waiver file a ``--code-waivers`` option names: the packaged default when not given, None for
    'none'; a missing file is an error now, not after the regression."""
    if value is None:
        return CODE_WAIVERS if CODE_WAIVERS.is_file() else None
    if str(value).lower() == "none":
        return None
    p = pathlib.Path(value)
    if not p.is_file():
        raise WaiverError(f"--code-waivers {value}: no such file; give a waiver YAML file or 'none'")
    return p


def _source(path: str, source_dirs: Iterable = ()) -> list[str] | None:
    """The lines of the RTL file coverage.dat names, or of the file of that name in one of ``source_dirs``
    (coverage data read on another machine, or after the build tree moved); None when none is readable."""
    for p in [pathlib.Path(path)] + [pathlib.Path(d) / pathlib.Path(path).name for d in source_dirs]:
        try:
            return p.read_text(errors="replace").splitlines()
        except OSError:
            continue
    return None


def _line_waiver(lw: list, pid: tuple, ln: int, src: list[str]):
    """The waiver of an unhit point ``pid`` (type, line, column, comment, lines) seen on line ``ln``."""
    try:
        home = int(pid[1])
    except (ValueError, IndexError):
        home = ln
    return next((w for w in lw if w.line_matches(home, src) or w.line_matches(ln, src)), None)


def _pct(a: int, b: int) -> float:
    return round(100.0 * a / b, 2) if b else 100.0


def signoff(files: Mapping, waivers: Iterable[Waiver], max_open: int = 50, source_dirs: Iterable = ()) -> dict:
    """Covered / waived / open lines and toggle points of ``files`` ({path: FileCoverage}) under ``waivers``.

    Returns totals, per-file figures, the open points (up to ``max_open`` a file), the waivers that
    matched nothing (stale), the waivers whose points were all hit, and whether the targets are met."""
    waivers = list(waivers)
    used: dict[str, dict] = {w.id: {"waived": 0, "hit": 0} for w in waivers}
    applicable: set[str] = set()
    per: dict[str, dict] = {}
    marks: dict[str, dict] = {}
    unreadable: list[str] = []
    unresolved: set[str] = set()
    for path, fc in files.items():
        ws = [w for w in waivers if w.applies_to_file(path)]
        applicable.update(w.id for w in ws)
        src: list[str] | None = []
        if any(w.kind == "line" and w.text for w in ws):
            src = _source(path, source_dirs)
            if src is None:  # its text waivers cannot be matched: said as such, not as stale
                unreadable.append(path)
                unresolved.update(w.id for w in ws if w.kind == "line" and w.text)
                src = []
        lw = [w for w in ws if w.kind == "line"]
        tw = [w for w in ws if w.kind == "toggle"]
        f = {"lines": fc.lf, "lines_covered": 0, "lines_waived": 0, "lines_open": 0,
             "toggles": fc.tf, "toggles_covered": 0, "toggles_waived": 0, "toggles_open": 0,
             "open_lines": [], "open_toggles": []}
        mark = {"lines": {}, "toggles": {}}
        for ln, pts in fc.lines.items():
            # a line is covered when every coverage point on it was hit; a point that was not is waived
            # by a waiver of its own statement line (a point may span lines: a case item's point also
            # lies on its generate loop's line) or of this line
            zero = [pid for pid, n in pts.items() if n == 0]
            hit = not zero
            if hit:
                w = next((w for w in lw if w.line_matches(ln, src)), None)
            else:
                ws_of = [_line_waiver(lw, pid, ln, src) for pid in zero]
                w = ws_of[0] if all(ws_of) else None
            if w is not None:
                used[w.id]["hit" if hit else "waived"] += 1
            if hit:
                f["lines_covered"] += 1
            elif w is not None:
                f["lines_waived"] += 1
                mark["lines"][ln] = w.id
            else:
                f["lines_open"] += 1
                if len(f["open_lines"]) < max_open:
                    f["open_lines"].append(ln)
        for (ln, comment), n in fc.toggles.items():
            w = next((w for w in tw if w.toggle_matches(comment)), None)
            if w is not None:
                used[w.id]["hit" if n > 0 else "waived"] += 1
            if n > 0:
                f["toggles_covered"] += 1
            elif w is not None:
                f["toggles_waived"] += 1
                mark["toggles"][(ln, comment)] = w.id
            else:
                f["toggles_open"] += 1
                if len(f["open_toggles"]) < max_open:
                    f["open_toggles"].append(f"{ln}:{comment}")
        per[path] = f
        marks[path] = mark
    t = {k: sum(f[k] for f in per.values()) for k in ("lines", "lines_covered", "lines_waived", "lines_open",
                                                     "toggles", "toggles_covered", "toggles_waived", "toggles_open")}
    t["line_covered_percent"] = _pct(t["lines_covered"], t["lines"])
    t["line_waived_percent"] = _pct(t["lines_waived"], t["lines"]) if t["lines"] else 0.0
    t["line_signoff_percent"] = _pct(t["lines_covered"] + t["lines_waived"], t["lines"])
    t["toggle_covered_percent"] = _pct(t["toggles_covered"], t["toggles"])
    t["toggle_waived_percent"] = _pct(t["toggles_waived"], t["toggles"]) if t["toggles"] else 0.0
    t["toggle_signoff_percent"] = _pct(t["toggles_covered"] + t["toggles_waived"], t["toggles"])
    stale = sorted(w.id for w in waivers if w.id in applicable and w.id not in unresolved
                   and used[w.id]["waived"] == 0 and used[w.id]["hit"] == 0)
    all_hit = sorted(w.id for w in waivers if used[w.id]["hit"] > 0 and used[w.id]["waived"] == 0)
    met = {
        "lines": t["line_signoff_percent"] >= LINE_TARGET and t["line_waived_percent"] <= LINE_WAIVED_MAX,
        "toggles": t["toggle_signoff_percent"] >= TOGGLE_TARGET,
    }
    return {"total": t, "files": per, "waivers": len(waivers), "applicable": sorted(applicable),
            "use": {k: v for k, v in used.items() if k in applicable}, "stale": stale, "all_hit": all_hit,
            "unreadable_sources": unreadable,
            "targets": {"line_signoff_percent": LINE_TARGET, "line_waived_max_percent": LINE_WAIVED_MAX,
                        "toggle_signoff_percent": TOGGLE_TARGET},
            "met": met, "signed_off": all(met.values()) and not stale, "_marks": marks}


def format_signoff(s: Mapping, open_shown: int = 8) -> list[str]:
    """Console lines of a :func:`signoff` result."""
    t = s["total"]
    out = [f"code coverage sign-off ({s['waivers']} waiver(s), {len(s['applicable'])} applicable):",
           f"  lines   {t['lines']:6d}: covered {t['lines_covered']} ({t['line_covered_percent']:.2f} %), "
           f"waived {t['lines_waived']} ({t['line_waived_percent']:.2f} %), open {t['lines_open']}"
           f"  -> {t['line_signoff_percent']:.2f} % covered or waived "
           f"[target 100 %, waived <= {LINE_WAIVED_MAX:g} %: {'met' if s['met']['lines'] else 'NOT met'}]",
           f"  toggles {t['toggles']:6d}: covered {t['toggles_covered']} ({t['toggle_covered_percent']:.2f} %), "
           f"waived {t['toggles_waived']} ({t['toggle_waived_percent']:.2f} %), open {t['toggles_open']}"
           f"  -> {t['toggle_signoff_percent']:.2f} % covered or waived "
           f"[target >= {TOGGLE_TARGET:g} %: {'met' if s['met']['toggles'] else 'NOT met'}]"]
    for path, f in s["files"].items():
        if f["lines_open"] or f["toggles_open"]:
            name = path.rsplit("/", 1)[-1]
            lo = ", ".join(map(str, f["open_lines"][:open_shown])) + (" ..." if f["lines_open"] > open_shown else "")
            out.append(f"  open in {name}: {f['lines_open']} line(s)" + (f" [{lo}]" if lo else "")
                       + f", {f['toggles_open']} toggle point(s)")
    if s["stale"]:
        out.append(f"  STALE waivers (match nothing: the RTL moved under them, review): {', '.join(s['stale'])}")
    if s.get("unreadable_sources"):
        out.append(f"  RTL sources not readable, so their text waivers could not be matched (give the folder "
                   f"with --source DIR): {', '.join(s['unreadable_sources'])}")
    if s["all_hit"]:
        out.append(f"  waivers whose points were all hit (no longer needed? review): {', '.join(s['all_hit'])}")
    out.append(f"  sign-off: {'MET' if s['signed_off'] else 'NOT met'}")
    return out


def code_lines(code: Mapping, per_file: bool = False) -> list[str]:
    """Console lines of a code-coverage result (:func:`~redmule_verif.tools.closure.codecov.code_coverage`):
    totals, each file's figures (``per_file``), the sign-off, where lcov and HTML went."""
    if code.get("error"):
        return [f"code coverage: NOT measured: {code['error']}"]
    t = code["total"]
    out = [f"code coverage: {code['runs']} coverage.dat merged: lines {t['lines_hit']}/{t['lines']} "
           f"({t['line_percent']:.2f} %), toggle points {t['toggles_hit']}/{t['toggles']} ({t['toggle_percent']:.2f} %) "
           f"in {t['files']} file(s)"]
    if per_file:
        out += [f"  {path}: lines {f['line_percent']:.2f} %, toggles {f['toggle_percent']:.2f} %"
                for path, f in code["files"].items()]
    if code.get("signoff"):
        out += format_signoff(code["signoff"])
    out.append(f"  lcov: {code['info']}  html: {code['html']}")
    return out
