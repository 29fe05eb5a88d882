"""Unit tests of the RedMulE floating-point units in rtl/ against the reference model.

The four units (FP16 FMA, min/max, FP8 <-> FP16 casts) sit in one wrapper,
tests/rtl_units/fp_units_top.sv, driven by a bare Verilator harness
(tests/rtl_units/fp_units_tb.cpp) that reads binary vector files: no cocotb per
vector, so 10^5+ vectors per operation take well under a second of simulation.
Every result is compared bit for bit with ``redmule_verif.model.ref``; a failure lists
the first mismatches with the operands in hex.

* FMA, add (as fma(x, 1.0, w)), mul (as fma(x, w, -0.0)), min and max: >= 10^5
  vectors each, random and from special classes (signed zeros, subnormals,
  quiet and signalling NaNs, Inf, max finite, overflow, exact ties,
  cancellation).
* Casts: exhaustive (all 65536 FP16 codes into both FP8 formats, all 256 codes
  of each FP8 format into FP16).
* The pipelined FMA (NUM_REGS = 3) with en_i toggling at random: results come
  out in order after exactly 3 enabled cycles and hold while en_i is low.
"""

from __future__ import annotations

import pathlib
import subprocess

import numpy as np
import pytest

from redmule_verif.sim import build as rbuild
from redmule_verif.model import ref

REPO = pathlib.Path(__file__).resolve().parents[2]
UNITS = REPO / "tests" / "rtl" / "units"
RTL_FILES = [
    REPO / "rtl" / "redmule_fp16_fma.sv",
    REPO / "rtl" / "redmule_fp16_minmax.sv",
    REPO / "rtl" / "redmule_fp8_to_fp16.sv",
    REPO / "rtl" / "redmule_fp16_to_fp8.sv",
]
N_VECTORS = 100_000
PIPE_REGS = 3

# harness opcodes (see fp_units_tb.cpp)
OP_FMA, OP_MIN, OP_MAX, OP_TO_E5M2, OP_TO_E4M3, OP_FROM_E5M2, OP_FROM_E4M3 = range(7)

ONE = 0x3C00
NEG_ZERO = 0x8000

# FP16 codes of every class, both signs
_SPECIAL_POS = [
    0x0000,  # +0
    0x0001, 0x0002, 0x0003, 0x00FF, 0x0200, 0x02AA, 0x03FE, 0x03FF,  # subnormals
    0x0400, 0x0401, 0x07FF,  # smallest normals
    0x1000, 0x2000, 0x3555, 0x3BFF, 0x3C00, 0x3C01, 0x3E00, 0x4000, 0x4200,
    0x5800, 0x5BFF, 0x7000, 0x77FF, 0x7800, 0x7BFE, 0x7BFF,  # up to max finite
    0x7C00,  # Inf
    0x7C01, 0x7C02, 0x7D00, 0x7DFF,  # signalling NaNs
    0x7E00, 0x7E01, 0x7F00, 0x7FFF,  # quiet NaNs
]
SPECIALS = np.array(_SPECIAL_POS + [x | 0x8000 for x in _SPECIAL_POS], dtype=np.uint16)


# --------------------------------------------------------------------------- harness


@pytest.fixture(scope="session")
def comb_sim(build_root):
    return _build(build_root, 0)


@pytest.fixture(scope="session")
def pipe_sim(build_root):
    return _build(build_root, PIPE_REGS)


def _build(build_root, fma_regs: int):
    cfg = rbuild.SimConfig.make(
        sources=[*RTL_FILES, UNITS / "fp_units_top.sv"],
        top="fp_units_top",
        parameters={"FMA_REGS": fma_regs},
        harness_cpp=UNITS / "fp_units_tb.cpp",
    )
    return rbuild.build(cfg, build_root)


def _run(sim, mode: str, records: np.ndarray, tmp_path: pathlib.Path) -> np.ndarray:
    """Run the harness on records (n x 4 uint16); returns n uint16 results."""
    records = np.ascontiguousarray(records, dtype="<u2")
    assert records.ndim == 2 and records.shape[1] == 4
    vin, vout = tmp_path / f"{mode}.in", tmp_path / f"{mode}.out"
    records.tofile(vin)
    proc = subprocess.run([str(sim.binary), mode, str(vin), str(vout)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"harness failed ({proc.returncode}): {proc.stderr}"
    out = np.fromfile(vout, dtype="<u2")
    assert out.shape == (records.shape[0],)
    return out


def _comb(sim, op: int, tmp_path, x, y=None, z=None) -> np.ndarray:
    x = np.asarray(x, dtype=np.uint16)
    rec = np.zeros((x.size, 4), dtype=np.uint16)
    rec[:, 0] = op
    rec[:, 1] = x
    if y is not None:
        rec[:, 2] = y
    if z is not None:
        rec[:, 3] = z
    return _run(sim, "comb", rec, tmp_path)


def _check(name: str, got, exp, operands: dict, width: int = 4, res_width: int = 4, show: int = 12) -> None:
    got = np.asarray(got).astype(np.uint16)
    exp = np.asarray(exp).astype(np.uint16)
    assert got.shape == exp.shape
    bad = np.flatnonzero(got != exp)
    if bad.size:
        lines = [f"{name}: {bad.size} of {got.size} results differ from redmule_verif.model.ref; first ones:"]
        for i in bad[:show]:
            ops = " ".join(f"{k}=0x{int(v[i]):0{width}X}" for k, v in operands.items())
            lines.append(f"  [{i}] {ops} -> rtl 0x{int(got[i]):0{res_width}X}, ref 0x{int(exp[i]):0{res_width}X}")
        pytest.fail("\n".join(lines))


# --------------------------------------------------------------------------- vectors


def _fp16(sign, exp, man) -> np.ndarray:
    return ((np.asarray(sign, np.uint32) & 1) << 15 | (np.asarray(exp, np.uint32) & 0x1F) << 10
            | (np.asarray(man, np.uint32) & 0x3FF)).astype(np.uint16)


def _short_mantissa(rng, n) -> np.ndarray:
    """Mantissas with a random number of trailing zeros: short significands make exact ties likely."""
    keep = rng.integers(0, 11, n)
    mask = (0x3FF >> (10 - keep)) << (10 - keep)
    return rng.integers(0, 1024, n) & mask


def _operands(rng, n, exp_lo=0, exp_hi=31) -> np.ndarray:
    """A mix of uniform codes, special codes and finite values with short significands."""
    kind = rng.integers(0, 4, n)
    uni = rng.integers(0, 1 << 16, n, dtype=np.uint32).astype(np.uint16)
    spc = rng.choice(SPECIALS, n)
    shrt = _fp16(rng.integers(0, 2, n), rng.integers(exp_lo, exp_hi, n), _short_mantissa(rng, n))
    sub = _fp16(rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 1024, n))
    return np.select([kind == 0, kind == 1, kind == 2], [uni, spc, shrt], sub).astype(np.uint16)


def _nudge(rng, x) -> np.ndarray:
    """x, or the code next to it (one ulp up or down in magnitude)."""
    d = rng.integers(-1, 2, x.size)
    y = x.astype(np.int32) + d
    ok = (y >= 0) & (y <= 0xFFFF) & ((x & 0x7FFF) != 0x7FFF)
    return np.where(ok, y, x).astype(np.uint16)


def fma_vectors(rng, n):
    """Triples (a, b, c) for the FMA: random, special and structured cases."""
    parts = []
    # 1. independent operands
    m = 3 * n // 8
    parts.append((_operands(rng, m), _operands(rng, m), _operands(rng, m)))
    # 2. correlated exponents: c near the product -> cancellation, ties, carries
    m = n // 4
    ea = rng.integers(1, 31, m)
    eb = rng.integers(1, 31, m)
    ec = np.clip(ea + eb - 15 + rng.integers(-12, 13, m), 0, 30)
    a = _fp16(rng.integers(0, 2, m), ea, _short_mantissa(rng, m))
    b = _fp16(rng.integers(0, 2, m), eb, _short_mantissa(rng, m))
    c = _fp16(rng.integers(0, 2, m), ec, _short_mantissa(rng, m))
    parts.append((a, b, c))
    # 3. c = -(a*b) rounded, or its neighbour: (near-)exact cancellation
    m = n // 8
    a = _operands(rng, m, 5, 26)
    b = _operands(rng, m, 5, 26)
    c = _nudge(rng, ref.mul16(a, b) ^ np.uint16(0x8000))
    parts.append((a, b, c))
    # 4. tiny products: subnormal results, underflow to zero of either sign
    m = n // 8
    a = _fp16(rng.integers(0, 2, m), rng.integers(0, 12, m), rng.integers(0, 1024, m))
    b = _fp16(rng.integers(0, 2, m), rng.integers(0, 12, m), rng.integers(0, 1024, m))
    c = np.where(rng.random(m) < 0.5, _fp16(rng.integers(0, 2, m), rng.integers(0, 3, m), rng.integers(0, 1024, m)),
                 rng.choice(np.array([0x0000, 0x8000], np.uint16), m))
    parts.append((a, b, c))
    # 5. huge products: overflow, Inf - Inf, max finite +- rounding
    m = n // 8
    a = _fp16(rng.integers(0, 2, m), rng.integers(20, 31, m), rng.integers(0, 1024, m))
    b = _fp16(rng.integers(0, 2, m), rng.integers(15, 31, m), rng.integers(0, 1024, m))
    c = np.where(rng.random(m) < 0.7, _fp16(rng.integers(0, 2, m), rng.integers(25, 32, m), 0), _operands(rng, m))
    parts.append((a, b, c))
    # 6. every pair of special codes with a special addend
    sa, sb = np.meshgrid(SPECIALS, SPECIALS)
    sa, sb = sa.ravel(), sb.ravel()
    parts.append((sa, sb, rng.choice(SPECIALS, sa.size)))
    a, b, c = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return a, b, c


def add_vectors(rng, n):
    """Pairs (x, w) for x + w: random, special, close exponents (ties, cancellation)."""
    m = n // 2
    x1, w1 = _operands(rng, m), _operands(rng, m)
    m = n - m
    ex = rng.integers(0, 31, m)
    ew = np.clip(ex + rng.integers(-13, 14, m), 0, 30)
    x2 = _fp16(rng.integers(0, 2, m), ex, _short_mantissa(rng, m))
    w2 = _fp16(rng.integers(0, 2, m), ew, _short_mantissa(rng, m))
    # a quarter of them: w = -x or its neighbour (exact cancellation -> +0)
    neg = rng.random(m) < 0.25
    w2 = np.where(neg, _nudge(rng, x2 ^ np.uint16(0x8000)), w2)
    sa, sb = np.meshgrid(SPECIALS, SPECIALS)
    return (np.concatenate([x1, x2, sa.ravel()]).astype(np.uint16),
            np.concatenate([w1, w2, sb.ravel()]).astype(np.uint16))


def mul_vectors(rng, n):
    """Pairs (x, w) for x * w: random, special, underflowing and overflowing products."""
    m = n // 2
    x1, w1 = _operands(rng, m), _operands(rng, m)
    m = n - m
    ex = rng.integers(0, 31, m)
    ew = np.clip(30 - ex + rng.integers(-25, 8, m), 0, 30)  # products from deep underflow to overflow
    x2 = _fp16(rng.integers(0, 2, m), ex, _short_mantissa(rng, m))
    w2 = _fp16(rng.integers(0, 2, m), ew, rng.integers(0, 1024, m))
    sa, sb = np.meshgrid(SPECIALS, SPECIALS)
    return (np.concatenate([x1, x2, sa.ravel()]).astype(np.uint16),
            np.concatenate([w1, w2, sb.ravel()]).astype(np.uint16))


def minmax_vectors(rng, n):
    """Pairs for min/max: random, special, equal magnitudes, +-0, NaN against anything."""
    m = n // 2
    a1, b1 = _operands(rng, m), _operands(rng, m)
    m = n - m
    a2 = _operands(rng, m)
    how = rng.integers(0, 4, m)
    b2 = np.select([how == 0, how == 1, how == 2],
                   [a2, a2 ^ np.uint16(0x8000), _nudge(rng, a2)], _nudge(rng, a2 ^ np.uint16(0x8000)))
    sa, sb = np.meshgrid(SPECIALS, SPECIALS)
    return (np.concatenate([a1, a2, sa.ravel()]).astype(np.uint16),
            np.concatenate([b1, b2, sb.ravel()]).astype(np.uint16))


# --------------------------------------------------------------------------- tests


def test_fma(comb_sim, tmp_path):
    rng = np.random.default_rng(0xF3A)
    a, b, c = fma_vectors(rng, N_VECTORS)
    assert a.size >= N_VECTORS
    got = _comb(comb_sim, OP_FMA, tmp_path, a, b, c)
    _check("fma(a, b, c)", got, ref.fma16(a, b, c), {"a": a, "b": b, "c": c})


def test_add_as_fma(comb_sim, tmp_path):
    rng = np.random.default_rng(0xADD)
    x, w = add_vectors(rng, N_VECTORS)
    assert x.size >= N_VECTORS
    got = _comb(comb_sim, OP_FMA, tmp_path, x, np.full(x.size, ONE, np.uint16), w)
    _check("x + w = fma(x, 1.0, w)", got, ref.add16(x, w), {"x": x, "w": w})


def test_mul_as_fma(comb_sim, tmp_path):
    rng = np.random.default_rng(0x3A1)
    x, w = mul_vectors(rng, N_VECTORS)
    assert x.size >= N_VECTORS
    got = _comb(comb_sim, OP_FMA, tmp_path, x, w, np.full(x.size, NEG_ZERO, np.uint16))
    _check("x * w = fma(x, w, -0)", got, ref.mul16(x, w), {"x": x, "w": w})


@pytest.mark.parametrize("op", ["min", "max"])
def test_minmax(comb_sim, tmp_path, op):
    rng = np.random.default_rng(0x313 if op == "min" else 0x3A8)
    a, b = minmax_vectors(rng, N_VECTORS)
    assert a.size >= N_VECTORS
    got = _comb(comb_sim, OP_MIN if op == "min" else OP_MAX, tmp_path, a, b)
    exp = ref.min16(a, b) if op == "min" else ref.max16(a, b)
    _check(f"{op}(a, b)", got, exp, {"a": a, "b": b})


@pytest.mark.parametrize("fmt", ["FP8", "FP8ALT"])
def test_fp16_to_fp8_exhaustive(comb_sim, tmp_path, fmt):
    codes = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    got = _comb(comb_sim, OP_TO_E5M2 if fmt == "FP8" else OP_TO_E4M3, tmp_path, codes)
    _check(f"fp16 -> {fmt}", got, np.asarray(ref.from_fp16(codes, fmt)).astype(np.uint16), {"a": codes},
           res_width=2)


@pytest.mark.parametrize("fmt", ["FP8", "FP8ALT"])
def test_fp8_to_fp16_exhaustive(comb_sim, tmp_path, fmt):
    codes = np.arange(256, dtype=np.uint16)
    got = _comb(comb_sim, OP_FROM_E5M2 if fmt == "FP8" else OP_FROM_E4M3, tmp_path, codes)
    exp = np.asarray(ref.to_fp16(codes.astype(np.uint8), fmt)).astype(np.uint16)
    _check(f"{fmt} -> fp16", got, exp, {"a": codes}, width=2)


def test_fma_pipelined_enable(pipe_sim, tmp_path):
    """NUM_REGS = 3: each result leaves after 3 enabled cycles, in order; stalls hold everything."""
    rng = np.random.default_rng(0x919E)
    n = 20_000
    # en_i: random toggling plus a few long stalls and long enabled runs
    en = (rng.random(n) < 0.6).astype(np.uint16)
    for start in rng.integers(0, n - 50, 20):
        en[start:start + rng.integers(5, 40)] = rng.integers(0, 2)
    a, b, c = fma_vectors(rng, n)
    pick = rng.permutation(a.size)[:n]
    a, b, c = a[pick], b[pick], c[pick]
    rec = np.stack([en, a, b, c], axis=1)
    got = _run(pipe_sim, "pipe", rec, tmp_path)

    full = ref.fma16(a, b, c).astype(np.uint16)
    enabled = np.flatnonzero(en)  # cycles whose inputs enter the pipeline
    count = np.cumsum(en)  # enabled edges up to and including each cycle
    valid = count >= PIPE_REGS
    # after the edge of cycle t, the output holds the result of the input taken
    # at enabled edge number count[t] - PIPE_REGS (0-based)
    src = enabled[np.clip(count - PIPE_REGS, 0, None)[valid]]
    cyc = np.flatnonzero(valid)
    assert cyc.size > n // 2
    _check(f"pipelined fma (NUM_REGS={PIPE_REGS}) output after each cycle", got[cyc], full[src],
           {"cycle": cyc, "en": en[cyc], "a": a[src], "b": b[src], "c": c[src]})
