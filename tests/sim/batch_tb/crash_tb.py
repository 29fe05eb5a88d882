"""Tests that kill the simulator process in the middle of a batch (the batch worker's crash path)."""

import os
import signal

import cocotb


@cocotb.test()
async def segfault(dut):
    """The simulator dies of a segmentation fault (as a crashing DPI call or simulator bug would)."""
    os.kill(os.getpid(), signal.SIGSEGV)


@cocotb.test()
async def exit_now(dut):
    """The process exits in the middle of a run (as $fatal or an error outside any test does)."""
    os._exit(3)
