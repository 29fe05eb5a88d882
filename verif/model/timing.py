"""The timing model of spec section 7: stall-free cycles of a job and CE utilisation."""

from __future__ import annotations

import math
import numbers

from .encoding import MAX_DIM

__all__ = ["CYCLE_OVERHEAD", "expected_cycles", "ce_utilisation"]

#: Fixed start/drain overhead of a job, in cycles, added to the tile count of
#: spec section 7. The published RTL measures 107 cycles over the tile count at
#: M = N = K = 128 (45,163 = 45,056 + 107) and 105 at M = 12, N = 16, K = 16
#: (169 = 64 + 105); we use the larger one, so it is "about a hundred cycles".
CYCLE_OVERHEAD = 107


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _pos_int(name, v, limit=None):
    if not _is_int(v) or int(v) < 1 or (limit is not None and int(v) > limit):
        rng = f"1..{limit}" if limit else ">= 1"
        raise ValueError(f"{name} must be an integer in {rng}, got {v!r}")
    return int(v)


def expected_cycles(M, N, K, L=12, H=4, P=3) -> int:
    """Cycles of a job with no memory stalls (spec section 7).

    ceil(M/L) * ceil(K/(H*(P+1))) * H*ceil(N/H) * (P+1) + CYCLE_OVERHEAD,
    counted from the TRIGGER write's response to the done event.
    """
    M = _pos_int("M", M, MAX_DIM)
    N = _pos_int("N", N, MAX_DIM)
    K = _pos_int("K", K, MAX_DIM)
    L, H = _pos_int("L", L), _pos_int("H", H)
    if not _is_int(P) or int(P) < 0:
        raise ValueError(f"P (pipeline registers per CE) must be an integer >= 0, got {P!r}")
    P = int(P)
    tiles = -(-M // L) * -(-K // (H * (P + 1)))
    return int(tiles * H * -(-N // H) * (P + 1) + CYCLE_OVERHEAD)


def ce_utilisation(M, N, K, cycles, L=12, H=4) -> float:
    """CE utilisation of a job: M*N*K / (L*H*cycles) (spec section 7)."""
    if not (isinstance(cycles, numbers.Real) and not isinstance(cycles, bool)) or not cycles > 0 or math.isinf(cycles):
        raise ValueError(f"cycles must be a positive number, got {cycles!r}")
    L, H = _pos_int("L", L), _pos_int("H", H)
    for name, v in (("M", M), ("N", N), ("K", K)):
        _pos_int(name, v)
    return M * N * K / (L * H * cycles)
