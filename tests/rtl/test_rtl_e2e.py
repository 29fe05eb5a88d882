"""End-to-end tests of the project's RedMulE top (rtl/redmule.sv) through its flat port contract.

- lint: `verilator --lint-only -Wall -f rtl/redmule.f --top-module redmule` prints nothing,
  for the default instance and a non-default one;
- cocotb (tests/rtl_e2e/e2e_tb.py): every GEMM-op x format over a spread of shapes and
  unaligned bases, grant stalls, queued jobs, empty jobs, soft clear, and the cycle counts
  of spec section 7 under an always-granting memory (default instance); a shorter run of
  the L=8, H=2, P=2 instance (DW = 224).
"""

import os
import pathlib
import re
import subprocess

import pytest

from redmule_verif.sim.build import SimConfig, build, run_cocotb, verilator_executable

REPO = pathlib.Path(__file__).resolve().parents[2]
FILELIST = REPO / "rtl" / "redmule.f"
TB_DIR = REPO / "tests" / "rtl" / "e2e"
SEED = int(os.environ.get("REDMULE_SEED", "1"))

INSTANCES = {
    "default": ({"L": 12, "H": 4, "P": 3}, False),
    "l8h2p2": ({"L": 8, "H": 2, "P": 2}, True),
}


@pytest.mark.parametrize("params", [{}, {"L": 8, "H": 2, "P": 2}], ids=["default", "l8h2p2"])
def test_redmule_lint(params):
    """The whole design is -Wall lint clean, with the command line of `make lint`."""
    cmd = [verilator_executable(), "--lint-only", "-Wall", "-f", "rtl/redmule.f", "--top-module", "redmule",
           *[f"-G{k}={v}" for k, v in params.items()]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    out = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("- V"))
    out = "\n".join(line for line in out.splitlines() if not line.startswith("- Verilator:")).strip()
    assert proc.returncode == 0 and not out, f"{' '.join(cmd)}\nexit {proc.returncode}\n{out}"


@pytest.mark.parametrize("name", list(INSTANCES))
def test_redmule_e2e(name, build_root, tmp_path):
    params, quick = INSTANCES[name]
    sim = build(SimConfig.make([FILELIST], top="redmule", parameters=params), cache_root=build_root)
    env = {f"E2E_{k}": v for k, v in params.items()}
    env["E2E_QUICK"] = int(quick)
    res = run_cocotb(sim, module="e2e_tb", python_path=[TB_DIR], seed=SEED, test_dir=tmp_path,
                     extra_env=env, timeout=900)
    log = res.log.read_text()
    for line in log.splitlines():
        if "CYCLES" in line:
            print(re.sub(r"^.*CYCLES", f"[{name}]", line))
    print(f"[{name}] build {sim.build_seconds:.1f} s (cached: {sim.cached}), run {res.wall_seconds:.1f} s")
    assert res.passed, f"{res.status}: {res.message}\nlog: {res.log}\n" + log[-6000:]
    names = [t.name for t in res.tests]
    assert len(names) >= 7, names
