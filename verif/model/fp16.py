"""Elementwise FP16 arithmetic on raw bit patterns (spec section 5).

``fma16``, ``add16``, ``mul16`` round once (RNE, subnormals, overflow to Inf,
canonical NaN 0x7E00); ``min16`` / ``max16`` are IEEE 754-2019
minimumNumber / maximumNumber with -0 < +0. Why the float64 route is exact is
explained in ``redmule_verif.model.ref``.
"""

from __future__ import annotations

import numpy as np

from .casts import NAN16, as_bits

__all__ = ["as_f64", "fma16", "add16", "mul16", "min16", "max16"]


def as_f64(bits16):
    """FP16 bit patterns (uint16) -> their float64 values (exact)."""
    return bits16.view(np.float16).astype(np.float64)


def _round16(v64):
    """float64 values -> canonical FP16 bits (one RNE rounding, NaN -> 0x7E00)."""
    out = np.asarray(v64).astype(np.float16).view(np.uint16)
    out = np.atleast_1d(out)
    out[(out & 0x7FFF) > 0x7C00] = NAN16
    return out


def _finish(out, shape):
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def fma16(a, b, c):
    """Fused a*b + c on FP16 bit patterns, one RNE rounding, canonical NaN."""
    a, b, c = (as_bits(v, np.uint16, n) for v, n in ((a, "a"), (b, "b"), (c, "c")))
    shape = np.broadcast_shapes(a.shape, b.shape, c.shape)
    with np.errstate(all="ignore"):
        return _finish(_round16(as_f64(a) * as_f64(b) + as_f64(c)), shape)


def add16(a, b):
    """a + b on FP16 bit patterns, one RNE rounding, canonical NaN."""
    a, b = as_bits(a, np.uint16, "a"), as_bits(b, np.uint16, "b")
    shape = np.broadcast_shapes(a.shape, b.shape)
    with np.errstate(all="ignore"):
        return _finish(_round16(as_f64(a) + as_f64(b)), shape)


def mul16(a, b):
    """a * b on FP16 bit patterns, one RNE rounding, canonical NaN."""
    a, b = as_bits(a, np.uint16, "a"), as_bits(b, np.uint16, "b")
    shape = np.broadcast_shapes(a.shape, b.shape)
    with np.errstate(all="ignore"):
        return _finish(_round16(as_f64(a) * as_f64(b)), shape)


def _order_key(bits):
    """FP16 bits -> int32 key, strictly monotone in value with -0 < +0."""
    b = bits.astype(np.int32)
    return np.where(b & 0x8000, -(b & 0x7FFF) - 1, b)


def _minmax16(a, b, take_max):
    a, b = as_bits(a, np.uint16, "a"), as_bits(b, np.uint16, "b")
    a, b = np.broadcast_arrays(a, b)
    shape = a.shape
    ka, kb = _order_key(a), _order_key(b)
    pick_a = (ka >= kb) if take_max else (ka <= kb)
    out = np.where(pick_a, a, b)
    nan_a = (a & 0x7FFF) > 0x7C00
    nan_b = (b & 0x7FFF) > 0x7C00
    out = np.where(nan_a, b, out)
    out = np.where(nan_b, a, out)
    out = np.where(nan_a & nan_b, np.uint16(NAN16), out).astype(np.uint16)
    return _finish(np.atleast_1d(out), shape)


def max16(a, b):
    """IEEE 754-2019 maximumNumber on FP16 bits (-0 < +0, one NaN -> the other)."""
    return _minmax16(a, b, True)


def min16(a, b):
    """IEEE 754-2019 minimumNumber on FP16 bits (-0 < +0, one NaN -> the other)."""
    return _minmax16(a, b, False)
