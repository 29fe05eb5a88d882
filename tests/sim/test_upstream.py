"""The published RedMulE, built and driven as it ships (REDMULE_UPSTREAM names a checkout with its Bender
dependencies; skipped without it: CI has no network and the published sources are never committed)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

UPSTREAM = os.environ.get("REDMULE_UPSTREAM")
SCRIPT = pathlib.Path(sys.executable).parent / "redmule-verif"
pytestmark = pytest.mark.skipif(not UPSTREAM, reason="REDMULE_UPSTREAM does not name a published RedMulE checkout")


def test_published_rtl_builds_and_runs_through_the_adapter(tmp_path):
    out = tmp_path / "smoke"
    proc = subprocess.run([str(SCRIPT), "regress", "--suite", "smoke", "--upstream", UPSTREAM, "-j", "2",
                           "--out", str(out), "--characterise", "0", "--rerun-failures", "0"],
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    assert res["build"]["top"] == "redmule_published" and res["build"]["profile"] == "published"
    assert res["runs"] and all(r["status"] in ("pass", "fail") for r in res["runs"]), \
        [(r["test"], r["status"], r["message"][:200]) for r in res["runs"] if r["status"] not in ("pass", "fail")]
    # every failure is bucketed by a root cause the environment named (never a crash or an unknown)
    for b in res["summary"]["buckets"]:
        assert b["signature"] and not b["signature"].startswith(("CRASH", "OTHER", "FAIL with no")), b
