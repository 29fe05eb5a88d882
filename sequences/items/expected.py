"""The expected result of a job: Z from its data through the reference model (``model.ref``)."""

from __future__ import annotations

from redmule_verif.model import ref

__all__ = ["expected_z"]


def expected_z(job):
    """Expected Z (raw bits, M x K) via redmule_verif.model.ref.gemm_op; None for a no-op job."""
    if job.is_noop:
        return None
    x, w, y = job.make_data()
    return ref.gemm_op(x, w, y, job.op, job.fmt)
