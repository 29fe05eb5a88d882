"""Negative controls: the reference-model checks must FAIL on wrong models.

Each wrong model differs from redmule_verif.model.ref in one classic way:
- an unfused multiply-add (product rounded to FP16, then added),
- a float32 detour (a*b + c evaluated in float32, then rounded to FP16),
- non-canonical NaNs (the payload/sign of a NaN operand propagates),
- min/max that treat -0 and +0 as equal (return the first operand),
- an FP8 cast that saturates instead of overflowing to Inf.
The checks are the very functions the real model passes (test_ref_oracle's
check_elementwise / check_gemm / check_from_fp16 with the same vectors, seeds
and comparison helper); each test also runs the same check on a copy of the
real model to show that only the injected bug makes it fail.
"""

import pathlib
import sys
import types

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_ref_fp16 import shard_args  # noqa: E402
from test_ref_gemm import FMTS  # noqa: E402
from test_ref_oracle import (  # noqa: E402
    OP_NAMES,
    check_elementwise,
    check_from_fp16,
    check_gemm,
    gemm_from_elementwise,
)

from redmule_verif.model import ref  # noqa: E402

FUNCS = ("fma16", "add16", "mul16", "min16", "max16", "to_fp16", "from_fp16")


def model(**overrides):
    """The real model's functions, some of them replaced."""
    funcs = {name: getattr(ref, name) for name in FUNCS}
    funcs.update(overrides)
    return types.SimpleNamespace(**funcs)


def _is_nan(b):
    return (np.asarray(b) & 0x7FFF) > 0x7C00


# ---- the wrong models ------------------------------------------------------


def unfused_fma(a, b, c):
    return ref.add16(ref.mul16(a, b), c)


def float32_fma(a, b, c):
    f = [np.asarray(v, dtype=np.uint16).view(np.float16).astype(np.float32) for v in (a, b, c)]
    with np.errstate(all="ignore"):
        r = np.atleast_1d((f[0] * f[1] + f[2]).astype(np.float16).view(np.uint16))
    r[_is_nan(r)] = 0x7E00
    return r


def _propagate_payload(fn, nargs):
    """Wrap ``fn`` so that a NaN result carries the first NaN operand (quietened)."""

    def wrong(*args):
        args = [np.asarray(a, dtype=np.uint16) for a in args[:nargs]]
        r = np.array(fn(*args), dtype=np.uint16, ndmin=1)
        r = np.broadcast_to(r, np.broadcast_shapes(*(a.shape for a in args), r.shape)).copy()
        take = _is_nan(r)
        for a in args:
            a = np.broadcast_to(a, r.shape)
            sel = take & _is_nan(a)
            r[sel] = a[sel] | 0x0200
            take &= ~sel
        return r

    return wrong


def _zero_blind(fn):
    """min/max that see -0 == +0 and return the first operand on a tie of zeros."""

    def wrong(a, b):
        a, b = np.broadcast_arrays(np.asarray(a, np.uint16), np.asarray(b, np.uint16))
        r = np.array(fn(a, b), dtype=np.uint16, ndmin=1).reshape(a.shape)
        both_zero = ((a & 0x7FFF) == 0) & ((b & 0x7FFF) == 0)
        return np.where(both_zero, a, r).astype(np.uint16)

    return wrong


def saturating_from_fp16(bits16, fmt):
    r = ref.from_fp16(bits16, fmt)
    if ref.fmt_code(fmt) != 1:
        inf = 0x7C if ref.fmt_code(fmt) == 0 else 0x78
        is_inf = (r & 0x7F) == inf
        isinf16 = (np.asarray(bits16) & 0x7FFF) == 0x7C00
        r = np.where(is_inf & ~isinf16, r - 1, r).astype(np.uint8)  # clamp to max finite
    return r


WRONG = {
    "unfused": model(fma16=unfused_fma),
    "float32": model(fma16=float32_fma),
    "nan-payload": model(
        fma16=_propagate_payload(ref.fma16, 3),
        add16=_propagate_payload(ref.add16, 2),
        mul16=_propagate_payload(ref.mul16, 2),
        max16=_propagate_payload(ref.max16, 2),
        min16=_propagate_payload(ref.min16, 2),
    ),
    "signed-zero": model(max16=_zero_blind(ref.max16), min16=_zero_blind(ref.min16)),
}

# (wrong model, elementwise op whose check must fail)
ELEMENTWISE_CASES = [
    ("unfused", "fma16"),
    ("float32", "fma16"),
    ("nan-payload", "fma16"),
    ("nan-payload", "add16"),
    ("nan-payload", "mul16"),
    ("nan-payload", "max16"),
    ("nan-payload", "min16"),
    ("signed-zero", "max16"),
    ("signed-zero", "min16"),
]

# (wrong model, GEMM-op, format whose check must fail)
GEMM_CASES = [
    ("unfused", "GEMM", "FP16"),
    ("unfused", "MATMUL", "FP16"),
    ("float32", "GEMM", "FP16"),
    ("nan-payload", "GEMM", "FP16"),
    ("nan-payload", "ADDMAX", "FP16"),
    ("signed-zero", "MAXMIN", "FP16"),
    ("signed-zero", "MINMAX", "FP16"),
    ("signed-zero", "MULMAX", "FP16"),
    ("signed-zero", "ADDMIN", "FP16"),
]


@pytest.mark.parametrize("wrong, op", ELEMENTWISE_CASES)
def test_elementwise_check_catches(wrong, op, ref_vectors):
    n, seed = shard_args(op, 0, ref_vectors)  # exactly shard 0 of test_ref_fp16
    with pytest.raises(AssertionError, match=f"{op} .*results differ"):
        check_elementwise(WRONG[wrong], op, n, seed)


@pytest.mark.parametrize("wrong, op, fmt", GEMM_CASES)
def test_gemm_check_catches(wrong, op, fmt):
    # the seed of test_ref_gemm.test_gemm_op_vs_softfloat for this op/format
    seed = 17 * OP_NAMES.index(op) + FMTS.index(fmt)
    # positive control: the same builder on the real elementwise model passes
    check_gemm(gemm_from_elementwise(model()), op, fmt, seed)
    with pytest.raises(AssertionError, match="results differ"):
        check_gemm(gemm_from_elementwise(WRONG[wrong]), op, fmt, seed)


@pytest.mark.parametrize("fmt", ["FP8", "FP8ALT"])
def test_cast_check_catches_saturation(fmt):
    with pytest.raises(AssertionError, match="results differ"):
        check_from_fp16(model(from_fp16=saturating_from_fp16), fmt)
