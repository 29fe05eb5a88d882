"""The build's engine and memory, as the job items see them: ``EngineConfig``, ``MemoryConfig``."""

from __future__ import annotations

from dataclasses import dataclass

from redmule_verif.model.encoding import MEM_BASE, MEM_BYTES
from redmule_verif.model.timing import CYCLE_OVERHEAD, expected_cycles

from .checks import ADDR_LIMIT, check_int, check_keys, int_or_str
from .serialise import format_job

__all__ = ["MemoryConfig", "EngineConfig"]


@dataclass(frozen=True)
class MemoryConfig:
    """The TCDM window the memory model serves: [base, base + size)."""

    base: int = MEM_BASE
    size: int = MEM_BYTES

    MAX_SIZE = 16 * 1024 * 1024

    def __post_init__(self):
        b = check_int("MemoryConfig", "base", self.base, 0, ADDR_LIMIT - 4)
        s = check_int("MemoryConfig", "size", self.size, 4, self.MAX_SIZE)
        if b % 4:
            raise ValueError(f"MemoryConfig.base = {b:#x} must be word aligned (a multiple of 4)")
        if s % 4:
            raise ValueError(
                f"MemoryConfig.size = {s} must be a multiple of 4 bytes (whole 32-bit words; "
                f"a power of two is not required), 4 .. {self.MAX_SIZE}"
            )
        if b + s > ADDR_LIMIT:
            raise ValueError(f"MemoryConfig: base {b:#x} + size {s} runs past 2^32")

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, start: int, end: int) -> bool:
        return end <= start or (self.base <= start and end <= self.end)

    def check_fits(self, job) -> None:
        """ValueError unless every range of the job's footprint lies in memory."""
        fp = job.footprint()
        bad = [n for n, (s, e) in fp.items() if not self.contains(s, e)]
        if bad:
            ranges = ", ".join(f"{n} [{s:#x}, {e:#x}) ({e - s} bytes)" for n, (s, e) in fp.items())
            raise ValueError(
                f"job {job.name or format_job(job)!s} does not fit memory: {', '.join(bad)} outside "
                f"[{self.base:#x}, {self.end:#x}) ({self.size} bytes = {self.size // 1024} KiB); "
                f"footprint {job.footprint_bytes()} bytes: {ranges}"
            )

    def to_dict(self) -> dict:
        return {"base": self.base, "size": self.size}

    @classmethod
    def from_dict(cls, d) -> "MemoryConfig":
        check_keys("MemoryConfig", d, ("base", "size"))
        return cls(**{k: int_or_str(v) for k, v in d.items()})


@dataclass(frozen=True)
class EngineConfig:
    """The build's array parameters. Take them from the build configuration
    (``EngineConfig.from_params(sim_config.parameters)``), never hard-code them."""

    L: int = 12
    H: int = 4
    P: int = 3
    N_CORES: int = 8

    #: fixed start/drain overhead (spec section 7)
    OVERHEAD = CYCLE_OVERHEAD

    def __post_init__(self):
        check_int("EngineConfig", "L", self.L, 1, 1024)
        check_int("EngineConfig", "H", self.H, 1, 1024)
        check_int("EngineConfig", "P", self.P, 0, 64)
        check_int("EngineConfig", "N_CORES", self.N_CORES, 1, 32)

    @classmethod
    def from_params(cls, params: dict | None) -> "EngineConfig":
        """From a build parameter dict (e.g. SimConfig.parameters); missing keys default."""
        params = dict(params or {})
        kw = {k: int(params[k]) for k in ("L", "H", "P", "N_CORES") if k in params}
        return cls(**kw)

    @property
    def tile_k(self) -> int:
        """Output columns per tile: H * (P + 1)."""
        return self.H * (self.P + 1)

    @property
    def dw(self) -> int:
        """TCDM data width in bits: 16 * H * (P + 1) + 32."""
        return 16 * self.H * (self.P + 1) + 32

    @property
    def noop_cycles(self) -> int:
        return 32

    def est_cycles(self, m: int, n: int, k: int) -> int:
        """Stall-free cycles of an M x N x K job (spec section 7)."""
        if min(m, n, k) <= 0:
            return self.noop_cycles
        return expected_cycles(m, n, k, self.L, self.H, self.P)

    def check_job(self, job) -> None:
        if job.core >= self.N_CORES:
            raise ValueError(f"job {format_job(job)}: core {job.core} out of range 0..{self.N_CORES - 1}")

    def to_dict(self) -> dict:
        return {"L": self.L, "H": self.H, "P": self.P, "N_CORES": self.N_CORES}
