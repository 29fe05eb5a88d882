"""Samples functional coverage from the environment's transactions.

A subscriber of the job records, the scoreboard's results, the register
monitor and the event monitor, feeding :class:`RedmuleCoverage`; at the end
of the test the run's coverage is written to ``coverage.json`` in the test
directory, from which a regression merges all runs.
"""

from __future__ import annotations

import os



from redmule_verif.env.component import Component
from redmule_verif.env import reg_model as R
from redmule_verif.env.analysis import analysis_imp
from redmule_verif.coverage.redmule_cov import RedmuleCoverage, zero_job_reasons


class CoverageCollector(Component):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.job_export = analysis_imp("job_export", self, self.write_job)
        self.result_export = analysis_imp("result_export", self, self.write_result)
        self.periph_export = analysis_imp("periph_export", self, self.write_periph)
        self.evt_export = analysis_imp("evt_export", self, self.write_event)
        self.model = RedmuleCoverage(self.cfg.eng)
        self.outstanding = 0

    def write_job(self, rec):
        if rec.state == "triggered":
            self.model.sample_queue(min(1, self.outstanding))
            self.outstanding += 1
            self.model.sample_grant(rec.job.grant.kind, rec.job.op)
        elif rec.state in ("aborted", "done"):
            self.outstanding = max(0, self.outstanding - 1)

    def write_result(self, result):
        rec, passed = result
        if rec.zero_job:
            for reason in zero_job_reasons(rec.job):
                self.model.sample_zero_job(reason)
            return
        if passed:  # a job is covered only when its result was right
            self.model.sample_job(rec.job, rec.x, rec.w, rec.y, rec.expected)

    def write_periph(self, item):
        off = item.offset & 0x3FF
        self.model.sample_reg(off & 0xFF, item.write, ctx=off >> 8, be=item.be,
                              value=item.data if item.write else item.rdata)
        if not item.write and off == R.ACQUIRE and item.rdata is not None:
            self.model.sample_acquire(item.rdata)
            if item.rdata < 0x100:
                self.model.sample_core(item.core, "acquire")
        if item.write and off == R.TRIGGER and item.data == 0:
            self.model.sample_core(item.core, "trigger")

    def write_event(self, pulse):
        if pulse.bit == 0:
            self.outstanding = max(0, self.outstanding - 1)
            if pulse.core < self.cfg.eng.N_CORES:
                self.model.sample_core(pulse.core, "event")

    # hooks the job sequence calls
    def control(self, kind, phase):
        self.model.sample_control(kind, phase)

    def report_phase(self):
        path = os.path.join(self.cfg.out_dir, "coverage.json")
        self.model.save(path, run={"test": self.cfg.test, "seed": self.cfg.seed})
        self.logger.info("coverage written to %s (closure %.1f%% in this run)", path, 100 * self.model.closure())
