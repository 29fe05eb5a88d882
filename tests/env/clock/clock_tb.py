"""``cycles(clk, n)`` lands where ``ClockCycles(clk, n)`` lands, from any point of a cycle.

The clock is started as the base test starts it. From each start point (right after a rising edge,
after a falling edge, in the read-only phase, after a timer between edges) both waits start in the
same time step and each notes the time it returned; the times must be equal for every n.
"""

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer

from redmule_verif.env.clock import CLOCK_PERIOD_NS, cycles

COUNTS = [*range(0, 24), 37, 100, 257]


async def _land(wait, out):
    await wait
    out.append(get_sim_time("ps"))


@cocotb.test()
async def cycles_equivalence(dut):
    cocotb.start_soon(Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start())
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 3)
    starts = {
        "rising": lambda: RisingEdge(dut.clk_i),
        "falling": lambda: FallingEdge(dut.clk_i),
        "read-only": lambda: ReadOnly(),
        "timer 250 ps": lambda: Timer(250, "ps"),
        "timer 1250 ps": lambda: Timer(1250, "ps"),
    }
    checked = 0
    for name, start in starts.items():
        for n in COUNTS:
            await RisingEdge(dut.clk_i)
            await start()
            a, b = [], []
            ta = cocotb.start_soon(_land(ClockCycles(dut.clk_i, n), a))
            tb = cocotb.start_soon(_land(cycles(dut.clk_i, n), b))
            await ta
            await tb
            assert a == b, f"from {name}, n={n}: ClockCycles returned at {a} ps, cycles at {b} ps"
            checked += 1
    dut._log.info("cycles == ClockCycles at %d (start point, n) pairs", checked)
