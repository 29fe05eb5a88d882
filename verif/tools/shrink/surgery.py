"""Job surgery for the shrinker: freeze a job's data, crop it, plain values, lighter stalls, sizes."""

from __future__ import annotations

import dataclasses

import numpy as np

from redmule_verif.sequences.items.job import GemmJob, GrantProfile, classify


def materialize(job: GemmJob) -> GemmJob:
    """The same job with its data frozen as explicit matrices (identical bits)."""
    x, w, y = job.make_data()
    return job.replace(x=x, w=w, y=y, data="normal", class_weights=None, data_seed=0)


def crop(job: GemmJob, rows=None, reds=None, cols=None) -> GemmJob:
    """A sub-job of an explicit-data job: rows of X/Y (M), reduction steps (N), columns of W/Y (K)."""
    rows = list(range(job.m)) if rows is None else list(rows)
    reds = list(range(job.n)) if reds is None else list(reds)
    cols = list(range(job.k)) if cols is None else list(cols)
    x = job.x[np.ix_(rows, reds)]
    w = job.w[np.ix_(reds, cols)]
    y = None if job.y is None else job.y[np.ix_(rows, cols)]
    return job.replace(m=len(rows), n=len(reds), k=len(cols), x=x, w=w, y=y)


_ONE = {"FP16": 0x3C00, "FP8": 0x3C, "FP8ALT": 0x38}


def plain_values(job: GemmJob, which: str = "xwy") -> GemmJob:
    """Non-normal elements (zeros, subnormals, max, Inf, NaN) of the named matrices replaced by 1.0."""
    one = _ONE.get(job.fmt)
    if one is None:
        return job
    changes = {}
    for name in which:
        a = getattr(job, name)
        if a is None:
            continue
        cls = classify(a, job.fmt)
        special = (cls != 4) & (cls != 5)
        if special.any():
            b = np.array(a, copy=True)
            b[special] = one
            changes[name] = b
    return job.replace(**changes) if changes else job


def lighter_grant(g: GrantProfile) -> GrantProfile | None:
    """A grant profile with fewer stalls than ``g`` (None when there is nothing lighter than 'always')."""
    if g.kind == "always":
        return None
    if g.kind == "random":
        return dataclasses.replace(g, p=round(min(1.0, g.p + (1.0 - g.p) / 2), 4))
    if g.kind == "bursty":
        return dataclasses.replace(g, off=g.off // 2, on=g.on * 2)
    return dataclasses.replace(g, core_rate=round(g.core_rate / 2, 4))


def job_size(jobs: list[GemmJob]) -> tuple[int, int]:
    """(jobs, sum of M*N*K): what the shrinker makes smaller."""
    return len(jobs), sum(j.m * j.n * j.k for j in jobs)
