"""The sequence library: named, deterministic job-list generators (spec section 8).

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

import itertools
import pathlib
import random

import numpy as np
from dataclasses import dataclass, field
from typing import Any, Callable

from redmule_verif.seeding import py_rng
from redmule_verif.coverage import WITNESS_FILE
from redmule_verif.model.encoding import CONTROL_PHASES, FORMATS, GRANT_KINDS, LAUNCHES, OPS, layout
from redmule_verif.sequences.items import (
    DISTRIBUTIONS,
    ControlEvent,
    EngineConfig,
    GemmJob,
    MemoryConfig,
    check_job_list,
    encode_exact,
    load_jobs,
)
from redmule_verif.sim.paths import DIRECTED_DIR
from redmule_verif.sequences.randomize import Allocator, random_grant, random_job

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


class _Builder:
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


def _ops(ctx) -> list[str]:
    ops = ctx.knob("ops", list(OPS))
    bad = [o for o in ops if o not in OPS]
    if bad:
        raise ValueError(f"knob ops: unknown op(s) {bad}; ops: {', '.join(OPS)}")
    return list(ops)


def _fmts(ctx) -> list[str]:
    fmts = ctx.knob("fmts", list(FORMATS))
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise ValueError(f"knob fmts: unknown format(s) {bad}; formats: {', '.join(FORMATS)}")
    return list(fmts)


# --------------------------------------------------------------------------
# The sequences
# --------------------------------------------------------------------------


@sequence("random_jobs", doc="count constrained-random jobs: every knob of random_job at its default, "
          "launch mix serial/queued/race (knob launch weights)")
def _random_jobs(ctx: SeqContext) -> list[GemmJob]:
    b = _Builder(ctx, "random_jobs")
    count = ctx.knob("count", 20)
    launch_w = ctx.knob("launch", {"serial": 80, "queued": 10, "race": 10})
    if isinstance(launch_w, str):
        launch_w = [s.strip() for s in launch_w.split(",")]
    if isinstance(launch_w, (list, tuple)):
        launch_w = {name: 1 for name in launch_w}
    bad = [k for k in launch_w if k not in LAUNCHES]
    if bad:
        raise ValueError(f"knob launch: unknown launch mode(s) {bad}; use {', '.join(LAUNCHES)}")
    data = ctx.knob("data", None)
    ops, fmts = _ops(ctx), _fmts(ctx)
    for i in range(count):
        launch = "serial" if i == 0 else b.rng.choices(list(launch_w), weights=list(launch_w.values()))[0]
        core = None
        if launch == "race":
            racing = set()
            for j in reversed(b.jobs):
                racing.add(j.core)
                if j.launch != "race":
                    break
            free_cores = [c for c in range(ctx.eng.N_CORES) if c not in racing]
            if not free_cores:
                launch = "serial"
            else:
                core = free_cores
        try:
            b.add(launch, op=ops, fmt=fmts, core=core, **({"data": data} if data else {}))
        except ValueError:
            b.add("serial", op=ops, fmt=fmts, **({"data": data} if data else {}))
    return b.jobs


@sequence("exhaustive_small", doc="every M, N, K in 1..small (knob small=4), ops/formats/data rotating; "
          "knob subsample in (0, 1] keeps a deterministic random fraction")
def _exhaustive_small(ctx):
    small = ctx.knob("small", 4)
    frac = ctx.knob("subsample", 1.0)
    if not 0 < frac <= 1:
        raise ValueError(f"knob subsample={frac}: legal (0, 1]")
    b = _Builder(ctx, "exhaustive_small")
    ops, fmts = _ops(ctx), _fmts(ctx)
    dists = ("normal", "specials", "small_ints", "cancel")
    for i, (m, n, k) in enumerate(itertools.product(range(1, small + 1), repeat=3)):
        if frac < 1 and b.rng.random() >= frac:
            continue
        b.add(m=m, n=n, k=k, op=ops[i % len(ops)], fmt=fmts[(i // len(ops)) % len(fmts)], data=dists[i % len(dists)])
    return b.jobs


@sequence("remainders", doc="every M mod L, N mod H, K mod H*(P+1), each single-tile and multi-tile; "
          "the other dimensions small random")
def _remainders(ctx):
    b = _Builder(ctx, "remainders")
    eng = ctx.eng
    ops, fmts = _ops(ctx), _fmts(ctx)
    multi = ctx.knob("multi", 2)  # tiles of the multi-tile variant (at most)
    for dim, unit in (("m", eng.L), ("n", eng.H), ("k", eng.tile_k)):
        for r in range(unit):
            for tiles in (1, multi):
                v = (tiles - 1) * unit + r if r else tiles * unit
                if tiles > 1:
                    v = b.rng.randint(1, tiles - 1) * unit + r if r else b.rng.randint(2, tiles) * unit
                kw = {d: (1, 2 * u) for d, u in (("m", eng.L), ("n", eng.H), ("k", eng.tile_k))}
                kw[dim] = v
                b.add(op=ops, fmt=fmts, data="normal", **kw)
    return b.jobs


@sequence("ops_formats", doc="every GEMM-op x every format x every data distribution (knob dists), small shapes")
def _ops_formats(ctx):
    b = _Builder(ctx, "ops_formats")
    dists = ctx.knob("dists", list(DISTRIBUTIONS))
    size = ctx.knob("size", 20)
    for op in _ops(ctx):
        for fmt in _fmts(ctx):
            for d in dists:
                b.add(op=op, fmt=fmt, data=d, m=(1, size), n=(1, size), k=(1, size))
    return b.jobs


_STORM_WEIGHTS = {
    "nan_heavy": {"qnan": 3, "snan": 3, "+norm": 2, "-norm": 2, "+zero": 1, "-zero": 1},
    "inf_heavy": {"+inf": 3, "-inf": 3, "+max": 2, "-max": 2, "+norm": 1, "-norm": 1},
    "zeros": {"+zero": 1, "-zero": 1},
    "subnormals": {"+sub": 2, "-sub": 2, "+zero": 1, "-zero": 1},
    "max_zero": {"+max": 1, "-max": 1, "+zero": 1, "-zero": 1, "+inf": 1, "-inf": 1},
}


@sequence("special_storm", doc="special-value storm: every op x format with data 'specials' at short "
          "chains (N 1..4) and longer ones, plus class-weight variants (NaN-, Inf-, zero-, subnormal-heavy)")
def _special_storm(ctx):
    b = _Builder(ctx, "special_storm")
    for op in _ops(ctx):
        for fmt in _fmts(ctx):
            b.add(op=op, fmt=fmt, data="specials", m=(1, 16), n=(1, 4), k=(1, 20))
            b.add(op=op, fmt=fmt, data="specials", m=(1, 16), n=(5, 24), k=(1, 20))
            variant = sorted(_STORM_WEIGHTS)[b.rng.randrange(len(_STORM_WEIGHTS))]
            b.add(op=op, fmt=fmt, data="specials", class_weights=_STORM_WEIGHTS[variant], m=(1, 16), n=(1, 8),
                  k=(1, 20))
    return b.jobs


def _edge_data(fmt: str):
    """Explicit data at the overflow boundary and for -0 by underflow, in format ``fmt``.

    Job A (1 x 2 x 4): x = [max, 1], w = [[1, 1, -1, 1], [u/4, u/2, -u/2, u]] with u the
    ulp at max, y = [-0, 0, 0, 0]: GEMM/MATMUL give max (rounded down), +Inf (the tie
    rounds to even = overflow), -Inf, +Inf. Job B (1 x 1 x 2): x = [minsub],
    w = [-minsub, minsub], y = [+0, -0]: the product underflows, GEMM gives -0, +0.
    """
    lay = layout(fmt)
    maxv, u, minsub = lay.max_finite, 2.0 ** (lay.emax - lay.man_bits), lay.min_subnormal
    enc = lambda v: encode_exact(np.array(v, dtype=np.float64), fmt)  # noqa: E731
    a = (enc([[maxv, 1.0]]), enc([[1.0, 1.0, -1.0, 1.0], [u / 4, u / 2, -u / 2, u]]), enc([[-0.0, 0.0, 0.0, 0.0]]))
    bb = (enc([[minsub]]), enc([[-minsub, minsub]]), enc([[0.0, -0.0]]))
    return a, bb


@sequence("overflow_cancel", doc="value ranges that overflow, underflow and cancel: every op x format x "
          "{overflow, underflow, cancel}, plus (knob edges) explicit jobs at the overflow boundary "
          "(max finite, the tie that rounds to Inf) and -0 by underflow of a negative product")
def _overflow_cancel(ctx):
    b = _Builder(ctx, "overflow_cancel")
    edges = ctx.knob("edges", True)
    for op in _ops(ctx):
        for fmt in _fmts(ctx):
            for d in ("overflow", "underflow", "cancel"):
                b.add(op=op, fmt=fmt, data=d, m=(1, 24), n=(1, 24), k=(1, 24))
            if edges:
                for x, w, y in _edge_data(fmt):
                    m, n = x.shape
                    job = GemmJob(op, fmt, m, n, w.shape[1], ctx.mem.base, ctx.mem.base, ctx.mem.base,
                                  core=b.rng.randrange(ctx.eng.N_CORES), x=x, w=w,
                                  y=None if op == "MATMUL" else y, name="")
                    b.alloc.new_group()
                    b.append(b.alloc.place(job, "random", "random"))
    return b.jobs


@sequence("unaligned_adjacent", doc="bases at every residue mod 4 the format allows, buffers adjacent, "
          "far apart (memory start and end) and random")
def _unaligned_adjacent(ctx):
    b = _Builder(ctx, "unaligned_adjacent")
    for fmt in _fmts(ctx):
        eb = 2 if fmt == "FP16" else 1
        residues = [r for r in range(4) if r % eb == 0]
        for placement in ("adjacent", "far", "random"):
            for rx in residues:
                align = {"X": rx, "W": residues[(rx + 1) % len(residues)], "Z": residues[(rx + 2) % len(residues)]}
                b.add(fmt=fmt, op=_ops(ctx), placement=placement, align=align, m=(1, 30), n=(1, 30), k=(1, 30))
        b.add(fmt=fmt, op=_ops(ctx), placement="adjacent", align="unaligned", m=(1, 30), n=(1, 30), k=(1, 30))
        b.add(fmt=fmt, op=_ops(ctx), placement="far", align="word", m=(1, 30), n=(1, 30), k=(1, 30))
    return b.jobs


@sequence("queued_contexts", doc="a job queued in the second context while another runs (same and other "
          "core), and a third acquired while both contexts are busy (ACQUIRE answers -1)")
def _queued_contexts(ctx):
    b = _Builder(ctx, "queued_contexts")
    count = ctx.knob("count", 6)
    for i in range(count):
        first = b.add("serial", op=_ops(ctx), fmt=_fmts(ctx), m=(12, 40), n=(8, 40), k=(16, 48))
        same = i % 2 == 0
        core = first.core if same else [c for c in range(ctx.eng.N_CORES) if c != first.core]
        b.add("queued", op=_ops(ctx), fmt=_fmts(ctx), core=core, m=(1, 30), n=(1, 30), k=(1, 30))
        if i % 3 == 2:
            b.add("queued", op=_ops(ctx), fmt=_fmts(ctx), m=(1, 20), n=(1, 20), k=(1, 20))
    return b.jobs


@sequence("back_to_back", doc="serial jobs with no SOFT_CLEAR between: same core, changing cores, "
          "changing op/format, and the same job twice")
def _back_to_back(ctx):
    b = _Builder(ctx, "back_to_back")
    count = ctx.knob("count", 10)
    core0 = b.rng.randrange(ctx.eng.N_CORES)
    for i in range(count):
        core = core0 if i < count // 2 else None
        j = b.add(op=_ops(ctx), fmt=_fmts(ctx), core=core, m=(1, 30), n=(1, 30), k=(1, 30))
        if i == count // 3:
            b.alloc.new_group()
            b.append(j.replace(name=""))  # identical job again
    return b.jobs


def _victim_pairs(ctx, path, kinds):
    b = _Builder(ctx, path)
    repeats = ctx.knob("count", 1)
    for _ in range(repeats):
        for kind in kinds:
            for phase in CONTROL_PHASES:
                delay = 0 if phase == "idle" else b.rng.randint(0, 24)
                b.add(op=_ops(ctx), fmt=_fmts(ctx), m=(24, 48), n=(16, 48), k=(32, 64), grant="always",
                      control=[ControlEvent(kind, phase, delay)])
                b.good(op=_ops(ctx), fmt=_fmts(ctx))
    return b.jobs


@sequence("soft_clear", doc="SOFT_CLEAR 0 and non-zero at idle/load/compute/store, each victim followed "
          "by a good job")
def _soft_clear(ctx):
    return _victim_pairs(ctx, "soft_clear", ("soft_clear", "soft_clear_keep"))


@sequence("reset_mid_job", doc="rst_ni pulse at idle/load/compute/store, each followed by a good job")
def _reset_mid_job(ctx):
    return _victim_pairs(ctx, "reset_mid_job", ("reset",))


@sequence("zero_dim", doc="M, N or K = 0 (every combination) and unsupported format codes 3..7: these "
          "complete with no TCDM request; good jobs interleaved prove the engine stays usable")
def _zero_dim(ctx):
    b = _Builder(ctx, "zero_dim")
    for i, (zm, zn, zk) in enumerate(itertools.product((0, 1), repeat=3)):
        if not (zm or zn or zk):
            continue
        dims = {d: (0 if z else (1, 20)) for d, z in zip("mnk", (zm, zn, zk))}
        b.add(op=_ops(ctx), fmt=_fmts(ctx), **dims)
        if i % 2:
            b.good()
    for code in range(3, 8):
        b.add(op=_ops(ctx), fmt=f"UNSUPPORTED{code}", m=(1, 20), n=(1, 20), k=(1, 20))
        b.good()
    b.add(op=_ops(ctx), fmt=_fmts(ctx), m=0, n=0, k=0)
    b.add("queued", op=_ops(ctx), fmt="UNSUPPORTED3", m=(1, 8), n=(1, 8), k=(1, 8))
    b.good()
    return b.jobs


@sequence("multi_core", doc="several cores racing for ACQUIRE (groups of 2..N_CORES, all distinct), every "
          "core id triggering at least once, then a serial job per core")
def _multi_core(ctx):
    b = _Builder(ctx, "multi_core")
    n_cores = ctx.eng.N_CORES
    groups = ctx.knob("groups", 3)
    for g in range(groups):
        size = n_cores if g == 0 else b.rng.randint(2, n_cores)
        cores = b.rng.sample(range(n_cores), size)
        for i, c in enumerate(cores):
            b.add("serial" if i == 0 else "race", op=_ops(ctx), fmt=_fmts(ctx), core=c, m=(1, 16), n=(1, 16),
                  k=(1, 16))
    for c in range(n_cores):
        b.add(core=c, op=_ops(ctx), fmt=_fmts(ctx), m=(1, 12), n=(1, 12), k=(1, 12))
    return b.jobs


@sequence("heavy_stalls", doc="heavy grant stalls: random p = 0.1..0.3, bursty with long refusing phases, "
          "banks with high core_rate; every op")
def _heavy_stalls(ctx):
    b = _Builder(ctx, "heavy_stalls")
    reps = ctx.knob("count", 1)
    size = ctx.knob("size", 16)
    for _ in range(reps):
        for kind in ("random", "bursty", "banks"):
            for op in _ops(ctx):
                g = random_grant(b.rng, kind, heavy=True, n_cores=ctx.eng.N_CORES)
                b.add(op=op, fmt=_fmts(ctx), grant=g, m=(1, size), n=(1, size), k=(1, 2 * size))
    return b.jobs


@sequence("grant_profiles", doc="every grant profile kind x every op")
def _grant_profiles(ctx):
    b = _Builder(ctx, "grant_profiles")
    for kind in GRANT_KINDS:
        for op in _ops(ctx):
            b.add(op=op, fmt=_fmts(ctx), grant=random_grant(b.rng, kind, n_cores=ctx.eng.N_CORES),
                  m=(1, 24), n=(1, 24), k=(1, 32))
    return b.jobs


@sequence("large_jobs", doc="large jobs: size^3 (knob size=128) and neighbours (M a multiple of L, "
          "remainders), count jobs; about 45k cycles each at 128")
def _large_jobs(ctx):
    b = _Builder(ctx, "large_jobs", grant="always")
    size = ctx.knob("size", 128)
    count = ctx.knob("count", 3)
    eng = ctx.eng
    shapes = [(size, size, size), (size // eng.L * eng.L, size, size), (size + 3, size - 1, size + 5)]
    for i in range(count):
        m, n, k = shapes[i % len(shapes)]
        ops, fmts = _ops(ctx), _fmts(ctx)
        fmt = fmts[i % len(fmts)]
        eb = 2 if fmt == "FP16" else 1
        if (m * n + n * k + m * k) * eb > ctx.mem.size:
            fmt = "FP8" if "FP8" in fmts else fmts[-1]
        b.add(op=ops[i % len(ops)], fmt=fmt, m=m, n=n, k=k, data="normal", placement="random")
    return b.jobs


@sequence("dim_65535", doc="each dimension at 65535 with the others 1, FP8 so that it fits 128 KiB: "
          "M=65535 (X 65535 B + W 1 B + Z 65535 B = 131071 B), N=65535 (X + W 131070 B + Z 1 B), "
          "K=65535 (X 1 B + W + Z 131070 B); adjacent placement (1 byte to spare). "
          "~87k, ~262k, ~66k cycles. knob fmt (FP16 needs 256 KiB)")
def _dim_65535(ctx):
    b = _Builder(ctx, "dim_65535", grant="always")
    fmt = ctx.knob("fmt", "FP8")
    other = ctx.knob("other", 1)
    dims = ctx.knob("dims", ["m", "n", "k"])
    ops = ctx.knob("ops", ["GEMM", "MATMUL", "MINMAX"])
    for i, d in enumerate(dims):
        shape = {x: other for x in "mnk"}
        shape[d] = 65535
        eb = 2 if fmt == "FP16" else 1
        m, n, k = shape["m"], shape["n"], shape["k"]
        need = (m * n + n * k + m * k) * eb
        if need > ctx.mem.size:
            raise ValueError(
                f"dim_65535: {d}=65535 with the others {other} in {fmt} needs {need} bytes, memory has "
                f"{ctx.mem.size}: use fmt=FP8 / other=1, or a larger MemoryConfig"
            )
        b.add(op=ops[i % len(ops)], fmt=fmt,
              placement="adjacent", align="random", data="normal", **shape)
    return b.jobs


@sequence("thin_shapes", doc="1xNxK, Mx1xK, MxNx1 and long skinny shapes (1x1xK, Mx1x1, 1xNx1, 2xNx3 ...)")
def _thin_shapes(ctx):
    b = _Builder(ctx, "thin_shapes")
    big = ctx.knob("big", 1000)
    mid = ctx.knob("mid", 64)
    shapes = [(1, mid, mid), (mid, 1, mid), (mid, mid, 1), (1, 1, big), (big, 1, 1), (1, big, 1),
              (2, big // 2, 3), (big // 4, 3, 2), (3, 2, big // 4), (1, 1, 1), (1, mid, 1), (mid, 1, 1), (1, 1, mid)]
    ops, fmts = _ops(ctx), _fmts(ctx)
    for i, (m, n, k) in enumerate(shapes):
        b.add(op=ops[i % len(ops)], fmt=fmts[i % len(fmts)], m=m, n=n, k=k)
    return b.jobs


@sequence("directed", doc="replays a job file (knob file: a path, or a name in sequences/directed/)")
def _directed(ctx):
    f = ctx.knob("file")
    p = pathlib.Path(f)
    if not p.is_file():
        cands = [DIRECTED_DIR / f, DIRECTED_DIR / f"{f}.yaml"]
        cands += [WITNESS_FILE] if f in (WITNESS_FILE.name, WITNESS_FILE.stem) else []
        for cand in cands:
            if cand.is_file():
                p = cand
                break
        else:
            raise ValueError(f"directed: job file {f!r} not found (nor in {DIRECTED_DIR})")
    jobs = load_jobs(p)
    for i, j in enumerate(jobs):
        j.name = j.name or f"directed.{i}"
    return jobs
