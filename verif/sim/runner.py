"""Builds the environment's simulator around any RTL and runs one test on it.

:func:`env_config` wraps a DUT (file list or files, top module, parameters)
in the harness (``redmule_harness.sv``) and gives the build configuration;
:func:`run_test` runs one test with one seed in its own directory and returns
its record (status, cycles, jobs checked, failure message, log paths) -- a
crash, a hang or a timeout is a record too, never a lost result.
"""

from __future__ import annotations

import json
import os
import pathlib

from redmule_verif.model.encoding import MEM_BASE, MEM_WORDS
from redmule_verif.sim.build import SimConfig, run_cocotb
from redmule_verif.sim.paths import ADAPTERS_DIR, DEFAULT_RTL, HARNESS

TEST_MODULE = "redmule_verif.env.testcases"
DUT_PARAMS = ("L", "H", "P", "N_CORES", "ID_WIDTH")


def adapter_for(top: str) -> pathlib.Path | None:
    """The project's adapter of that name (``sim/adapters/TOP.sv``), if there is one."""
    path = ADAPTERS_DIR / f"{top}.sv"
    return path if path.is_file() else None


def env_config(rtl=None, top="redmule", parameters=None, mem_words=MEM_WORDS, mem_base=MEM_BASE,
               waves=False, coverage=False, dut_params=True, defines=None, bender_targets=(),
               bender_deps=()) -> SimConfig:
    """The harness around ``rtl`` (a .f list, files, a directory, a Bender.yml or a parsed
    FileList; default: the project's RTL). A ``top`` that names one of the project's
    adapters (``sim/adapters/TOP.sv``, e.g. ``redmule_published``) brings the adapter in."""
    rtl = rtl or [DEFAULT_RTL]
    if isinstance(rtl, (str, os.PathLike)) or not isinstance(rtl, (list, tuple)):
        rtl = [rtl]
    adapter = adapter_for(top)
    if adapter is not None and all(not isinstance(r, (str, os.PathLike)) or pathlib.Path(r).resolve() != adapter
                                   for r in rtl):
        rtl = list(rtl) + [adapter]
    params = {"L": 12, "H": 4, "P": 3, "N_CORES": 8, "ID_WIDTH": 8}
    params.update(parameters or {})
    params["MEM_WORDS"] = int(mem_words)
    params["MEM_BASE"] = int(mem_base)
    unknown = set(params) - set(DUT_PARAMS) - {"MEM_WORDS", "MEM_BASE"}
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}: the harness takes {DUT_PARAMS} and MEM_WORDS/MEM_BASE")
    defs = {"DUT_MODULE": top}
    if not dut_params:
        defs["DUT_NO_PARAMS"] = 1
    defs.update(defines or {})
    return SimConfig.make(list(rtl) + [HARNESS], "redmule_harness", parameters=params, defines=defs,
                          waves=waves, coverage=coverage, bender_targets=bender_targets, bender_deps=bender_deps)


def run_test(sim, test: str, seed: int, out_dir, knobs: dict | None = None, timeout: float | None = 600,
             waves: bool = False, extra_env: dict | None = None, plusargs=(), module: str = TEST_MODULE,
             python_path=(), assert_cycles: bool | None = None) -> dict:
    """Run ``test`` with ``seed`` on ``sim`` in ``out_dir``; returns its record.

    assert_cycles: make the timing model an assertion (always-grant, compute-bound
    jobs) rather than a report; by default on for the project's own RTL only,
    whose cycle counts are part of its specification.
    """
    out = pathlib.Path(out_dir)
    if assert_cycles is None:
        assert_cycles = str(DEFAULT_RTL) in sim.config.sources
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("summary.json", "coverage.json", "tcdm_trace.log"):
        (out / stale).unlink(missing_ok=True)
    knobs = dict(knobs or {})
    if isinstance(knobs.get("file"), str) and os.path.isfile(knobs["file"]):
        knobs["file"] = os.path.abspath(knobs["file"])  # the simulator runs in its own directory
    env = {"REDMULE_TEST": test, "REDMULE_SEED": str(int(seed)), "REDMULE_KNOBS": json.dumps(knobs or {})}
    if assert_cycles:
        env["REDMULE_ASSERT_CYCLES"] = "1"
    env.update(getattr(sim, "run_env", None) or {})  # the DUT's profile and waivers (DutOptions.run_env)
    env.update(extra_env or {})
    res = run_cocotb(sim, module, python_path=python_path, testcase=test, seed=seed, test_dir=out, extra_env=env,
                     timeout=timeout, waves=waves, plusargs=["+tcdm_log=tcdm_trace.log", *plusargs])
    summary = {}
    if (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text())
    record = {
        "test": test,
        "seed": int(seed),
        "status": res.status,
        "wall_s": round(res.wall_seconds, 2),
        "sim_cycles": summary.get("sim_cycles"),
        "jobs_checked": summary.get("jobs_checked", 0),
        "message": res.message,
        "first_errors": summary.get("first_errors", []),
        "log": str(res.log),
        "dir": str(out),
        "waves": str(out / ("dump.fst" if (out / "dump.fst").exists() else "dump.vcd")) if waves else None,
        "summary": summary,
    }
    return record
