"""The cocotb test module of the environment: one pyuvm test per library sequence.

Every sequence of ``redmule_verif.sequences.library`` is a test of the same
name, built on :class:`BaseTest`; select one with cocotb's test filter (the
runner does it: ``redmule-verif run TEST --seed S``). Knobs reach the
sequence through REDMULE_KNOBS.
"""

from __future__ import annotations

import cocotb

from redmule_verif.env.base_test import BaseTest, run_uvm_test
from redmule_verif.env.seq_lib.reg_sequence import RegAccessSequence
from redmule_verif.env.seq_lib.ctrl_sequence import CtrlCrossSequence
from redmule_verif.seeding import np_rng
from redmule_verif.model.encoding import OP_NAMES
from redmule_verif.sequences.items import GemmJob
from redmule_verif.sequences.library import SEQUENCES
from redmule_verif.env.testlist import all_tests


def _make_test(name: str):
    cls = type(f"{name}_test", (BaseTest,), {"sequence_name": name, "__doc__": SEQUENCES[name].__doc__})

    async def test(dut):
        await run_uvm_test(cls)

    test.__name__ = test.__qualname__ = name
    test.__doc__ = SEQUENCES[name].__doc__
    return cls, cocotb.test()(test)


TEST_CLASSES = {}
for _name in sorted(SEQUENCES):
    TEST_CLASSES[_name], globals()[_name] = _make_test(_name)


class RegAccessTest(BaseTest):
    """Every row of the register table (spec section 3), checked by the control model."""

    sequence_class = RegAccessSequence

    def build_phase(self):
        super().build_phase()
        self.rounds = int(self.cfg.knobs.get("rounds", 3))

    def make_jobs(self):
        rounds = int(self.cfg.knobs.get("rounds", 3))
        rng = np_rng(self.cfg.seed, "reg_access.jobs")
        b, jobs = self.cfg.mem.base, []
        for r in range(rounds):
            slot = b + r * 0x4000
            jobs.append(GemmJob("GEMM", "FP16", 24, 64, 32, slot, slot + 0x1000, slot + 0x2000,
                                data_seed=int(rng.integers(1 << 32))))
            jobs.append(GemmJob(OP_NAMES[int(rng.integers(8))], "FP8", 12, 16, 16, slot + 0x3000, slot + 0x3100,
                                slot + 0x3200, data_seed=int(rng.integers(1 << 32))))
        return jobs


@cocotb.test()
async def reg_access(dut):
    """Every row of the register table (spec section 3), checked by the control model."""
    await run_uvm_test(RegAccessTest)


TEST_CLASSES["reg_access"] = RegAccessTest


class CtrlCrossTest(BaseTest):
    """Both contexts held in every state and acted on: the control-path crosses (issue 13)."""

    sequence_class = CtrlCrossSequence

    def build_phase(self):
        super().build_phase()
        self.rounds = int(self.cfg.knobs.get("rounds", 6))

    def make_jobs(self):
        rounds = int(self.cfg.knobs.get("rounds", 6))
        rng = np_rng(self.cfg.seed, "ctrl_cross.jobs")
        b, jobs = self.cfg.mem.base, []
        for _ in range(rounds):
            for slot in range(3):
                at = b + slot * 0x2800
                fmt = "FP16" if slot == 0 or rng.random() < 0.5 else ("FP8", "FP8ALT")[int(rng.integers(2))]
                m = 24 if slot == 0 else int(rng.integers(1, 25))
                n = 32 if slot == 0 else int(rng.integers(1, 33))
                k = 64 if slot == 0 else int(rng.integers(1, 65))
                op = "GEMM" if slot == 0 else OP_NAMES[int(rng.integers(8))]
                jobs.append(GemmJob(op, fmt, m, n, k, at, at + 0x800, at + 0x1800,
                                    data_seed=int(rng.integers(1 << 32))))
        return jobs


@cocotb.test()
async def ctrl_cross(dut):
    """Both contexts held in every state and acted on: the control-path crosses (issue 13)."""
    await run_uvm_test(CtrlCrossTest)


TEST_CLASSES["ctrl_cross"] = CtrlCrossTest
assert set(TEST_CLASSES) == set(all_tests()), "verif/testlist.py must name every test of this module"
