"""Independent oracles and shared checks for the reference model's tests.

Nothing here uses numpy or ml_dtypes *arithmetic*: FP16 arithmetic comes from
Berkeley SoftFloat 3e (softfloatpy, RISC-V NaN rules, rounding mode set to
round-to-nearest-even on every use) and the format casts from an exact rational
oracle (fractions.Fraction). numpy only carries bit patterns around and draws
random inputs.

The ``check_*`` functions take the model under test as an argument, so the very
same comparison runs on ``redmule_verif.model.ref`` (tests/test_ref_fp16.py,
test_ref_casts.py, test_ref_gemm.py) and on deliberately wrong models
(tests/test_ref_negative.py). They raise AssertionError via
``assert_bits_equal`` on any mismatch.

The tests in this file check the oracles themselves on hand-computed values.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import softfloatpy as sf

# --------------------------------------------------------------------------
# Comparison helper (used for the real model and the wrong ones alike)
# --------------------------------------------------------------------------


def assert_bits_equal(what, got, expected, inputs=None, show=8):
    """Bit-for-bit comparison of two arrays of bit patterns.

    ``inputs`` maps names to arrays of the same length (flattened) so that the
    failure message can show the operands of the first mismatches.
    """
    got = np.asarray(got)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape}")
    if got.dtype != expected.dtype:
        raise AssertionError(f"{what}: dtype {got.dtype}, expected {expected.dtype}")
    g = got.reshape(-1)
    e = expected.reshape(-1)
    bad = np.flatnonzero(g != e)
    if bad.size:
        width = 2 * got.dtype.itemsize
        lines = []
        for i in bad[:show]:
            ops = ""
            if inputs:
                ops = " ".join(
                    f"{k}=0x{int(np.asarray(v).reshape(-1)[i]):0{width}x}" for k, v in inputs.items()
                )
            lines.append(
                f"  [{i}] {ops} got 0x{int(g[i]):0{width}x} expected 0x{int(e[i]):0{width}x}"
            )
        raise AssertionError(
            f"{what}: {bad.size} of {g.size} results differ; first ones:\n" + "\n".join(lines)
        )


# --------------------------------------------------------------------------
# SoftFloat FP16 oracle
# --------------------------------------------------------------------------

_F16 = [sf.Float16.from_bytes(i.to_bytes(2, "big")) for i in range(1 << 16)]
NAN16 = 0x7E00


def _rne():
    sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)


def _b(x):
    return int.from_bytes(x.to_bytes(), "big")


def sf_fma(a, b, c):
    return _b(sf.f16_mul_add(_F16[a], _F16[b], _F16[c]))


def sf_add(a, b):
    return _b(sf.f16_add(_F16[a], _F16[b]))


def sf_mul(a, b):
    return _b(sf.f16_mul(_F16[a], _F16[b]))


def _minmax(a, b, want_max):
    """IEEE 754-2019 maximumNumber/minimumNumber from SoftFloat predicates."""
    fa, fb = _F16[a], _F16[b]
    na, nb = sf.f16_is_nan(fa), sf.f16_is_nan(fb)
    if na and nb:
        return NAN16
    if na:
        return b
    if nb:
        return a
    if sf.f16_lt_quiet(fa, fb):
        return b if want_max else a
    if sf.f16_lt_quiet(fb, fa):
        return a if want_max else b
    # equal values: only zeros can differ in bits; -0 < +0
    assert sf.f16_eq(fa, fb)
    if a == b:
        return a
    neg_a = a >> 15
    if want_max:
        return b if neg_a else a
    return a if neg_a else b


def sf_max(a, b):
    return _minmax(a, b, True)


def sf_min(a, b):
    return _minmax(a, b, False)


def oracle_fp16(op, *cols):
    """Scalar SoftFloat loop over columns of bit patterns -> uint16 array."""
    _rne()
    fn = {"fma16": sf_fma, "add16": sf_add, "mul16": sf_mul, "max16": sf_max, "min16": sf_min}[op]
    lists = [np.asarray(c).astype(int).tolist() for c in cols]
    return np.array([fn(*t) for t in zip(*lists)], dtype=np.uint16)


# --------------------------------------------------------------------------
# Exact rational cast oracle
# --------------------------------------------------------------------------

LAYOUT = {"FP16": (5, 10, 15), "FP8": (5, 2, 15), "FP8ALT": (4, 3, 7)}
CANON_NAN = {"FP16": 0x7E00, "FP8": 0x7E, "FP8ALT": 0x7C}


def decode(code, fmt):
    """Bits -> ("nan",) | (sign, "inf") | (sign, Fraction)."""
    eb, mb, bias = LAYOUT[fmt]
    sign = code >> (eb + mb)
    e = (code >> mb) & ((1 << eb) - 1)
    m = code & ((1 << mb) - 1)
    if e == (1 << eb) - 1:
        return ("nan",) if m else (sign, "inf")
    if e == 0:
        return (sign, Fraction(m, 1 << mb) * Fraction(2) ** (1 - bias))
    return (sign, (1 + Fraction(m, 1 << mb)) * Fraction(2) ** (e - bias))


@functools.cache
def _finite_codes(fmt):
    """Positive finite value -> code, by decoding every positive code."""
    eb, mb, _ = LAYOUT[fmt]
    table = {}
    for code in range(1 << (eb + mb)):
        d = decode(code, fmt)
        if len(d) == 2 and d[1] != "inf":
            table[d[1]] = code
    return table


def round_to(d, fmt):
    """Decoded value -> bits of ``fmt``: RNE, subnormals, overflow to Inf, canonical NaN."""
    eb, mb, bias = LAYOUT[fmt]
    if d[0] == "nan":
        return CANON_NAN[fmt]
    sign, v = d
    inf = (((1 << eb) - 1) << mb) | (sign << (eb + mb))
    if v == "inf":
        return inf
    if v == 0:
        return sign << (eb + mb)
    # binade: 2**e <= v < 2**(e+1)
    e = v.numerator.bit_length() - v.denominator.bit_length()
    while Fraction(2) ** e > v:
        e -= 1
    while Fraction(2) ** (e + 1) <= v:
        e += 1
    emin = 1 - bias
    quantum = Fraction(2) ** (max(e, emin) - mb)
    q = v / quantum
    n = q.numerator // q.denominator
    r = q - n
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and n % 2 == 1):
        n += 1
    rv = n * quantum
    emax = (1 << eb) - 2 - bias
    if rv >= Fraction(2) ** (emax + 1):
        return inf
    return _finite_codes(fmt)[rv] | (sign << (eb + mb))


@functools.cache
def oracle_widen_table(fmt):
    """FP8 code -> FP16 bits (list of 256)."""
    return [round_to(decode(c, fmt), "FP16") for c in range(256)]


def oracle_narrow(code16, fmt, _cache={}):
    key = (code16, fmt)
    r = _cache.get(key)
    if r is None:
        r = _cache[key] = round_to(decode(code16, "FP16"), fmt)
    return r


# --------------------------------------------------------------------------
# Scalar GEMM-op oracle (spec section 4/5)
# --------------------------------------------------------------------------

OP_NAMES = ["MATMUL", "GEMM", "ADDMAX", "ADDMIN", "MULMAX", "MULMIN", "MAXMIN", "MINMAX"]
FMT_DTYPE = {"FP16": np.uint16, "FP8": np.uint8, "FP8ALT": np.uint8}


def oracle_gemm(x, w, y, op, fmt):
    """Plain scalar loop over SoftFloat calls; FP8 casts via the Fraction oracle."""
    _rne()
    opc = OP_NAMES.index(op)
    M, N = x.shape
    K = w.shape[1]
    if fmt == "FP16":
        widen = lambda c: int(c)  # noqa: E731
    else:
        tbl = oracle_widen_table(fmt)
        widen = lambda c: tbl[int(c)]  # noqa: E731
    X = [[widen(v) for v in row] for row in x]
    W = [[widen(v) for v in row] for row in w]
    Y = None if opc == 0 else [[widen(v) for v in row] for row in y]
    Z = np.zeros((M, K), dtype=FMT_DTYPE[fmt])
    for m in range(M):
        xr = X[m]
        for k in range(K):
            z = 0x0000 if opc == 0 else Y[m][k]
            for n in range(N):
                a, b = xr[n], W[n][k]
                if opc <= 1:
                    z = sf_fma(a, b, z)
                elif opc == 2:
                    z = sf_max(sf_add(a, b), z)
                elif opc == 3:
                    z = sf_min(sf_add(a, b), z)
                elif opc == 4:
                    z = sf_max(sf_mul(a, b), z)
                elif opc == 5:
                    z = sf_min(sf_mul(a, b), z)
                elif opc == 6:
                    z = sf_min(sf_max(a, b), z)
                else:
                    z = sf_max(sf_min(a, b), z)
            Z[m, k] = z if fmt == "FP16" else oracle_narrow(z, fmt)
    return Z


# --------------------------------------------------------------------------
# Random FP16 operands that hit the interesting cases
# --------------------------------------------------------------------------

SPECIALS16 = [
    0x0000, 0x8000,  # +-0
    0x0001, 0x8001, 0x03FF, 0x83FF, 0x0200,  # subnormals (min, max, mid)
    0x0400, 0x8400,  # min normal
    0x3C00, 0xBC00, 0x3C01, 0x3BFF,  # 1, -1, 1+ulp, 1-ulp/2
    0x7BFF, 0xFBFF, 0x7BFE, 0x5BFF, 0x7800,  # near max finite
    0x7C00, 0xFC00,  # +-Inf
    0x7E00, 0xFE00, 0x7E01, 0x7FFF, 0xFFFF,  # quiet NaNs (canonical, payload, negative)
    0x7C01, 0x7D00, 0xFD00, 0x7DFF,  # signalling NaNs
]


def draw16(rng, n):
    """n FP16 codes from a mixture of classes."""
    cls = rng.integers(0, 8, n)
    sign = rng.integers(0, 2, n).astype(np.uint16) << 15
    exp = np.empty(n, dtype=np.uint16)
    man = rng.integers(0, 1 << 10, n).astype(np.uint16)
    # exponent ranges per class
    exp[:] = rng.integers(0, 31, n)  # 0: any finite
    sel = cls == 1  # subnormal and lowest normals
    exp[sel] = rng.integers(0, 3, sel.sum())
    sel = cls == 2  # near overflow
    exp[sel] = rng.integers(26, 31, sel.sum())
    sel = cls == 3  # around 1: products/sums stay in range
    exp[sel] = rng.integers(10, 20, sel.sum())
    sel = cls == 4  # few mantissa bits: exact ties and exact cancellations
    man[sel] &= 0x380
    out = sign | (exp << 10) | man
    sel = cls == 5  # fully random codes (any class, including Inf/NaN)
    out[sel] = rng.integers(0, 1 << 16, sel.sum())
    sel = cls == 6  # specials
    out[sel] = rng.choice(np.array(SPECIALS16, dtype=np.uint16), sel.sum())
    # cls 7: random finite with a random exponent (kept as drawn)
    return out.astype(np.uint16)


def _neg(a):
    return (a ^ 0x8000).astype(np.uint16)


def _exp_of(a):
    return (a >> 10) & 0x1F


def vectors(op, rng, n):
    """Operand columns for one elementwise op, with coupled cases.

    Coupled operands (e.g. c = -round(a*b) for exact cancellation) use
    SoftFloat's product, so the vectors do not depend on the model under test.
    """
    a = draw16(rng, n)
    b = draw16(rng, n)
    kind = rng.integers(0, 10, n)
    if op in ("add16", "min16", "max16"):
        sel = kind == 0  # exact cancellation / same magnitude
        b[sel] = _neg(a[sel])
        sel = kind == 1  # tie region: b about half an ulp of a
        e = _exp_of(a[sel]).astype(np.int32) - 11 + rng.integers(-1, 2, sel.sum())
        e = np.clip(e, 0, 30).astype(np.uint16)
        b[sel] = (b[sel] & 0x83FF) | (e << 10)
        sel = kind == 2  # zeros of both signs against each other
        a[sel] = rng.choice(np.array([0, 0x8000], np.uint16), sel.sum())
        b[sel] = rng.choice(np.array([0, 0x8000], np.uint16), sel.sum())
        sel = kind == 3  # near-equal: a +- 1 ulp
        b[sel] = (a[sel].astype(np.int32) + rng.integers(-1, 2, sel.sum())).astype(np.uint16)
        sel = kind == 4  # near cancellation: -a +- a few ulps
        b[sel] = _neg((a[sel].astype(np.int32) + rng.integers(-3, 4, sel.sum())).astype(np.uint16))
        return (a, b)
    if op == "mul16":
        sel = kind == 0  # products landing in the subnormal range
        a[sel] = (a[sel] & 0x83FF) | (rng.integers(1, 12, sel.sum()).astype(np.uint16) << 10)
        b[sel] = (b[sel] & 0x83FF) | (rng.integers(1, 12, sel.sum()).astype(np.uint16) << 10)
        sel = kind == 1  # products near overflow
        a[sel] = (a[sel] & 0x83FF) | (rng.integers(20, 24, sel.sum()).astype(np.uint16) << 10)
        b[sel] = (b[sel] & 0x83FF) | (rng.integers(20, 24, sel.sum()).astype(np.uint16) << 10)
        sel = kind == 2  # Inf * 0
        a[sel] = rng.choice(np.array([0x7C00, 0xFC00], np.uint16), sel.sum())
        b[sel] = rng.choice(np.array([0, 0x8000], np.uint16), sel.sum())
        return (a, b)
    # fma16
    c = draw16(rng, n)
    p = oracle_fp16("mul16", a, b)
    sel = kind == 0  # c = -round(a*b): the exact residual of the product
    c[sel] = _neg(p[sel])
    sel = kind == 1  # c = -round(a*b) +- few ulps: heavy cancellation
    c[sel] = _neg((p[sel].astype(np.int32) + rng.integers(-2, 3, sel.sum())).astype(np.uint16) & 0xFFFF)
    sel = kind == 2  # c near the product's rounding boundary: ties, double rounding
    e = _exp_of(p[sel]).astype(np.int32) + rng.integers(-13, 2, sel.sum())
    e = np.clip(e, 0, 30).astype(np.uint16)
    c[sel] = (c[sel] & 0x83FF) | (e << 10)
    sel = kind == 3  # few-bit operands around 1: exact ties
    for v in (a, b):
        v[sel] = (v[sel] & 0x8380) | (rng.integers(13, 17, sel.sum()).astype(np.uint16) << 10)
    c[sel] = (c[sel] & 0x83F0) | (rng.integers(2, 18, sel.sum()).astype(np.uint16) << 10)
    sel = kind == 4  # subnormal products with subnormal addends
    a[sel] = (a[sel] & 0x83FF) | (rng.integers(1, 10, sel.sum()).astype(np.uint16) << 10)
    b[sel] = (b[sel] & 0x83FF) | (rng.integers(1, 10, sel.sum()).astype(np.uint16) << 10)
    c[sel] = (c[sel] & 0x83FF) | (rng.integers(0, 3, sel.sum()).astype(np.uint16) << 10)
    sel = kind == 5  # zeros: product zero with signed-zero addends
    a[sel] = rng.choice(np.array([0, 0x8000, 0x3C00, 0x0001], np.uint16), sel.sum())
    c[sel] = rng.choice(np.array([0, 0x8000], np.uint16), sel.sum())
    sel = kind == 6  # Inf * 0 + c, Inf - Inf
    a[sel] = rng.choice(np.array([0x7C00, 0xFC00, 0x7BFF], np.uint16), sel.sum())
    c[sel] = rng.choice(np.array([0x7C00, 0xFC00, 0x7E00, 0x7D00], np.uint16), sel.sum())
    return (a, b, c)


CHUNK = 50_000


def check_elementwise(model, op, n, seed):
    """Compare ``model.<op>`` with SoftFloat on n random vectors (chunked)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        cols = vectors(op, rng, m)
        got = np.asarray(getattr(model, op)(*cols))
        exp = oracle_fp16(op, *cols)
        assert_bits_equal(
            f"{op} (seed {seed}, vectors {done}..{done + m})",
            got,
            exp,
            dict(zip("abc", cols)),
        )
        done += m


# --------------------------------------------------------------------------
# Exhaustive cast checks
# --------------------------------------------------------------------------


@functools.cache
def oracle_narrow_table(fmt):
    """FP16 code -> FP8 code, all 65,536 of them (uint8 array, read-only)."""
    t = np.array([round_to(decode(c, "FP16"), fmt) for c in range(1 << 16)], dtype=np.uint8)
    t.setflags(write=False)
    return t


def check_from_fp16(model, fmt):
    codes = np.arange(1 << 16, dtype=np.uint16)
    exp = oracle_narrow_table(fmt)
    assert_bits_equal(f"from_fp16(., {fmt})", model.from_fp16(codes, fmt), exp, {"x": codes})


def check_to_fp16(model, fmt):
    codes = np.arange(256, dtype=np.uint8)
    exp = np.array(oracle_widen_table(fmt), dtype=np.uint16)
    assert_bits_equal(f"to_fp16(., {fmt})", model.to_fp16(codes, fmt), exp, {"x": codes})


# --------------------------------------------------------------------------
# GEMM-op checks
# --------------------------------------------------------------------------

GEMM_SHAPES = [(1, 1, 1), (3, 5, 7), (13, 17, 9), (4, 33, 6), (2, 1, 40)]

# few-bit values: exact zeros, ties, overflow, subnormals, cancellation
GRID16 = [
    0x0000, 0x8000, 0x3C00, 0xBC00, 0x3E00, 0xBE00, 0x4000, 0xC000,
    0x1400, 0x9400,  # 2^-10
    0x0001, 0x8001, 0x0400, 0x8400,  # tiny
    0x7BFF, 0xFBFF, 0x6800, 0xE800,  # 65504, 2048
    0x3C01, 0xBC01, 0x1000, 0x9000,  # 1 + ulp, 2^-11
    0x7C00, 0xFC00, 0x7E00, 0x7D00,  # Inf, NaN, sNaN
]


ZEROS16 = [0x0000, 0x8000] * 4 + [0x3C00, 0xBC00, 0x0001, 0x8001, 0x7C00, 0xFC00, 0x7E00, 0x7D00]
ZEROS8 = {
    "FP8": [0x00, 0x80] * 4 + [0x3C, 0xBC, 0x01, 0x81, 0x7C, 0xFC, 0x7E, 0x7D],
    "FP8ALT": [0x00, 0x80] * 4 + [0x38, 0xB8, 0x01, 0x81, 0x78, 0xF8, 0x7C, 0x79],
}


def draw_matrix(rng, shape, fmt, flavour):
    """Random matrix of bit patterns of ``fmt`` for one data flavour."""
    if flavour == "zeros":  # signed zeros everywhere: ties of -0 and +0
        pool = ZEROS16 if fmt == "FP16" else ZEROS8[fmt]
        return rng.choice(np.array(pool, dtype=FMT_DTYPE[fmt]), shape)
    if fmt == "FP16":
        if flavour == "normal":  # moderate values, like real data
            e = rng.integers(11, 18, shape)
            m = rng.integers(0, 1 << 10, shape)
            s = rng.integers(0, 2, shape)
            return ((s << 15) | (e << 10) | m).astype(np.uint16)
        if flavour == "special":
            return draw16(rng, int(np.prod(shape))).reshape(shape)
        return rng.choice(np.array(GRID16, dtype=np.uint16), shape)
    if flavour == "normal":  # finite codes only
        eb, mb, _ = LAYOUT[fmt]
        e = rng.integers(0, (1 << eb) - 1, shape)
        m = rng.integers(0, 1 << mb, shape)
        s = rng.integers(0, 2, shape)
        return ((s << (eb + mb)) | (e << mb) | m).astype(np.uint8)
    if flavour == "special":  # every code, with extra zeros/Inf/NaN
        out = rng.integers(0, 256, shape).astype(np.uint8)
        sel = rng.random(shape) < 0.2
        inf = 0x7C if fmt == "FP8" else 0x78
        pool = np.array([0, 0x80, inf, inf | 0x80, inf | 1, inf | 2, 1, 0x81], dtype=np.uint8)
        out[sel] = rng.choice(pool, sel.sum())
        return out
    # grid: few codes that give exact ties/cancellation in FP16
    pool = np.array([0, 0x80, 1, 0x81, 0x3C, 0xBC, 0x40, 0xC0, 0x38, 0xB8, 0x7B, 0xFB, 0x7C, 0xFC]
                    if fmt == "FP8" else
                    [0, 0x80, 1, 0x81, 0x38, 0xB8, 0x40, 0xC0, 0x30, 0xB0, 0x77, 0xF7, 0x78, 0xF8],
                    dtype=np.uint8)
    return rng.choice(pool, shape)


def _near_one(rng, shape, sign_of_k):
    """+-(1 + sign_of_k * k * 2^-10) * 2^e with k in {1, 2}, e in -3..3 (FP16 bits)."""
    k = rng.integers(1, 3, shape)
    e = rng.integers(-3, 4, shape)
    # 1 + k*2^-10 = 0x3C00 + k; 1 - k*2^-10 = 0x3C00 - 2k (ulp 2^-11 below 1)
    base = 0x3C00 + k if sign_of_k > 0 else 0x3C00 - 2 * k
    return ((rng.integers(0, 2, shape) << 15) | (base + (e << 10))).astype(np.uint16)


def _coupled(rng, M, K, fmt):
    """One-step jobs (N = 1) whose Y is chosen against the product X*W.

    z = fma(x, w, y) with y at or just beyond the product's rounding
    boundaries: exact cancellation, ties, y dwarfing the product by 2^10..2^12.
    For FP16, half the rows of X are (1 + k 2^-10) 2^e and half the columns of
    W are (1 - k 2^-10) 2^e: their products 1 - k^2 2^-20 (times 2^e) are a run
    of ones that a float32 evaluation of p + y rounds up onto an FP16
    midpoint when y is 2^11 times bigger (double rounding).
    """
    x = draw_matrix(rng, (M, 1), fmt, "special")
    w = draw_matrix(rng, (1, K), fmt, "special")
    if fmt == "FP16":
        sel = rng.random(x.shape) < 0.5
        x[sel] = _near_one(rng, sel.sum(), +1)
        sel = rng.random(w.shape) < 0.5
        w[sel] = _near_one(rng, sel.sum(), -1)
    widen = (lambda c: int(c)) if fmt == "FP16" else oracle_widen_table(fmt).__getitem__
    _rne()
    y16 = np.zeros((M, K), dtype=np.uint16)
    for m in range(M):
        for k in range(K):
            p = sf_mul(widen(x[m, 0]), widen(w[0, k]))
            pe = (p >> 10) & 0x1F
            r = rng.random()
            if r < 0.2:  # -p +- a few ulps: cancellation
                y = ((p + int(rng.integers(-2, 3))) & 0xFFFF) ^ 0x8000
            elif pe == 31:
                y = int(rng.integers(0, 1 << 16))
            else:  # y bigger than p by 2^10..2^12, or by 2^-2 .. 2^14
                off = int(rng.integers(10, 13)) if r < 0.6 else int(rng.integers(-2, 15))
                ye = min(30, max(0, pe + off))
                y = (int(rng.integers(0, 2)) << 15) | (ye << 10) | int(rng.integers(0, 1 << 10))
            y16[m, k] = y
    if fmt == "FP16":
        return x, w, y16
    return x, w, np.array([[oracle_narrow(int(v), fmt) for v in row] for row in y16], np.uint8)


def check_gemm(
    gemm_fn,
    op,
    fmt,
    seed,
    shapes=GEMM_SHAPES,
    flavours=("normal", "special", "grid", "zeros", "coupled"),
):
    """Compare ``gemm_fn(x, w, y, op, fmt)`` with the scalar SoftFloat loop.

    Flavour "coupled" is a 48 x 1 x 48 job (see ``_coupled``), run once.
    """
    rng = np.random.default_rng(seed)
    for flavour in flavours:
        for shape in [(48, 1, 48)] if flavour == "coupled" else shapes:
            M, N, K = shape
            if flavour == "coupled":
                x, w, y = _coupled(rng, M, K, fmt)
            else:
                x = draw_matrix(rng, (M, N), fmt, flavour)
                w = draw_matrix(rng, (N, K), fmt, flavour)
                y = draw_matrix(rng, (M, K), fmt, flavour)
            got = gemm_fn(x, w, None if op == "MATMUL" else y, op, fmt)
            exp = oracle_gemm(x, w, y, op, fmt)
            assert_bits_equal(f"{op} {fmt} {M}x{N}x{K} {flavour} (seed {seed})", got, exp)


def gemm_from_elementwise(model):
    """A GEMM-op built from a model's elementwise FP16 functions (n loop, vectorised)."""

    def gemm(x, w, y, op, fmt):
        x16 = model.to_fp16(x, fmt)
        w16 = model.to_fp16(w, fmt)
        M, K = x.shape[0], w.shape[1]
        z = np.zeros((M, K), np.uint16) if op == "MATMUL" else model.to_fp16(y, fmt)
        for n in range(x.shape[1]):
            a = np.broadcast_to(x16[:, n : n + 1], (M, K))
            b = np.broadcast_to(w16[n : n + 1, :], (M, K))
            if op in ("MATMUL", "GEMM"):
                z = model.fma16(a, b, z)
            elif op == "ADDMAX":
                z = model.max16(model.add16(a, b), z)
            elif op == "ADDMIN":
                z = model.min16(model.add16(a, b), z)
            elif op == "MULMAX":
                z = model.max16(model.mul16(a, b), z)
            elif op == "MULMIN":
                z = model.min16(model.mul16(a, b), z)
            elif op == "MAXMIN":
                z = model.min16(model.max16(a, b), z)
            else:
                z = model.max16(model.min16(a, b), z)
            z = np.asarray(z, dtype=np.uint16).reshape(M, K)
        return z if fmt == "FP16" else model.from_fp16(z, fmt)

    return gemm


# --------------------------------------------------------------------------
# Self-tests of the oracles on hand-computed values
# --------------------------------------------------------------------------


def test_softfloat_oracle_known_values():
    _rne()
    assert sf_fma(0x3C00, 0x3C00, 0xBC00) == 0x0000  # 1*1-1 = +0
    assert sf_fma(0x8000, 0x3C00, 0x8000) == 0x8000  # -0 + -0 = -0
    assert sf_fma(0x7C00, 0x0000, 0x3C00) == NAN16  # Inf*0
    assert sf_fma(0x3C00, 0x7C00, 0xFC00) == NAN16  # Inf-Inf
    assert sf_add(0x7D01, 0x3C00) == NAN16  # sNaN payload dropped
    assert sf_add(0x3C00, 0x1000) == 0x3C00  # 1 + 2^-11: tie to even
    assert sf_add(0x3C01, 0x1000) == 0x3C02  # tie to even (up)
    assert sf_mul(0x7BFF, 0x4000) == 0x7C00  # overflow
    assert sf_mul(0x0001, 0x3800) == 0x0000  # 2^-25: tie to even (0)
    assert sf_mul(0x8001, 0x3800) == 0x8000  # sign kept on underflow
    # (1+2^-10)^2 - 1 = 2^-9 + 2^-20: exactly half an ulp -> tie to even
    assert sf_fma(0x3C01, 0x3C01, 0xBC00) == 0x1800
    # fused: (1+2^-10)(1+2^-9) - 1 = 2^-9 + 2^-10 + 2^-19 keeps the 2^-19 bit
    assert sf_fma(0x3C01, 0x3C02, 0xBC00) == 0x1A01
    assert sf_add(sf_mul(0x3C01, 0x3C02), 0xBC00) == 0x1A00  # unfused loses it
    assert sf_max(0x8000, 0x0000) == 0x0000 and sf_max(0x0000, 0x8000) == 0x0000
    assert sf_min(0x8000, 0x0000) == 0x8000 and sf_min(0x0000, 0x8000) == 0x8000
    assert sf_max(0x7D00, 0xBC00) == 0xBC00 and sf_min(0xBC00, 0x7D00) == 0xBC00
    assert sf_max(0x7D00, 0x7E01) == NAN16
    assert sf_max(0xFC00, 0x7E00) == 0xFC00


def test_fraction_oracle_known_values():
    assert round_to(decode(0x7BFF, "FP16"), "FP8") == 0x7C  # 65504 -> Inf
    assert round_to(decode(0x7B00, "FP16"), "FP8") == 0x7B  # 57344 = max
    assert round_to(decode(0x5B80, "FP16"), "FP8ALT") == 0x77  # 240 = max
    assert round_to(decode(0x5BC0, "FP16"), "FP8ALT") == 0x78  # 248: tie -> Inf
    assert round_to(decode(0x5BBF, "FP16"), "FP8ALT") == 0x77
    assert round_to(decode(0x1800, "FP16"), "FP8ALT") == 0x01  # 2^-9 smallest subnormal
    assert round_to(decode(0x1400, "FP16"), "FP8ALT") == 0x00  # 2^-10: tie -> 0
    assert round_to(decode(0x9401, "FP16"), "FP8ALT") == 0x81  # just above the tie
    assert round_to(decode(0x0001, "FP16"), "FP8") == 0x00
    assert round_to(decode(0x7D00, "FP16"), "FP8ALT") == 0x7C  # NaN -> canonical
    assert oracle_widen_table("FP8ALT")[0x78] == 0x7C00
    assert oracle_widen_table("FP8ALT")[0x01] == 0x1800
    assert oracle_widen_table("FP8")[0x7D] == NAN16
    assert oracle_widen_table("FP8")[0x83] == 0x8300


# --------------------------------------------------------------------------
# What the random vectors hit (so that "drawn to hit X" is checked, not hoped)
# --------------------------------------------------------------------------


def _cls(c):
    e, m = (c >> 10) & 0x1F, c & 0x3FF
    if e == 31:
        return "nan" if m else "inf"
    if e == 0:
        return "zero" if m == 0 else "sub"
    return "normal"


def corner_counts(op, cols):
    """Count the corner cases among operand tuples (SoftFloat decides ties)."""
    fn = {"fma16": sf.f16_mul_add, "add16": sf.f16_add, "mul16": sf.f16_mul}.get(op)
    counts = dict.fromkeys(
        ["tie", "+0 result", "-0 result", "subnormal result", "overflow", "NaN result",
         "cancellation", "sNaN operand", "qNaN operand", "Inf operand", "opposite zeros",
         "one NaN", "two NaNs"], 0)
    for t in zip(*(np.asarray(c).astype(int).tolist() for c in cols)):
        cl = [_cls(v) for v in t]
        counts["sNaN operand"] += any(sf.f16_is_signaling_nan(_F16[v]) for v in t)
        counts["qNaN operand"] += any(c == "nan" and not sf.f16_is_signaling_nan(_F16[v]) for c, v in zip(cl, t))
        counts["Inf operand"] += "inf" in cl
        nans = cl.count("nan")
        counts["one NaN"] += nans == 1
        counts["two NaNs"] += nans >= 2
        counts["opposite zeros"] += len(t) == 2 and cl == ["zero", "zero"] and t[0] != t[1]
        if fn is None:
            continue
        args = [_F16[v] for v in t]
        sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
        r = _b(fn(*args))
        sf.set_rounding_mode(sf.RoundingMode.NEAR_MAX_MAG)
        counts["tie"] += r != _b(fn(*args))  # RNE and ties-away differ only on ties
        sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
        rc = _cls(r)
        counts["+0 result"] += r == 0x0000
        counts["-0 result"] += r == 0x8000
        counts["subnormal result"] += rc == "sub"
        counts["NaN result"] += rc == "nan"
        counts["overflow"] += rc == "inf" and "inf" not in cl and "nan" not in cl
        counts["cancellation"] += rc == "zero" and "zero" not in cl
    return counts


CORNER_MINIMUM = {
    "fma16": ["tie", "+0 result", "-0 result", "subnormal result", "overflow", "NaN result",
              "cancellation", "sNaN operand", "qNaN operand", "Inf operand"],
    "add16": ["tie", "+0 result", "-0 result", "subnormal result", "overflow", "NaN result",
              "cancellation", "sNaN operand", "qNaN operand", "Inf operand"],
    "mul16": ["tie", "+0 result", "-0 result", "subnormal result", "overflow", "NaN result",
              "sNaN operand", "qNaN operand", "Inf operand"],
    "min16": ["opposite zeros", "one NaN", "two NaNs", "sNaN operand", "qNaN operand", "Inf operand"],
    "max16": ["opposite zeros", "one NaN", "two NaNs", "sNaN operand", "qNaN operand", "Inf operand"],
}
