"""The testplan as data (``testplan.yaml``): load, validate, and measure closure per testpoint.

File format (OpenTitan-style, one YAML mapping)::

    name: redmule
    spec: <path of the spec, for humans>
    covergroups:              # every covergroup of RedmuleCoverage, described
      - {name: job, desc: ...}
    testpoints:
      - name: ops_formats      # unique identifier
        desc: ...               # what is verified
        spec: "4, 8"            # spec section(s)
        stage: V1               # V1 / V2 / V3 (priority, informational)
        tests: [ops_formats, random_jobs]     # sequences that target it
        gap: ...                # optional: why no test targets it yet (then tests may be [])
        coverage: [job.op_x_fmt, fp_class]    # references (see below)
        checks: [Z_MISMATCH]    # ids of the checks that enforce it (verif/env/checkers/CHECKS.yaml)
        no_bins: ...            # why a testpoint has no coverage bins (required when it has none)
        targets:                # closure-loop hints, per bin
          - bins: "job.op_x_fmt/*/FP8ALT"     # a reference, globs allowed
            test: ops_formats
            knobs: {fmt: FP8ALT}

Knob values may hold placeholders ``{0}``, ``{1}``, ...: the parts of the hole's
bin name, so one target line aims at each bin precisely (for the hole
``fp_class.op_fmt_z/GEMM/FP8/+inf``, ``{ops: ["{0}"], fmts: ["{1}"]}`` becomes
``{ops: [GEMM], fmts: [FP8]}``); ``{coverage_dir}`` is this package's folder (the
directed witness jobs: ``{file: "{coverage_dir}/closure_witnesses.yaml"}``).

A coverage reference is ``"covergroup"``, ``"covergroup.coverpoint"``,
``"covergroup.cross"`` or ``"covergroup.item/bin"`` (the bin an fnmatch glob,
e.g. ``"fp_class.op_fmt_z/*/FP8/+inf"``). Every testpoint names at least one
test and the checks that enforce it: ids of the environment's check table
(``verif/env/checkers/CHECKS.yaml``; a name that is no check is an error, so
the plan never claims a check that does not exist). A testpoint without
coverage bins (protocol rules are verified by checkers, not by bins) must say
why in ``no_bins``: it would otherwise close by construction. ``knobs`` are the settings (GemmJob fields or sequence parameters)
a closure loop passes to the test.

Functions
---------
``load_testplan(path=None)``                  parse (default: the packaged testplan.yaml)
``validate_testplan(tp, cov, test_names, test_knobs=None, check_ids=None)``
                                              every reference resolves in ``cov``
                                              (RedmuleCoverage or CoverageDB), every test
                                              is in ``test_names``, every covergroup is
                                              described and used; raises TestplanError
                                              listing every problem
``closure(tp, db)``                           per-testpoint closure, holes and the targets
                                              aimed at each hole
``next_runs(closure_result)``                 (test, knobs) runs ranked by holes targeted
"""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterable, Mapping

from redmule_verif.env.checkers.check_table import load_checks

from .covergroup import CoverageDB, CoverageError

__all__ = ["TestplanError", "DEFAULT_TESTPLAN", "load_testplan", "validate_testplan", "closure", "next_runs",
           "format_closure", "fill_knobs"]

DEFAULT_TESTPLAN = pathlib.Path(__file__).with_name("testplan.yaml")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TP_KEYS = {"name", "desc", "spec", "stage", "tests", "coverage", "checks", "targets", "tags", "note", "gap", "no_bins"}
_PLACEHOLDER = re.compile(r"\{(\d+)\}")
_TARGET_KEYS = {"bins", "test", "knobs", "note"}


class TestplanError(ValueError):
    """The testplan is malformed or names coverage or tests that do not exist."""

    __test__ = False  # not a pytest test class


def load_testplan(path=None) -> dict:
    """Read a testplan YAML file (default: coverage/testplan.yaml)."""
    import yaml

    path = pathlib.Path(path) if path is not None else DEFAULT_TESTPLAN
    try:
        with open(path) as f:
            tp = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise TestplanError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(tp, dict):
        raise TestplanError(f"{path}: a testplan is a YAML mapping with 'testpoints'")
    tp.setdefault("_source", os.fspath(path))
    return tp


def _placeholders(obj) -> set[int]:
    """Indices of the "{i}" placeholders in a knob value (recursively)."""
    if isinstance(obj, str):
        return {int(i) for i in _PLACEHOLDER.findall(obj)}
    if isinstance(obj, Mapping):
        return set().union(*(_placeholders(v) for v in obj.values())) if obj else set()
    if isinstance(obj, (list, tuple)):
        return set().union(*(_placeholders(v) for v in obj)) if obj else set()
    return set()


def fill_knobs(knobs, bin_ref: str):
    """Knobs with "{i}" replaced by the i-th "/"-part of the bin of ``bin_ref`` ("cg.item/a/b/c")
    and "{coverage_dir}" by this package's folder (where closure_witnesses.yaml lives)."""
    parts = bin_ref.partition("/")[2].split("/")

    def fill(obj):
        if isinstance(obj, str):
            obj = obj.replace("{coverage_dir}", str(DEFAULT_TESTPLAN.parent))
            return _PLACEHOLDER.sub(lambda mo: parts[int(mo.group(1))], obj)
        if isinstance(obj, Mapping):
            return {k: fill(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [fill(v) for v in obj]
        return obj

    return fill(knobs)


def _db_of(cov) -> CoverageDB:
    db = getattr(cov, "db", cov)
    if not isinstance(db, CoverageDB):
        raise TypeError(f"expected a RedmuleCoverage or CoverageDB, got {type(cov).__name__}")
    return db


def _resolve(db: CoverageDB, ref) -> list[str]:
    try:
        return db.resolve(ref)
    except CoverageError as e:
        raise TestplanError(str(e)) from None


def validate_testplan(tp: Mapping, cov, test_names: Iterable[str], test_knobs: Mapping | None = None,
                      check_ids: Iterable[str] | None = None) -> Mapping:
    """Check the testplan against the declared coverage, the known tests and the environment's checks.

    ``test_knobs`` (optional) maps a test name to the knob names it accepts; when
    given, every knob of a target must be one of them. ``check_ids``: the checks
    that exist (default: the rows of the environment's check table). Raises
    TestplanError with every problem found (one per line); returns ``tp`` when it
    is valid.
    """
    db = _db_of(cov)
    tests = set(test_names)
    checks_known = set(check_ids) if check_ids is not None else set(load_checks())
    errors: list[str] = []
    src = tp.get("_source", "testplan") if isinstance(tp, Mapping) else "testplan"

    def err(where, msg):
        errors.append(f"{where}: {msg}")

    if not isinstance(tp, Mapping) or not isinstance(tp.get("testpoints"), list) or not tp["testpoints"]:
        raise TestplanError(f"{src}: needs a non-empty list 'testpoints'")

    described = set()
    for i, cg in enumerate(tp.get("covergroups") or []):
        where = f"covergroups[{i}]"
        if not isinstance(cg, Mapping) or not isinstance(cg.get("name"), str):
            err(where, "needs a 'name'")
            continue
        if cg["name"] not in db:
            err(where, f"unknown covergroup {cg['name']!r} (declared: {', '.join(db.groups)})")
        if not isinstance(cg.get("desc"), str) or not cg["desc"].strip():
            err(where, f"covergroup {cg['name']!r} needs a 'desc'")
        described.add(cg["name"])
    for name in db.groups:
        if name not in described:
            err("covergroups", f"covergroup {name!r} is declared by the coverage model but not described")

    used_groups: set[str] = set()
    seen = set()
    for i, t in enumerate(tp["testpoints"]):
        if not isinstance(t, Mapping):
            err(f"testpoints[{i}]", "must be a mapping")
            continue
        name = t.get("name")
        where = f"testpoint {name!r}" if isinstance(name, str) else f"testpoints[{i}]"
        if not isinstance(name, str) or not _NAME_RE.match(name):
            err(where, "needs a 'name' (identifier)")
        elif name in seen:
            err(where, "duplicate name")
        seen.add(name)
        extra = set(t) - _TP_KEYS
        if extra:
            err(where, f"unknown keys {sorted(extra)} (known: {sorted(_TP_KEYS)})")
        for key in ("desc", "spec"):
            if not isinstance(t.get(key), (str, int, float)) or not str(t.get(key)).strip():
                err(where, f"needs '{key}'")
        tlist = t.get("tests", [])
        gap = t.get("gap")
        if gap is not None and (not isinstance(gap, str) or not gap.strip()):
            err(where, "'gap' must say what is missing")
        if not isinstance(tlist, list) or (not tlist and not gap):
            err(where, "needs a non-empty list 'tests' (or a 'gap' saying why no test targets it yet)")
            tlist = []
        for tn in tlist:
            if tn not in tests:
                err(where, f"unknown test {tn!r} (known tests: {', '.join(sorted(tests))})")
        refs = t.get("coverage") or []
        checks = t.get("checks") or []
        if not isinstance(refs, list) or not isinstance(checks, list):
            err(where, "'coverage' and 'checks' must be lists")
            refs, checks = [], []
        if not refs and not checks:
            err(where, "maps to no coverage and no checks")
        elif not checks:
            err(where, "names no check that enforces it ('checks': ids of verif/env/checkers/CHECKS.yaml)")
        for c in checks:
            if c not in checks_known:
                err(where, f"names check {c!r}, which does not exist (checks: {', '.join(sorted(checks_known))})")
        no_bins = t.get("no_bins")
        if not refs and checks and (not isinstance(no_bins, str) or not no_bins.strip()):
            err(where, "has no coverage bins: say why in 'no_bins' (else it closes by construction)")
        if refs and no_bins:
            err(where, "has coverage bins and a 'no_bins' reason: drop one")
        tp_bins: set[str] = set()
        for ref in refs:
            try:
                tp_bins.update(_resolve(db, ref))
                used_groups.add(str(ref).split(".")[0].split("/")[0])
            except TestplanError as e:
                err(where, str(e))
        for j, tg in enumerate(t.get("targets") or []):
            tw = f"{where} targets[{j}]"
            if not isinstance(tg, Mapping):
                err(tw, "must be a mapping with bins, test, knobs")
                continue
            extra = set(tg) - _TARGET_KEYS
            if extra:
                err(tw, f"unknown keys {sorted(extra)} (known: {sorted(_TARGET_KEYS)})")
            tb = []
            try:
                tb = _resolve(db, tg.get("bins"))
                outside = [b for b in tb if b not in tp_bins]
                if outside:
                    err(tw, f"bins {tg.get('bins')!r} are not in the testpoint's coverage (e.g. {outside[0]})")
            except TestplanError as e:
                err(tw, str(e))
            ph = _placeholders(tg.get("knobs", {}))
            short = [b for b in tb if ph and max(ph) >= len(b.partition("/")[2].split("/"))]
            if short:
                err(tw, f"knob placeholder {{{max(ph)}}} has no bin part in {short[0]!r}")
            tn = tg.get("test")
            if tn not in tests:
                err(tw, f"unknown test {tn!r} (known tests: {', '.join(sorted(tests))})")
            knobs = tg.get("knobs", {})
            if not isinstance(knobs, Mapping):
                err(tw, "'knobs' must be a mapping")
            elif test_knobs is not None and tn in test_knobs:
                bad = [k for k in knobs if k not in set(test_knobs[tn])]
                if bad:
                    err(tw, f"test {tn!r} has no knobs {bad} (knobs: {sorted(test_knobs[tn])})")
    for name in db.groups:
        if name not in used_groups:
            err("testpoints", f"covergroup {name!r} is not mapped to any testpoint")
    if errors:
        raise TestplanError(f"{src}: {len(errors)} problem(s):\n  " + "\n  ".join(errors))
    return tp


def closure(tp: Mapping, cov) -> dict:
    """Closure of every testpoint against merged coverage.

    Returns ``{"testpoints": {name: {...}}, "total": {...}}``; each testpoint has
    bins / waived / hit / closure (0..1) / percent, ``holes`` (full bin
    references), ``unsampled`` (its covergroups that were never sampled),
    ``tests``, ``gap``, and ``targets``: hole -> list of {"test", "knobs"} aimed at
    it (the testpoint's targets; else its tests with no knobs, flagged "fallback";
    none for a testpoint with a gap: those holes are listed in ``untargeted``).
    """
    db = _db_of(cov)
    out = {}
    all_bins: dict[str, bool] = {}
    for t in tp["testpoints"]:
        bins: list[str] = []
        for ref in t.get("coverage") or []:
            for b in _resolve(db, ref):
                if b not in bins:
                    bins.append(b)
        hit, waived, holes = 0, 0, []
        for b in bins:
            n, reason, at_least = db.bin_state(b)
            if reason is not None:
                waived += 1
                continue
            if n >= at_least:
                hit += 1
            else:
                holes.append(b)
            all_bins[b] = n >= at_least
        denom = len(bins) - waived
        frac = hit / denom if denom else 1.0
        aimed = [(set(_resolve(db, tg["bins"])), {"test": tg["test"], "knobs": dict(tg.get("knobs") or {})})
                 for tg in t.get("targets") or []]
        targets = {}
        for h in holes:
            aims = [{"test": a["test"], "knobs": fill_knobs(a["knobs"], h)} for bset, a in aimed if h in bset]
            if not aims and not t.get("gap"):
                aims = [{"test": tn, "knobs": {}, "fallback": True} for tn in t.get("tests") or []]
            targets[h] = aims
        groups = {str(r).split(".")[0].split("/")[0] for r in t.get("coverage") or []}
        out[t["name"]] = {
            "spec": str(t.get("spec", "")), "tests": list(t.get("tests") or []),
            "bins": len(bins), "waived": waived, "hit": hit, "closure": frac, "percent": round(100 * frac, 2),
            "holes": holes, "unsampled": sorted(g for g in groups if db[g].samples == 0),
            "targets": targets, "checks": list(t.get("checks") or []),
            "gap": t.get("gap"), "untargeted": [h for h in holes if not targets[h]],
        }
    total_hit = sum(all_bins.values())
    frac = total_hit / len(all_bins) if all_bins else 1.0
    return {"testpoints": out,
            "total": {"bins": len(all_bins), "hit": total_hit, "closure": frac, "percent": round(100 * frac, 2),
                      "closed": [n for n, r in out.items() if r["closure"] >= 1.0],
                      "open": [n for n, r in out.items() if r["closure"] < 1.0],
                      "gaps": [n for n, r in out.items() if r["gap"]]}}


def next_runs(result: Mapping, limit: int | None = None, fallback: bool = True) -> list[dict]:
    """Runs for a closure loop: [{"test", "knobs", "holes": [...], "fallback"}]. Runs from explicit
    targets come first, most holes first; then (if ``fallback``) a testpoint's tests with no knobs
    for holes that no target aims at. Holes of testpoints with a ``gap`` have no run."""
    runs: dict[tuple, dict] = {}
    for tpn, r in result["testpoints"].items():
        for hole, aims in r["targets"].items():
            for a in aims:
                if a.get("fallback") and not fallback:
                    continue
                key = (a["test"], repr(sorted(a["knobs"].items())), bool(a.get("fallback")))
                run = runs.setdefault(key, {"test": a["test"], "knobs": a["knobs"], "holes": [],
                                            "fallback": bool(a.get("fallback"))})
                if hole not in run["holes"]:
                    run["holes"].append(hole)
    ranked = sorted(runs.values(), key=lambda r: (r["fallback"], -len(r["holes"]), r["test"]))
    return ranked[:limit] if limit else ranked


def format_closure(result: Mapping, holes_per_testpoint: int = 5) -> str:
    t = result["total"]
    lines = [f"testplan closure: {t['percent']:.2f} % of {t['bins']} bins; "
             f"{len(t['closed'])} testpoints closed, {len(t['open'])} open, {len(t['gaps'])} with a gap"]
    for name, r in result["testpoints"].items():
        flag = f"  [never sampled: {', '.join(r['unsampled'])}]" if r["unsampled"] else ""
        if r["gap"] and r["holes"]:
            flag += "  [GAP]"
        cov = f"{r['percent']:6.2f} %  {r['hit']}/{r['bins'] - r['waived']}" if r["bins"] else "  checks only"
        lines.append(f"  {name:<24} {cov}{flag}")
        if r["gap"] and r["holes"]:
            lines.append(f"      gap: {' '.join(str(r['gap']).split())}")
        for h in r["holes"][:holes_per_testpoint]:
            aim = r["targets"][h][0] if r["targets"][h] else None
            hint = f"  <- {aim['test']} {aim['knobs']}" if aim else ""
            lines.append(f"      hole: {h}{hint}")
        if len(r["holes"]) > holes_per_testpoint:
            lines.append(f"      ... {len(r['holes']) - holes_per_testpoint} more")
    return "\n".join(lines)
