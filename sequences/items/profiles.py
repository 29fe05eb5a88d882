"""Stimulus knobs a job carries besides its data: the TCDM grant profile and control events."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from redmule_verif.model.encoding import CONTROL_KINDS, CONTROL_PHASES, GRANT_KINDS

from .checks import check_choice, check_int, check_keys, check_real, int_or_str

__all__ = ["GrantProfile", "ControlEvent", "default_grant"]


@dataclass
class GrantProfile:
    """How the memory model grants the DUT's TCDM requests during a job.

    kind:
      ``"always"``  grant every request at once.
      ``"random"``  grant with probability ``p`` each cycle.
      ``"bursty"``  alternate granting / refusing phases with mean lengths
                    ``on`` / ``off`` cycles (geometric lengths).
      ``"banks"``   ``n_cores`` cluster cores each access one 32-bit word of a
                    random bank (of ``n_banks`` word-interleaved banks) with
                    probability ``core_rate`` per cycle; the DUT is refused while
                    a core holds a bank its access needs.
    max_stall: 0 = unlimited; else a grant is forced after that many
    consecutive refused cycles. seed: the memory model's grant stream.
    """

    kind: str
    p: float = 0.5
    on: int = 16
    off: int = 4
    core_rate: float = 0.25
    n_banks: int = 16
    n_cores: int = 8
    max_stall: int = 0
    seed: int = 0

    def __post_init__(self):
        o = "GrantProfile"
        self.kind = check_choice(o, "kind", self.kind, GRANT_KINDS)
        self.p = check_real(o, "p", self.p, 0.0, 1.0)
        self.on = check_int(o, "on", self.on, 1)
        self.off = check_int(o, "off", self.off, 0)
        self.core_rate = check_real(o, "core_rate", self.core_rate, 0.0, 1.0)
        self.n_banks = check_int(o, "n_banks", self.n_banks, 1, 1 << 16)
        self.n_cores = check_int(o, "n_cores", self.n_cores, 0, 1024)
        self.max_stall = check_int(o, "max_stall", self.max_stall, 0)
        self.seed = check_int(o, "seed", self.seed, 0, (1 << 64) - 1)
        if self.kind == "random" and self.p == 0.0 and self.max_stall == 0:
            raise ValueError(
                "GrantProfile: kind 'random' with p = 0 never grants: use p in (0, 1], "
                "or set max_stall > 0 to force grants"
            )
        if self.kind == "banks" and self.core_rate == 1.0 and self.n_cores >= self.n_banks and self.max_stall == 0:
            raise ValueError(
                "GrantProfile: kind 'banks' with core_rate = 1 and n_cores >= n_banks may never "
                "grant: use core_rate in [0, 1) or set max_stall > 0"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d) -> "GrantProfile":
        names = [f.name for f in dataclasses.fields(cls)]
        check_keys("GrantProfile", d, names, ("kind",))
        return cls(**{k: (int_or_str(v) if k not in ("kind",) else v) for k, v in d.items()})

    def summary(self) -> str:
        if self.kind == "always":
            s = "always"
        elif self.kind == "random":
            s = f"random(p={self.p:g})"
        elif self.kind == "bursty":
            s = f"bursty(on={self.on},off={self.off})"
        else:
            s = f"banks(rate={self.core_rate:g},banks={self.n_banks},cores={self.n_cores})"
        if self.max_stall:
            s += f"[max_stall={self.max_stall}]"
        return s


@dataclass
class ControlEvent:
    """A SOFT_CLEAR or reset injected during the job that carries it (the victim).

    kind: ``"soft_clear"`` writes 0 to SOFT_CLEAR (also clears the job
    registers, FINISHED and the job-id counter); ``"soft_clear_keep"`` writes a
    non-zero value (aborts only); ``"reset"`` pulses rst_ni.
    phase: ``"idle"`` = after the job is acquired and programmed, before its
    TRIGGER write (its RESERVED context is dropped: TRIGGER then does
    nothing); ``"load"`` / ``"compute"`` / ``"store"`` = while the job loads,
    computes, stores (the environment defines the exact phase points, e.g. the
    first granted load, the first cycle after the first tile's loads, the first
    granted store). delay: extra cycles after the phase point.
    Every event aborts the victim: its result is not checked, no event expected.
    """

    kind: str
    phase: str
    delay: int = 0

    def __post_init__(self):
        self.kind = check_choice("ControlEvent", "kind", self.kind, CONTROL_KINDS)
        self.phase = check_choice("ControlEvent", "phase", self.phase, CONTROL_PHASES)
        self.delay = check_int("ControlEvent", "delay", self.delay, 0, 1 << 31)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d) -> "ControlEvent":
        check_keys("ControlEvent", d, ("kind", "phase", "delay"), ("kind", "phase"))
        return cls(**{k: (int_or_str(v) if k == "delay" else v) for k, v in d.items()})

    def summary(self) -> str:
        return f"{self.kind}@{self.phase}" + (f"+{self.delay}" if self.delay else "")



def default_grant() -> GrantProfile:
    """The profile of a job that names none: grant every request at once."""
    return GrantProfile("always")
