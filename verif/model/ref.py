"""Bit-exact reference model of RedMulE's arithmetic (spec sections 4, 5 and 7).

Everything here works on raw bit patterns held in numpy arrays: ``uint16`` for
FP16 and ``uint8`` for the two FP8 formats (FP8 = E5M2, FP8ALT = IEEE-like
E4M3 with bias 7, max 240, Inf 0x78/0xF8).

Public API
----------
``gemm_op(x, w, y, op, fmt)``
    Z = the GEMM-op ``op`` of X (M x N), W (N x K) and Y (M x K), every output
    element chained over n = 0 .. N-1 in ascending order, each step rounded to
    FP16 (spec section 4/5).
``fma16, add16, mul16, min16, max16``
    Elementwise FP16 operations on ``uint16`` bit arrays (numpy broadcasting).
``to_fp16(bits, fmt)``, ``from_fp16(bits16, fmt)``
    The exact FP8 -> FP16 widening and the FP16 -> FP8 rounding.
``expected_cycles(M, N, K, L, H, P)``, ``ce_utilisation(...)``
    The timing model of spec section 7.
``OPS``, ``FORMATS``, ``op_code``, ``fmt_code``, ``elem_bytes``, ``dtype_of``
    (from ``redmule_verif.model.encoding``, re-exported here).

The pieces live in ``casts`` (FP8 <-> FP16), ``fp16`` (elementwise arithmetic)
and ``timing`` (spec section 7); this module is the GEMM-op chain and the
model's one import point.

How the arithmetic is made exact
--------------------------------
Every FP16 value is exactly representable in float64. The product of two FP16
values has at most 22 significant bits and lies in [2^-48, 2^32], so it is
exact in float64; the sum of two FP16 values is a multiple of 2^-24 below 2^17,
so it is exact too. numpy's float64 -> float16 cast rounds correctly (RNE,
subnormals, overflow to Inf), so ``add16`` and ``mul16`` round exactly once.

For the fused multiply-add, ``p + c`` (p = a*b exact) is rounded once to
float64 and then to float16. That double rounding is harmless: the float64
rounding is monotone and every FP16 rounding boundary (a midpoint between two
adjacent FP16 values, or the overflow threshold 65520) has at most 12
significant bits, so it is a float64 value; the FP16 result can only change if
the float64 rounding of an inexact sum lands exactly on such a boundary. The
sum is a multiple of 2^-48; it is inexact in float64 only if it spans more than
53 bits, which needs p to have bits below 2^-24 (else the sum is a multiple of
2^-24 below 2^17, i.e. exact), hence |p| < 2^-2, and |p + c| >= 2^(lowbit(p)+53)
> 2^31 |p|: c is a normal FP16 value (|c| > 2^4) that dwarfs p by about 2^31,
while the nearest boundary to c is at least 2^-13 |c| away (a quarter ulp
below a power of two). So p + c and its float64 rounding (error below
2^-53 |p + c|) both lie strictly inside the same FP16 rounding interval around
c: no boundary is hit, and the result equals a fused FMA rounded once at RNE.
(There are no boundaries above 65520: everything there rounds to Inf, and the
monotone float64 rounding keeps such sums at or above 65520.) Inf and NaN
operands follow IEEE float64 arithmetic, which gives the same Inf/NaN results
as FP16 (Inf*0 and Inf-Inf are NaN).

That numpy's cast is correctly rounded on the machine at hand is not assumed:
tests/test_ref_fp16.py checks every operation against Berkeley SoftFloat.

Signs of zero follow from IEEE float64 semantics at RNE, which match the spec:
an exact zero sum of operands of opposite sign is +0, two zeros of the same
sign keep it, and a non-zero result that rounds to zero keeps its sign (the
float16 cast preserves it). float32 is never used (it would double-round).

NaNs: numpy propagates payloads and signs, so every NaN result is replaced by
the canonical NaN (FP16 0x7E00, FP8 0x7E, FP8ALT 0x7C). In the GEMM-op chains
the NaN-ness of an intermediate is all that matters, so the canonicalisation
is done once on the final plane.

min/max are IEEE 754-2019 minimumNumber/maximumNumber. In the GEMM-op chains
they run on float64 with ``np.fmin``/``np.fmax`` (one NaN operand -> the other
one, two NaNs -> NaN) on values whose zeros have been replaced by +-2^-100
(``_ZKEY``): that keeps -0 < +0 as a strict order, is still below every FP16
subnormal in magnitude, and casts back to the same signed zero. Their NaNs
are made quiet first: libm's fmax/fmin (numpy's scalar path) return NaN when
an operand is a signalling NaN, which minimumNumber/maximumNumber must not.

Memory: the model keeps W (N x K) and one row block of X (rows x N) as
float64, plus the M x K result and a few block-sized planes; it never builds
an M x N x K array. The n loop is sequential (it is the accumulation
order); each step is a handful of numpy passes over the M x K plane, processed
in row blocks of about ``_BLOCK_ELEMS`` elements so that they stay in cache.
"""

from __future__ import annotations

import numpy as np

from .casts import NAN16, from_fp16, to_fp16
from .encoding import (CANONICAL_NAN, FORMAT_NAMES, FORMATS, MAX_DIM, OP_NAMES, OPS, dtype_of, elem_bytes,
                       fmt_code, op_code)
from .fp16 import add16, as_f64, fma16, max16, min16, mul16
from .timing import CYCLE_OVERHEAD, ce_utilisation, expected_cycles

__all__ = [
    "OPS",
    "FORMATS",
    "CYCLE_OVERHEAD",
    "MAX_DIM",
    "CANONICAL_NAN",
    "op_code",
    "fmt_code",
    "elem_bytes",
    "dtype_of",
    "gemm_op",
    "fma16",
    "add16",
    "mul16",
    "min16",
    "max16",
    "to_fp16",
    "from_fp16",
    "expected_cycles",
    "ce_utilisation",
]

_ZKEY = 2.0**-100  # stands in for a signed zero in the min/max chains
_BLOCK_ELEMS = 1 << 16  # elements of the M x K plane processed per block


# --------------------------------------------------------------------------
# GEMM-ops
# --------------------------------------------------------------------------

# FP16 code -> float64 with zeros replaced by +-_ZKEY and NaNs quiet (see
# module docstring)
_KEY64 = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
_KEY64[0x0000] = _ZKEY
_KEY64[0x8000] = -_ZKEY
# Quiet every NaN: the float16 -> float64 cast keeps signalling NaNs signalling,
# and libm's fmax/fmin (numpy's non-SIMD path) return NaN for a signalling NaN.
_KEY64[np.isnan(_KEY64)] = np.nan
_KEY64.setflags(write=False)


def _check_matrix(name, a, dtype, fmt_name):
    if not isinstance(a, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy array of {dtype.name} bit patterns for {fmt_name}, "
            f"got {type(a).__name__}"
        )
    if a.dtype != dtype:
        raise ValueError(
            f"{name} has dtype {a.dtype}, but {fmt_name} data must be raw {dtype.name} "
            f"bit patterns (e.g. values.astype(np.float16).view(np.uint16) for FP16)"
        )
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {a.shape}")
    for axis, d in enumerate(a.shape):
        if not 1 <= d <= MAX_DIM:
            raise ValueError(
                f"{name} has shape {a.shape}: every dimension (M, N, K) must be in "
                f"1..{MAX_DIM} (16-bit job register fields; a zero dimension is a "
                f"no-op job with no result to model)"
            )


def gemm_op(x, w, y, op, fmt):
    """Z = GEMM-op ``op`` of X (M x N), W (N x K), Y (M x K) in format ``fmt``.

    x, w, y are numpy arrays of raw bit patterns (uint16 for FP16, uint8 for
    FP8/FP8ALT); y may be None for MATMUL and is ignored for MATMUL even if
    given. Returns Z (M x K) as bit patterns of the same dtype.
    """
    opc = op_code(op)
    f = fmt_code(fmt)
    dt = dtype_of(f)
    fname = FORMAT_NAMES[f]
    _check_matrix("x", x, dt, fname)
    _check_matrix("w", w, dt, fname)
    M, N = x.shape
    if w.shape[0] != N:
        raise ValueError(
            f"shapes do not chain: x is {x.shape} (M x N) but w is {w.shape}; "
            f"w must be N x K with N = {N}"
        )
    K = w.shape[1]
    if opc != 0:
        if y is None:
            raise ValueError(
                f"{OP_NAMES[opc]} reads Y: pass y as an M x K = {M} x {K} {dt.name} array "
                f"(only MATMUL may have y=None)"
            )
        _check_matrix("y", y, dt, fname)
        if y.shape != (M, K):
            raise ValueError(f"y has shape {y.shape}, expected M x K = ({M}, {K})")

    x16 = to_fp16(x, f) if f != 1 else x
    w16 = to_fp16(w, f) if f != 1 else w
    y16 = None if opc == 0 else (to_fp16(y, f) if f != 1 else y)

    with np.errstate(all="ignore"):
        z16 = _gemm16(x16, w16, y16, opc)
    return z16 if f == 1 else from_fp16(z16, f)


def _gemm16(x16, w16, y16, opc):
    M, N = x16.shape
    K = w16.shape[1]
    # float64 views of the operands: plain values where they feed arithmetic,
    # zero-keyed values (_KEY64) where they feed a min/max directly
    key = lambda b: np.take(_KEY64, b, mode="clip")  # noqa: E731
    conv_y = key if opc >= 2 else as_f64
    conv_xw = key if opc >= 6 else as_f64
    w64 = conv_xw(np.ascontiguousarray(w16))
    out = np.empty((M, K), dtype=np.uint16)
    rows = max(1, min(M, _BLOCK_ELEMS // K))
    z = np.empty((rows, K))
    t = np.empty((rows, K))
    t16 = np.empty((rows, K), dtype=np.float16)
    t16u = t16.view(np.uint16)
    for m0 in range(0, M, rows):
        r = min(rows, M - m0)
        zz, tt, th, thu = z[:r], t[:r], t16[:r], t16u[:r]
        if y16 is None:
            zz.fill(0.0)
        else:
            np.copyto(zz, conv_y(y16[m0 : m0 + r]))
        # this block's rows of X, transposed (N x r x 1): step n's column is
        # contiguous, and only r x N of X is ever held as float64
        xs = conv_xw(np.ascontiguousarray(x16[m0 : m0 + r].T))[:, :, None]
        if opc <= 1:  # MATMUL, GEMM: z = fma(x, w, z)
            for n in range(N):
                np.multiply(xs[n], w64[n], out=tt)
                np.add(tt, zz, out=tt)
                np.copyto(th, tt, casting="unsafe")
                np.copyto(zz, th)
        elif opc <= 5:  # ADDMAX, ADDMIN, MULMAX, MULMIN
            f1 = np.add if opc <= 3 else np.multiply
            f2 = np.fmax if opc in (2, 4) else np.fmin
            for n in range(N):
                f1(xs[n], w64[n], out=tt)
                np.copyto(th, tt, casting="unsafe")
                np.take(_KEY64, thu, out=tt, mode="clip")
                f2(tt, zz, out=zz)
        else:  # MAXMIN: min(max(x, w), z); MINMAX: max(min(x, w), z)
            f1, f2 = (np.fmax, np.fmin) if opc == 6 else (np.fmin, np.fmax)
            for n in range(N):
                f1(xs[n], w64[n], out=tt)
                f2(tt, zz, out=zz)
        np.copyto(th, zz, casting="unsafe")  # exact; +-_ZKEY -> +-0
        blk = out[m0 : m0 + r]
        blk[...] = thu
        blk[(blk & 0x7FFF) > 0x7C00] = NAN16
    return out
