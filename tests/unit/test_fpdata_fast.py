"""Operand generation's shortcuts draw exactly what the plain numpy calls drew.

``generate`` is deterministic in the seed and the regression's results (trace hashes, coverage)
depend on every bit of it: the shortcuts (numpy's weighted choice without its checks, the class
bits from tables, cached per-format tables) must give the same bits from the same draws, leaving
the generator where the plain calls left it. The golden digest was taken from the plain
implementation (commit 69ad2f7).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from redmule_verif.sequences.items import fpdata
from redmule_verif.seeding import np_rng


def _golden_digest():
    h = hashlib.sha256()
    for dist in fpdata.DISTRIBUTIONS:
        for code in range(8):
            for m, n, k in ((1, 1, 1), (5, 7, 3), (16, 12, 9), (0, 3, 3)):
                for seed in (0, 7, 2**64 - 1):
                    for reads_y in (True, False):
                        cws = [None, {"qnan": 2, "-sub": 1, "+max": 0.5}] if dist in fpdata.CLASS_DRAWN else [None]
                        for cw in cws:
                            for a in fpdata.generate(dist, code, m, n, k, seed, cw, reads_y):
                                h.update(b"N" if a is None else a.dtype.str.encode() + repr(a.shape).encode()
                                         + a.tobytes())
    return h.hexdigest()


def test_generate_is_bit_identical_to_the_plain_implementation():
    assert _golden_digest() == "617e6697caf320730d6f7ed8373da2783a142166157e4678b8088ed09ecf9037"


def _random_p(rng, n=12):
    kind = rng.integers(0, 4)
    if kind == 0:
        w = rng.random(n)
    elif kind == 1:
        w = np.zeros(n)
        w[rng.integers(0, n)] = 1.0
    elif kind == 2:
        w = rng.random(n) * (rng.random(n) < 0.4)
        w[0] += 1e-5
    else:
        w = 10.0 ** rng.uniform(-6, 12, n)
    return w / w.sum()


@pytest.mark.parametrize("seed", range(40))
def test_choice_is_numpys_weighted_choice(seed):
    meta = np.random.default_rng(seed)
    for _ in range(25):
        p = _random_p(meta)
        size = int(meta.choice([0, 1, 2, 7, 100, 4096]))
        a, b = np_rng(seed, "a"), np_rng(seed, "a")
        got = fpdata._choice(a, p, size)
        want = b.choice(len(p), size=size, p=p)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        assert a.bit_generator.state == b.bit_generator.state  # the same draws consumed


def _plain_draw_classes(rng, cls, code, exp_range):
    """_draw_classes as it was: masks per class."""
    e_bits, m_bits, bias = fpdata._layout(code)
    emax = (1 << e_bits) - 1
    mmax = (1 << m_bits) - 1
    n = cls.size
    sign = (cls % 2).astype(np.int64)
    exp = np.zeros(n, np.int64)
    man = np.zeros(n, np.int64)
    rnd_man = rng.integers(0, mmax + 1, n)
    lo = min(max(exp_range[0] + bias, 1), emax - 1)
    hi = min(max(exp_range[1] + bias, lo), emax - 1)
    rnd_exp = rng.integers(lo, hi + 1, n)
    rnd_sign = rng.integers(0, 2, n)
    half = 1 << (m_bits - 1)
    c = (cls == 2) | (cls == 3)
    man[c] = np.maximum(rnd_man[c], 1)
    c = (cls == 4) | (cls == 5)
    exp[c], man[c] = rnd_exp[c], rnd_man[c]
    c = (cls == 6) | (cls == 7)
    exp[c], man[c] = emax - 1, mmax
    c = (cls == 8) | (cls == 9)
    exp[c] = emax
    c = cls == 10
    exp[c], man[c], sign[c] = emax, half | (rnd_man[c] & (half - 1)), rnd_sign[c]
    c = cls == 11
    exp[c], man[c], sign[c] = emax, np.maximum(rnd_man[c] & (half - 1), 1), rnd_sign[c]
    bits = (sign << (e_bits + m_bits)) | (exp << m_bits) | man
    return bits.astype(fpdata._dtype(code))


@pytest.mark.parametrize("code", [0, 1, 2])
def test_class_bits_are_the_plain_ones(code):
    meta = np.random.default_rng(code)
    for i in range(200):
        cls = meta.integers(0, 12, int(meta.choice([0, 1, 5, 300])))
        lo = int(meta.integers(-40, 20))
        erange = (lo, lo + int(meta.integers(-3, 30)))
        a, b = np_rng(i, "d"), np_rng(i, "d")
        got, want = fpdata._draw_classes(a, cls, code, erange), _plain_draw_classes(b, cls, code, erange)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        assert a.bit_generator.state == b.bit_generator.state


def test_cached_class_weights_are_the_normalised_weights_and_read_only():
    for dist in fpdata.CLASS_DRAWN:
        for code in (0, 1, 2):
            for which in "xwy":
                p, erange = fpdata._class_params(dist, code, which)
                weights, want_range = fpdata._dist_params(dist, code, which)
                assert np.array_equal(p, fpdata._weights(weights)) and erange == want_range
                assert not p.flags.writeable


def _plain_encode_fp8(values, code):
    table = fpdata.decode_table(code)
    lut = {}
    for c, x in enumerate(table.tolist()):
        if x != 0 and not math.isnan(x):
            lut.setdefault(x, c)
    out = []
    for x in np.asarray(values, np.float64).ravel().tolist():
        if x == 0:
            out.append(128 if math.copysign(1.0, x) < 0 else 0)
        elif x in lut:
            out.append(lut[x])
        else:
            raise ValueError(x)
    return np.array(out, np.uint8)


@pytest.mark.parametrize("code", [0, 2])
def test_encode_exact_with_the_cached_table(code):
    table = fpdata.decode_table(code)
    values = np.array([v for v in table if not np.isnan(v)] + [-0.0, 0.0])
    assert np.array_equal(fpdata.encode_exact(values, code).ravel(), _plain_encode_fp8(values, code))
    with pytest.raises(ValueError, match="not exactly representable"):
        fpdata.encode_exact([1.0, 1e-30], code)
