"""Cheap integer reads of the harness's pins, for the components that read them at every access.

cocotb's ``handle.value`` builds a LogicArray from the simulator's bit string and converts it
(about 5 us a read). The simulator is 2-state (Verilator: no X, no Z), so a pin reads as an integer
straight from cocotb's simulator object (``handle._handle``, cocotb 2.1 as pinned in pyproject):
``get_signal_val_long`` for pins of up to 32 bits (it returns a 32-bit pin signed: masked here),
the bit string parsed by ``int`` for wider ones. A handle without that interface (another cocotb, a
stand-in in unit tests) reads through ``.value``.
"""

from __future__ import annotations

from typing import Callable


def int_reader(handle) -> Callable[[], int]:
    """A function of no arguments that returns the pin's current value as an unsigned int."""
    raw = getattr(handle, "_handle", None)
    if raw is None or not hasattr(raw, "get_signal_val_long"):
        return lambda: int(handle.value)
    width = len(handle)
    if width <= 32:
        get, mask = raw.get_signal_val_long, (1 << width) - 1
        return lambda: get() & mask
    get_bits = raw.get_signal_val_binstr
    return lambda: int(get_bits(), 2)
