"""redmule_verif.model.ref elementwise FP16 ops against Berkeley SoftFloat 3e.

Each op is checked on ``--ref-vectors`` random vectors in total (default
10^5; ``make bench-ref-long`` passes 10^7), split into SHARDS test cases with
different seeds so that xdist workers share the work. The vectors are drawn to
hit zeros of both signs, subnormals, exact ties, cancellation, near-overflow,
Inf and quiet/signalling NaNs (see test_ref_oracle.vectors).
"""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_ref_oracle import CHUNK, CORNER_MINIMUM, check_elementwise, corner_counts, vectors  # noqa: E402

from redmule_verif.model import ref  # noqa: E402

OPS = ["fma16", "add16", "mul16", "min16", "max16"]
SHARDS = 4


def shard_args(op, shard, ref_vectors):
    """(vectors, seed) of one shard; test_ref_negative.py reuses them."""
    n = -(-ref_vectors // SHARDS)  # SHARDS * n >= ref_vectors
    return n, 1000 * (OPS.index(op) + 1) + shard


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("op", OPS)
def test_fp16_op_vs_softfloat(op, shard, ref_vectors):
    n, seed = shard_args(op, shard, ref_vectors)
    check_elementwise(ref, op, n, seed)


@pytest.mark.parametrize("op", OPS)
def test_vectors_hit_corner_cases(op, ref_vectors):
    """The first chunk of shard 0 holds every corner case, each >= 0.2 % of it."""
    n, seed = shard_args(op, 0, ref_vectors)
    m = min(CHUNK, n)
    counts = corner_counts(op, vectors(op, np.random.default_rng(seed), m))
    low = {k: counts[k] for k in CORNER_MINIMUM[op] if counts[k] < max(1, m // 500)}
    assert not low, f"{op}: too few corner cases in {m} vectors: {low} (all: {counts})"


def test_fp16_ops_scalars_and_broadcast():
    assert int(ref.fma16(0x3C00, 0x3C00, 0xBC00)) == 0x0000
    assert int(ref.add16(0x8000, 0x8000)) == 0x8000
    a = np.array([0x3C00, 0x4000], np.uint16)
    out = ref.mul16(a[:, None], a[None, :])
    assert out.dtype == np.uint16 and out.shape == (2, 2)
    assert out.tolist() == [[0x3C00, 0x4000], [0x4000, 0x4400]]


def test_fp16_ops_reject_values():
    with pytest.raises(ValueError, match="bit patterns"):
        ref.add16(np.array([1.0], np.float16), np.array([1.0], np.float16))
    with pytest.raises(ValueError, match="outside"):
        ref.add16(np.array([70000]), np.array([1]))
