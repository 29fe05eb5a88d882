"""Where a job lives in memory: its buffers, its footprint (spec section 6) and overlaps."""

from __future__ import annotations

__all__ = ["buffers", "footprint", "footprint_bytes", "overlaps"]


def buffers(job) -> dict[str, tuple[int, int]]:
    """Nominal [start, end) byte ranges of X, W and Z (= Y), no-op jobs included."""
    eb = job.elem_bytes
    return {
        "X": (job.x_base, job.x_base + job.m * job.n * eb),
        "W": (job.w_base, job.w_base + job.n * job.k * eb),
        "Z": (job.z_base, job.z_base + job.m * job.k * eb),
    }


def footprint(job) -> dict[str, tuple[int, int]]:
    """[start, end) byte ranges the job reads/writes: X, W, (Y,) Z; {} for a no-op job.

    X, W and Y are read, Z is written; Y and Z are the same range (in place);
    MATMUL has no "Y" entry.
    """
    if job.is_noop:
        return {}
    b = buffers(job)
    fp = {"X": b["X"], "W": b["W"]}
    if job.reads_y:
        fp["Y"] = b["Z"]
    fp["Z"] = b["Z"]
    return fp


def footprint_bytes(job) -> int:
    """Bytes the job touches (Y and Z counted once)."""
    return sum(e - s for name, (s, e) in footprint(job).items() if name != "Y")


def overlaps(job) -> list[tuple[str, str]]:
    """Pairs of the job's non-empty matrices (X, W, Z) that overlap."""
    b = [(n, r) for n, r in buffers(job).items() if r[1] > r[0]]
    return [
        (n1, n2)
        for i, (n1, r1) in enumerate(b)
        for n2, r2 in b[i + 1 :]
        if r1[0] < r2[1] and r2[0] < r1[1]
    ]
