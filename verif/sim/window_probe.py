"""The simulation window of a run, timed: wall seconds of the base test's run phase (clock, reset, the
job sequence), the part of a run that simulates. Importing the module wraps ``BaseTest.run_phase``; the
last window is in :data:`LAST` and in ``window.json`` of the run directory. The batch worker imports it;
``make bench-regress`` adds it to the single-run module list (``COCOTB_TEST_MODULES`` takes several) to
measure the same window in one-process-per-run mode."""

from __future__ import annotations

import json
import os
import time

from redmule_verif.env.base_test import BaseTest

LAST: dict = {}
_original = BaseTest.run_phase


async def _timed_run_phase(self):
    t0 = time.monotonic()
    try:
        await _original(self)
    finally:
        LAST["window_s"] = round(time.monotonic() - t0, 4)
        try:
            with open(os.path.join(self.cfg.out_dir, "window.json"), "w") as fh:
                json.dump(LAST, fh)
        except (OSError, AttributeError):
            pass


if getattr(BaseTest.run_phase, "__name__", "") != "_timed_run_phase":
    BaseTest.run_phase = _timed_run_phase
