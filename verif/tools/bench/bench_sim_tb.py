"""cocotb test module of the simulation benchmark (``python -m redmule_verif.tools.bench.bench_sim``).

``bench_job`` runs the one job given in the knob ``job`` (a GemmJob dict)
through the unchanged environment (BaseTest, JobSequence, every checker and
the scoreboard) and writes ``bench.json`` next to ``summary.json`` with the
wall-clock stamps that the benchmark needs, all from time.perf_counter() in
this process (no Python start-up, no build):

* ``window``: from the TRIGGER write's response (the JobRecord published as
  "triggered") to the moment Python is woken for the job's done event (the
  start of the GPI callback that delivers it), with the cycles in between
  (the scoreboard's cycle report). This is the simulation part: cycles/s.
* ``job``: from the start of the job (data generation, reference model,
  backdoor writes of X, W, Y) to the end of the scoreboard's Z check:
  M*N*K / job wall time = GEMM MACs checked per second.
* Python time: every GPI callback into Python (GPITrigger._react) is timed,
  so ``py_window_s`` is the Python time inside the window and ``py_total_s``
  the Python time of the whole run (the share without a profiler's overhead).
* the parts of the job's Python work: prepare (data + reference + backdoor
  writes), the trace poll (TCDM monitor + footprint checker), the Z check.

Experiment (knob ``backdoor: "raw"``, used by ``bench_sim --backdoor raw``):
the env's TcdmMemory reads and writes each word through a cocotb handle
object (``dut.mem[i]``: a GPI handle lookup, a Python handle, a range check,
then the VPI put). The raw variant keeps the GPI sim_obj of each word and
calls its set/get directly, the same VPI accesses without the Python handle
layer, to measure what a leaner backdoor would save (the env itself is
unchanged by default).
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb import _gpi_triggers

from redmule_verif.env.analysis import analysis_imp
from redmule_verif.env.base_test import BaseTest, run_uvm_test
from redmule_verif.env.seq_lib.job_sequence import JobSequence
from redmule_verif.env.checkers.scoreboard import Scoreboard
from redmule_verif.sequences.items.job import GemmJob
from redmule_verif.env.agents.tcdm.monitor import TcdmMonitor

_clock = time.perf_counter
_cpu = time.process_time
T_IMPORT = _clock()
REACTS: list = []          # (start, end) of every GPI callback into Python
_CUR = [0.0, 0.0]          # start (wall, cpu) of the callback running now
STAMPS: dict = {"t_import": T_IMPORT}
PARTS = {"prepare_s": 0.0, "poll_s": 0.0, "check_s": 0.0}

_orig_react = _gpi_triggers.GPITrigger._react


def _timed_react(self):
    t0 = _clock()
    _CUR[0], _CUR[1] = t0, _cpu()
    try:
        _orig_react(self)
    finally:
        REACTS.append((t0, _clock()))


_gpi_triggers.GPITrigger._react = _timed_react


def _timed(cls, name, part, after=None):
    orig = getattr(cls, name)

    def wrapper(self, *a, **kw):
        t0 = _clock()
        try:
            return orig(self, *a, **kw)
        finally:
            t1 = _clock()
            PARTS[part] += t1 - t0
            if after:
                after(t0, t1)

    setattr(cls, name, wrapper)


def _prepared(t0, t1):
    STAMPS.setdefault("t_prepare_start", t0)
    STAMPS["t_prepare_end"] = t1


def _checked(t0, t1):
    STAMPS["t_check_end"] = t1


_timed(JobSequence, "prepare", "prepare_s", _prepared)
_timed(TcdmMonitor, "poll", "poll_s")
_timed(Scoreboard, "check_result", "check_s", _checked)


def _raw_backdoor(memory):
    """Swap ``memory``'s word access for direct GPI sim_obj calls (same VPI operations)."""
    arr = memory.handle._handle
    raw: dict = {}

    def word(i):
        h = raw.get(i)
        if h is None:
            h = raw[i] = arr.get_handle_by_index(i)
        return h

    def _read_words(w0, w1):
        pending = memory._pending_now()
        vals = (pending[i] if i in pending else word(i).get_signal_val_long() & 0xFFFFFFFF  # GPI gives it signed
                for i in range(w0, w1))
        return np.fromiter(vals, dtype=np.uint32, count=w1 - w0)

    def _write_words(w0, words):
        pending = memory._pending_now()
        for i, v in enumerate(words.tolist(), w0):
            word(i).set_signal_val_int(0, v)  # 0: deposit, as cocotb's default .value = (inertial write)
            pending[i] = v

    memory._read_words = _read_words
    memory._write_words = _write_words


def _reset_stamps() -> None:
    """A new run: a batch worker runs many in this process, each measured on its own."""
    REACTS.clear()
    STAMPS.clear()
    for k in PARTS:
        PARTS[k] = 0.0


class BenchJob(BaseTest):
    def build_phase(self):
        _reset_stamps()
        STAMPS["t_test_start"] = _clock()
        super().build_phase()

    def connect_phase(self):
        if self.cfg.knobs.get("backdoor") == "raw":
            _raw_backdoor(self.env.memory)
        self.env.job_ap.connect(analysis_imp("bench_job_tap", self, self._on_job))
        self.env.evt_mon.ap.connect(analysis_imp("bench_evt_tap", self, self._on_event))

    def make_jobs(self):
        job = GemmJob.from_dict(self.cfg.knobs["job"])
        STAMPS["t_job_start"] = _clock()
        return [job]

    def _on_job(self, rec):
        if rec.state == "triggered" and "t_trigger" not in STAMPS:
            STAMPS["t_trigger"] = _clock()
            STAMPS["cpu_trigger"] = _cpu()
            STAMPS["trigger_cycle"] = rec.trigger_cycle

    def _on_event(self, pulse):
        if "t_trigger" in STAMPS and "t_event" not in STAMPS:
            STAMPS["t_event"] = _CUR[0]       # Python woke up for the event here
            STAMPS["cpu_event"] = _CUR[1]
            STAMPS["t_event_seen"] = _clock()  # after the trace poll
            STAMPS["event_cycle"] = pulse.cycle

    def report_phase(self):
        super().report_phase()
        s = dict(STAMPS)
        s["t_report"] = _clock()
        t0, t1 = s.get("t_trigger"), s.get("t_event")
        out = {"stamps": s, "parts": dict(PARTS), "reacts": len(REACTS),
               "py_total_s": sum(b - a for a, b in REACTS),
               "run_s": s["t_report"] - s["t_test_start"]}
        if t0 is not None and t1 is not None:
            # Python inside the window: the rest of the callback that published the trigger, and
            # every callback that started within the window
            inside = [(max(a, t0), min(b, t1)) for a, b in REACTS if b > t0 and a < t1]
            out.update(window_s=t1 - t0, window_cpu_s=s["cpu_event"] - s["cpu_trigger"],
                       window_cycles=s["event_cycle"] - s["trigger_cycle"],
                       py_window_s=sum(b - a for a, b in inside),
                       reacts_window=sum(1 for a, _ in REACTS if t0 < a < t1))
        if "t_check_end" in s:
            out["job_s"] = s["t_check_end"] - s["t_job_start"]
        with open(os.path.join(self.cfg.out_dir, "bench.json"), "w") as fh:
            json.dump(out, fh, indent=1)


@cocotb.test()
async def bench_job(dut):
    await run_uvm_test(BenchJob)
