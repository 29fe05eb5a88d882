"""Determinism: the same test and seed give the same simulation in any process.

One test x seed runs twice through ``redmule-verif run``, in two processes with
different PYTHONHASHSEED (so anything that leaned on Python's salted ``hash``,
set order of strings or the like would show): the TCDM transaction trace (its
sha256), the per-job results and cycle counts, the stall histogram and the
functional coverage must be identical.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(sys.executable).parent / "redmule-verif"
TEST, SEED = "random_jobs", 20261126
KNOBS = {"count": 8, "launch": {"serial": 50, "queued": 25, "race": 25}, "grant": {"random": 50, "bursty": 25,
                                                                                   "banks": 25}}


def _run(tmp_path: pathlib.Path, hashseed: str) -> pathlib.Path:
    out = tmp_path / f"hash{hashseed}"
    env = dict(os.environ, PYTHONSAFEPATH="1", PYTHONHASHSEED=hashseed)
    proc = subprocess.run([str(SCRIPT), "run", TEST, "--seed", str(SEED), "--knobs", json.dumps(KNOBS),
                           "--out", str(out), "--timeout", "600"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
    return out


def _coverage_hits(path: pathlib.Path) -> dict:
    d = json.loads(path.read_text())
    d.get("meta", {}).pop("runs", None)
    return d


def test_same_seed_same_simulation_across_processes(tmp_path):
    a, b = _run(tmp_path, "1"), _run(tmp_path, "4242")
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert sa["trace_sha256"] and sa["trace_sha256"] == sb["trace_sha256"]
    assert sa["jobs_checked"] == sb["jobs_checked"] == sa["jobs"] > 0
    for key in ("sim_cycles", "cycle_reports", "stall_histogram", "tcdm_loads", "tcdm_stores", "mismatches",
                "reg_reads_checked"):
        assert sa[key] == sb[key], key
    # the results of the jobs: every Z stored, byte for byte, is in the trace; compare it whole too
    assert (a / "tcdm_trace.log").read_bytes() == (b / "tcdm_trace.log").read_bytes()
    assert _coverage_hits(a / "coverage.json") == _coverage_hits(b / "coverage.json")
