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
#: (a list by word index, None until first used)
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
        n = len(self.handle)
        key = id(self._raw_array)
        if key not in _WORD_HANDLES or _WORD_HANDLES[key][0] is not self._raw_array:
            _WORD_HANDLES[key] = (self._raw_array, [None] * n)  # the array is kept: its id is never reused
        self._raw = _WORD_HANDLES[key][1]
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
        n = len(buf)
        self._check(addr, n, "backdoor write")
        if n == 0:
            return
        off = addr - self.base
        w0, w1 = off // 4, (off + n + 3) // 4
        head, tail = off % 4, (off + n) % 4
        words = np.zeros(w1 - w0, np.uint32)
        # only a first or last word the bytes cover in part keeps bytes of its own: read those alone
        if head or tail:
            if w1 - w0 == 1:
                words[0] = self._read_words(w0, w1)[0]
            else:
                if head:
                    words[0] = self._read_words(w0, w0 + 1)[0]
                if tail:
                    words[-1] = self._read_words(w1 - 1, w1)[0]
        words.view(np.uint8)[head: head + n] = buf
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

    def _handles(self, w0: int, w1: int) -> list:
        """The simulator's handles of words w0 .. w1-1 (fetched once per process, on first use)."""
        hs = self._raw[w0:w1]
        if None in hs:
            get = self._raw_array.get_handle_by_index
            for j, h in enumerate(hs):
                if h is None:
                    hs[j] = self._raw[w0 + j] = get(w0 + j)
        return hs

    def _read_words(self, w0: int, w1: int) -> np.ndarray:
        pending = self._pending_now()
        if self._raw_array is None:
            h = self.handle
            return np.array([pending[i] if i in pending else int(h[i].value) for i in range(w0, w1)], np.uint32)
        # the simulator interface returns the 32-bit word signed: int64 -> uint32 keeps its 32 bits
        hs = self._handles(w0, w1)
        if pending:
            vals = [pending[i] if i in pending else h.get_signal_val_long() for i, h in zip(range(w0, w1), hs)]
        else:
            vals = [h.get_signal_val_long() for h in hs]
        return np.array(vals, np.int64).astype(np.uint32)

    def _write_words(self, w0: int, words: np.ndarray) -> None:
        pending = self._pending_now()
        vals = words.tolist()
        w1 = w0 + len(vals)
        if self._raw_array is None:
            h = self.handle
            for i, v in zip(range(w0, w1), vals):
                h[i].value = v
        else:
            for h, v in zip(self._handles(w0, w1), vals):
                h.set_signal_val_int(0, v)  # 0: deposit, like `.value =`
        pending.update(zip(range(w0, w1), vals))
