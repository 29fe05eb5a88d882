"""Configuration of the TCDM agent: the memory window, the trace, the memory's answers."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class TcdmAgentConfig:
    base: int                 # first byte address of the L1
    size: int                 # bytes
    trace_path: str           # the harness's access trace (+tcdm_log=PATH), read by the monitor
    width_bytes: int          # bytes of one wide access (DW / 8)
    store_resp: bool = True   # the memory answers stores with r_valid too (the DUT must ignore it)
