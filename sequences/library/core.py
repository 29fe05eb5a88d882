"""The sequence library's machinery: the registry, the context a sequence draws from, the job builder.

The sequences themselves are in ``nightly`` and ``extra``.

``SEQUENCES[name](ctx) -> list[GemmJob]``; register one with
``@sequence(name, doc=...)``. ``generate(name, seed, eng, mem, **knobs)`` runs
one, rejects knobs it did not read (typos fail loudly) and checks the result
with ``check_job_list`` (fits memory, disjoint buffers of jobs live together,
core ids, racing cores distinct).

Every generator is a pure function of (seed, eng, mem, knobs): it draws only
from ``ctx.rng(path)`` (a sha256-derived ``random.Random``), never from a
global generator. Default sizes keep each sequence to a few seconds of
simulation on a 2-core CI machine (a job costs about
ceil(M/L)*ceil(K/16)*N*4 cycles at ~50k cycles/s); ``large_jobs`` and
``dim_65535`` are the explicit long ones. ``SEQUENCE_COST`` estimates a
list's stall-free cycles.

Knobs common to many sequences: ``count`` (jobs or repeats), ``ops``,
``fmts`` (choice lists), ``max_cycles`` (per-job budget of drawn shapes),
``grant`` (a kind, list or weights; sequences that are not about stalls
default to mostly "always" with some light stalls).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from redmule_verif.model.encoding import FORMATS, OPS
from redmule_verif.seeding import py_rng
from redmule_verif.sequences.items import EngineConfig, GemmJob, MemoryConfig, check_job_list
from redmule_verif.sequences.randomize import Allocator, random_job

_UNSET = object()


@dataclass
class SeqContext:
    """What a sequence generator gets: the run seed, the build's engine, the memory, knobs."""

    seed: int = 0
    eng: EngineConfig = field(default_factory=EngineConfig)
    mem: MemoryConfig = field(default_factory=MemoryConfig)
    knobs: dict = field(default_factory=dict)
    used: set = field(default_factory=set, repr=False)

    def rng(self, path: str) -> random.Random:
        return py_rng(self.seed, "seq." + path)

    def knob(self, name: str, default: Any = _UNSET):
        """A knob's value (strings from a command line are converted to the default's type)."""
        self.used.add(name)
        if name not in self.knobs:
            if default is _UNSET:
                raise ValueError(f"missing required knob {name!r}")
            return default
        v = self.knobs[name]
        if isinstance(v, str) and default is not _UNSET and default is not None and not isinstance(default, str):
            try:
                if isinstance(default, bool):
                    return v.strip().lower() in ("1", "true", "yes", "on")
                if isinstance(default, int):
                    return int(v, 0)
                if isinstance(default, float):
                    return float(v)
                if isinstance(default, (list, tuple)):
                    return [s.strip() for s in v.split(",") if s.strip()]
            except ValueError:
                raise ValueError(f"knob {name}={v!r}: expected {type(default).__name__}") from None
        return v

    def unused_knobs(self) -> list[str]:
        return [k for k in self.knobs if k not in self.used]


SeqFn = Callable[[SeqContext], "list[GemmJob]"]
SEQUENCES: dict[str, SeqFn] = {}
SEQUENCE_DOCS: dict[str, str] = {}


def sequence(name: str, doc: str = ""):
    """Register a generator under ``name``."""

    def deco(fn: SeqFn) -> SeqFn:
        if name in SEQUENCES:
            raise ValueError(f"sequence {name!r} registered twice")
        SEQUENCES[name] = fn
        SEQUENCE_DOCS[name] = doc or (fn.__doc__ or "").strip()
        if not fn.__doc__:
            fn.__doc__ = doc
        fn.sequence_name = name
        return fn

    return deco


def generate(name: str, seed: int = 0, eng: EngineConfig | None = None, mem: MemoryConfig | None = None,
             **knobs) -> list[GemmJob]:
    """Run sequence ``name`` and check its jobs; unknown knobs are an error."""
    if name not in SEQUENCES:
        raise ValueError(f"unknown sequence {name!r}; sequences: {', '.join(sorted(SEQUENCES))}")
    ctx = SeqContext(seed=seed, eng=eng or EngineConfig(), mem=mem or MemoryConfig(), knobs=dict(knobs))
    jobs = SEQUENCES[name](ctx)
    unused = ctx.unused_knobs()
    if unused:
        raise ValueError(f"sequence {name!r}: unknown knob(s) {', '.join(unused)}")
    for i, j in enumerate(jobs):
        if not j.name:
            j.name = f"{name}.{i}"
    check_job_list(jobs, ctx.eng, ctx.mem)
    return jobs


def sequence_cost(jobs: list[GemmJob], eng: EngineConfig | None = None) -> int:
    """Stall-free cycle estimate of a job list (sum over jobs)."""
    return sum(j.est_cycles(eng) for j in jobs)


SEQUENCE_COST = sequence_cost


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

LIGHT_GRANTS = {"always": 70, "random": 10, "bursty": 10, "banks": 10}


class Builder:
    """Accumulates a job list with correct placement of concurrently live jobs."""

    def __init__(self, ctx: SeqContext, path: str, grant=None):
        self.ctx = ctx
        self.path = path
        self.rng = ctx.rng(path)
        self.alloc = Allocator(ctx.mem, self.rng)
        self.jobs: list[GemmJob] = []
        self.grant = ctx.knob("grant", None) or grant or LIGHT_GRANTS
        self.max_cycles = ctx.knob("max_cycles", 6000)

    def append(self, job: GemmJob) -> GemmJob:
        """Add a ready-made job (named path.index unless it has a name)."""
        if not job.name:
            job.name = f"{self.path}.{len(self.jobs)}"
        self.jobs.append(job)
        return job

    def add(self, launch: str = "serial", **kw) -> GemmJob:
        """Add a random_job (knobs as random_job's); a serial job starts a new group."""
        if launch == "serial":
            self.alloc.new_group()
        kw.setdefault("grant", self.grant)
        kw.setdefault("max_cycles", self.max_cycles)
        kw.setdefault("max_elems", 4096)
        job = random_job(self.rng, self.ctx.eng, self.ctx.mem, allocator=self.alloc, launch=launch, **kw)
        return self.append(job)

    def good(self, **kw) -> GemmJob:
        """A plain, correct job (e.g. after a victim)."""
        kw.setdefault("data", "normal")
        kw.setdefault("m", (1, 40))
        kw.setdefault("n", (1, 40))
        kw.setdefault("k", (1, 40))
        return self.add(**kw)


def ops_knob(ctx) -> list[str]:
    ops = ctx.knob("ops", list(OPS))
    bad = [o for o in ops if o not in OPS]
    if bad:
        raise ValueError(f"knob ops: unknown op(s) {bad}; ops: {', '.join(OPS)}")
    return list(ops)


def fmts_knob(ctx) -> list[str]:
    fmts = ctx.knob("fmts", list(FORMATS))
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise ValueError(f"knob fmts: unknown format(s) {bad}; formats: {', '.join(FORMATS)}")
    return list(fmts)
