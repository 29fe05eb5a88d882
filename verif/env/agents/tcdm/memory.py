"""The cluster's L1 (TCDM) as the environment sees it: backdoor access by bytes.

The words live in the harness (``mem`` in redmule_harness.sv), which serves
the DUT's wide port every cycle; this class is the Python side: backdoor
reads and writes of byte ranges for sequences and checks, bounds checks with
clear errors, and a numpy view of what it wrote. Addresses are byte addresses
in [base, base + size).
"""

from __future__ import annotations

import numpy as np
from cocotb.simtime import get_sim_time


#: word handles per memory array of the simulator, for the life of the process: a batch worker builds a
#: new environment for every run on the same simulator, and fetching a word's handle costs ~12 us
_WORD_HANDLES: dict[int, tuple] = {}


class MemoryRangeError(ValueError):
    """An access or a job outside the configured memory."""


class TcdmMemory:
    def __init__(self, dut, base: int, size: int):
        self.dut = dut
        self.base = base
        self.size = size
        self.handle = dut.mem
        # words written in the current time step: the simulator shows them only once time
        # moves on, so reads (and read-modify-writes of shared boundary words) overlay them
        self._pending = {}
        self._pending_time = None
        # word handles of the simulator's own interface (cocotb 2.1, pinned): the public
        # handle API costs ~35 us a word in handle creation and logging, this ~10 us
        self._raw_array = getattr(self.handle, "_handle", None)
        key = id(self._raw_array)
        if key not in _WORD_HANDLES or _WORD_HANDLES[key][0] is not self._raw_array:
            _WORD_HANDLES[key] = (self._raw_array, {})  # the array is kept: its id is never reused
        self._raw = _WORD_HANDLES[key][1]
        n = len(self.handle)
        if n * 4 != size:
            raise MemoryRangeError(f"the harness memory has {n * 4} bytes but the environment expects {size}: "
                                   f"build and configure with the same MEM_WORDS")

    def _check(self, addr: int, nbytes: int, what: str):
        if addr < self.base or addr + nbytes > self.base + self.size:
            raise MemoryRangeError(
                f"{what} [{addr:#x}, {addr + nbytes:#x}) lies outside the TCDM [{self.base:#x}, "
                f"{self.base + self.size:#x}) ({self.size} bytes): use a larger memory or other bases")

    def write(self, addr: int, data: bytes | np.ndarray) -> None:
        """Backdoor write of raw bytes (a numpy array is written in its native little-endian bytes)."""
        buf = np.ascontiguousarray(data).view(np.uint8).reshape(-1) if isinstance(data, np.ndarray) \
            else np.frombuffer(bytes(data), dtype=np.uint8)
        self._check(addr, len(buf), "backdoor write")
        if len(buf) == 0:
            return
        off = addr - self.base
        w0, w1 = off // 4, (off + len(buf) + 3) // 4
        words = self._read_words(w0, w1) if (off % 4 or (off + len(buf)) % 4) else np.zeros(w1 - w0, np.uint32)
        as_bytes = words.view(np.uint8)
        as_bytes[off - 4 * w0: off - 4 * w0 + len(buf)] = buf
        self._write_words(w0, words)

    def read(self, addr: int, nbytes: int) -> np.ndarray:
        """Backdoor read of ``nbytes`` bytes as a uint8 array."""
        self._check(addr, nbytes, "backdoor read")
        if nbytes == 0:
            return np.zeros(0, np.uint8)
        off = addr - self.base
        w0, w1 = off // 4, (off + nbytes + 3) // 4
        return self._read_words(w0, w1).view(np.uint8)[off - 4 * w0: off - 4 * w0 + nbytes].copy()

    def read_array(self, addr: int, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        n = int(np.prod(shape)) * dtype.itemsize
        return self.read(addr, n).view(dtype).reshape(shape)

    def fill(self, value: int = 0) -> None:
        """Set every word (backdoor), e.g. to a pattern that makes stray stores visible."""
        self._write_words(0, np.full(self.size // 4, value, dtype=np.uint32))

    # -- word access through the simulator
    def _pending_now(self) -> dict:
        now = get_sim_time()
        if now != self._pending_time:
            self._pending, self._pending_time = {}, now
        return self._pending

    def _word(self, i: int):
        h = self._raw.get(i)
        if h is None:
            h = self._raw[i] = self._raw_array.get_handle_by_index(i)
        return h

    def _read_words(self, w0: int, w1: int) -> np.ndarray:
        pending = self._pending_now()
        if self._raw_array is None:
            h = self.handle
            vals = (pending[i] if i in pending else int(h[i].value) for i in range(w0, w1))
        else:  # the simulator interface returns the 32-bit word signed
            vals = (pending[i] if i in pending else self._word(i).get_signal_val_long() & 0xFFFFFFFF
                    for i in range(w0, w1))
        return np.fromiter(vals, dtype=np.uint32, count=w1 - w0)

    def _write_words(self, w0: int, words: np.ndarray) -> None:
        pending = self._pending_now()
        for i, v in enumerate(words.tolist(), w0):
            if self._raw_array is None:
                self.handle[i].value = v
            else:
                self._word(i).set_signal_val_int(0, v)  # 0: deposit, like `.value =`
            pending[i] = v
