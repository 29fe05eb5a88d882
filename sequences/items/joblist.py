"""Legality of a job list: jobs live at the same time (groups), overlap, memory, cores (spec section 6)."""

from __future__ import annotations

from .configs import EngineConfig, MemoryConfig
from .serialise import format_job

__all__ = ["groups", "check_job", "check_job_list"]


def groups(jobs: list) -> list[list[int]]:
    """Indices of jobs live at the same time: a serial job starts a new group,
    queued/race jobs join the previous job's group."""
    out: list[list[int]] = []
    for i, j in enumerate(jobs):
        if j.launch == "serial" or not out:
            out.append([i])
        else:
            out[-1].append(i)
    return out


def check_job(job, eng: EngineConfig | None = None, mem: MemoryConfig | None = None) -> None:
    """ValueError unless the job is legal: no overlap of its matrices, fits memory, core id."""
    ov = job.overlaps()
    if ov:
        b = job.buffers()
        raise ValueError(
            f"job {format_job(job)}: matrices overlap ("
            + ", ".join(f"{a} [{b[a][0]:#x},{b[a][1]:#x}) and {c} [{b[c][0]:#x},{b[c][1]:#x})" for a, c in ov)
            + "); spec section 6 keeps X, W and Z apart"
        )
    if mem is not None:
        mem.check_fits(job)
    if eng is not None:
        eng.check_job(job)


def check_job_list(jobs: list, eng: EngineConfig | None = None, mem: MemoryConfig | None = None) -> None:
    """check_job on each, and: jobs of one group (live together) never overlap;
    a race job's core differs from the cores it races with."""
    for j in jobs:
        check_job(j, eng, mem)
    for g in groups(jobs):
        ranges = []
        for i in g:
            for nm, (s, e) in jobs[i].buffers().items():
                if e > s:
                    ranges.append((s, e, i, nm))
        ranges.sort()
        for a, b in zip(ranges, ranges[1:]):
            if b[0] < a[1] and a[2] != b[2]:
                raise ValueError(
                    f"jobs {a[2]} and {b[2]} are live together ({jobs[b[2]].launch}) but their buffers overlap: "
                    f"job {a[2]} {a[3]} [{a[0]:#x},{a[1]:#x}), job {b[2]} {b[3]} [{b[0]:#x},{b[1]:#x})"
                )
        racing: list[int] = []
        for i in g:
            if jobs[i].launch != "race":
                racing = [i]
                continue
            cores = {jobs[r].core for r in racing}
            if jobs[i].core in cores:
                raise ValueError(
                    f"job {i} races (launch='race') from core {jobs[i].core}, which a job it races with uses"
                )
            racing.append(i)
