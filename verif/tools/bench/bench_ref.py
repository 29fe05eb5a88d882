"""Throughput of the reference model: ``python -m redmule_verif.tools.bench.bench_ref``.

Reports, from one run:
- FMAs/s of ``ref.gemm_op`` on an S x S x S GEMM (default 256^3) in FP16, FP8
  and FP8ALT;
- FMAs/s of a plain scalar loop over Berkeley SoftFloat calls (softfloatpy) on
  a slice of the same work (the first R x R outputs, all S steps each), the
  ratio of the two, and whether the slice agrees bit for bit with the model;
- a B x B x B FP16 GEMM (default 512^3) with the process's peak RSS
  (resource.getrusage) before and after it, beside the size an M x N x K
  float64 array would take, to show that memory stays O(M*K + M*N + N*K).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from redmule_verif.model import ref


def _rss_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1 << 20) if sys.platform == "darwin" else r / 1024


def _data(rng, shape, fmt):
    """Random finite bit patterns: FP16 ~ N(0,1); FP8 codes with finite values."""
    if fmt == "FP16":
        return rng.standard_normal(shape).astype(np.float16).view(np.uint16)
    inf = 0x7C if fmt == "FP8" else 0x78
    codes = rng.integers(0, 256, shape).astype(np.uint8)
    return np.where((codes & 0x7F) >= inf, codes & 0x3F, codes).astype(np.uint8)


def _scalar_loop(x16, w16, y16, rows, cols):
    """GEMM on the top-left rows x cols outputs, one SoftFloat FMA at a time."""
    import softfloatpy as sf

    sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
    f16 = [sf.Float16.from_bytes(i.to_bytes(2, "big")) for i in range(1 << 16)]
    X = x16[:rows].tolist()
    W = w16[:, :cols].T.tolist()
    Y = y16[:rows, :cols].tolist()
    mul_add = sf.f16_mul_add
    out = np.empty((rows, cols), dtype=np.uint16)
    t0 = time.perf_counter()
    for m in range(rows):
        xr = [f16[v] for v in X[m]]
        for k in range(cols):
            z = f16[Y[m][k]]
            for a, b in zip(xr, (f16[v] for v in W[k])):
                z = mul_add(a, b, z)
            out[m, k] = int.from_bytes(z.to_bytes(), "big")
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.tools.bench.bench_ref", description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="S of the S^3 GEMMs (default 256)")
    ap.add_argument("--slice", type=int, default=16, help="R: the scalar loop computes R x R outputs (default 16)")
    ap.add_argument("--big", type=int, default=512, help="B of the B^3 memory check, 0 to skip (default 512)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    S, R, B = args.size, min(args.slice, args.size), args.big
    rng = np.random.default_rng(args.seed)

    try:
        import softfloatpy  # noqa: F401

        have_sf = True
    except ImportError:
        have_sf = False

    print(f"redmule_verif.model.ref throughput, GEMM {S}x{S}x{S} ({S**3:,} FMAs per job)")
    print(f"scalar reference: softfloatpy loop on {R}x{R} outputs x {S} steps ({R * R * S:,} FMAs)")
    print(f"{'format':8s} {'model FMA/s':>14s} {'time':>8s} {'scalar FMA/s':>14s} {'ratio':>8s}  slice")
    ok = True
    for fmt in ("FP16", "FP8", "FP8ALT"):
        x = _data(rng, (S, S), fmt)
        w = _data(rng, (S, S), fmt)
        y = _data(rng, (S, S), fmt)
        t0 = time.perf_counter()
        z = ref.gemm_op(x, w, y, "GEMM", fmt)
        dt = time.perf_counter() - t0
        rate = S**3 / dt
        if have_sf:
            x16, w16, y16 = (ref.to_fp16(a, fmt) for a in (x, w, y))
            zs16, sdt = _scalar_loop(x16, w16, y16, R, R)
            srate = R * R * S / sdt
            same = np.array_equal(ref.from_fp16(zs16, fmt), z[:R, :R])
            ok &= same
            print(
                f"{fmt:8s} {rate:14,.0f} {dt:7.3f}s {srate:14,.0f} {rate / srate:8.0f}x  "
                f"{'bit-exact' if same else 'MISMATCH'}"
            )
        else:
            print(f"{fmt:8s} {rate:14,.0f} {dt:7.3f}s {'(softfloatpy not installed)':>24s}")

    if B:
        x = _data(rng, (B, B), "FP16")
        w = _data(rng, (B, B), "FP16")
        y = _data(rng, (B, B), "FP16")
        before = _rss_mib()
        t0 = time.perf_counter()
        ref.gemm_op(x, w, y, "GEMM", "FP16")
        dt = time.perf_counter() - t0
        after = _rss_mib()
        print(
            f"\nFP16 GEMM {B}x{B}x{B}: {dt:.2f}s, {B**3 / dt:,.0f} FMA/s; peak RSS {before:.0f} MiB "
            f"before, {after:.0f} MiB after (+{after - before:.0f} MiB); "
            f"an M x N x K float64 array would be {B**3 * 8 / (1 << 20):,.0f} MiB"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
