"""The environment's clock: its period, and waiting n cycles with three wake-ups instead of n.

cocotb's ``ClockCycles(clk, n)`` wakes Python at every one of the n edges. Waits of tens to
hundreds of cycles (status polling that backs off, control events timed into a job, retry gaps)
made up most of a short run's wake-ups. :func:`cycles` lands on the same rising edge (the n-th
after now) with a Timer across the middle of the wait: the first rising edge, a timer to the
falling edge before the n-th, then the n-th rising edge. It relies on the clock being the
environment's own free-running clock of :data:`CLOCK_PERIOD_NS` (started by the base test, never
stopped or changed during a test).
"""

from __future__ import annotations

from cocotb.triggers import ClockCycles, RisingEdge, Timer, Waitable

#: the period of the environment's clock on ``clk_i`` (ns)
CLOCK_PERIOD_NS = 2


class cycles(Waitable["cycles"]):  # noqa: N801 (used like cocotb's ClockCycles, also inside First)
    """``await cycles(clk, n)`` returns at the n-th rising edge of ``clk`` after now, as
    ``await ClockCycles(clk, n)`` does, with at most three wake-ups."""

    def __init__(self, clk, n: int) -> None:
        self.clk, self.n = clk, int(n)

    async def _wait(self) -> "cycles":
        clk, n = self.clk, self.n
        if n <= 3:
            await ClockCycles(clk, n)
            return self
        await RisingEdge(clk)
        # from this edge to the falling edge before the n-th: n - 1.5 periods
        await Timer((2 * n - 3) * CLOCK_PERIOD_NS * 500, unit="ps")
        await RisingEdge(clk)
        return self
