"""Extra sequences found necessary by mutation qualification (``redmule-verif qualify``, issue 6).

Registered with the library's ``@sequence`` decorator, so they become tests of
the same name once this module is imported next to the library (the test
module and ``verif/testlist.py`` take their names from ``SEQUENCES``); until
then ``redmule-verif qualify --extra`` runs them as ``directed`` job files.

* ``tiny_products`` -- products of small normal numbers whose exact value has
  bits below 2^-26 and lands in or near the FP16 subnormal range, where the
  FMA's single rounding depends on the sticky bit of those low product bits.
  A targeted probe for the catalogue's ``fma_sticky_dropped`` (one job of it
  shows dozens of wrong elements). The first qualification run did not need it:
  ``back_to_back`` with "normal" data killed that mutant in its first run, and
  no survivor was a stimulus gap (tests/mutants/README.md).

Every generator is a pure function of (seed, eng, mem, knobs), like the library's.
"""

from __future__ import annotations

import numpy as np

from redmule_verif.model.encoding import layout
from redmule_verif.sequences.items import GemmJob
from .core import Builder, SeqContext, fmts_knob, ops_knob, sequence


def _tiny_bits(rng, shape, fmt: str, exp_lo: int, exp_hi: int) -> np.ndarray:
    """Normal numbers 2^e * 1.m with e in [exp_lo, exp_hi], random mantissa and sign, as raw bits of ``fmt``."""
    lay = layout(fmt)
    e_bits, m_bits, bias = lay.fields
    lo = max(1, exp_lo + bias)
    hi = min((1 << e_bits) - 2, exp_hi + bias)
    n = int(np.prod(shape))
    e = np.array([rng.randint(lo, hi) for _ in range(n)], dtype=np.int64)
    m = np.array([rng.getrandbits(m_bits) | 1 for _ in range(n)], dtype=np.int64)  # odd: the LSB is set
    s = np.array([rng.getrandbits(1) for _ in range(n)], dtype=np.int64)
    bits = (s << (e_bits + m_bits)) | (e << m_bits) | m
    return bits.astype(lay.dtype).reshape(shape)


@sequence("tiny_products", doc="products of small normals (exact bits below 2^-26) rounded in and near the "
          "FP16 subnormal range, every FMA/MUL op x format; knob count (jobs per op x format), size")
def _tiny_products(ctx: SeqContext):
    b = Builder(ctx, "tiny_products")
    count = ctx.knob("count", 1)
    size = ctx.knob("size", 16)
    ops = [o for o in ops_knob(ctx) if o in ("MATMUL", "GEMM", "MULMAX", "MULMIN")] or ops_knob(ctx)
    for _ in range(count):
        for op in ops:
            for fmt in fmts_knob(ctx):
                m, n, k = b.rng.randint(1, size), b.rng.randint(1, size), b.rng.randint(1, 2 * size)
                # FP16 (and E5M2) exponents: 2^-12..2^-5 each, products 2^-24..2^-10; E4M3 stops at 2^-6
                lo, hi = (-12, -5) if fmt != "FP8ALT" else (-6, -3)
                x = _tiny_bits(b.rng, (m, n), fmt, lo, hi)
                w = _tiny_bits(b.rng, (n, k), fmt, lo, hi)
                y = None if op == "MATMUL" else _tiny_bits(b.rng, (m, k), fmt, 2 * lo, 2 * hi)
                job = GemmJob(op, fmt, m, n, k, ctx.mem.base, ctx.mem.base, ctx.mem.base,
                              core=b.rng.randrange(ctx.eng.N_CORES), x=x, w=w, y=y, name="")
                b.alloc.new_group()
                b.append(b.alloc.place(job, "random", "random"))
    return b.jobs
