"""Cheap plumbing of the environment: pin reads and per-component log formatters give what the slow paths give."""

from __future__ import annotations

import logging

from pyuvm import _s06_reporting_classes as pyuvm_reporting

from redmule_verif.env import component  # noqa: F401 (installs the deferred formatter)
from redmule_verif.env.pin_reader import int_reader


class _Raw:
    def __init__(self, value, width):
        self.value, self.width = value, width

    def get_signal_val_long(self):  # the simulator's 32-bit int: signed
        v = self.value & 0xFFFFFFFF
        return v - (1 << 32) if v >> 31 else v

    def get_signal_val_binstr(self):
        return format(self.value, f"0{self.width}b")


class _Pin:
    def __init__(self, value, width, raw=True):
        self.value = value
        self._width = width
        if raw:
            self._handle = _Raw(value, width)

    def __len__(self):
        return self._width


def test_int_reader_reads_narrow_wide_and_plain_pins_unsigned():
    assert int_reader(_Pin(0xDEADBEEF, 32))() == 0xDEADBEEF  # signed from the simulator, unsigned here
    assert int_reader(_Pin(1, 1))() == 1
    assert int_reader(_Pin(0x1_2345_6789, 64))() == 0x1_2345_6789
    assert int_reader(_Pin(77, 16, raw=False))() == 77


def test_deferred_formatter_formats_like_pyuvms_own():
    made = pyuvm_reporting.PyuvmFormatter("uvm_test_top.env.x")
    assert type(made).__name__ == "_LazyPyuvmFormatter"
    original = made._deferred("uvm_test_top.env.x")
    rec = logging.LogRecord("uvm.uvm_test_top.env.x", logging.ERROR, "/a/b/c.py", 12, "boom %d", (3,), None)
    rec2 = logging.LogRecord("uvm.uvm_test_top.env.x", logging.ERROR, "/a/b/c.py", 12, "boom %d", (3,), None)
    rec.created_sim_time = rec2.created_sim_time = None
    assert made.format(rec) == original.format(rec2)
    assert "[uvm_test_top.env.x]: boom 3" in made.format(rec)
