"""The check table (verif/env/checkers/CHECKS.yaml) and the code stay equal.

Fails when a check the code reports has no row, a row names no check of the
code, a row has no negative control (or one naming a fixture bug or a test
that does not exist), the harness's rules and the protocol checker's differ,
or an error is logged in verif/env other than through check_error (then it
would be a check without a row).
"""

import copy
import pathlib
import re

import pytest

from redmule_verif.coverage.redmule_cov import RedmuleCoverage
from redmule_verif.coverage.testplan import TestplanError, load_testplan, validate_testplan
from redmule_verif.env.checkers import check_table as T
from redmule_verif.env.checkers.protocol import RULES
from redmule_verif.env.testlist import all_tests
from redmule_verif.sequences.items.job import EngineConfig

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "fixture_dut.sv"
CHECKS_TB = REPO / "tests" / "env" / "checks" / "checks_tb.py"
CONTROLS = REPO / "tests" / "env" / "test_env_checkers.py"


def test_every_check_has_a_row_and_every_row_a_check():
    rows = T.load_checks()
    ids, dynamic = T.code_checks()
    assert not dynamic, f"checks reported with a computed id in a module without a CHECKS tuple: {dynamic}"
    in_code = ids | T.harness_rules()
    assert not in_code - set(rows), f"checks without a row in CHECKS.yaml: {sorted(in_code - set(rows))}"
    assert not set(rows) - in_code, f"rows naming no check of the code: {sorted(set(rows) - in_code)}"


def test_harness_rules_are_the_protocol_checkers():
    assert T.harness_rules() == set(RULES)


def test_every_row_has_a_negative_control_that_exists():
    bugs = set(re.findall(r'bug == "(\w+)"', FIXTURE.read_text())) | {"none"}
    tests = set(re.findall(r"^async def (\w+)\(", CHECKS_TB.read_text(), re.M))
    assert "def test_negative_control" in CONTROLS.read_text() and "sorted(ROWS)" in CONTROLS.read_text()
    problems = []
    for cid, row in T.load_checks().items():
        for key in ("where", "rule", "spec", "control"):
            if not row.get(key):
                problems.append(f"{cid}: no {key}")
        ctl = row.get("control") or {}
        if ctl.get("bug", "none") not in bugs:
            problems.append(f"{cid}: fixture bug {ctl.get('bug')!r} does not exist (known: {sorted(bugs)})")
        if ctl.get("bug", "none") == "none" and not ctl.get("why"):
            problems.append(f"{cid}: a control without a fixture bug must say why it still exposes the check")
        if ctl.get("test", "fixture_jobs") not in tests:
            problems.append(f"{cid}: no cocotb test {ctl.get('test')!r} in checks_tb.py")
        if ctl.get("also") and not ctl.get("why"):
            problems.append(f"{cid}: checks that co-fire ('also') need a 'why'")
        where = (row.get("where") or "").split()[0]
        if where and not (REPO / where).exists():
            problems.append(f"{cid}: 'where' names no file: {where}")
    assert not problems, "\n".join(problems)


def test_no_error_logged_outside_a_check():
    offenders = []
    for path in (REPO / "verif" / "env").rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\blogger\.(error|critical)\(", line) and path.name != "component.py":
                offenders.append(f"{path.relative_to(REPO)}:{i}")
    assert not offenders, f"errors logged without a check id (use check_error): {offenders}"


def test_markdown_table_lists_every_row():
    md = T.markdown()
    assert all(f"`{cid}`" in md for cid in T.load_checks())


# ---------------------------------------------------------------- testplan honesty
def _plan_and_cov():
    return copy.deepcopy(load_testplan()), RedmuleCoverage(EngineConfig()), all_tests()


def test_every_testpoint_names_existing_checks():
    tp, cov, tests = _plan_and_cov()
    validate_testplan(tp, cov, tests)
    rows = set(T.load_checks())
    for t in tp["testpoints"]:
        assert t.get("checks") and set(t["checks"]) <= rows, t["name"]
        assert t.get("coverage") or t.get("no_bins"), f"{t['name']}: no bins and no reason"


def test_testplan_fails_on_a_check_that_does_not_exist():
    tp, cov, tests = _plan_and_cov()
    tp["testpoints"][0]["checks"] = ["Z_MISMATCH", "NO_SUCH_CHECK"]
    with pytest.raises(TestplanError, match="names check 'NO_SUCH_CHECK', which does not exist"):
        validate_testplan(tp, cov, tests)


def test_testplan_fails_on_a_testpoint_without_bins_or_reason():
    tp, cov, tests = _plan_and_cov()
    wd = next(t for t in tp["testpoints"] if t["name"] == "watchdog")
    wd.pop("no_bins")
    with pytest.raises(TestplanError, match="no coverage bins: say why in 'no_bins'"):
        validate_testplan(tp, cov, tests)
    tp2, *_ = _plan_and_cov()
    tp2["testpoints"][0].pop("checks", None)
    with pytest.raises(TestplanError, match="names no check that enforces it"):
        validate_testplan(tp2, cov, tests)
