"""A register-port access of one cluster core: the item the register agents carry."""

from __future__ import annotations


class PeriphItem:
    """One access to the accelerator's register window.

    ``offset`` is the byte offset in the 1 KiB window (context select in bits
    9:8), ``write`` selects a write (periph_wen_i = 0), ``core`` the requesting
    core (periph_id_i = 1 << core). After the access, ``rdata`` holds the
    read data and ``cycle`` the cycle of the response.

    A plain object, not a pyuvm ``uvm_sequence_item``: the sequencer hands it
    straight to the arbiter (:class:`PeriphSequencer`), so the three cocotb
    events a ``uvm_sequence_item`` carries for pyuvm's sequencer-driver
    handshake would be made and never used, about 20,000 times a smoke suite.
    ``parent_sequence_id`` is the one attribute a pyuvm sequence sets on it.
    """

    __slots__ = ("name", "offset", "write", "data", "be", "core", "rdata", "rid", "cycle", "parent_sequence_id")

    def __init__(self, name="periph_item", offset=0, write=False, data=0, be=0xF, core=0):
        self.name = name
        self.offset = offset
        self.write = write
        self.data = data
        self.be = be
        self.core = core
        self.rdata = None
        self.rid = None
        self.cycle = None
        self.parent_sequence_id = None

    def get_name(self) -> str:
        return self.name

    def __str__(self):
        kind = f"W {self.data:#010x} be={self.be:x}" if self.write else f"R -> {self.rdata if self.rdata is None else hex(self.rdata)}"
        return f"core{self.core} @{self.offset:#05x} {kind} (cycle {self.cycle})"
