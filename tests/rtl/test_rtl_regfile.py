"""rtl/redmule_regfile.sv: lint clean, and the cocotb testbench tests/rtl_regfile/regfile_tb.py passes
(every row of the register tables of spec section 3, checked cycle by cycle against a Python model)."""

import os
import pathlib
import subprocess

import pytest

from redmule_verif.sim.build import SimConfig, build, run_cocotb, verilator_executable

REPO = pathlib.Path(__file__).resolve().parents[2]
SOURCES = [REPO / "rtl" / "redmule_pkg.sv", REPO / "rtl" / "redmule_regfile.sv"]
TB_DIR = REPO / "tests" / "rtl" / "regfile"
SEED = int(os.environ.get("REDMULE_SEED", "1"))

CONFIGS = {
    "n8_id8": {"N_CORES": 8, "ID_WIDTH": 8},
    "n4_id8": {"N_CORES": 4, "ID_WIDTH": 8},  # id bits at or above N_CORES are ignored
}


@pytest.mark.parametrize("params", [{}, *CONFIGS.values()], ids=["default", *CONFIGS])
def test_regfile_lint(params):
    """verilator --lint-only -Wall reports nothing at all on the module (with its package)."""
    cmd = [verilator_executable(), "--lint-only", "-Wall", "--quiet", "--top-module", "redmule_regfile",
           *[f"-G{k}={v}" for k, v in params.items()], *map(str, SOURCES)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and not out, f"{' '.join(cmd)}\nexit {proc.returncode}\n{out}"


@pytest.mark.xdist_group("rtl_regfile")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_regfile_cocotb(name, build_root, tmp_path):
    params = CONFIGS[name]
    sim = build(SimConfig.make(SOURCES, top="redmule_regfile", parameters=params), cache_root=build_root)
    res = run_cocotb(
        sim, module="regfile_tb", python_path=[TB_DIR], seed=SEED, test_dir=tmp_path, timeout=900,
        extra_env={"RF_N_CORES": params["N_CORES"], "RF_ID_WIDTH": params["ID_WIDTH"]},
    )
    names = [t.name for t in res.tests]
    assert res.passed, f"{res.status}: {res.message}\nlog: {res.log}\n" + res.log.read_text()[-6000:]
    assert len(names) >= 13, names
