"""The cocotb test module of the environment: one pyuvm test per library sequence.

Every sequence of ``redmule_verif.sequences.library`` is a test of the same
name, built on :class:`BaseTest`; select one with cocotb's test filter (the
runner does it: ``redmule-verif run TEST --seed S``). Knobs reach the
sequence through REDMULE_KNOBS.
"""

from __future__ import annotations

import cocotb

from redmule_verif.base_test import BaseTest, run_uvm_test
from redmule_verif.sequences.library import SEQUENCES


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
