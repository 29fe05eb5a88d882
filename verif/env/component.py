"""Logger names that are component paths, for every environment component.

pyuvm 5 names a component's logger ``full_name + str(id(self))``
(``uvm_object.get_initial_logger_name``), so every message a user reads would
carry a Python object id (``[uvm.uvm_test_top.env.watchdog140573214952272]``).
:class:`PathLogged` is the one override: the logger is named by the UVM path
only. A logger left over under the same name by an earlier test in the same
process loses pyuvm's default stream handler first, so nothing prints twice.
Every component of the environment derives from one of the classes below.

Every error a check reports goes through :meth:`PathLogged.check_error` with
the check's id (a row of ``checkers/CHECKS.yaml``): the message is logged as
an error (the first ``limit`` of each check; the rest are counted), and the
run's summary lists how often each check fired (``checks_fired``), so a
negative control can prove that exactly its own check fired. Each report is
also kept structured (``DETAIL``: check, cycle, job, the attributes that
separate causes) for triage, which buckets runs by root cause.

Waivers (``REDMULE_WAIVE``, a JSON object check -> reason, from ``--waive
CHECK:REASON``) demote a check to a warning, as UVM's report catchers do: it
is counted in ``WAIVED`` and reported as waived, never silently dropped.
"""

from __future__ import annotations

import collections
import json
import logging
import os

import cocotb

from pyuvm import uvm_agent, uvm_component, uvm_env, uvm_test
from pyuvm import _s06_reporting_classes as _pyuvm_reporting


_PyuvmFormatter = getattr(_pyuvm_reporting.PyuvmFormatter, "_deferred", _pyuvm_reporting.PyuvmFormatter)


class _LazyPyuvmFormatter(_PyuvmFormatter):
    """pyuvm's per-component log formatter, set up when it first formats a message.

    pyuvm gives every component its own formatter, and cocotb's formatter compiles its prefix with
    ``eval`` when it is made: about 85 components a test, 10 % of the cost of building the environment,
    for formatters that most components never use. This one defers that set-up to its first message
    (same output); it replaces the class pyuvm's ``uvm_report_object`` instantiates.
    """

    _deferred = _PyuvmFormatter

    def __init__(self, full_name):  # noqa: super().__init__ is deferred on purpose
        self.full_name = full_name
        self._ready = False

    def format(self, record):
        if not self._ready:
            _PyuvmFormatter.__init__(self, self.full_name)
            self._ready = True
        return super().format(record)


_pyuvm_reporting.PyuvmFormatter = _LazyPyuvmFormatter


#: check id -> times it fired in this test (reset by the base test at build)
FIRED: collections.Counter = collections.Counter()
#: check id -> times it fired while waived
WAIVED: collections.Counter = collections.Counter()
#: structured reports: {check, message, cycle, job, attrs, waived}, the first REPORT_LIMIT of each check
DETAIL: list = []
#: check id -> reason (REDMULE_WAIVE)
WAIVERS: dict = {}
REPORT_LIMIT = 5


def reset_fired():
    FIRED.clear()
    WAIVED.clear()
    DETAIL.clear()
    WAIVERS.clear()
    WAIVERS.update(json.loads(os.environ.get("REDMULE_WAIVE") or "{}"))


def _cycle():
    try:
        return int(cocotb.top.cycle_o.value)
    except Exception:  # no simulator (unit tests) or a top without the harness's cycle counter
        return None


class PathLogged:
    """Mixin: the component's logger is ``uvm.<full UVM path>``; checks report through check_error."""

    def get_initial_logger_name(self):
        name = self.get_full_name()
        old = logging.Logger.manager.loggerDict.get("uvm." + name)
        if isinstance(old, logging.Logger):
            for h in list(old.handlers):
                if getattr(h, "_pyuvm_object_default_handler", False):
                    old.removeHandler(h)
        return name

    def check_error(self, check: str, msg: str, limit: int = REPORT_LIMIT, job=None, cycle=None, **attrs) -> None:
        """Check ``check`` fired: log ``msg`` as an error (the first ``limit`` times, then once a note).

        ``job``: the index of the job it concerns; ``cycle``: the cycle the violation happened in (default:
        now; checks that learn of it later pass it, triage orders root causes by it); ``attrs``: what
        separates its cause (triage).
        """
        waived = WAIVERS.get(check)
        counter = WAIVED if waived else FIRED
        counter[check] += 1
        n = counter[check]
        if n <= limit or (job is not None and not any(d["check"] == check and d["job"] == job for d in DETAIL)):
            DETAIL.append({"check": check, "message": msg.splitlines()[0][:400] if msg else "", "cycle": _cycle() if cycle is None else int(cycle),
                           "job": job, "attrs": attrs, "waived": waived})
        if waived:
            if n <= limit:
                self.logger.warning("WAIVED %s (%s): %s", check, waived, msg)
            return
        if n <= limit:
            self.logger.error(msg)
        elif n == limit + 1:
            self.logger.error("%s: further failures of this check are counted, not listed", check)


class Component(PathLogged, uvm_component):
    pass


class Agent(PathLogged, uvm_agent):
    pass


class Env(PathLogged, uvm_env):
    pass


class Test(PathLogged, uvm_test):
    pass
