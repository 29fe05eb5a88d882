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
negative control can prove that exactly its own check fired.
"""

from __future__ import annotations

import collections
import logging

from pyuvm import uvm_agent, uvm_component, uvm_driver, uvm_env, uvm_test


#: check id -> times it fired in this test (reset by the base test at build)
FIRED: collections.Counter = collections.Counter()
REPORT_LIMIT = 5


def reset_fired():
    FIRED.clear()


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

    def check_error(self, check: str, msg: str, limit: int = REPORT_LIMIT) -> None:
        """Check ``check`` fired: log ``msg`` as an error (the first ``limit`` times, then once a note)."""
        FIRED[check] += 1
        n = FIRED[check]
        if n <= limit:
            self.logger.error(msg)
        elif n == limit + 1:
            self.logger.error("%s: further failures of this check are counted, not listed", check)


class Component(PathLogged, uvm_component):
    pass


class Agent(PathLogged, uvm_agent):
    pass


class Driver(PathLogged, uvm_driver):
    pass


class Env(PathLogged, uvm_env):
    pass


class Test(PathLogged, uvm_test):
    pass
