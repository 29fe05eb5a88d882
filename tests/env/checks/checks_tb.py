"""Tests of the environment's own checkers, on the fixture DUT (tests/fixtures/fixture_dut.sv).

The fixture computes exactly one thing right: a 1x1x1 FP16 MATMUL of x = +0
(it stores +0 into Z). ``fixture_jobs`` runs two such jobs from two cores;
the pytest side selects a fixture bug by plusarg and a grant profile by knob
and checks which failure the environment reports.
"""

import cocotb
import numpy as np

from redmule_verif.env.base_test import BaseTest, run_uvm_test
from redmule_verif.sequences.items.job import GemmJob, GrantProfile


class FixtureJobs(BaseTest):
    def make_jobs(self):
        b = self.cfg.mem.base
        grant = GrantProfile(self.cfg.knobs.get("grant", "always"), p=0.3, seed=7)
        x = np.zeros((1, 1), np.uint16)
        w = np.full((1, 1), 0x3C00, np.uint16)
        return [GemmJob("MATMUL", "FP16", 1, 1, 1, b + 0x100, b + 0x200, b + 0x300, core=c, x=x, w=w, grant=grant)
                for c in (2, 5)]


@cocotb.test()
async def fixture_jobs(dut):
    await run_uvm_test(FixtureJobs)
