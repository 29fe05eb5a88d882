"""The environment's checkers catch what they exist for (on a small fixture DUT).

Each case runs the same two-job test on tests/fixtures/fixture_dut.sv with one
deliberate misbehaviour and asserts that the run fails with the right report;
the clean fixture must pass, so none of these checks can pass vacuously.
"""

import pathlib

import pytest

from redmule_verif.sim.build import build
from redmule_verif.sim.runner import env_config, run_test

HERE = pathlib.Path(__file__).parent
CHECKS = HERE / "checks"


@pytest.fixture(scope="module")
def fixture_sim(build_root):
    cfg = env_config([HERE.parent / "fixtures" / "fixture_dut.sv"], top="fixture_dut", mem_words=4096)
    return build(cfg, build_root)


def _run(sim, tmp_path, bug=0, knobs=None, env=None):
    return run_test(sim, "fixture_jobs", seed=3, out_dir=tmp_path, knobs=knobs or {}, timeout=120,
                    module="checks_tb", python_path=[CHECKS], plusargs=[f"+fixture_bug={bug}"], extra_env=env)


def _text(rec):
    return rec["message"] + " ".join(rec["first_errors"]) + pathlib.Path(rec["log"]).read_text(errors="replace")


def test_clean_fixture_passes(fixture_sim, tmp_path):
    rec = _run(fixture_sim, tmp_path, knobs={"grant": "random"})
    assert rec["status"] == "pass", _text(rec)[-3000:]
    assert rec["jobs_checked"] == 2


@pytest.mark.parametrize("bug, grant, expect", [
    (1, "random", "RQ-3"),
    (2, "random", "RQ-4"),
    (3, "always", "STORE OUTSIDE Z"),
    (4, "always", "went to core"),
    (6, "always", "ALIGN"),
])
def test_checker_catches(fixture_sim, tmp_path, bug, grant, expect):
    rec = _run(fixture_sim, tmp_path, bug=bug, knobs={"grant": grant})
    assert rec["status"] == "fail", _text(rec)[-3000:]
    assert expect in _text(rec)


def test_hang_becomes_a_failure_not_a_hang(fixture_sim, tmp_path):
    rec = _run(fixture_sim, tmp_path, bug=5, env={"REDMULE_HANG_CYCLES": "300"})
    assert rec["status"] == "fail"
    text = _text(rec)
    assert "HANG no progress" in text and "busy_o=1" in text


def test_backdoor_corruption_of_z_is_a_mismatch(fixture_sim, tmp_path):
    rec = _run(fixture_sim, tmp_path, knobs={"corrupt_z": True})
    assert rec["status"] == "fail"
    assert "Z MISMATCH" in _text(rec) and "1 ulp" in _text(rec)
