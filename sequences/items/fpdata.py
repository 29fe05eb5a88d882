"""Data generation of a job: raw-bit matrices drawn by FP class or by a structured distribution.

``generate(dist, fmt_code, m, n, k, seed, class_weights, reads_y)`` is what
``GemmJob.make_data`` returns: deterministic in the seed (one sha256-derived
numpy stream per matrix). ``classify`` / ``class_counts`` use the project's one
classifier (``redmule_verif.coverage.fpclass``); ``encode_exact`` writes exact
values as raw bits. The unsupported-format no-op jobs are laid out as FP16.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from redmule_verif.coverage import fpclass as _fpclass
from redmule_verif.model.encoding import ALL_FORMAT_NAMES, dtype_of, fmt_code, layout
from redmule_verif.seeding import np_rng

__all__ = ["FP_CLASSES", "DISTRIBUTIONS", "CLASS_DRAWN", "classify", "class_counts", "decode_table",
           "encode_exact", "generate"]

#: floating-point classes, in this order (``classify`` returns indices into it)
FP_CLASSES = _fpclass.CLASSES
CLASS_INDEX = {n: i for i, n in enumerate(FP_CLASSES)}

#: the named value distributions of ``GemmJob.data``
DISTRIBUTIONS = ("normal", "specials", "overflow", "underflow", "cancel", "small_ints")
#: distributions drawn element by element by FP class (``class_weights`` applies)
CLASS_DRAWN = ("normal", "specials", "overflow", "underflow")


@functools.lru_cache(maxsize=None)
def _layout(code: int) -> tuple[int, int, int]:
    """(exponent bits, mantissa bits, bias); the unsupported codes -> the FP16 layout."""
    return layout(code, unsupported=True).fields


@functools.lru_cache(maxsize=None)
def _dtype(code: int) -> np.dtype:
    return dtype_of(code, unsupported=True)


def classify(bits, fmt) -> np.ndarray:
    """FP class index (into ``FP_CLASSES``) of every element of raw bits ``bits``.

    One classifier serves the whole project (``redmule_verif.coverage.fpclass``);
    the unsupported-format no-op jobs are laid out as FP16.
    """
    code = fmt_code(fmt, unsupported=True)
    return _fpclass.classify(bits, ALL_FORMAT_NAMES[code] if code in (0, 1, 2) else "FP16")


def class_counts(bits, fmt) -> dict[str, int]:
    """{class name: count} of raw bits ``bits`` (every class present, zeros included)."""
    idx = classify(bits, fmt).ravel()
    counts = np.bincount(idx, minlength=len(FP_CLASSES)) if idx.size else np.zeros(len(FP_CLASSES), int)
    return {n: int(c) for n, c in zip(FP_CLASSES, counts)}


#: per FP class (FP_CLASSES order): which drawn part its bits take (see _draw_classes)
_DRAWN_PART = np.array([0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 3, 4], np.int64)
@functools.lru_cache(maxsize=None)
def _fixed_bits(code: int) -> np.ndarray:
    """Per FP class, the bits it does not draw: its sign (odd classes negative; NaNs draw theirs), the
    exponent of zeros, subnormals, max, inf and NaNs, the mantissa of max and inf and the quiet bit
    (read only)."""
    e_bits, m_bits, _ = _layout(code)
    emax, mmax, half = (1 << e_bits) - 1, (1 << m_bits) - 1, 1 << (m_bits - 1)
    exp = [0, 0, 0, 0, 0, 0, emax - 1, emax - 1, emax, emax, emax, emax]
    man = [0, 0, 0, 0, 0, 0, mmax, mmax, 0, 0, half, 0]
    t = np.array([((c % 2 if c < 10 else 0) << (e_bits + m_bits)) | (exp[c] << m_bits) | man[c]
                  for c in range(len(FP_CLASSES))], np.int64)
    t.setflags(write=False)
    return t


def _draw_classes(rng: np.random.Generator, cls: np.ndarray, code: int, exp_range) -> np.ndarray:
    """Bits for class indices ``cls``; normals get unbiased exponents in exp_range.

    Zeros, max and inf are fixed bits; a subnormal draws its mantissa (1..mmax); a normal its exponent and
    mantissa; a quiet NaN (mantissa MSB set) its sign and payload; a signalling NaN (MSB clear) its sign and
    a payload != 0."""
    e_bits, m_bits, bias = _layout(code)
    emax = (1 << e_bits) - 1
    mmax = (1 << m_bits) - 1
    n = cls.size
    rnd_man = rng.integers(0, mmax + 1, n)
    lo = min(max(exp_range[0] + bias, 1), emax - 1)
    hi = min(max(exp_range[1] + bias, lo), emax - 1)
    rnd_exp = rng.integers(lo, hi + 1, n)
    rnd_sign = rng.integers(0, 2, n)
    payload = rnd_man & ((1 << (m_bits - 1)) - 1)
    nan_sign = rnd_sign << (e_bits + m_bits)
    drawn = np.choose(_DRAWN_PART[cls], (0, np.maximum(rnd_man, 1), (rnd_exp << m_bits) | rnd_man,
                                         nan_sign | payload, nan_sign | np.maximum(payload, 1)))
    return (_fixed_bits(code)[cls] | drawn).astype(_dtype(code))


def decode_table(code: int) -> np.ndarray:
    """float64 value of every code of an FP8 format (NaN for NaNs)."""
    e_bits, m_bits, bias = _layout(code)
    b = np.arange(1 << (1 + e_bits + m_bits), dtype=np.int64)
    sign = np.where((b >> (e_bits + m_bits)) & 1, -1.0, 1.0)
    exp = (b >> m_bits) & ((1 << e_bits) - 1)
    man = (b & ((1 << m_bits) - 1)).astype(np.float64)
    emax = (1 << e_bits) - 1
    val = np.where(exp == 0, man * 2.0 ** (1 - bias - m_bits), (1 + man / (1 << m_bits)) * 2.0 ** (exp - bias))
    val = np.where(exp == emax, np.where(man == 0, np.inf, np.nan), val) * sign
    return val


def encode_exact(values, fmt) -> np.ndarray:
    """Raw bits of float values that the format represents exactly (else ValueError)."""
    code = fmt_code(fmt, unsupported=True)
    v = np.asarray(values, dtype=np.float64)
    if code not in (0, 2):
        h = v.astype(np.float16)
        if not np.array_equal(h.astype(np.float64), v, equal_nan=True):
            raise ValueError("encode_exact: value not exactly representable in FP16")
        return h.view(np.uint16)
    lut = _exact_codes(code)
    sign_bit = 1 << 7
    out = []
    for x in v.ravel().tolist():
        if x == 0:
            out.append(sign_bit if math.copysign(1.0, x) < 0 else 0)
        elif x in lut:
            out.append(lut[x])
        else:
            raise ValueError(f"encode_exact: {x!r} is not exactly representable in {ALL_FORMAT_NAMES[code]}")
    return np.array(out, dtype=np.uint8).reshape(v.shape)


@functools.lru_cache(maxsize=None)
def _exact_codes(code: int) -> dict[float, int]:
    """{value: its first code} of the non-zero, non-NaN values of an FP8 format (read only)."""
    lut: dict[float, int] = {}
    for c, x in enumerate(decode_table(code).tolist()):
        if x != 0 and not math.isnan(x):
            lut.setdefault(x, c)
    return lut


@functools.lru_cache(maxsize=None)
def _class_params(dist: str, code: int, which: str) -> tuple[np.ndarray, tuple[int, int]]:
    """``_dist_params`` with the class weights normalised (``_weights``), once per distribution, format and
    matrix (the array is read only)."""
    weights, erange = _dist_params(dist, code, which)
    p = _weights(weights)
    p.setflags(write=False)
    return p, erange


def _weights(d: dict[str, float]) -> np.ndarray:
    w = np.array([float(d.get(c, 0.0)) for c in FP_CLASSES])
    return w / w.sum()


def _choice(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``rng.choice(len(p), size=size, p=p)``: the same indices from the same draws (numpy's algorithm:
    ``size`` uniform doubles against the normalised cumulative weights), without its checks of ``p``
    (ours are valid by construction): a third of its time for a small matrix.
    tests/unit/test_fpdata_fast.py holds it equal to ``rng.choice``."""
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(size), side="right")


def _emax_unb(code):
    e_bits, _, bias = _layout(code)
    return (1 << e_bits) - 2 - bias


def _emin_unb(code):
    return 1 - _layout(code)[2]


def _dist_params(dist: str, code: int, which: str):
    """(class weights, normal exponent range) of matrix ``which`` ('x','w','y')."""
    top, bot = _emax_unb(code), _emin_unb(code)
    if dist == "normal":
        return {"+norm": 47, "-norm": 47, "+zero": 3, "-zero": 3}, (-1, 1)
    if dist == "specials":
        return {c: 1 for c in FP_CLASSES}, (bot, top)
    if dist == "overflow":
        return {"+norm": 40, "-norm": 15, "+max": 30, "-max": 10, "+zero": 5}, (top - 3, top)
    if dist == "underflow":
        if which == "w":  # moderate multiplier: x*w lands in the subnormal range
            return {"+norm": 40, "-norm": 40, "+sub": 10, "-sub": 10}, (-2, 1)
        return {"+sub": 30, "-sub": 30, "+norm": 15, "-norm": 15, "+zero": 5, "-zero": 5}, (bot, bot + 2)
    raise AssertionError(dist)



def generate(dist, code, m, n, k, seed, class_weights, reads_y):
    """(x, w, y) raw bits of distribution ``dist`` in format ``code``; y None unless reads_y."""
    dt = _dtype(code)
    gcode = code if code in (0, 1, 2) else 1  # unsupported formats: nominal FP16 data
    shapes = {"x": (m, n), "w": (n, k), "y": (m, k)}
    if dist in CLASS_DRAWN:
        out = {}
        for which, shape in shapes.items():
            if which == "y" and not reads_y:
                out[which] = None
                continue
            rng = np_rng(seed, f"job.data.{which}")
            p, erange = _class_params(dist, gcode, which)
            if class_weights is not None:
                p = _weights(class_weights)
            cls = _choice(rng, p, shape[0] * shape[1])
            out[which] = _draw_classes(rng, cls, gcode, erange).reshape(shape).astype(dt)
        return out["x"], out["w"], out["y"]
    if dist == "small_ints":
        rng = np_rng(seed, "job.data.small_ints")
        x = encode_exact(rng.integers(-3, 4, shapes["x"]), gcode)
        w = encode_exact(rng.integers(-3, 4, shapes["w"]), gcode)
        y = encode_exact(rng.integers(-8, 9, shapes["y"]), gcode) if reads_y else None
        return x.astype(dt), w.astype(dt), (None if y is None else y.astype(dt))
    if dist == "cancel":
        return _gen_cancel(np_rng(seed, "job.data.cancel"), gcode, dt, m, n, k, reads_y)
    raise AssertionError(dist)


def _gen_cancel(rng, code, dt, m, n, k, reads_y):
    """Values that cancel exactly or nearly.

    Y[m][k] = -(x[m][0] * w[0][k]) (x's column 0 holds powers of two, so the
    product is exact and representable; a quarter of Y is one ulp off: near
    cancellation), then pairs of steps with x equal and w negated, so each pair
    of products cancels: exactly when the product is exact (half of the pairs
    have a power-of-two x), else leaving the rounding residue of the first
    product (this tells a fused FMA from an unfused one). MATMUL (no Y) pairs
    from step 0.
    """
    e_bits, m_bits, bias = _layout(code)
    sh = e_bits + m_bits
    mmax = (1 << m_bits) - 1
    x = ((rng.integers(0, 2, (m, n)) << sh) | (rng.integers(bias - 1, bias + 2, (m, n)) << m_bits)
         | rng.integers(0, mmax + 1, (m, n))).astype(np.int64)
    w = ((rng.integers(0, 2, (n, k)) << sh) | (rng.integers(bias - 1, bias + 2, (n, k)) << m_bits)
         | rng.integers(0, mmax + 1, (n, k))).astype(np.int64)
    first = 0
    y = None
    if reads_y and n > 0:
        x[:, 0] &= ~mmax  # powers of two
        ex = ((x[:, 0] >> m_bits) & ((1 << e_bits) - 1)) - bias  # unbiased, -1..1
        sx = x[:, 0] >> sh
        ew = (w[0, :] >> m_bits) & ((1 << e_bits) - 1)
        sw = w[0, :] >> sh
        mw = w[0, :] & mmax
        sy = 1 ^ sx[:, None] ^ sw[None, :]
        ey = ew[None, :] + ex[:, None]
        my = np.broadcast_to(mw[None, :], (m, k)).copy()
        near = rng.random((m, k)) < 0.25
        my[near] = np.where(my[near] < mmax, my[near] + 1, my[near] - 1)
        y = (sy << sh) | (ey << m_bits) | my
        first = 1
    elif reads_y:
        y = np.zeros((m, k), np.int64)
    for j in range(first, n - 1, 2):
        if rng.random() < 0.5:  # power-of-two x: this pair's products are exact, so it cancels exactly
            x[:, j] &= ~mmax
        x[:, j + 1] = x[:, j]
        w[j + 1, :] = w[j, :] ^ (1 << sh)
    if n > first and (n - first) % 2:  # an unpaired last step: make it tiny (the smallest binade)
        x[:, n - 1] = (x[:, n - 1] & ~(((1 << e_bits) - 1) << m_bits)) | (1 << m_bits)
    return x.astype(dt), w.astype(dt), (None if y is None else y.astype(dt))
