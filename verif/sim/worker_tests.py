"""The cocotb test module of a batch worker: many (test, seed) runs in one simulator process.

The outer process (:mod:`redmule_verif.sim.batch`) starts the simulator with
this module and talks to it over two pipes (file descriptors in
``REDMULE_WORKER_FDS``): the worker says ``ready``, reads one run spec (a JSON
line; an empty line or EOF ends the batch), says ``start ID``, runs it and
says ``end ID``. The module defines ``REDMULE_WORKER_SLOTS`` cocotb tests, one
per run the process may take, so that every run is a cocotb test of its own:
cocotb cancels every task the run started when it ends, and an exception in
any of them ends that run only.

Every run starts from the state a fresh process has at time 0:

* the harness is restarted (``restart_i`` pulsed with the clock stopped: its
  cycle counter, counters, random streams and memory words back to zero, the
  trace file reopened) and every input of the top is driven to 0 (the DUT in
  reset);
* pyuvm's singletons (``uvm_root``, ConfigDB, objections) are cleared by
  ``uvm_root().run_test`` and the environment is built afresh;
* the run's environment variables (``REDMULE_TEST``, ``REDMULE_SEED``,
  ``REDMULE_KNOBS``, the spec's ``env``) replace the previous run's, the
  working directory is the run directory, Python's ``random`` is seeded as
  cocotb seeds it for that test alone;
* error counters of the previous run are detached from every logger, and the
  loggers the run created are dropped (pyuvm names an object's logger by its
  Python id: kept, they would pile up run after run, and every new logger's
  ``setLevel`` walks all of them).

The run writes the files a single run writes (``summary.json``,
``coverage.json``, ``sim.log`` with its own log lines) and ``result.json``
(status and message, as cocotb's results file would give them).
``tcdm_trace.log`` in the run directory is a symlink to the batch's trace file
(on tmpfs when there is one) while the run lasts; it is kept as a file only
when the spec asks for the trace.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import pathlib
import random
import re
import shutil
import sys
import time

import cocotb
from cocotb.triggers import Timer

from redmule_verif.env.base_test import run_uvm_test
from redmule_verif.env.error_counter import ErrorCounter
from redmule_verif.env.testcases import TEST_CLASSES
from redmule_verif.sim import window_probe
from redmule_verif.sim.paths import HARNESS

SINGLE_RUN_MODULE = "redmule_verif.env.testcases"
_RUN_ENV_KEYS = ("REDMULE_TEST", "REDMULE_SEED", "REDMULE_KNOBS", "REDMULE_ASSERT_CYCLES")


def _harness_inputs() -> list[str]:
    """Every input of the harness except the clock (read from the SystemVerilog source)."""
    names = re.findall(r"^\s*input\s+logic\s*(?:\[[^\]]*\])?\s*(\w+)", HARNESS.read_text(), re.M)
    return [n for n in names if n not in ("clk_i", "restart_i")]


class _Channel:
    def __init__(self):
        fds = os.environ.get("REDMULE_WORKER_FDS", "")
        rfd, wfd = (int(x) for x in fds.split(","))
        self.rx = os.fdopen(rfd, "r", buffering=1)
        self.tx = os.fdopen(wfd, "w", buffering=1)

    def say(self, text: str) -> None:
        self.tx.write(text + "\n")
        self.tx.flush()

    def next_spec(self) -> dict | None:
        self.say("ready")
        line = self.rx.readline()
        if not line.strip():
            return None
        return json.loads(line)


_CHANNEL: _Channel | None = None
_INPUTS = _harness_inputs()
_BASE_ENV = {k: v for k, v in os.environ.items() if k.startswith("REDMULE_")}
_BASE_CWD = os.getcwd()
_TRACE = os.environ.get("REDMULE_WORKER_TRACE", "")
_DONE = False
_LOGGERS_BEFORE: set | None = None
_PROFILE = os.environ.get("REDMULE_WORKER_PROFILE")  # a path: cProfile the whole worker into it (stats)
if _PROFILE:
    import cProfile

    _PROFILER = cProfile.Profile()
    _PROFILER.enable()


def _channel() -> _Channel:
    global _CHANNEL
    if _CHANNEL is None:
        _CHANNEL = _Channel()
    return _CHANNEL


def _end_regression() -> None:
    """No more runs: the remaining slots are dropped, the simulator ends normally (final blocks run,
    code coverage is written)."""
    global _DONE
    _DONE = True
    if _PROFILE:
        _PROFILER.disable()
        _PROFILER.dump_stats(_PROFILE)
    try:
        from cocotb import regression

        regression._manager_inst._test_queue.clear()
    except Exception:  # noqa: BLE001 - the remaining slots then return at once
        pass


async def restart(dut) -> None:
    """The harness and the DUT back to the state of time 0 (see the module docstring)."""
    dut.clk_i.value = 0
    for name in _INPUTS:
        getattr(dut, name).value = 0
    await Timer(1, "ns")
    dut.restart_i.value = 1
    await Timer(1, "ns")
    dut.restart_i.value = 0
    await Timer(1, "ns")


def _set_run_environment(spec: dict) -> None:
    for k in list(os.environ):
        if k.startswith("REDMULE_") and k not in _BASE_ENV:
            del os.environ[k]
    os.environ.update(_BASE_ENV)
    for k in _RUN_ENV_KEYS:
        os.environ.pop(k, None)
    os.environ.update({k: str(v) for k, v in (spec.get("env") or {}).items()})


def _seed_like_single_run(test: str, seed: int, module: str = SINGLE_RUN_MODULE) -> None:
    """cocotb seeds ``random`` per test from its full name and the regression seed: do the same as the
    single-run module would for this test."""
    h = hashlib.sha1(f"{module}.{test}".encode()).hexdigest()
    test_seed = int(seed) + int(h, 16)
    random.seed(test_seed)
    cocotb.RANDOM_SEED = test_seed


def _detach_error_counters() -> None:
    for logger in [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                           if isinstance(lg, logging.Logger)]:
        for h in list(logger.handlers):
            if isinstance(h, ErrorCounter):
                logger.removeHandler(h)


def _drop_loggers(keep: set) -> None:
    """Forget the loggers created since ``keep`` was taken (their objects are gone with the run)."""
    d = logging.Logger.manager.loggerDict
    for name in [n for n in d if n not in keep]:
        del d[name]
    logging.Logger.manager._clear_cache()


def _abort_exception():
    try:
        from cocotb import _test_manager

        tm = _test_manager._current_test
        return list(tm._excs) if tm is not None else []
    except Exception:  # noqa: BLE001
        return []


def _finish_trace(run_dir: pathlib.Path, keep: bool) -> None:
    link = run_dir / "tcdm_trace.log"
    if not link.is_symlink():
        return
    target = pathlib.Path(os.readlink(link))
    link.unlink()
    if keep and target.exists():
        shutil.copyfile(target, link)


def _test_body(spec: dict):
    """The coroutine function of the spec's test: a library test of the environment, or the cocotb test
    of that name in the spec's ``module`` (another test module, e.g. the checkers' fixture tests)."""
    module = spec.get("module") or SINGLE_RUN_MODULE
    if module == SINGLE_RUN_MODULE:
        cls = TEST_CLASSES[spec["test"]]

        async def body(dut):
            await run_uvm_test(cls)

        return body
    obj = getattr(importlib.import_module(module), spec["test"])
    return getattr(obj, "func", obj)


async def run_spec(dut, spec: dict) -> None:
    run_dir = pathlib.Path(spec["dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("summary.json", "coverage.json", "tcdm_trace.log", "result.json", "window.json"):
        (run_dir / stale).unlink(missing_ok=True)
    await restart(dut)
    _set_run_environment(spec)
    os.chdir(run_dir)
    if _TRACE:
        os.symlink(_TRACE, run_dir / "tcdm_trace.log")
    _seed_like_single_run(spec["test"], spec["seed"], spec.get("module") or SINGLE_RUN_MODULE)
    global _LOGGERS_BEFORE
    _LOGGERS_BEFORE = set(logging.Logger.manager.loggerDict)
    root = logging.getLogger()
    handler = logging.FileHandler(run_dir / "sim.log", mode="w")
    if root.handlers and root.handlers[0].formatter is not None:
        handler.setFormatter(root.handlers[0].formatter)
    for lg in _log_roots():
        lg.addHandler(handler)
    # pyuvm gives every component a logger that does not propagate, with its own handler on the
    # sys.stdout of the moment it is built (the env is built inside the run): the run's log gets those
    global _STDOUT
    _STDOUT = sys.stdout
    sys.stdout = _Tee(handler.stream, _STDOUT)
    window_probe.LAST.clear()
    status, message, t0 = "pass", "", time.monotonic()
    try:
        await _test_body(spec)(dut)
    except AssertionError as exc:
        status, message = "fail", f"{spec['test']}: {str(exc).strip()}"
    except BaseException as exc:  # noqa: BLE001 - cancelled (a task of the run raised) or anything else
        excs = [e for e in _abort_exception() if e is not exc] or [exc]
        status = "fail"
        message = f"{spec['test']}: " + "; ".join(str(e).strip() or type(e).__name__ for e in excs)
        _write_result(run_dir, spec, status, message, t0, handler)
        raise
    _write_result(run_dir, spec, status, message, t0, handler)


def _log_roots() -> list[logging.Logger]:
    """The loggers a run's sim.log listens to: the root, and pyuvm's ``uvm`` logger, which does not
    propagate to the root (every component's messages end there)."""
    uvm = logging.getLogger("uvm")
    return [logging.getLogger()] + ([uvm] if not uvm.propagate else [])


class _Tee:
    """A text stream that writes to the run's log and to the worker's own output (its log tail is what a
    crash leaves)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self):
        for s in self.streams:
            s.flush()

    def __getattr__(self, name):
        return getattr(self.streams[-1], name)


_STDOUT = None


def _write_result(run_dir, spec, status, message, t0, handler) -> None:
    global _STDOUT
    if _STDOUT is not None:
        sys.stdout.flush()
        sys.stdout = _STDOUT
        _STDOUT = None
    for lg in _log_roots():
        lg.removeHandler(handler)
    handler.close()
    _detach_error_counters()
    if _LOGGERS_BEFORE is not None:
        _drop_loggers(_LOGGERS_BEFORE)
    _finish_trace(run_dir, bool(spec.get("trace")))
    (run_dir / "result.json").write_text(json.dumps({"status": status, "message": message,
                                                     "body_s": round(time.monotonic() - t0, 3),
                                                     "window_s": window_probe.LAST.get("window_s")}))
    os.chdir(_BASE_CWD)


async def _slot(dut) -> None:
    if _DONE:
        return
    ch = _channel()
    spec = ch.next_spec()
    if spec is None:
        _end_regression()
        return
    ch.say(f"start {spec['id']}")
    try:
        await run_spec(dut, spec)
    finally:
        ch.say(f"end {spec['id']}")


def _make_slot(i: int):
    async def slot(dut):
        await _slot(dut)

    slot.__name__ = slot.__qualname__ = f"run_{i:05d}"
    return cocotb.test()(slot)


for _i in range(int(os.environ.get("REDMULE_WORKER_SLOTS", "64"))):
    globals()[f"run_{_i:05d}"] = _make_slot(_i)
