"""redmule_verif.ref elementwise FP16 ops against Berkeley SoftFloat 3e.

Each op is checked on ``--ref-vectors`` random vectors in total (default
10^5; ``make bench-ref-long`` passes 10^7), split into SHARDS test cases with
different seeds so that xdist workers share the work. The vectors are drawn to
hit zeros of both signs, subnormals, exact ties, cancellation, near-overflow,
Inf and quiet/signalling NaNs (see test_ref_oracle.vectors).
"""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_ref_oracle import check_elementwise  # noqa: E402

from redmule_verif import ref  # noqa: E402

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


def test_fp16_ops_scalars_and_broadcast():
    assert int(ref.fma16(0x3C00, 0x3C00, 0xBC00)) == 0x0000
    assert int(ref.add16(0x8000, 0x8000)) == 0x8000
    import numpy as np

    a = np.array([0x3C00, 0x4000], np.uint16)
    out = ref.mul16(a[:, None], a[None, :])
    assert out.dtype == np.uint16 and out.shape == (2, 2)
    assert out.tolist() == [[0x3C00, 0x4000], [0x4000, 0x4400]]


def test_fp16_ops_reject_values():
    import numpy as np

    with pytest.raises(ValueError, match="bit patterns"):
        ref.add16(np.array([1.0], np.float16), np.array([1.0], np.float16))
    with pytest.raises(ValueError, match="outside"):
        ref.add16(np.array([70000]), np.array([1]))
