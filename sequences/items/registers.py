"""Register encoding of a job: the values software writes to the six job registers (spec section 3)."""

from __future__ import annotations

from redmule_verif.model.encoding import CFG, MK, N_REG, W_PTR, X_PTR, Z_PTR, pack_cfg, pack_mk, pack_n

__all__ = ["reg_mk", "reg_n", "reg_cfg", "job_registers"]


def reg_mk(job) -> int:
    """Job register 0x4C: K in [31:16], M in [15:0]."""
    return pack_mk(job.m, job.k)


def reg_n(job) -> int:
    """Job register 0x50: N in [15:0]."""
    return pack_n(job.n)


def reg_cfg(job) -> int:
    """Job register 0x54: GEMM-op in [12:10], format in [9:7]."""
    return pack_cfg(job.op_code, job.fmt_code)


def job_registers(job) -> list[tuple[int, int]]:
    """(offset, value) of the six job registers, in the order a core programs them."""
    return [(X_PTR, job.x_base), (W_PTR, job.w_base), (Z_PTR, job.z_base),
            (MK, reg_mk(job)), (N_REG, reg_n(job)), (CFG, reg_cfg(job))]
