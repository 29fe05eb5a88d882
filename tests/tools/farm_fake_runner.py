"""A stand-in simulator for the farm tests: runs that sleep, fail or die on demand, in no time.

Array tasks import it by name (``runner="farm_fake_runner:run"``, this folder on the batch's
python_path); its :class:`FakeSim` pickles like a real :class:`~redmule_verif.sim.build.Sim`.
Knobs (or the suite entry's env: ``FAKE=fail|die|hang``, ``FAKE_SLEEP=S``): ``sleep`` seconds, ``fail`` (status fail), ``die`` (the task process exits at once: no record),
``hang`` (sleeps for ever: only a limit ends it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import sys
import time


@dataclasses.dataclass
class FakeSim:
    binary: str = sys.executable
    key: str = "fake-sim"


def run(sim, test, seed, out_dir, knobs=None, timeout=600, waves=False, extra_env=None, assert_cycles=None, **kw):
    knobs = dict(knobs or {})
    env = dict(extra_env or {})  # a suite entry's env: FAKE=fail|die|hang, FAKE_SLEEP=seconds
    if env.get("FAKE"):
        knobs[env["FAKE"]] = 1
    if env.get("FAKE_SLEEP"):
        knobs["sleep"] = float(env["FAKE_SLEEP"])
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if knobs.get("die"):
        os._exit(3)
    if knobs.get("hang"):
        while True:
            time.sleep(1)
    time.sleep(float(knobs.get("sleep", 0)))
    trace = hashlib.sha256(f"{test}/{seed}".encode()).hexdigest()
    (out / "sim.log").write_text(f"fake run {test} {seed}\n")
    status = "fail" if knobs.get("fail") else "pass"
    return {"test": test, "seed": int(seed), "status": status, "wall_s": float(knobs.get("sleep", 0)),
            "sim_cycles": 100 + seed % 7, "jobs_checked": 1,
            "message": "fake failure: Z MISMATCH" if status == "fail" else "",
            "first_errors": ["fake failure: Z MISMATCH"] if status == "fail" else [], "log": str(out / "sim.log"),
            "dir": str(out), "waves": None, "summary": {"trace_sha256": trace}}
