"""Field checks shared by the job items: one clear ValueError per illegal value."""

from __future__ import annotations

import math
import numbers
from typing import Iterable

#: byte addresses are 32-bit
ADDR_LIMIT = 1 << 32


def is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_int(owner: str, name: str, v, lo: int, hi: int | None = None) -> int:
    if not is_int(v):
        raise ValueError(f"{owner}.{name} must be an integer, got {v!r} ({type(v).__name__})")
    v = int(v)
    if v < lo or (hi is not None and v > hi):
        legal = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{owner}.{name} = {v} is out of range: legal {legal}")
    return v


def check_real(owner: str, name: str, v, lo: float, hi: float, lo_open=False) -> float:
    if not is_real(v) or not math.isfinite(float(v)):
        raise ValueError(f"{owner}.{name} must be a finite number, got {v!r}")
    v = float(v)
    if v < lo or v > hi or (lo_open and v == lo):
        legal = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise ValueError(f"{owner}.{name} = {v} is out of range: legal {legal}")
    return v


def check_choice(owner: str, name: str, v, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{owner}.{name} = {v!r} is not legal: use one of {', '.join(choices)}")
    return v


def int_or_str(v):
    """Ints may be written as strings in hand-made job files ('0x1000_0000')."""
    if isinstance(v, str):
        try:
            return int(v.replace("_", ""), 0)
        except ValueError:
            return v
    return v


def check_keys(owner: str, d, known: Iterable[str], required: Iterable[str] = ()) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{owner} must be a mapping, got {type(d).__name__}: {d!r}")
    known = tuple(known)
    unknown = [k for k in d if k not in known]
    if unknown:
        raise ValueError(
            f"{owner}: unknown key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(known)}"
        )
    missing = [k for k in required if k not in d]
    if missing:
        raise ValueError(f"{owner}: missing required key(s) {', '.join(missing)}")
