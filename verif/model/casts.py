"""Exact FP8 <-> FP16 casts on raw bit patterns (spec sections 4, 5).

``to_fp16(bits, fmt)`` widens FP8 (E5M2) / FP8ALT (E4M3) codes exactly;
``from_fp16(bits16, fmt)`` rounds FP16 codes to them (RNE, subnormals, overflow
to Inf, NaN to the canonical NaN). Both are lookup tables built once with exact
integer arithmetic.
"""

from __future__ import annotations

import numpy as np

from .encoding import CANONICAL_NAN, LAYOUTS, fmt_code

__all__ = ["as_bits", "to_fp16", "from_fp16"]

NAN16 = CANONICAL_NAN[1]


def _round_to_format(sign, mag, unit_exp, fmt):
    """Round sign * mag * 2**unit_exp (mag: int64 >= 0, finite) into ``fmt``.

    Round to nearest, ties to even, subnormals, overflow to Inf. Returns the
    codes as int64 (NaN is the caller's business).
    """
    ebits, mbits, bias = LAYOUTS[fmt].fields
    emin = 1 - bias
    mag = np.asarray(mag, dtype=np.int64)
    # floor(log2(mag)) via frexp (exact: mag < 2**53)
    _, ex = np.frexp(mag.astype(np.float64))
    top = ex.astype(np.int64) - 1 + unit_exp
    e = np.where(mag == 0, emin, np.maximum(top, emin))  # target binade (subnormals, 0: emin)
    shift = e - mbits - unit_exp  # quantum of the target binade, in units
    sr = np.maximum(shift, 0)
    sl = np.maximum(-shift, 0)
    q = (mag >> sr) << sl
    rem = mag & ((np.int64(1) << sr) - 1)
    half = (np.int64(1) << sr) >> 1
    up = (sr > 0) & ((rem > half) | ((rem == half) & ((q & 1) == 1)))
    q = q + up
    code = ((e - emin) << mbits) + q  # carries into the exponent on their own
    inf = ((1 << ebits) - 1) << mbits
    code = np.minimum(code, inf)
    return code | (np.asarray(sign, dtype=np.int64) << (ebits + mbits))




def _decode_fields(codes, fmt):
    """codes -> (sign, mag, unit_exp, is_inf, is_nan) with value mag*2**unit_exp."""
    ebits, mbits, bias = LAYOUTS[fmt].fields
    codes = np.asarray(codes, dtype=np.int64)
    sign = codes >> (ebits + mbits)
    ef = (codes >> mbits) & ((1 << ebits) - 1)
    mf = codes & ((1 << mbits) - 1)
    emax_field = (1 << ebits) - 1
    mag = np.where(ef == 0, mf, (mf | (1 << mbits)) << np.maximum(ef - 1, 0))
    mag = np.where(ef == emax_field, 0, mag)
    unit_exp = 1 - bias - mbits
    return sign, mag, unit_exp, (ef == emax_field) & (mf == 0), (ef == emax_field) & (mf != 0)




def _build_tables():
    to16 = {}
    from16 = {}
    all16 = np.arange(1 << 16, dtype=np.int64)
    s16, m16, u16, inf16, nan16 = _decode_fields(all16, 1)
    for fmt in (0, 2):
        ebits, mbits, _ = LAYOUTS[fmt].fields
        # FP16 -> FP8
        code = _round_to_format(s16, m16, u16, fmt)
        inf8 = (((1 << ebits) - 1) << mbits) | (s16 << (ebits + mbits))
        code = np.where(inf16, inf8, code)
        code = np.where(nan16, CANONICAL_NAN[fmt], code)
        from16[fmt] = code.astype(np.uint8)
        # FP8 -> FP16 (exact)
        all8 = np.arange(256, dtype=np.int64)
        s8, m8, u8, inf8m, nan8 = _decode_fields(all8, fmt)
        wide = _round_to_format(s8, m8, u8, 1)
        wide = np.where(inf8m, 0x7C00 | (s8 << 15), wide)
        wide = np.where(nan8, NAN16, wide)
        to16[fmt] = wide.astype(np.uint16)
    for t in (*to16.values(), *from16.values()):
        t.setflags(write=False)
    return to16, from16


_TO16, _FROM16 = _build_tables()


def as_bits(a, dtype, what="operand"):
    """Array-like of bit patterns -> ndarray of ``dtype`` (checked)."""
    dtype = np.dtype(dtype)
    arr = np.asarray(a)
    if arr.dtype == dtype:
        return arr
    if arr.dtype.kind in "iu":
        limit = np.iinfo(dtype).max
        if arr.size == 0 or (arr.min() >= 0 and arr.max() <= limit):
            return arr.astype(dtype)
        raise ValueError(
            f"{what} holds values outside 0..{limit:#x}: pass {dtype.name} bit patterns"
        )
    raise ValueError(
        f"{what} has dtype {arr.dtype}: pass raw bit patterns as {dtype.name} "
        f"(e.g. values.astype(np.float16).view(np.uint16)), not values"
    )


def to_fp16(bits, fmt):
    """Widen FP8/FP8ALT bit patterns (uint8) to FP16 bit patterns (uint16), exactly.

    Every NaN becomes the canonical FP16 NaN 0x7E00 (as the RTL's widening
    does). For ``fmt`` FP16 this is the identity.
    """
    f = fmt_code(fmt)
    if f == 1:
        return as_bits(bits, np.uint16, "bits").copy()
    return _TO16[f][as_bits(bits, np.uint8, "bits")]


def from_fp16(bits16, fmt):
    """Round FP16 bit patterns (uint16) to FP8/FP8ALT bit patterns (uint8).

    Round to nearest even, subnormals, overflow to Inf (no saturation), every
    NaN to the canonical NaN of the target (0x7E / 0x7C). For ``fmt`` FP16 this
    is the identity.
    """
    f = fmt_code(fmt)
    b = as_bits(bits16, np.uint16, "bits16")
    if f == 1:
        return b.copy()
    return _FROM16[f][b]
