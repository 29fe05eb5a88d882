"""The environment's cycle wait (verif/env/clock.py) lands on the edge cocotb's ClockCycles lands on."""

import pathlib

import pytest

from redmule_verif.sim.build import build
from redmule_verif.sim.runner import env_config, run_test

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def sim(build_root):
    return build(env_config(), build_root)


def test_cycles_lands_where_clockcycles_lands(sim, tmp_path):
    rec = run_test(sim, "cycles_equivalence", 1, tmp_path / "r", timeout=300, module="clock_tb",
                   python_path=[HERE / "clock"])
    assert rec["status"] == "pass", (rec["message"], rec["log"])
