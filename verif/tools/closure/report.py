"""``redmule-verif coverage DIR``: merge the coverage of every run under DIR and report closure.

Merges the functional coverage of every run under DIR (each ``coverage.json``,
at any depth), reports closure per testpoint of the testplan
(``coverage/testplan.yaml``) with its holes and the runs aimed at them, and
merges the code coverage of every run's ``coverage.dat`` (builds with Verilator
line and toggle coverage; see :mod:`redmule_verif.tools.closure.codecov`). It writes:

=============================  ==================================================
``DIR/coverage_merged.json``   the merged functional coverage (CoverageDB JSON)
``DIR/closure.json``           closure per testpoint, holes, problems, code coverage
``DIR/coverage.info``          lcov tracefile: DA (lines), BRDA (toggle points)
``DIR/codecov/index.html``     HTML view: files, line and toggle %, annotated sources
``DIR/coverage_merged.dat``    the merged Verilator coverage data
=============================  ==================================================

Code coverage is signed off against the reviewed waivers (``coverage/code_waivers.yaml`` unless
another file is given; :mod:`redmule_verif.tools.closure.code_waivers`): every line and toggle
point is covered, waived (with its reason) or open, against the targets.

The command fails (1) when a covergroup is declared but never sampled by any
run, or the testplan names a test (``testlist.all_tests()``) or a bin that
does not exist (``validate_testplan``).
"""

from __future__ import annotations

import json
import pathlib
from typing import Iterable, Mapping

from redmule_verif.coverage.covergroup import CoverageDB
from redmule_verif.coverage.covergroup import format_report as fmt_groups
from redmule_verif.coverage.redmule_cov import RedmuleCoverage
from redmule_verif.coverage.testplan import TestplanError, closure, format_closure, load_testplan, validate_testplan
from redmule_verif.env.testlist import all_tests
from redmule_verif.sim.paths import CODE_WAIVERS
from redmule_verif.tools.closure import codecov
from redmule_verif.tools.closure.code_waivers import code_lines


def find_coverage_json(root) -> list[pathlib.Path]:
    """Every run's coverage.json under ``root`` (merged outputs have other names; a rerun nested in
    a run directory, e.g. RUN/waves/, is not counted again)."""
    root = pathlib.Path(root)
    if root.is_file():
        return [root]
    return codecov.find_run_files(root, "coverage.json")


def merge_runs(paths, eng=None):
    """Merged CoverageDB of coverage files (a fresh RedmuleCoverage DB when ``paths`` is empty and
    ``eng`` is given, so that every declared covergroup is there)."""
    paths = [str(p) for p in paths]
    if eng is not None:
        db = RedmuleCoverage(eng).db
        for p in paths:
            db.merge(CoverageDB.load(p))
        return db
    if not paths:
        raise ValueError("no coverage files")
    db = CoverageDB.load(paths)
    if db.config:  # every covergroup the model declares, even if a file lacks one
        full = RedmuleCoverage(db.config).db
        full.merge(db)
        return full
    return db


def problems_of(tp, db, tests: Iterable[str]) -> list[str]:
    """What makes the command fail: never-sampled covergroups, and testplan errors."""
    out = []
    rep = db.report()
    for name in rep["total"]["unsampled"]:
        out.append(f"covergroup {name!r} is declared but never sampled by any run")
    try:
        validate_testplan(tp, db, list(tests))
    except TestplanError as e:
        lines = str(e).splitlines()
        out += [f"testplan: {ln.strip()}" for ln in lines[1:]] or [f"testplan: {e}"]
    return out


def coverage_report(root, testplan=None, tests=None, code: bool = True,
                    exclude: Iterable[str] = ("redmule_harness.sv",), write: bool = True,
                    code_waivers=CODE_WAIVERS, source_dirs=()) -> dict:
    """Everything ``redmule-verif coverage DIR`` computes (and writes, unless ``write`` is False)."""
    root = pathlib.Path(root)
    tp = testplan if isinstance(testplan, Mapping) else load_testplan(testplan)
    tests = list(tests) if tests is not None else sorted(all_tests())
    files = find_coverage_json(root)
    result: dict = {"dir": str(root), "coverage_files": len(files), "problems": [], "functional": None,
                    "closure": None, "code": None}
    if files:
        db = merge_runs(files)
        result["problems"] = problems_of(tp, db, tests)
        rep = db.report()
        result["functional"] = rep
        try:
            result["closure"] = closure(tp, db)
        except Exception as e:  # an invalid testplan may not resolve: the problems say why
            result["closure"] = None
            result["problems"].append(f"closure not measurable: {e}")
        result["runs"] = [{k: r.get(k) for k in ("test", "seed")} for r in db.meta.get("runs", [])]
        if write:
            db.save(root / "coverage_merged.json")
        result["_db"] = db
    if code:
        result["code"] = codecov.code_coverage(root, exclude=exclude, waivers=code_waivers,
                                                                         source_dirs=source_dirs) if write else None
    if write and root.is_dir():
        (root / "closure.json").write_text(json.dumps({k: v for k, v in result.items() if k != "_db"},
                                                      indent=1, default=str))
    return result


def format_report(result: Mapping, holes: int = 5) -> str:
    lines = []
    if result["functional"] is None:
        lines.append(f"functional coverage: no coverage.json under {result['dir']}")
    else:
        lines.append(f"merged {result['coverage_files']} coverage.json file(s) under {result['dir']}")
        lines.append(fmt_groups(result["functional"], 0))
        if result["closure"] is not None:
            lines.append(format_closure(result["closure"], holes))
    code = result.get("code")
    if code:
        lines += code_lines(code, per_file=True)
    elif result.get("code") is None:
        lines.append("code coverage: no coverage.dat (build with coverage for line/toggle coverage)")
    if result["problems"]:
        lines.append(f"PROBLEMS ({len(result['problems'])}):")
        lines += [f"  {p}" for p in result["problems"]]
    return "\n".join(lines)
