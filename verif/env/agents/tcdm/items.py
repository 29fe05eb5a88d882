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
