"""What the environment knows about one GEMM job it started: the job, its data and its fate."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(eq=False)  # a record is one started job: compared by identity, never by value
class JobRecord:
    job: object                       # the GemmJob
    index: int                        # position in the test's job list
    job_id: int = -1                  # ACQUIRE's answer
    core: int = 0
    x: np.ndarray | None = None
    w: np.ndarray | None = None
    y: np.ndarray | None = None
    z_before: np.ndarray | None = None  # Z region as written before the job (Y, or junk for MATMUL)
    expected: np.ndarray | None = None
    trigger_cycle: int = -1           # cycle of the TRIGGER write's response
    event_cycle: int = -1
    abort_cycle: int = -1             # cycle of the SOFT_CLEAR write's response or of the reset
    state: str = "new"                # new / triggered / done / aborted
    expected_cycles: int = 0
    ranges: dict = dataclasses.field(default_factory=dict)  # name -> (start, end) byte ranges
    serial: bool = True               # ran alone (no other job queued behind or in front)
    grant_kind: str = "always"
    last_store_cycle: int = -1
    accesses: int = 0
    zero_job: bool = False            # a zero dimension or an unsupported format: no traffic allowed

    @property
    def z_range(self):
        return self.ranges.get("Z", (0, 0))

    def reads(self):
        """Byte ranges the job may read: X, W and (unless MATMUL) Y."""
        return [r for k, r in self.ranges.items() if k in ("X", "W", "Y")]

    def describe(self) -> str:
        j = self.job
        return (f"job #{self.index} id={self.job_id} core={self.core} {j.op} {j.fmt} "
                f"M={j.m} N={j.n} K={j.k} X@{j.x_base:#x} W@{j.w_base:#x} Z@{j.z_base:#x}")
