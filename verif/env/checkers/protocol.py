"""Fails the test on any TCDM protocol violation (spec section 2: RQ-3, RQ-4, alignment).

The harness checks the rules every cycle and reports each broken rule with its
cycle and values; this component turns them into test errors, and at the end
cross-checks the harness's violation counter so that nothing is missed.
"""

from __future__ import annotations

from pyuvm import uvm_component

from redmule_verif.env.analysis import analysis_imp

MAX_REPORTS = 5


class ProtocolChecker(uvm_component):
    def build_phase(self):
        self.dut = self.cdb_get("dut")
        self.violation_export = analysis_imp("violation_export", self, self.write_violation)
        self.violations = []

    def write_violation(self, v):
        self.violations.append(v)
        if len(self.violations) <= MAX_REPORTS:
            self.logger.error("PROTOCOL %s violated in cycle %d: %s", v.rule, v.cycle, v.text)

    def check_phase(self):
        counted = int(self.dut.proto_errs_o.value)
        if counted != len(self.violations):
            self.logger.error("PROTOCOL the harness counted %d violations, %d were reported", counted,
                              len(self.violations))
