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
``OPS``, ``FORMATS``, ``op_code``, ``fmt_code``, ``elem_bytes``, ``dtype_of``.

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

import math
import numbers

import numpy as np

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

# --------------------------------------------------------------------------
# Names and codes (spec section 4)
# --------------------------------------------------------------------------

OPS = {
    "MATMUL": 0,
    "GEMM": 1,
    "ADDMAX": 2,
    "ADDMIN": 3,
    "MULMAX": 4,
    "MULMIN": 5,
    "MAXMIN": 6,
    "MINMAX": 7,
}
OP_NAMES = {code: name for name, code in OPS.items()}

FORMATS = {"FP8": 0, "FP16": 1, "FP8ALT": 2}
FORMAT_NAMES = {code: name for name, code in FORMATS.items()}

#: canonical quiet NaN of each format (by format code)
CANONICAL_NAN = {0: 0x7E, 1: 0x7E00, 2: 0x7C}

#: M, N and K are 16-bit fields of the job registers: 1 .. 65535
MAX_DIM = 0xFFFF

#: Fixed start/drain overhead of a job, in cycles, added to the tile count of
#: spec section 7. The published RTL measures 107 cycles over the tile count at
#: M = N = K = 128 (45,163 = 45,056 + 107) and 105 at M = 12, N = 16, K = 16
#: (169 = 64 + 105); we use the larger one, so it is "about a hundred cycles".
CYCLE_OVERHEAD = 107

_NAN16 = 0x7E00
_ZKEY = 2.0**-100  # stands in for a signed zero in the min/max chains
_BLOCK_ELEMS = 1 << 16  # elements of the M x K plane processed per block


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def op_code(op) -> int:
    """GEMM-op name (case-insensitive) or code 0..7 -> code."""
    if isinstance(op, str):
        code = OPS.get(op.strip().upper())
        if code is not None:
            return code
    elif _is_int(op) and 0 <= int(op) <= 7:
        return int(op)
    raise ValueError(
        f"unknown GEMM-op {op!r}: use one of {', '.join(OPS)} or a code 0..7"
    )


def fmt_code(fmt) -> int:
    """Format name (case-insensitive) or code 0, 1, 2 -> code."""
    if isinstance(fmt, str):
        code = FORMATS.get(fmt.strip().upper())
        if code is not None:
            return code
    elif _is_int(fmt) and int(fmt) in FORMAT_NAMES:
        return int(fmt)
    extra = ""
    if (_is_int(fmt) and int(fmt) == 3) or (isinstance(fmt, str) and fmt.strip().upper() in ("BF16", "BFLOAT16")):
        extra = " (code 3, bfloat16, is not supported by RedMulE: spec section 4)"
    raise ValueError(
        f"unknown format {fmt!r}{extra}: use 'FP16' (code 1), 'FP8' (E5M2, code 0) "
        f"or 'FP8ALT' (E4M3, code 2)"
    )


def elem_bytes(fmt) -> int:
    """Bytes per element in memory: 2 for FP16, 1 for the FP8 formats."""
    return 2 if fmt_code(fmt) == 1 else 1


def dtype_of(fmt):
    """numpy dtype of the bit patterns of a format: uint16 or uint8."""
    return np.dtype(np.uint16) if fmt_code(fmt) == 1 else np.dtype(np.uint8)


# --------------------------------------------------------------------------
# Casts FP8 <-> FP16 (tables built once, exact integer arithmetic)
# --------------------------------------------------------------------------

# (exponent bits, mantissa bits, bias) of each format code
_LAYOUT = {0: (5, 2, 15), 1: (5, 10, 15), 2: (4, 3, 7)}


def _round_to_format(sign, mag, unit_exp, fmt):
    """Round sign * mag * 2**unit_exp (mag: int64 >= 0, finite) into ``fmt``.

    Round to nearest, ties to even, subnormals, overflow to Inf. Returns the
    codes as int64 (NaN is the caller's business).
    """
    ebits, mbits, bias = _LAYOUT[fmt]
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
    ebits, mbits, bias = _LAYOUT[fmt]
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
        ebits, mbits, _ = _LAYOUT[fmt]
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
        wide = np.where(nan8, _NAN16, wide)
        to16[fmt] = wide.astype(np.uint16)
    for t in (*to16.values(), *from16.values()):
        t.setflags(write=False)
    return to16, from16


_TO16, _FROM16 = _build_tables()


def _bits(a, dtype, what="operand"):
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
        return _bits(bits, np.uint16, "bits").copy()
    return _TO16[f][_bits(bits, np.uint8, "bits")]


def from_fp16(bits16, fmt):
    """Round FP16 bit patterns (uint16) to FP8/FP8ALT bit patterns (uint8).

    Round to nearest even, subnormals, overflow to Inf (no saturation), every
    NaN to the canonical NaN of the target (0x7E / 0x7C). For ``fmt`` FP16 this
    is the identity.
    """
    f = fmt_code(fmt)
    b = _bits(bits16, np.uint16, "bits16")
    if f == 1:
        return b.copy()
    return _FROM16[f][b]


# --------------------------------------------------------------------------
# Elementwise FP16 arithmetic
# --------------------------------------------------------------------------


def _f64(bits16):
    return bits16.view(np.float16).astype(np.float64)


def _round16(v64):
    """float64 values -> canonical FP16 bits (one RNE rounding, NaN -> 0x7E00)."""
    out = np.asarray(v64).astype(np.float16).view(np.uint16)
    out = np.atleast_1d(out)
    out[(out & 0x7FFF) > 0x7C00] = _NAN16
    return out


def _finish(out, shape):
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def fma16(a, b, c):
    """Fused a*b + c on FP16 bit patterns, one RNE rounding, canonical NaN."""
    a, b, c = (_bits(v, np.uint16, n) for v, n in ((a, "a"), (b, "b"), (c, "c")))
    shape = np.broadcast_shapes(a.shape, b.shape, c.shape)
    with np.errstate(all="ignore"):
        return _finish(_round16(_f64(a) * _f64(b) + _f64(c)), shape)


def add16(a, b):
    """a + b on FP16 bit patterns, one RNE rounding, canonical NaN."""
    a, b = _bits(a, np.uint16, "a"), _bits(b, np.uint16, "b")
    shape = np.broadcast_shapes(a.shape, b.shape)
    with np.errstate(all="ignore"):
        return _finish(_round16(_f64(a) + _f64(b)), shape)


def mul16(a, b):
    """a * b on FP16 bit patterns, one RNE rounding, canonical NaN."""
    a, b = _bits(a, np.uint16, "a"), _bits(b, np.uint16, "b")
    shape = np.broadcast_shapes(a.shape, b.shape)
    with np.errstate(all="ignore"):
        return _finish(_round16(_f64(a) * _f64(b)), shape)


def _order_key(bits):
    """FP16 bits -> int32 key, strictly monotone in value with -0 < +0."""
    b = bits.astype(np.int32)
    return np.where(b & 0x8000, -(b & 0x7FFF) - 1, b)


def _minmax16(a, b, take_max):
    a, b = _bits(a, np.uint16, "a"), _bits(b, np.uint16, "b")
    a, b = np.broadcast_arrays(a, b)
    shape = a.shape
    ka, kb = _order_key(a), _order_key(b)
    pick_a = (ka >= kb) if take_max else (ka <= kb)
    out = np.where(pick_a, a, b)
    nan_a = (a & 0x7FFF) > 0x7C00
    nan_b = (b & 0x7FFF) > 0x7C00
    out = np.where(nan_a, b, out)
    out = np.where(nan_b, a, out)
    out = np.where(nan_a & nan_b, np.uint16(_NAN16), out).astype(np.uint16)
    return _finish(np.atleast_1d(out), shape)


def max16(a, b):
    """IEEE 754-2019 maximumNumber on FP16 bits (-0 < +0, one NaN -> the other)."""
    return _minmax16(a, b, True)


def min16(a, b):
    """IEEE 754-2019 minimumNumber on FP16 bits (-0 < +0, one NaN -> the other)."""
    return _minmax16(a, b, False)


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
    conv_y = key if opc >= 2 else _f64
    conv_xw = key if opc >= 6 else _f64
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
        blk[(blk & 0x7FFF) > 0x7C00] = _NAN16
    return out


# --------------------------------------------------------------------------
# Timing model (spec section 7)
# --------------------------------------------------------------------------


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
