"""Every check of the environment fires on its own negative control, and nothing else does.

The rows of verif/env/checkers/CHECKS.yaml name, for each check, a bug mode of
the fixture DUT (tests/fixtures/fixture_dut.sv) or a fault of the environment
and the settings that expose it. Each case runs that control and asserts that
the run fails, that the check fired (summary.json ``checks_fired``), and that
no other check fired except the ones the row lists in ``also``. The clean
fixture must pass under every grant profile with the same checks armed, so
none of them can pass vacuously.
"""

import json
import pathlib
import re

import pytest
import yaml

from redmule_verif.flow import triage
from redmule_verif.sim.build import build, run_cocotb
from redmule_verif.sim.runner import env_config, run_test

HERE = pathlib.Path(__file__).parent
CHECKS_TB = HERE / "checks"
TABLE = pathlib.Path(__file__).resolve().parents[2] / "verif" / "env" / "checkers" / "CHECKS.yaml"
ROWS = yaml.safe_load(TABLE.read_text())


@pytest.fixture(scope="module")
def fixture_sim(build_root):
    cfg = env_config([HERE.parent / "fixtures" / "fixture_dut.sv"], top="fixture_dut", mem_words=4096)
    return build(cfg, build_root)


def _run(sim, out, bug="none", knobs=None, env=None, test="fixture_jobs", trace=True):
    plusargs = [f"+fixture_bug={bug}"]
    if trace:
        return run_test(sim, test, seed=3, out_dir=out, knobs=knobs or {}, timeout=120, module="checks_tb",
                        python_path=[CHECKS_TB], plusargs=plusargs, extra_env=env)
    # launched another way, without +tcdm_log (as a hand-run binary or another runner would)
    extra = {"REDMULE_TEST": test, "REDMULE_SEED": "3", "REDMULE_KNOBS": json.dumps(knobs or {}), **(env or {})}
    res = run_cocotb(sim, "checks_tb", python_path=[CHECKS_TB], testcase=test, seed=3, test_dir=out,
                     extra_env=extra, timeout=120, plusargs=plusargs)
    summary = json.loads((pathlib.Path(out) / "summary.json").read_text())
    return {"status": res.status, "message": res.message, "log": str(res.log), "summary": summary,
            "first_errors": summary.get("first_errors", []), "jobs_checked": summary.get("jobs_checked", 0)}


def _text(rec):
    log = pathlib.Path(rec["log"])
    return (rec.get("message") or "") + " ".join(rec.get("first_errors") or []) + \
        (log.read_text(errors="replace")[-4000:] if log.exists() else "")


@pytest.mark.parametrize("grant", ["always", "random", "bursty", "banks"])
def test_clean_fixture_passes(fixture_sim, tmp_path, grant):
    rec = _run(fixture_sim, tmp_path, knobs={"grant": grant}, env={"REDMULE_POLL_STATUS_PROB": "1"})
    assert rec["status"] == "pass", _text(rec)
    s = rec["summary"]
    assert s["jobs_checked"] == 2 and s["checks_fired"] == {} and s["reg_reads_checked"] >= 8
    assert s["tcdm_loads"] == 2 and s["tcdm_stores"] == 2 and s["event_pulses"] == 2


def test_a_register_port_that_grants_a_cycle_late_is_served(fixture_sim, tmp_path):
    """Legal, and never shown by the project's RTL (its grant is tied high): every register request is granted in
    its second cycle. The arbiter holds it on the port and takes its response one cycle after the grant; taking it
    a cycle early (as if granted at once) would miss the response (PERIPH_NO_RVALID) and mispredict the reads."""
    rec = _run(fixture_sim, tmp_path, bug="late_gnt", env={"REDMULE_POLL_STATUS_PROB": "1"})
    assert rec["status"] == "pass", _text(rec)
    s = rec["summary"]
    assert s["jobs_checked"] == 2 and s["checks_fired"] == {} and s["reg_reads_checked"] >= 8


def test_clean_fixture_slow_compute_bound_job_passes(fixture_sim, tmp_path):
    """The TIMING control's twin: the same compute-bound N = 64 jobs, on time, pass with the timing asserted."""
    rec = _run(fixture_sim, tmp_path, knobs={"n": 64}, env={"REDMULE_ASSERT_CYCLES": "1"})
    assert rec["status"] == "pass", _text(rec)


def test_zero_jobs_are_counted_apart(fixture_sim, tmp_path):
    rec = _run(fixture_sim, tmp_path, knobs={"zero": True})
    assert rec["status"] == "pass", _text(rec)
    assert rec["summary"]["jobs_checked"] == 0 and rec["summary"]["zero_jobs"] == 2


def test_a_test_that_expects_no_jobs_passes_with_none(fixture_sim, tmp_path):
    rec = _run(fixture_sim, tmp_path, test="fixture_no_jobs")
    assert rec["status"] == "pass", _text(rec)


@pytest.mark.parametrize("check", sorted(ROWS))
def test_negative_control(fixture_sim, tmp_path, check):
    ctl = ROWS[check]["control"]
    rec = _run(fixture_sim, tmp_path, bug=ctl.get("bug", "none"), knobs=ctl.get("knobs"), env=ctl.get("env"),
               test=ctl.get("test", "fixture_jobs"), trace=ctl.get("trace", True))
    assert rec["status"] == "fail", f"{check}: its control passed\n" + _text(rec)
    fired = set(rec["summary"].get("checks_fired", {}))
    assert check in fired, f"{check} did not fire; fired: {sorted(fired)}\n" + _text(rec)
    others = fired - {check} - set(ctl.get("also", []))
    assert not others, f"{check}'s control also fired {sorted(others)}\n" + _text(rec)
    # a user reads the component by its UVM path only, never with a Python object id
    msgs = rec["summary"]["error_messages"]
    assert msgs and all(re.match(r"\[uvm\.uvm_test_top(\.[a-z_0-9]+)*\] ", m) and not re.search(r"[a-z_]\d{6,}\]", m)
                        for m in msgs), msgs[:3]
    # triage gets every report structured: the check, the cycle it fired in, and the root cause names it
    detail = [d for d in rec["summary"]["errors_detail"] if d["check"] == check]
    assert detail and all(isinstance(d["cycle"], int) for d in detail), rec["summary"]["errors_detail"]
    assert triage.root_cause(rec).check in {check, *ctl.get("also", [])}


def test_a_waived_check_is_reported_but_does_not_fail(fixture_sim, tmp_path):
    """--waive Z_MISMATCH:reason demotes the check (a report catcher): counted as waived, never lost."""
    rec = _run(fixture_sim, tmp_path, knobs={"corrupt_z": True},
               env={"REDMULE_WAIVE": json.dumps({"Z_MISMATCH": "known bug RM-1"})})
    assert rec["status"] == "pass", _text(rec)
    s = rec["summary"]
    assert s["waived"] == {"Z_MISMATCH": 2} and s["checks_fired"] == {}
    assert all(d["waived"] == "known bug RM-1" for d in s["errors_detail"]) and s["errors_detail"]
    # the same run without the waiver fails on that check
    rec = _run(fixture_sim, tmp_path / "unwaived", knobs={"corrupt_z": True})
    assert rec["status"] == "fail" and set(rec["summary"]["checks_fired"]) == {"Z_MISMATCH"}
