"""The adapter of the published RedMulE (sim/adapters/redmule_published.sv), checked without the
published sources: linted and elaborated against the project's stand-in of their port list."""

import pathlib
import subprocess

import pytest

from redmule_verif.sim import build
from redmule_verif.sim.filelist import parse
from redmule_verif.sim.paths import ADAPTERS_DIR, HARNESS
from redmule_verif.sim.runner import adapter_for, env_config

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
STANDIN = FIX / "published_standin" / "standin.f"
ADAPTER = ADAPTERS_DIR / "redmule_published.sv"


def _lint(*extra, top="redmule_published", files=(ADAPTER,), strict=True):
    cmd = [build.verilator_executable(), "--lint-only", "--top-module", top]
    cmd += ["-Wall", "-Wno-fatal"] if strict else ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-Werror-USERFATAL"]
    cmd += [*extra, *parse(STANDIN).args(), *map(str, files)]
    return subprocess.run(cmd, capture_output=True, text=True, env=build._tool_env(), timeout=300)


def _complaints_about(text: str, path: pathlib.Path) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("%") and str(path) in line]


def test_adapter_lints_clean_against_the_standin():
    res = _lint()
    assert not _complaints_about(res.stderr, ADAPTER), res.stderr
    # the stand-in itself may warn under -Wall (unused stub inputs); nothing may be an error
    assert res.returncode == 0 and "%Error" not in res.stderr, res.stderr


def test_adapter_elaborates_with_the_harness_parameters():
    # exactly what the harness passes: L, H, P, N_CORES, ID_WIDTH
    res = _lint("-GL=12", "-GH=4", "-GP=3", "-GN_CORES=8", "-GID_WIDTH=8", strict=False)
    assert res.returncode == 0, res.stderr


def test_adapter_fits_the_harness_port_contract():
    res = _lint("-DDUT_MODULE=redmule_published", "-GL=12", "-GH=4", "-GP=3", top="redmule_harness",
                files=(ADAPTER, HARNESS), strict=False)
    assert res.returncode == 0, res.stderr
    assert "PINNOTFOUND" not in res.stderr and "PINMISSING" not in res.stderr


@pytest.mark.parametrize("param,requested", [("H", 8), ("L", 8), ("P", 1)])
def test_geometry_mismatch_is_a_clear_elaboration_error(param, requested):
    res = _lint(f"-G{param}={requested}", strict=False)
    assert res.returncode != 0
    msg = res.stderr
    assert "redmule_published: geometry mismatch" in msg
    want = {"L": 12, "H": 4, "P": 3}
    want[param] = requested
    assert f"requested L={want['L']} H={want['H']} P={want['P']}" in msg
    assert "L=ARRAY_WIDTH=12 H=ARRAY_HEIGHT=4 P=PIPE_REGS=3" in msg
    assert "build with -P L=12 -P H=4 -P P=3" in msg


def test_the_build_layer_brings_the_adapter_for_its_top():
    assert adapter_for("redmule_published") == ADAPTER
    assert adapter_for("redmule") is None
    cfg = env_config([STANDIN], top="redmule_published")
    assert str(ADAPTER) in cfg.sources and cfg.sources[-1] == str(HARNESS)
    assert ("DUT_MODULE", "redmule_published") in cfg.defines
    fl = build.resolve_filelist(cfg)
    assert fl.sources[-2:] == [ADAPTER, HARNESS] and fl.incdirs == [STANDIN.parent]
    cmd = build.verilator_command(cfg, fl.sources, fl.incdirs, pathlib.Path("/tmp/x"), fl)
    assert "-Werror-USERFATAL" in cmd  # an elaboration-time $fatal stops a -Wno-fatal build
