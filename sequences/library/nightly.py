"""The sequences of the nightly regression (spec section 8): one test of the same name each.

Every generator is a pure function of (seed, eng, mem, knobs): it draws only
from ``ctx.rng(path)`` (through a ``Builder``), never from a global generator.
"""

from __future__ import annotations

import itertools
import pathlib

import numpy as np

from redmule_verif.coverage import WITNESS_FILE
from redmule_verif.model.encoding import CONTROL_PHASES, GRANT_KINDS, LAUNCHES, layout
from redmule_verif.sequences.items import DISTRIBUTIONS, ControlEvent, GemmJob, encode_exact, load_jobs
from redmule_verif.sequences.randomize import random_grant
from redmule_verif.sim.paths import DIRECTED_DIR

from .core import Builder, SeqContext, fmts_knob, ops_knob, sequence


# --------------------------------------------------------------------------
# The sequences
# --------------------------------------------------------------------------


@sequence("random_jobs", doc="count constrained-random jobs: every knob of random_job at its default, "
          "launch mix serial/queued/race (knob launch weights)")
def _random_jobs(ctx: SeqContext) -> list[GemmJob]:
    b = Builder(ctx, "random_jobs")
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
    ops, fmts = ops_knob(ctx), fmts_knob(ctx)
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
    b = Builder(ctx, "exhaustive_small")
    ops, fmts = ops_knob(ctx), fmts_knob(ctx)
    dists = ("normal", "specials", "small_ints", "cancel")
    for i, (m, n, k) in enumerate(itertools.product(range(1, small + 1), repeat=3)):
        if frac < 1 and b.rng.random() >= frac:
            continue
        b.add(m=m, n=n, k=k, op=ops[i % len(ops)], fmt=fmts[(i // len(ops)) % len(fmts)], data=dists[i % len(dists)])
    return b.jobs


@sequence("remainders", doc="every M mod L, N mod H, K mod H*(P+1), each single-tile and multi-tile; "
          "the other dimensions small random")
def _remainders(ctx):
    b = Builder(ctx, "remainders")
    eng = ctx.eng
    ops, fmts = ops_knob(ctx), fmts_knob(ctx)
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
    b = Builder(ctx, "ops_formats")
    dists = ctx.knob("dists", list(DISTRIBUTIONS))
    size = ctx.knob("size", 20)
    for op in ops_knob(ctx):
        for fmt in fmts_knob(ctx):
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
    b = Builder(ctx, "special_storm")
    for op in ops_knob(ctx):
        for fmt in fmts_knob(ctx):
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
    b = Builder(ctx, "overflow_cancel")
    edges = ctx.knob("edges", True)
    for op in ops_knob(ctx):
        for fmt in fmts_knob(ctx):
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
    b = Builder(ctx, "unaligned_adjacent")
    for fmt in fmts_knob(ctx):
        eb = 2 if fmt == "FP16" else 1
        residues = [r for r in range(4) if r % eb == 0]
        for placement in ("adjacent", "far", "random"):
            for rx in residues:
                align = {"X": rx, "W": residues[(rx + 1) % len(residues)], "Z": residues[(rx + 2) % len(residues)]}
                b.add(fmt=fmt, op=ops_knob(ctx), placement=placement, align=align, m=(1, 30), n=(1, 30), k=(1, 30))
        b.add(fmt=fmt, op=ops_knob(ctx), placement="adjacent", align="unaligned", m=(1, 30), n=(1, 30), k=(1, 30))
        b.add(fmt=fmt, op=ops_knob(ctx), placement="far", align="word", m=(1, 30), n=(1, 30), k=(1, 30))
    return b.jobs


@sequence("queued_contexts", doc="a job queued in the second context while another runs (same and other "
          "core), and a third acquired while both contexts are busy (ACQUIRE answers -1)")
def _queued_contexts(ctx):
    b = Builder(ctx, "queued_contexts")
    count = ctx.knob("count", 6)
    for i in range(count):
        first = b.add("serial", op=ops_knob(ctx), fmt=fmts_knob(ctx), m=(12, 40), n=(8, 40), k=(16, 48))
        same = i % 2 == 0
        core = first.core if same else [c for c in range(ctx.eng.N_CORES) if c != first.core]
        b.add("queued", op=ops_knob(ctx), fmt=fmts_knob(ctx), core=core, m=(1, 30), n=(1, 30), k=(1, 30))
        if i % 3 == 2:
            b.add("queued", op=ops_knob(ctx), fmt=fmts_knob(ctx), m=(1, 20), n=(1, 20), k=(1, 20))
    return b.jobs


@sequence("back_to_back", doc="serial jobs with no SOFT_CLEAR between: same core, changing cores, "
          "changing op/format, and the same job twice")
def _back_to_back(ctx):
    b = Builder(ctx, "back_to_back")
    count = ctx.knob("count", 10)
    core0 = b.rng.randrange(ctx.eng.N_CORES)
    for i in range(count):
        core = core0 if i < count // 2 else None
        j = b.add(op=ops_knob(ctx), fmt=fmts_knob(ctx), core=core, m=(1, 30), n=(1, 30), k=(1, 30))
        if i == count // 3:
            b.alloc.new_group()
            b.append(j.replace(name=""))  # identical job again
    return b.jobs


def _victim_pairs(ctx, path, kinds):
    b = Builder(ctx, path)
    repeats = ctx.knob("count", 1)
    for _ in range(repeats):
        for kind in kinds:
            for phase in CONTROL_PHASES:
                delay = 0 if phase == "idle" else b.rng.randint(0, 24)
                b.add(op=ops_knob(ctx), fmt=fmts_knob(ctx), m=(24, 48), n=(16, 48), k=(32, 64), grant="always",
                      control=[ControlEvent(kind, phase, delay)])
                b.good(op=ops_knob(ctx), fmt=fmts_knob(ctx))
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
    b = Builder(ctx, "zero_dim")
    for i, (zm, zn, zk) in enumerate(itertools.product((0, 1), repeat=3)):
        if not (zm or zn or zk):
            continue
        dims = {d: (0 if z else (1, 20)) for d, z in zip("mnk", (zm, zn, zk))}
        b.add(op=ops_knob(ctx), fmt=fmts_knob(ctx), **dims)
        if i % 2:
            b.good()
    for code in range(3, 8):
        b.add(op=ops_knob(ctx), fmt=f"UNSUPPORTED{code}", m=(1, 20), n=(1, 20), k=(1, 20))
        b.good()
    b.add(op=ops_knob(ctx), fmt=fmts_knob(ctx), m=0, n=0, k=0)
    b.add("queued", op=ops_knob(ctx), fmt="UNSUPPORTED3", m=(1, 8), n=(1, 8), k=(1, 8))
    b.good()
    # zero jobs move no data (spec 3), so their pointers may lie anywhere in the 32-bit space and their
    # other dimensions may be as large as the registers hold: the address and stride paths see every bit
    wild = ctx.rng("zero_dim/wild")
    for i, (m, n, k) in enumerate(((0, 65535, 0), (0, 0, 65535), (0, 65535, 0), (0, 0, 65535),
                                   (0, wild.randint(1, 65535), 0), (0, 0, wild.randint(1, 65535)))):
        fmt = "FP16" if i % 2 == 0 or i >= 4 else wild.choice(("FP8", "FP8ALT"))
        eb = 2 if fmt == "FP16" else 1
        x, w, z = (wild.getrandbits(32) & ~(eb - 1) for _ in range(3))
        if i == 1:  # all-ones then all-zeros (next job): every bit of every pointer toggles both ways
            x, w, z = (0xFFFF_FFFF & ~(eb - 1),) * 3
        elif i == 2:
            x, w, z = 0, 0, 0
        b.append(GemmJob(wild.choice(ops_knob(ctx)), fmt, m, n, k, x, w, z,
                         core=wild.randrange(ctx.eng.N_CORES), data_seed=wild.getrandbits(32)))
        b.good()
    return b.jobs


@sequence("multi_core", doc="several cores racing for ACQUIRE (groups of 2..N_CORES, all distinct), every "
          "core id triggering at least once, then a serial job per core")
def _multi_core(ctx):
    b = Builder(ctx, "multi_core")
    n_cores = ctx.eng.N_CORES
    groups = ctx.knob("groups", 3)
    for g in range(groups):
        size = n_cores if g == 0 else b.rng.randint(2, n_cores)
        cores = b.rng.sample(range(n_cores), size)
        for i, c in enumerate(cores):
            b.add("serial" if i == 0 else "race", op=ops_knob(ctx), fmt=fmts_knob(ctx), core=c, m=(1, 16), n=(1, 16),
                  k=(1, 16))
    for c in range(n_cores):
        b.add(core=c, op=ops_knob(ctx), fmt=fmts_knob(ctx), m=(1, 12), n=(1, 12), k=(1, 12))
    return b.jobs


@sequence("heavy_stalls", doc="heavy grant stalls: random p = 0.1..0.3, bursty with long refusing phases, "
          "banks with high core_rate; every op")
def _heavy_stalls(ctx):
    b = Builder(ctx, "heavy_stalls")
    reps = ctx.knob("count", 1)
    size = ctx.knob("size", 16)
    for _ in range(reps):
        for kind in ("random", "bursty", "banks"):
            for op in ops_knob(ctx):
                g = random_grant(b.rng, kind, heavy=True, n_cores=ctx.eng.N_CORES)
                b.add(op=op, fmt=fmts_knob(ctx), grant=g, m=(1, size), n=(1, size), k=(1, 2 * size))
    return b.jobs


@sequence("grant_profiles", doc="every grant profile kind x every op")
def _grant_profiles(ctx):
    b = Builder(ctx, "grant_profiles")
    for kind in GRANT_KINDS:
        for op in ops_knob(ctx):
            b.add(op=op, fmt=fmts_knob(ctx), grant=random_grant(b.rng, kind, n_cores=ctx.eng.N_CORES),
                  m=(1, 24), n=(1, 24), k=(1, 32))
    return b.jobs


@sequence("large_jobs", doc="large jobs: size^3 (knob size=128) and neighbours (M a multiple of L, "
          "remainders), count jobs; about 45k cycles each at 128")
def _large_jobs(ctx):
    b = Builder(ctx, "large_jobs", grant="always")
    size = ctx.knob("size", 128)
    count = ctx.knob("count", 3)
    eng = ctx.eng
    shapes = [(size, size, size), (size // eng.L * eng.L, size, size), (size + 3, size - 1, size + 5)]
    for i in range(count):
        m, n, k = shapes[i % len(shapes)]
        ops, fmts = ops_knob(ctx), fmts_knob(ctx)
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
    b = Builder(ctx, "dim_65535", grant="always")
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
    b = Builder(ctx, "thin_shapes")
    big = ctx.knob("big", 1000)
    mid = ctx.knob("mid", 64)
    shapes = [(1, mid, mid), (mid, 1, mid), (mid, mid, 1), (1, 1, big), (big, 1, 1), (1, big, 1),
              (2, big // 2, 3), (big // 4, 3, 2), (3, 2, big // 4), (1, 1, 1), (1, mid, 1), (mid, 1, 1), (1, 1, mid)]
    ops, fmts = ops_knob(ctx), fmts_knob(ctx)
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
