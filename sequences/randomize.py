"""Constrained randomisation of GemmJob items, and buffer placement.

``random_job(rng, eng, mem, **knobs)`` draws one legal job; ``Allocator``
places the X, W and Z buffers of jobs that live at the same time (a group of
queued / racing jobs) so that they never overlap and fit the memory.

Randomisation library: plain seeded ``random.Random`` (from
``redmule_verif.seeding.py_rng``), on evidence
------------------------------------------------------------------------------
Measured on this machine (Python 3.11, one core), a job-shaped problem:
M, N, K in 1..64 with M mod 12 = 5, M*N + N*K + M*K <= 4096, a weighted
distribution on N, and X, W, Z element aligned, disjoint, inside 128 KiB:

==========================================  ===============  =====================
library                                      time per job     notes
==========================================  ===============  =====================
plain ``random`` (constructive + rejection)  0.02 ms          10,000 jobs in 0.2 s
pyvsc 1.0.0, dv-solve 0.2.5 back-end         0.33 ms          200 jobs in 0.07 s
pyvsc 1.0.0, Boolector back-end              98 ms            200 jobs in 19.6 s
cocotb-coverage 2.0 ``crv`` (python-constraint)  1,980 ms     dims only: it enumerates
                                                              domains, so 32-bit
                                                              addresses are out of reach
==========================================  ===============  =====================

Why plain ``random`` wins here:

* The hard constraints are constructive, not declarative: "buffers of every job
  live at the same time never overlap" spans a variable number of jobs and is a
  free-interval search (``Allocator``), which a per-object solver does not
  express; dimensions with remainder targets and a size budget are a few lines
  of rejection sampling. Nothing needs a SAT/SMT solver.
* Correctness pitfall seen while measuring pyvsc: constraint arithmetic is
  modular bit-vector arithmetic, so ``xb + m*n*2 <= wb`` on 16/32-bit fields was
  "satisfied" by wrapped-around values: the first runs (16-bit dims, then
  unbounded 32-bit bases) returned overlapping / out-of-memory buffers until
  every term got explicit width and range guards.
* Determinism: the project's rule is one sha256-derived stream per component
  (``seeding.py``); ``random.Random`` objects are exactly that, with no global
  solver state.
* Speed: 15x faster than pyvsc/dv-solve (5000x than Boolector); generating
  thousands of jobs for a regression costs milliseconds.
* Dependencies: pyvsc pulls dv-solve, pyboolector and pyucis (which pulls
  lxml, jsonschema, mcp, httpx, cryptography ...); none is in pyproject.toml
  and none is needed. No dependency was added.

Functional coverage (coverage/) is independent of this choice; if closure ever
needs solver-driven biasing toward holes, pyvsc + dv-solve is the candidate
(0.3 ms/solve), with width/range guards on every arithmetic constraint.
"""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

from redmule_verif.model.encoding import ALL_FORMATS, GRANT_KINDS, MAX_DIM, OPS
from redmule_verif.sequences.items import DISTRIBUTIONS, EngineConfig, GemmJob, GrantProfile, MemoryConfig

PLACEMENTS = ("adjacent", "far", "random")
ALIGNS = ("random", "word", "unaligned")

DEFAULT_FMT_WEIGHTS = {"FP16": 2, "FP8": 1, "FP8ALT": 1}
DEFAULT_DATA_WEIGHTS = {"normal": 40, "specials": 15, "overflow": 10, "underflow": 10, "cancel": 15, "small_ints": 10}
DEFAULT_GRANT_WEIGHTS = {"always": 50, "random": 20, "bursty": 15, "banks": 15}
DEFAULT_PLACEMENT_WEIGHTS = {"random": 60, "adjacent": 25, "far": 15}

#: knobs random_job understands (anything else is an error)
RANDOM_JOB_KNOBS = (
    "op", "fmt", "m", "n", "k", "m_mod_L", "n_mod_H", "k_mod_tile", "dims", "max_elems", "max_cycles",
    "align", "placement", "data", "class_weights", "grant", "heavy", "max_stall", "core", "launch",
    "control", "name", "data_seed", "allocator",
)


def pick(rng: random.Random, spec, what: str, legal: Sequence[str] | None = None):
    """One choice from ``spec``: a single value, a list (uniform) or a dict value -> weight."""
    if isinstance(spec, dict):
        items = list(spec.items())
        if not items or any(not isinstance(w, (int, float)) or w < 0 for _, w in items) or sum(w for _, w in items) <= 0:
            raise ValueError(f"{what}: weights must be non-negative numbers with a positive sum, got {spec!r}")
        vals = [v for v, _ in items]
        choice = rng.choices(vals, weights=[w for _, w in items])[0]
    elif isinstance(spec, (list, tuple)):
        if not spec:
            raise ValueError(f"{what}: empty choice list")
        vals = list(spec)
        choice = vals[rng.randrange(len(vals))]
    else:
        vals = [spec]
        choice = spec
    if legal is not None:
        bad = [v for v in vals if v not in legal]
        if bad:
            raise ValueError(f"{what}: {bad!r} not legal; use {', '.join(map(str, legal))}")
    return choice


def with_remainder(v: int, r: int, unit: int, lo: int, hi: int) -> int:
    """The value nearest v in [lo, hi] with value % unit == r (ValueError if none)."""
    if not 0 <= r < unit:
        raise ValueError(f"remainder {r} out of range 0..{unit - 1}")
    first = lo + ((r - lo) % unit)
    if first > hi:
        raise ValueError(f"no value in {lo}..{hi} has remainder {r} mod {unit}")
    last = first + (hi - first) // unit * unit
    c = first + round((min(max(v, first), last) - first) / unit) * unit
    return min(max(c, first), last)


def draw_dim(rng: random.Random, lo: int, hi: int, unit: int, mode: str = "small") -> int:
    """A dimension in [lo, hi]. mode "small": favour small sizes and tile edges
    (q*unit - 1, q*unit, q*unit + 1); "uniform"; "log": log-uniform."""
    if lo > hi:
        raise ValueError(f"empty dimension range {lo}..{hi}")
    if mode == "uniform":
        return rng.randint(lo, hi)
    if mode not in ("small", "log"):
        raise ValueError(f"dims mode {mode!r}: use 'small', 'uniform' or 'log'")
    u = rng.random() if mode == "small" else 0.8
    if u < 0.35:
        return rng.randint(lo, max(lo, min(hi, 2 * unit)))
    if u < 0.65:
        v = rng.randint(1, 4) * unit + rng.choice((-1, 0, 1))
        return min(max(v, lo), hi)
    if u < 0.9:
        a, b = math.log(max(lo, 1)), math.log(max(hi, 1) + 1)
        return min(max(int(math.exp(rng.uniform(a, b))), lo), hi)
    return rng.randint(lo, hi)


def _range(spec, what: str, default: tuple[int, int]) -> tuple[int, int] | int:
    if spec is None:
        return default
    if isinstance(spec, int) and not isinstance(spec, bool):
        if not 0 <= spec <= MAX_DIM:
            raise ValueError(f"{what} = {spec} out of range 0..{MAX_DIM}")
        return spec
    if isinstance(spec, (list, tuple)) and len(spec) == 2 and all(isinstance(v, int) for v in spec):
        lo, hi = spec
        if not 0 <= lo <= hi <= MAX_DIM:
            raise ValueError(f"{what} range {spec!r}: need 0 <= lo <= hi <= {MAX_DIM}")
        return (lo, hi)
    raise ValueError(f"{what}: give an int or a (lo, hi) pair, got {spec!r}")


def random_grant(rng: random.Random, kind: str | None = None, *, heavy: bool = False, n_cores: int = 8,
                 max_stall: int = 0) -> GrantProfile:
    """A grant profile of ``kind`` (random kind if None), light or heavy stalls."""
    kind = kind or pick(rng, DEFAULT_GRANT_WEIGHTS, "grant")
    seed = rng.getrandbits(32)
    if kind == "always":
        return GrantProfile("always", seed=seed)
    if kind == "random":
        p = rng.uniform(0.1, 0.3) if heavy else rng.uniform(0.3, 0.95)
        return GrantProfile("random", p=round(p, 3), max_stall=max_stall, seed=seed)
    if kind == "bursty":
        if heavy:
            return GrantProfile("bursty", on=rng.randint(2, 8), off=rng.randint(16, 64), max_stall=max_stall, seed=seed)
        return GrantProfile("bursty", on=rng.randint(4, 32), off=rng.randint(1, 12), max_stall=max_stall, seed=seed)
    if kind == "banks":
        rate = rng.uniform(0.6, 0.9) if heavy else rng.uniform(0.05, 0.5)
        return GrantProfile("banks", core_rate=round(rate, 3), n_banks=16, n_cores=n_cores, max_stall=max_stall, seed=seed)
    raise ValueError(f"grant kind {kind!r}: use one of {', '.join(GRANT_KINDS)}")


# --------------------------------------------------------------------------
# Placement
# --------------------------------------------------------------------------


class Allocator:
    """Places buffers in ``mem`` so that buffers live at the same time never overlap.

    Call ``new_group()`` when a serial job starts (nothing earlier is live);
    ``place(job, ...)`` returns the job with x_base/w_base/z_base set and keeps
    its buffers reserved until the next ``new_group()``.
    """

    def __init__(self, mem: MemoryConfig, rng: random.Random):
        self.mem = mem
        self.rng = rng
        self.used: list[tuple[int, int]] = []

    def new_group(self) -> None:
        self.used = []

    def reserve(self, start: int, end: int) -> None:
        if end > start:
            self.used.append((start, end))
            self.used.sort()

    def free_gaps(self) -> list[tuple[int, int]]:
        gaps, cur = [], self.mem.base
        for s, e in self.used:
            if s > cur:
                gaps.append((cur, s))
            cur = max(cur, e)
        if cur < self.mem.end:
            gaps.append((cur, self.mem.end))
        return gaps

    def free_bytes(self) -> int:
        return sum(e - s for s, e in self.free_gaps())

    def alloc(self, size: int, *, step: int = 1, mod: int = 0, where: str = "random", reserve: bool = True) -> int:
        """Start address a (a % step == mod) of a free [a, a + size) in memory.

        where: "random" (uniform over every legal start), "low", "high".
        Zero-size buffers get an address in memory and reserve nothing.
        """
        gaps = self.free_gaps() if size > 0 else [(self.mem.base, self.mem.end)]
        cands = []
        for gs, ge in gaps:
            first = gs + ((mod - gs) % step)
            last_start = ge - size
            if first > last_start:
                continue
            last = first + (last_start - first) // step * step
            cands.append((first, last, (last - first) // step + 1))
        if not cands:
            raise ValueError(
                f"no free {size}-byte range (start % {step} == {mod}) in memory "
                f"[{self.mem.base:#x}, {self.mem.end:#x}); free gaps: "
                + ", ".join(f"[{s:#x},{e:#x})" for s, e in gaps)
            )
        if where == "low":
            a = cands[0][0]
        elif where == "high":
            a = cands[-1][1]
        elif where == "random":
            total = sum(c[2] for c in cands)
            i = self.rng.randrange(total)
            for first, last, cnt in cands:
                if i < cnt:
                    a = first + i * step
                    break
                i -= cnt
        else:
            raise ValueError(f"where = {where!r}: use 'random', 'low' or 'high'")
        if reserve:
            self.reserve(a, a + size)
        return a

    def _mods(self, eb: int, align) -> dict[str, tuple[int, int]]:
        """(step, mod) per matrix from the alignment knob."""
        if isinstance(align, dict):
            out = {}
            for name in ("X", "W", "Z"):
                r = align.get(name)
                if r is None:
                    out[name] = (eb, 0)
                elif not isinstance(r, int) or not 0 <= r < 4 or r % eb:
                    raise ValueError(
                        f"align[{name!r}] = {r!r}: base mod 4 must be in 0..3 and a multiple of the "
                        f"element size {eb}"
                    )
                else:
                    out[name] = (4, r)
            bad = [k for k in align if k not in ("X", "W", "Z")]
            if bad:
                raise ValueError(f"align: unknown matrix key(s) {bad}; use X, W, Z")
            return out
        if align == "random":
            return {n: (eb, 0) for n in ("X", "W", "Z")}
        if align == "word":
            return {n: (4, 0) for n in ("X", "W", "Z")}
        if align == "unaligned":
            return {n: (4, self.rng.choice([r for r in (1, 2, 3) if r % eb == 0])) for n in ("X", "W", "Z")}
        raise ValueError(f"align = {align!r}: use one of {', '.join(ALIGNS)} or a dict {{'X': r, 'W': r, 'Z': r}}")

    def place(self, job: GemmJob, placement: str = "random", align: Any = "random") -> GemmJob:
        """The job with its three bases placed (see PLACEMENTS); reserves them.

        "adjacent": X, W, Z back to back (no gap), the alignment applies to X;
        "far": X as low and Z as high as possible, W anywhere;
        "random": each independently anywhere free.
        On failure nothing is reserved and ValueError is raised.
        """
        eb = job.elem_bytes
        sizes = {name: e - s for name, (s, e) in job.buffers().items()}
        mods = self._mods(eb, align)
        saved = list(self.used)
        try:
            if placement == "adjacent":
                step, mod = mods["X"]
                a = self.alloc(sizes["X"] + sizes["W"] + sizes["Z"], step=step, mod=mod)
                bases = {"X": a, "W": a + sizes["X"], "Z": a + sizes["X"] + sizes["W"]}
            elif placement == "far":
                bases = {}
                for name, where in (("X", "low"), ("Z", "high"), ("W", "random")):
                    step, mod = mods[name]
                    bases[name] = self.alloc(sizes[name], step=step, mod=mod, where=where)
            elif placement == "random":
                bases = {}
                order = sorted(("X", "W", "Z"), key=lambda n: -sizes[n])  # largest first
                for name in order:
                    step, mod = mods[name]
                    bases[name] = self.alloc(sizes[name], step=step, mod=mod)
            else:
                raise ValueError(f"placement = {placement!r}: use one of {', '.join(PLACEMENTS)}")
        except ValueError:
            self.used = saved
            raise
        return job.replace(x_base=bases["X"], w_base=bases["W"], z_base=bases["Z"])


# --------------------------------------------------------------------------
# One random job
# --------------------------------------------------------------------------


def random_job(rng: random.Random, eng: EngineConfig | None = None, mem: MemoryConfig | None = None,
               **knobs) -> GemmJob:
    """A legal random job (fits ``mem``, disjoint buffers, core < N_CORES).

    Knobs (all optional):
      op, fmt, data, placement, grant: one value, a list (uniform) or a dict
          value -> weight. fmt may name UNSUPPORTED3..7. grant may also be a
          GrantProfile or its dict ({"kind": "random", "p": 0.2, ...}). Defaults: every op; FP16 2 : FP8 1 : FP8ALT 1;
          DEFAULT_DATA_WEIGHTS; DEFAULT_PLACEMENT_WEIGHTS; DEFAULT_GRANT_WEIGHTS.
      m, n, k: an int (fixed; budgets do not apply) or a (lo, hi) range
          (default 1..65535, kept small by the budgets).
      m_mod_L, n_mod_H, k_mod_tile: remainder targets (M % L, N % H, K % (H*(P+1))).
      dims: "small" (default: favour small sizes and tile edges) | "uniform" | "log".
      max_elems: M*N + N*K + M*K of drawn shapes (default 8192).
      max_cycles: stall-free cycle estimate of drawn shapes (default 20000).
      align: "random" (any element-aligned base, default) | "word" | "unaligned"
          | {"X": r, "W": r, "Z": r} (base mod 4 per matrix).
      class_weights: FP-class weights (class-drawn distributions only: if the drawn
          data distribution is structured, cancel or small_ints, "specials" is used).
      heavy: heavy grant stalls (default False); max_stall: for the profile.
      core: int or list/dict of core ids (default any of 0..N_CORES-1).
      launch (default "serial"), control (default []), name, data_seed (default drawn).
      allocator: an Allocator holding buffers of jobs live at the same time
          (default a fresh one: the job alone in memory).
    """
    eng = eng or EngineConfig()
    mem = mem or MemoryConfig()
    unknown = [k for k in knobs if k not in RANDOM_JOB_KNOBS]
    if unknown:
        raise ValueError(f"random_job: unknown knob(s) {unknown}; knobs: {', '.join(RANDOM_JOB_KNOBS)}")
    kn = knobs.get
    op = pick(rng, kn("op") or list(OPS), "op", list(OPS))
    fmt = pick(rng, kn("fmt") or DEFAULT_FMT_WEIGHTS, "fmt", list(ALL_FORMATS))
    data = pick(rng, kn("data") or DEFAULT_DATA_WEIGHTS, "data", DISTRIBUTIONS)
    class_weights = kn("class_weights")
    if class_weights is not None and data not in ("normal", "specials", "overflow", "underflow"):
        data = "specials"
    placement = pick(rng, kn("placement") or DEFAULT_PLACEMENT_WEIGHTS, "placement", PLACEMENTS)
    align = kn("align") or "random"
    gspec = kn("grant")
    if isinstance(gspec, dict) and "kind" in gspec:  # a whole profile, e.g. from a JSON knob
        gspec = GrantProfile.from_dict(gspec)
    if isinstance(gspec, GrantProfile):
        grant = gspec
    else:
        kind = pick(rng, gspec or DEFAULT_GRANT_WEIGHTS, "grant", GRANT_KINDS)
        grant = random_grant(rng, kind, heavy=bool(kn("heavy")), n_cores=eng.N_CORES, max_stall=kn("max_stall") or 0)
    core_spec = kn("core")
    core = pick(rng, list(range(eng.N_CORES)) if core_spec is None else core_spec, "core", list(range(eng.N_CORES)))
    data_seed = kn("data_seed")
    if data_seed is None:
        data_seed = rng.getrandbits(32)
    max_elems = kn("max_elems") or 8192
    max_cycles = kn("max_cycles") or 20000
    mode = kn("dims") or "small"
    units = {"m": eng.L, "n": eng.H, "k": eng.tile_k}
    rems = {"m": kn("m_mod_L"), "n": kn("n_mod_H"), "k": kn("k_mod_tile")}
    specs = {d: _range(kn(d), d, (1, MAX_DIM)) for d in ("m", "n", "k")}
    alloc = kn("allocator") or Allocator(mem, rng)

    def draw(d):
        s = specs[d]
        if isinstance(s, int):
            return s
        lo, hi = s
        v = draw_dim(rng, lo, hi, units[d], mode)
        if rems[d] is not None:
            v = with_remainder(v, rems[d], units[d], max(lo, 1) if rems[d] else max(lo, units[d]), hi)
        return v

    eb = 1 if fmt in ("FP8", "FP8ALT") else 2
    free = alloc.free_bytes()
    fixed = all(isinstance(specs[d], int) for d in "mnk")
    last_err = None
    for attempt in range(400):
        dims = {d: draw(d) for d in "mnk"}
        m, n, k = dims["m"], dims["n"], dims["k"]
        if not fixed:
            if m * n + n * k + m * k > max_elems or eng.est_cycles(m, n, k) > max_cycles:
                if attempt < 300:
                    continue
                # shrink the largest drawn dimension, keeping its remainder
                while m * n + n * k + m * k > max_elems or eng.est_cycles(m, n, k) > max_cycles:
                    d = max((x for x in "mnk" if not isinstance(specs[x], int)), key=lambda x: dims[x])
                    unit = units[d]
                    lo = specs[d][0]
                    new = max(lo, dims[d] // 2)
                    if rems[d] is not None:
                        new = with_remainder(new, rems[d], unit, max(lo, 1) if rems[d] else max(lo, unit), dims[d])
                    if new == dims[d]:
                        break
                    dims[d] = new
                    m, n, k = dims["m"], dims["n"], dims["k"]
        if (m * n + n * k + m * k) * eb > free:
            last_err = ValueError(f"shape {m}x{n}x{k} {fmt} needs more than the {free} free bytes")
            if fixed:
                break
            continue
        job = GemmJob(op, fmt, m, n, k, mem.base, mem.base, mem.base, core=core, data_seed=data_seed, data=data,
                      class_weights=class_weights, grant=grant, control=list(kn("control") or []),
                      launch=kn("launch") or "serial", name=kn("name") or "")
        # random positions can fragment memory: retry, then fall back to packing
        tries = [placement] * (20 if placement != "adjacent" else 1) + (["adjacent"] if placement != "adjacent" else [])
        for how in tries:
            try:
                return alloc.place(job, how, align)
            except ValueError as e:
                last_err = e
        if fixed:
            break
    raise ValueError(f"random_job: could not place a job with knobs {knobs!r}: {last_err}")
