"""Fails the test on any violation of the port rules the harness checks every cycle.

The rules (spec section 2), each a check of its own (its id is the rule name):
RQ-3 stability while waiting for a grant, RQ-4 no retire before the grant,
ALIGN word-aligned addresses, RESP a load response is never held back
(tcdm_r_ready_o high when it comes), COMB request outputs not combinational
on tcdm_gnt_i or tcdm_r_valid_i (the harness drives decoys in the first half
of each cycle and compares), BUSY busy_o against the job state. The harness
reports each broken rule with its cycle and values through the TCDM trace;
this component turns them into test errors. That nothing is lost on the way
is the TCDM monitor's cross-check (``TRACE``: the harness counts violations
too).
"""

from __future__ import annotations

from redmule_verif.env.analysis import analysis_imp
from redmule_verif.env.component import Component

#: the harness's rules, each a check (tests/env/test_check_table.py keeps them equal to the harness)
CHECKS = RULES = ("RQ-3", "RQ-4", "ALIGN", "RESP", "COMB", "BUSY")


class ProtocolChecker(Component):
    def build_phase(self):
        self.violation_export = analysis_imp("violation_export", self, self.write_violation)
        self.violations = []

    def write_violation(self, v):
        self.violations.append(v)
        self.check_error(v.rule, f"PROTOCOL {v.rule} violated in cycle {v.cycle}: {v.text}", cycle=v.cycle)
