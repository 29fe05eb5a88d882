"""Transactions observed on the TCDM side: accesses, events and protocol violations."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TcdmAccess:
    """One accepted (granted) access of the DUT's wide port."""

    cycle: int
    load: bool
    addr: int          # word-aligned byte address of the first word
    be: int = 0        # store byte enables (bit i = byte addr + i)
    data: int = 0      # store data (byte i = bits 8i+7..8i)

    def store_bytes(self):
        """(address, value) of every byte a store writes."""
        be, data, addr = self.be, self.data, self.addr
        i = 0
        while be:
            if be & 1:
                yield addr + i, (data >> (8 * i)) & 0xFF
            be >>= 1
            i += 1

    def within(self, lo: int, hi: int) -> bool:
        """True when every byte this store writes lies in [lo, hi) (a store with no byte enabled: True)."""
        be = self.be
        if not be:
            return True
        return lo <= self.addr + (be & -be).bit_length() - 1 and self.addr + be.bit_length() <= hi


_new = object.__new__
_set = object.__setattr__


def new_access(cycle: int, load: bool, addr: int, be: int = 0, data: int = 0) -> TcdmAccess:
    """``TcdmAccess(cycle, load, addr, be, data)``, made without the frozen dataclass's per-field
    ``__setattr__`` (the trace monitor makes one for every access): an equal, equally frozen object."""
    acc = _new(TcdmAccess)
    _set(acc, "__dict__", {"cycle": cycle, "load": load, "addr": addr, "be": be, "data": data})
    return acc


@dataclasses.dataclass(frozen=True)
class EventPulse:
    """evt_o[core][bit] pulsed in ``cycle`` (bit 0 is the done event; bit 1 is unused by the spec)."""

    cycle: int
    core: int
    bit: int = 0


@dataclasses.dataclass(frozen=True)
class ProtocolViolation:
    cycle: int
    rule: str          # RQ-3, RQ-4, ALIGN, RESP, COMB, BUSY (the harness's rules)
    text: str
