"""The environment follows the DUT, not the stimulus: a job stops being outstanding when its event comes,
and no wait of the stimulus outlives the watchdog.

* ``ctrl_cross`` probes the register port while its jobs run; a job that completes meanwhile must not stay
  "outstanding" until the sequence waits for it (it did: busy_o low with a job "outstanding" fired BUSY on
  the project's RTL, 5 of 40 nightly runs).
* A control event waits for its phase point (the job's first store); on a DUT that never gets there the
  watchdog ends the wait (it did not: the test waited until the TEST_STUCK backstop or the wall clock).
"""

import pathlib

import pytest

from redmule_verif.sim.build import build
from redmule_verif.sim.runner import env_config, run_test

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def sim(build_root):
    return build(env_config(), build_root)


@pytest.fixture(scope="module")
def fixture_sim(build_root):
    return build(env_config([HERE.parent / "fixtures" / "fixture_dut.sv"], top="fixture_dut", mem_words=4096),
                 build_root)


def test_a_job_completing_while_ctrl_cross_probes_is_retired_at_its_event(sim, tmp_path):
    rec = run_test(sim, "ctrl_cross", 1271002689, tmp_path / "r", knobs={"rounds": 12}, timeout=300)
    assert rec["status"] == "pass", rec["message"]
    assert rec["summary"]["jobs_checked"] >= 10


def test_a_control_event_waiting_for_a_store_that_never_comes_ends_on_the_watchdog(fixture_sim, tmp_path):
    rec = run_test(fixture_sim, "fixture_jobs", 3, tmp_path / "r", knobs={"control": "store", "count": 1},
                   timeout=120, module="checks_tb", python_path=[HERE / "checks"],
                   plusargs=["+fixture_bug=never_store"], extra_env={"REDMULE_HANG_CYCLES": "300"})
    fired = rec["summary"]["checks_fired"]
    assert rec["status"] == "fail" and "HANG_NO_PROGRESS" in fired, rec
    assert "TEST_STUCK" not in fired and rec["summary"]["sim_cycles"] < 20_000, fired
