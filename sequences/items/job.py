"""Job items: one RedMulE GEMM-op job, its memory/engine configuration and serialisation.

Plain, deterministic, simulator-free Python (no cocotb here): the pyuvm
environment executes these items; the sequence library (``library.py``) and the
constrained randomiser (``randomize.py``) produce them.

Names the environment relies on
-------------------------------
``GrantProfile``    how the memory model grants TCDM requests for a job.
``ControlEvent``    a SOFT_CLEAR or reset injected during a job (the "victim").
``GemmJob``         one job: op, format, shape, bases, data, grant, control, launch.
``MemoryConfig``    the TCDM window the memory model serves (``check_fits``).
``EngineConfig``    L, H, P, N_CORES of the build (``tile_k``, ``dw``).
``dump_jobs`` / ``load_jobs`` / ``jobs_to_yaml`` / ``jobs_from_yaml``
                    a job-list file (YAML or JSON), what a ``directed`` test replays
                    and what a failing job is printed as.
``format_job``      one-line summary.
``check_job`` / ``check_job_list``
                    the legality rules (fits memory, core id, no overlap between
                    matrices of a job, nor between jobs that are live together).
``FP_CLASSES`` / ``classify`` / ``DISTRIBUTIONS``
                    the floating-point classes data is drawn by, and the named
                    value distributions.

Formats
-------
``GemmJob.fmt`` is a name: ``"FP16"`` (code 1), ``"FP8"`` (E5M2, code 0),
``"FP8ALT"`` (IEEE-like E4M3, code 2) or, for the unsupported-format no-op job,
``"UNSUPPORTED3"`` .. ``"UNSUPPORTED7"`` (codes 3..7; spec section 3: such a job
completes with no TCDM request). Integer codes are accepted on input and
normalised to these names, so one field is the single source of truth. An
unsupported-format job is laid out nominally as FP16 (2-byte elements, uint16
data): it never touches memory, but its pointers still point at sensible,
disjoint buffers, so a DUT that wrongly accesses them is caught cleanly.

No-op jobs
----------
A job with M, N or K = 0, or an unsupported format (``job.is_noop``), has an
empty ``footprint()`` and ``expected()`` returns None: it must complete (event,
STATUS cleared) without any TCDM request, leaving memory unchanged.

Control events
--------------
A job with a non-empty ``control`` list is a *victim*: the event aborts it (or,
at phase "idle", drops its RESERVED context before TRIGGER), so its result is
never checked and no completion event is expected for it. Sequences follow each
victim by a good job, which must then run correctly. See ``ControlEvent``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import pathlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from redmule_verif.coverage import fpclass as _fpclass
from redmule_verif.seeding import np_rng

# --------------------------------------------------------------------------
# Names and codes (spec section 4); kept equal to redmule_verif.model.ref's maps
# (tests/test_sequences.py checks it), defined here so that this module imports
# without the reference model.
# --------------------------------------------------------------------------

OPS: dict[str, int] = {
    "MATMUL": 0,
    "GEMM": 1,
    "ADDMAX": 2,
    "ADDMIN": 3,
    "MULMAX": 4,
    "MULMIN": 5,
    "MAXMIN": 6,
    "MINMAX": 7,
}
OP_NAMES: dict[int, str] = {c: n for n, c in OPS.items()}

#: supported formats (spec section 4)
FORMATS: dict[str, int] = {"FP8": 0, "FP16": 1, "FP8ALT": 2}
#: every value of the 3-bit format field: the supported ones and the no-op codes
ALL_FORMATS: dict[str, int] = {**FORMATS, **{f"UNSUPPORTED{c}": c for c in range(3, 8)}}
FORMAT_NAMES: dict[int, str] = {c: n for n, c in ALL_FORMATS.items()}

MAX_DIM = 0xFFFF
ADDR_LIMIT = 1 << 32

GRANT_KINDS = ("always", "random", "bursty", "banks")
CONTROL_KINDS = ("soft_clear", "soft_clear_keep", "reset")
CONTROL_PHASES = ("idle", "load", "compute", "store")
LAUNCHES = ("serial", "queued", "race")

#: floating-point classes, in this order (``classify`` returns indices into it)
FP_CLASSES = _fpclass.CLASSES
_CLS = {n: i for i, n in enumerate(FP_CLASSES)}

#: the named value distributions of ``GemmJob.data``
DISTRIBUTIONS = ("normal", "specials", "overflow", "underflow", "cancel", "small_ints")
#: distributions drawn element by element by FP class (``class_weights`` applies)
CLASS_DRAWN = ("normal", "specials", "overflow", "underflow")

# (exponent bits, mantissa bits, bias) per format code; unsupported -> FP16 layout
_LAYOUT = {0: (5, 2, 15), 1: (5, 10, 15), 2: (4, 3, 7)}


def _layout(code: int) -> tuple[int, int, int]:
    return _LAYOUT.get(code, _LAYOUT[1])


def _dtype(code: int) -> np.dtype:
    return np.dtype(np.uint8) if code in (0, 2) else np.dtype(np.uint16)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_int(owner: str, name: str, v, lo: int, hi: int | None = None) -> int:
    if not _is_int(v):
        raise ValueError(f"{owner}.{name} must be an integer, got {v!r} ({type(v).__name__})")
    v = int(v)
    if v < lo or (hi is not None and v > hi):
        legal = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{owner}.{name} = {v} is out of range: legal {legal}")
    return v


def _check_real(owner: str, name: str, v, lo: float, hi: float, lo_open=False) -> float:
    if not _is_real(v) or not math.isfinite(float(v)):
        raise ValueError(f"{owner}.{name} must be a finite number, got {v!r}")
    v = float(v)
    if v < lo or v > hi or (lo_open and v == lo):
        legal = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise ValueError(f"{owner}.{name} = {v} is out of range: legal {legal}")
    return v


def _check_choice(owner: str, name: str, v, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{owner}.{name} = {v!r} is not legal: use one of {', '.join(choices)}")
    return v


def _int_or_str(v):
    """Ints may be written as strings in hand-made job files ('0x1000_0000')."""
    if isinstance(v, str):
        try:
            return int(v.replace("_", ""), 0)
        except ValueError:
            return v
    return v


def _check_keys(owner: str, d, known: Iterable[str], required: Iterable[str] = ()) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{owner} must be a mapping, got {type(d).__name__}: {d!r}")
    known = tuple(known)
    unknown = [k for k in d if k not in known]
    if unknown:
        raise ValueError(
            f"{owner}: unknown key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(known)}"
        )
    missing = [k for k in required if k not in d]
    if missing:
        raise ValueError(f"{owner}: missing required key(s) {', '.join(missing)}")


# --------------------------------------------------------------------------
# Grant profile and control events
# --------------------------------------------------------------------------


@dataclass
class GrantProfile:
    """How the memory model grants the DUT's TCDM requests during a job.

    kind:
      ``"always"``  grant every request at once.
      ``"random"``  grant with probability ``p`` each cycle.
      ``"bursty"``  alternate granting / refusing phases with mean lengths
                    ``on`` / ``off`` cycles (geometric lengths).
      ``"banks"``   ``n_cores`` cluster cores each access one 32-bit word of a
                    random bank (of ``n_banks`` word-interleaved banks) with
                    probability ``core_rate`` per cycle; the DUT is refused while
                    a core holds a bank its access needs.
    max_stall: 0 = unlimited; else a grant is forced after that many
    consecutive refused cycles. seed: the memory model's grant stream.
    """

    kind: str
    p: float = 0.5
    on: int = 16
    off: int = 4
    core_rate: float = 0.25
    n_banks: int = 16
    n_cores: int = 8
    max_stall: int = 0
    seed: int = 0

    def __post_init__(self):
        o = "GrantProfile"
        self.kind = _check_choice(o, "kind", self.kind, GRANT_KINDS)
        self.p = _check_real(o, "p", self.p, 0.0, 1.0)
        self.on = _check_int(o, "on", self.on, 1)
        self.off = _check_int(o, "off", self.off, 0)
        self.core_rate = _check_real(o, "core_rate", self.core_rate, 0.0, 1.0)
        self.n_banks = _check_int(o, "n_banks", self.n_banks, 1, 1 << 16)
        self.n_cores = _check_int(o, "n_cores", self.n_cores, 0, 1024)
        self.max_stall = _check_int(o, "max_stall", self.max_stall, 0)
        self.seed = _check_int(o, "seed", self.seed, 0, (1 << 64) - 1)
        if self.kind == "random" and self.p == 0.0 and self.max_stall == 0:
            raise ValueError(
                "GrantProfile: kind 'random' with p = 0 never grants: use p in (0, 1], "
                "or set max_stall > 0 to force grants"
            )
        if self.kind == "banks" and self.core_rate == 1.0 and self.n_cores >= self.n_banks and self.max_stall == 0:
            raise ValueError(
                "GrantProfile: kind 'banks' with core_rate = 1 and n_cores >= n_banks may never "
                "grant: use core_rate in [0, 1) or set max_stall > 0"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d) -> "GrantProfile":
        names = [f.name for f in dataclasses.fields(cls)]
        _check_keys("GrantProfile", d, names, ("kind",))
        return cls(**{k: (_int_or_str(v) if k not in ("kind",) else v) for k, v in d.items()})

    def summary(self) -> str:
        if self.kind == "always":
            s = "always"
        elif self.kind == "random":
            s = f"random(p={self.p:g})"
        elif self.kind == "bursty":
            s = f"bursty(on={self.on},off={self.off})"
        else:
            s = f"banks(rate={self.core_rate:g},banks={self.n_banks},cores={self.n_cores})"
        if self.max_stall:
            s += f"[max_stall={self.max_stall}]"
        return s


@dataclass
class ControlEvent:
    """A SOFT_CLEAR or reset injected during the job that carries it (the victim).

    kind: ``"soft_clear"`` writes 0 to SOFT_CLEAR (also clears the job
    registers, FINISHED and the job-id counter); ``"soft_clear_keep"`` writes a
    non-zero value (aborts only); ``"reset"`` pulses rst_ni.
    phase: ``"idle"`` = after the job is acquired and programmed, before its
    TRIGGER write (its RESERVED context is dropped: TRIGGER then does
    nothing); ``"load"`` / ``"compute"`` / ``"store"`` = while the job loads,
    computes, stores (the environment defines the exact phase points, e.g. the
    first granted load, the first cycle after the first tile's loads, the first
    granted store). delay: extra cycles after the phase point.
    Every event aborts the victim: its result is not checked, no event expected.
    """

    kind: str
    phase: str
    delay: int = 0

    def __post_init__(self):
        self.kind = _check_choice("ControlEvent", "kind", self.kind, CONTROL_KINDS)
        self.phase = _check_choice("ControlEvent", "phase", self.phase, CONTROL_PHASES)
        self.delay = _check_int("ControlEvent", "delay", self.delay, 0, 1 << 31)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d) -> "ControlEvent":
        _check_keys("ControlEvent", d, ("kind", "phase", "delay"), ("kind", "phase"))
        return cls(**{k: (_int_or_str(v) if k == "delay" else v) for k, v in d.items()})

    def summary(self) -> str:
        return f"{self.kind}@{self.phase}" + (f"+{self.delay}" if self.delay else "")


# --------------------------------------------------------------------------
# FP classes: drawing and classifying raw bit patterns
# --------------------------------------------------------------------------


def _fmt_code_of(fmt) -> int:
    if isinstance(fmt, str):
        c = ALL_FORMATS.get(fmt.strip().upper())
        if c is not None:
            return c
    elif _is_int(fmt) and 0 <= int(fmt) <= 7:
        return int(fmt)
    raise ValueError(
        f"unknown format {fmt!r}: use 'FP16' (code 1), 'FP8' (E5M2, code 0), 'FP8ALT' (E4M3, code 2), "
        f"or 'UNSUPPORTED3'..'UNSUPPORTED7' (codes 3..7, the no-op job)"
    )


def classify(bits, fmt) -> np.ndarray:
    """FP class index (into ``FP_CLASSES``) of every element of raw bits ``bits``.

    One classifier serves the whole project (``redmule_verif.coverage.fpclass``);
    the unsupported-format no-op jobs are laid out as FP16.
    """
    code = _fmt_code_of(fmt)
    return _fpclass.classify(bits, FORMAT_NAMES[code] if code in (0, 1, 2) else "FP16")


def class_counts(bits, fmt) -> dict[str, int]:
    """{class name: count} of raw bits ``bits`` (every class present, zeros included)."""
    idx = classify(bits, fmt).ravel()
    counts = np.bincount(idx, minlength=len(FP_CLASSES)) if idx.size else np.zeros(len(FP_CLASSES), int)
    return {n: int(c) for n, c in zip(FP_CLASSES, counts)}


def _draw_classes(rng: np.random.Generator, cls: np.ndarray, code: int, exp_range) -> np.ndarray:
    """Bits for class indices ``cls``; normals get unbiased exponents in exp_range."""
    e_bits, m_bits, bias = _layout(code)
    emax = (1 << e_bits) - 1
    mmax = (1 << m_bits) - 1
    n = cls.size
    sign = (cls % 2).astype(np.int64)
    exp = np.zeros(n, np.int64)
    man = np.zeros(n, np.int64)
    rnd_man = rng.integers(0, mmax + 1, n)
    lo = min(max(exp_range[0] + bias, 1), emax - 1)
    hi = min(max(exp_range[1] + bias, lo), emax - 1)
    rnd_exp = rng.integers(lo, hi + 1, n)
    rnd_sign = rng.integers(0, 2, n)
    half = 1 << (m_bits - 1)
    # subnormal: exp 0, mantissa 1..mmax
    c = (cls == 2) | (cls == 3)
    man[c] = np.maximum(rnd_man[c], 1)
    c = (cls == 4) | (cls == 5)
    exp[c], man[c] = rnd_exp[c], rnd_man[c]
    c = (cls == 6) | (cls == 7)
    exp[c], man[c] = emax - 1, mmax
    c = (cls == 8) | (cls == 9)
    exp[c] = emax
    c = cls == 10  # quiet NaN: mantissa MSB set, random sign and payload
    exp[c], man[c], sign[c] = emax, half | (rnd_man[c] & (half - 1)), rnd_sign[c]
    c = cls == 11  # signalling NaN: mantissa MSB clear, payload != 0
    exp[c], man[c], sign[c] = emax, np.maximum(rnd_man[c] & (half - 1), 1), rnd_sign[c]
    bits = (sign << (e_bits + m_bits)) | (exp << m_bits) | man
    return bits.astype(_dtype(code))


def _decode_table(code: int) -> np.ndarray:
    """float64 value of every code of an FP8 format (NaN for NaNs)."""
    e_bits, m_bits, bias = _layout(code)
    b = np.arange(1 << (1 + e_bits + m_bits), dtype=np.int64)
    sign = np.where((b >> (e_bits + m_bits)) & 1, -1.0, 1.0)
    exp = (b >> m_bits) & ((1 << e_bits) - 1)
    man = (b & ((1 << m_bits) - 1)).astype(np.float64)
    emax = (1 << e_bits) - 1
    val = np.where(exp == 0, man * 2.0 ** (1 - bias - m_bits), (1 + man / (1 << m_bits)) * 2.0 ** (exp - bias))
    val = np.where(exp == emax, np.where(man == 0, np.inf, np.nan), val) * sign
    return val


def encode_exact(values, fmt) -> np.ndarray:
    """Raw bits of float values that the format represents exactly (else ValueError)."""
    code = _fmt_code_of(fmt)
    v = np.asarray(values, dtype=np.float64)
    if code not in (0, 2):
        h = v.astype(np.float16)
        if not np.array_equal(h.astype(np.float64), v, equal_nan=True):
            raise ValueError("encode_exact: value not exactly representable in FP16")
        return h.view(np.uint16)
    table = _decode_table(code)
    lut: dict[float, int] = {}
    for c, x in enumerate(table.tolist()):
        if x != 0 and not math.isnan(x):
            lut.setdefault(x, c)
    sign_bit = 1 << 7
    out = []
    for x in v.ravel().tolist():
        if x == 0:
            out.append(sign_bit if math.copysign(1.0, x) < 0 else 0)
        elif x in lut:
            out.append(lut[x])
        else:
            raise ValueError(f"encode_exact: {x!r} is not exactly representable in {FORMAT_NAMES[code]}")
    return np.array(out, dtype=np.uint8).reshape(v.shape)


def _weights(d: dict[str, float]) -> np.ndarray:
    w = np.array([float(d.get(c, 0.0)) for c in FP_CLASSES])
    return w / w.sum()


def _emax_unb(code):
    e_bits, _, bias = _layout(code)
    return (1 << e_bits) - 2 - bias


def _emin_unb(code):
    return 1 - _layout(code)[2]


def _dist_params(dist: str, code: int, which: str):
    """(class weights, normal exponent range) of matrix ``which`` ('x','w','y')."""
    top, bot = _emax_unb(code), _emin_unb(code)
    if dist == "normal":
        return {"+norm": 47, "-norm": 47, "+zero": 3, "-zero": 3}, (-1, 1)
    if dist == "specials":
        return {c: 1 for c in FP_CLASSES}, (bot, top)
    if dist == "overflow":
        return {"+norm": 40, "-norm": 15, "+max": 30, "-max": 10, "+zero": 5}, (top - 3, top)
    if dist == "underflow":
        if which == "w":  # moderate multiplier: x*w lands in the subnormal range
            return {"+norm": 40, "-norm": 40, "+sub": 10, "-sub": 10}, (-2, 1)
        return {"+sub": 30, "-sub": 30, "+norm": 15, "-norm": 15, "+zero": 5, "-zero": 5}, (bot, bot + 2)
    raise AssertionError(dist)


# --------------------------------------------------------------------------
# Hex (de)serialisation of raw-bit matrices
# --------------------------------------------------------------------------


def _arr_to_hex(a: np.ndarray) -> str:
    """Row-major hex, big-endian per element, one space-separated word per row."""
    digits = 2 * a.dtype.itemsize
    flat = a.astype(a.dtype.newbyteorder(">"), copy=False).tobytes().hex()
    if a.ndim != 2 or a.shape[1] == 0 or a.shape[0] == 0:
        return flat
    w = a.shape[1] * digits
    return " ".join(flat[i : i + w] for i in range(0, len(flat), w))


def _hex_to_arr(s: str, shape, dtype: np.dtype, what: str) -> np.ndarray:
    if not isinstance(s, str):
        raise ValueError(f"GemmJob.{what} must be a hex string of raw bits, got {type(s).__name__}")
    h = "".join(s.split())
    digits = 2 * dtype.itemsize
    need = shape[0] * shape[1] * digits
    if len(h) != need:
        raise ValueError(
            f"GemmJob.{what}: {len(h)} hex digits, expected {need} "
            f"({shape[0]} x {shape[1]} elements of {digits} hex digits)"
        )
    try:
        raw = bytes.fromhex(h)
    except ValueError:
        raise ValueError(f"GemmJob.{what}: not a hex string") from None
    return np.frombuffer(raw, dtype=dtype.newbyteorder(">")).astype(dtype).reshape(shape)


# --------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------


def _default_grant() -> GrantProfile:
    return GrantProfile("always")


@dataclass(eq=False)
class GemmJob:
    """One RedMulE job. See the module docstring for formats, no-op jobs, victims.

    launch: ``"serial"`` starts after every earlier job completed; ``"queued"``
    is acquired, programmed and triggered right after the previous job was
    triggered (it waits in the second context); ``"race"`` starts its ACQUIRE
    at the same time as the previous job's, from a different core. Jobs chained
    by queued/race form a *group* that is live at the same time: their buffers
    never overlap (``check_job_list``).

    x, w, y: optional explicit raw-bit data (numpy uint16 for FP16 and the
    unsupported formats, uint8 for FP8/FP8ALT; shapes M x N, N x K, M x K);
    each overrides the generated matrix. MATMUL takes no y.
    """

    op: str
    fmt: str
    m: int
    n: int
    k: int
    x_base: int
    w_base: int
    z_base: int
    core: int = 0
    data_seed: int = 0
    data: str = "normal"
    class_weights: dict | None = None
    grant: GrantProfile = field(default_factory=_default_grant)
    control: list = field(default_factory=list)
    launch: str = "serial"
    name: str = ""
    x: np.ndarray | None = None
    w: np.ndarray | None = None
    y: np.ndarray | None = None

    __hash__ = None  # mutable

    def __post_init__(self):
        self.validate()

    # ---- validation -----------------------------------------------------

    def validate(self) -> None:
        o = "GemmJob"
        op = self.op
        if _is_int(op) and 0 <= int(op) <= 7:
            op = OP_NAMES[int(op)]
        elif isinstance(op, str):
            op = op.strip().upper()
        self.op = _check_choice(o, "op", op, OPS)
        try:
            self.fmt = FORMAT_NAMES[_fmt_code_of(self.fmt)]
        except ValueError as e:
            raise ValueError(f"GemmJob.fmt: {e}") from None
        for d in ("m", "n", "k"):
            setattr(self, d, _check_int(o, d, getattr(self, d), 0, MAX_DIM))
        eb = self.elem_bytes
        for name, size in (("x_base", self.m * self.n), ("w_base", self.n * self.k), ("z_base", self.m * self.k)):
            a = _check_int(o, name, getattr(self, name), 0, ADDR_LIMIT - 1)
            if a % eb:
                raise ValueError(
                    f"GemmJob.{name} = {a:#x} is not element aligned: {self.fmt} elements are "
                    f"{eb} bytes, so the base must be a multiple of {eb}"
                )
            if a + size * eb > ADDR_LIMIT:
                raise ValueError(f"GemmJob.{name} = {a:#x}: the matrix ({size * eb} bytes) runs past 2^32")
            setattr(self, name, a)
        self.core = _check_int(o, "core", self.core, 0, 31)
        self.data_seed = _check_int(o, "data_seed", self.data_seed, 0, (1 << 64) - 1)
        self.data = _check_choice(o, "data", self.data, DISTRIBUTIONS)
        if self.class_weights is not None:
            cw = self.class_weights
            if not isinstance(cw, dict) or not cw:
                raise ValueError(
                    f"GemmJob.class_weights must be a non-empty mapping class -> weight "
                    f"(classes: {', '.join(FP_CLASSES)}), got {cw!r}"
                )
            bad = [c for c in cw if c not in _CLS]
            if bad:
                raise ValueError(
                    f"GemmJob.class_weights: unknown class(es) {', '.join(map(repr, bad))}; "
                    f"classes: {', '.join(FP_CLASSES)}"
                )
            cw = {c: _check_real(o, f"class_weights[{c!r}]", v, 0.0, 1e12) for c, v in cw.items()}
            if sum(cw.values()) <= 0:
                raise ValueError("GemmJob.class_weights: the weights sum to 0; at least one must be > 0")
            if self.data not in CLASS_DRAWN:
                raise ValueError(
                    f"GemmJob.class_weights applies to the class-drawn distributions "
                    f"({', '.join(CLASS_DRAWN)}), not to the structured distribution {self.data!r}"
                )
            self.class_weights = cw
        if isinstance(self.grant, dict):
            self.grant = GrantProfile.from_dict(self.grant)
        if not isinstance(self.grant, GrantProfile):
            raise ValueError(f"GemmJob.grant must be a GrantProfile, got {type(self.grant).__name__}")
        if not isinstance(self.control, (list, tuple)):
            raise ValueError(f"GemmJob.control must be a list of ControlEvent, got {type(self.control).__name__}")
        ctl = []
        for ev in self.control:
            if isinstance(ev, dict):
                ev = ControlEvent.from_dict(ev)
            if not isinstance(ev, ControlEvent):
                raise ValueError(f"GemmJob.control entries must be ControlEvent, got {type(ev).__name__}")
            ctl.append(ev)
        self.control = ctl
        self.launch = _check_choice(o, "launch", self.launch, LAUNCHES)
        if self.name is None:  # an empty "name:" in a YAML job file
            self.name = ""
        if not isinstance(self.name, str):
            raise ValueError(f"GemmJob.name must be a string, got {type(self.name).__name__}")
        dt = _dtype(self.fmt_code)
        for what, shape in (("x", (self.m, self.n)), ("w", (self.n, self.k)), ("y", (self.m, self.k))):
            a = getattr(self, what)
            if a is None:
                continue
            if what == "y" and self.op == "MATMUL":
                raise ValueError("GemmJob.y: MATMUL does not read Y; leave y None")
            if isinstance(a, str):
                a = _hex_to_arr(a, shape, dt, what)
            if not isinstance(a, np.ndarray):
                raise ValueError(
                    f"GemmJob.{what} must be a numpy array of raw bits (in a job file: a hex string), "
                    f"got {type(a).__name__}"
                )
            if a.dtype != dt:
                raise ValueError(
                    f"GemmJob.{what} has dtype {a.dtype}; {self.fmt} data must be raw {dt.name} bit patterns"
                )
            if a.shape != shape:
                raise ValueError(f"GemmJob.{what} has shape {a.shape}, expected {shape}")
            a = np.array(a, copy=True)
            a.setflags(write=False)
            setattr(self, what, a)

    # ---- derived properties -------------------------------------------------

    @property
    def op_code(self) -> int:
        return OPS[self.op]

    @property
    def fmt_code(self) -> int:
        return ALL_FORMATS[self.fmt]

    @property
    def fmt_supported(self) -> bool:
        return self.fmt_code in (0, 1, 2)

    @property
    def elem_bytes(self) -> int:
        """1 for FP8/FP8ALT, 2 for FP16 (and, nominally, for unsupported formats)."""
        return 1 if _fmt_code_of(self.fmt) in (0, 2) else 2

    @property
    def reads_y(self) -> bool:
        return self.op != "MATMUL"

    @property
    def is_noop(self) -> bool:
        """Completes with no TCDM request: a zero dimension or an unsupported format."""
        return self.m == 0 or self.n == 0 or self.k == 0 or not self.fmt_supported

    @property
    def is_victim(self) -> bool:
        """Carries control events: aborted, result not checked (see ControlEvent)."""
        return bool(self.control)

    @property
    def reg_mk(self) -> int:
        """Value of job register 0x4C: K in [31:16], M in [15:0]."""
        return (self.k << 16) | self.m

    @property
    def reg_n(self) -> int:
        """Value of job register 0x50."""
        return self.n

    @property
    def reg_cfg(self) -> int:
        """Value of job register 0x54: GEMM-op in [12:10], format in [9:7]."""
        return (self.op_code << 10) | (self.fmt_code << 7)

    def buffers(self) -> dict[str, tuple[int, int]]:
        """Nominal [start, end) byte ranges of X, W and Z (= Y), no-op jobs included."""
        eb = self.elem_bytes
        return {
            "X": (self.x_base, self.x_base + self.m * self.n * eb),
            "W": (self.w_base, self.w_base + self.n * self.k * eb),
            "Z": (self.z_base, self.z_base + self.m * self.k * eb),
        }

    def footprint(self) -> dict[str, tuple[int, int]]:
        """[start, end) byte ranges the job reads/writes: X, W, (Y,) Z; {} for a no-op job.

        X, W and Y are read, Z is written; Y and Z are the same range (in place);
        MATMUL has no "Y" entry.
        """
        if self.is_noop:
            return {}
        b = self.buffers()
        fp = {"X": b["X"], "W": b["W"]}
        if self.reads_y:
            fp["Y"] = b["Z"]
        fp["Z"] = b["Z"]
        return fp

    def footprint_bytes(self) -> int:
        return sum(e - s for name, (s, e) in self.footprint().items() if name != "Y")

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of this job's non-empty matrices (X, W, Z) that overlap."""
        b = [(n, r) for n, r in self.buffers().items() if r[1] > r[0]]
        return [
            (n1, n2)
            for i, (n1, r1) in enumerate(b)
            for n2, r2 in b[i + 1 :]
            if r1[0] < r2[1] and r2[0] < r1[1]
        ]

    def est_cycles(self, eng: "EngineConfig | None" = None) -> int:
        """Stall-free cycle estimate (spec section 7), for sizing sequences."""
        eng = eng or EngineConfig()
        return eng.est_cycles(self.m, self.n, self.k) if not self.is_noop else eng.noop_cycles

    # ---- data ---------------------------------------------------------------

    def make_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(x, w, y) raw bits, deterministic in data_seed; y is None for MATMUL.

        Explicit x/w/y given on the job take precedence over generated ones.
        """
        code = self.fmt_code
        gen = _generate(self.data, code, self.m, self.n, self.k, self.data_seed, self.class_weights, self.reads_y)
        x = self.x if self.x is not None else gen[0]
        w = self.w if self.w is not None else gen[1]
        y = None if not self.reads_y else (self.y if self.y is not None else gen[2])
        return x, w, y

    def expected(self):
        """Expected Z (raw bits, M x K) via redmule_verif.model.ref.gemm_op; None for a no-op job."""
        if self.is_noop:
            return None
        from redmule_verif.model import ref  # lazy: the reference model is heavy and optional here

        x, w, y = self.make_data()
        return ref.gemm_op(x, w, y, self.op, self.fmt)

    # ---- serialisation ------------------------------------------------------

    _REQUIRED = ("op", "fmt", "m", "n", "k", "x_base", "w_base", "z_base")

    def to_dict(self, compact: bool = False) -> dict:
        """Plain dict (JSON/YAML-safe). compact=True leaves out fields at their defaults."""
        d: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "grant":
                v = v.to_dict()
                if compact and v == _default_grant().to_dict():
                    continue
            elif f.name == "control":
                v = [ev.to_dict() for ev in v]
                if compact and not v:
                    continue
            elif f.name in ("x", "w", "y"):
                if v is None:
                    continue
                v = _arr_to_hex(v)
            elif f.name == "class_weights":
                if v is None and compact:
                    continue
                v = None if v is None else dict(v)
            elif compact and f.name not in self._REQUIRED and f.default is not dataclasses.MISSING and v == f.default:
                continue
            d[f.name] = v
        return d

    @classmethod
    def from_dict(cls, d) -> "GemmJob":
        names = [f.name for f in dataclasses.fields(cls)]
        _check_keys("GemmJob", d, names, cls._REQUIRED)
        kw = {}
        for k, v in d.items():
            if k in ("m", "n", "k", "x_base", "w_base", "z_base", "core", "data_seed"):
                v = _int_or_str(v)
            elif k == "grant":
                v = GrantProfile.from_dict(v)
            elif k == "control":
                if not isinstance(v, list):
                    raise ValueError(f"GemmJob.control must be a list, got {type(v).__name__}")
                v = [ControlEvent.from_dict(e) for e in v]
            elif k == "class_weights" and v is not None and not isinstance(v, dict):
                raise ValueError(f"GemmJob.class_weights must be a mapping or null, got {v!r}")
            kw[k] = v
        # explicit data is parsed in validate() once op/fmt/shape are known
        return cls(**kw)

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_json(cls, s: str) -> "GemmJob":
        return cls.from_dict(json.loads(s))

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=1 << 30)

    @classmethod
    def from_yaml(cls, s: str) -> "GemmJob":
        import yaml

        return cls.from_dict(yaml.safe_load(s))

    def __eq__(self, other):
        if not isinstance(other, GemmJob):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def replace(self, **changes) -> "GemmJob":
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        return format_job(self)


def _generate(dist, code, m, n, k, seed, class_weights, reads_y):
    dt = _dtype(code)
    gcode = code if code in (0, 1, 2) else 1  # unsupported formats: nominal FP16 data
    shapes = {"x": (m, n), "w": (n, k), "y": (m, k)}
    if dist in CLASS_DRAWN:
        out = {}
        for which, shape in shapes.items():
            if which == "y" and not reads_y:
                out[which] = None
                continue
            rng = np_rng(seed, f"job.data.{which}")
            weights, erange = _dist_params(dist, gcode, which)
            if class_weights is not None:
                weights = class_weights
            cls = rng.choice(len(FP_CLASSES), size=shape[0] * shape[1], p=_weights(weights))
            out[which] = _draw_classes(rng, cls, gcode, erange).reshape(shape).astype(dt)
        return out["x"], out["w"], out["y"]
    if dist == "small_ints":
        rng = np_rng(seed, "job.data.small_ints")
        x = encode_exact(rng.integers(-3, 4, shapes["x"]), gcode)
        w = encode_exact(rng.integers(-3, 4, shapes["w"]), gcode)
        y = encode_exact(rng.integers(-8, 9, shapes["y"]), gcode) if reads_y else None
        return x.astype(dt), w.astype(dt), (None if y is None else y.astype(dt))
    if dist == "cancel":
        return _gen_cancel(np_rng(seed, "job.data.cancel"), gcode, dt, m, n, k, reads_y)
    raise AssertionError(dist)


def _gen_cancel(rng, code, dt, m, n, k, reads_y):
    """Values that cancel exactly or nearly.

    Y[m][k] = -(x[m][0] * w[0][k]) (x's column 0 holds powers of two, so the
    product is exact and representable; a quarter of Y is one ulp off: near
    cancellation), then pairs of steps with x equal and w negated, so each pair
    of products cancels: exactly when the product is exact (half of the pairs
    have a power-of-two x), else leaving the rounding residue of the first
    product (this tells a fused FMA from an unfused one). MATMUL (no Y) pairs
    from step 0.
    """
    e_bits, m_bits, bias = _layout(code)
    sh = e_bits + m_bits
    mmax = (1 << m_bits) - 1
    x = ((rng.integers(0, 2, (m, n)) << sh) | (rng.integers(bias - 1, bias + 2, (m, n)) << m_bits)
         | rng.integers(0, mmax + 1, (m, n))).astype(np.int64)
    w = ((rng.integers(0, 2, (n, k)) << sh) | (rng.integers(bias - 1, bias + 2, (n, k)) << m_bits)
         | rng.integers(0, mmax + 1, (n, k))).astype(np.int64)
    first = 0
    y = None
    if reads_y and n > 0:
        x[:, 0] &= ~mmax  # powers of two
        ex = ((x[:, 0] >> m_bits) & ((1 << e_bits) - 1)) - bias  # unbiased, -1..1
        sx = x[:, 0] >> sh
        ew = (w[0, :] >> m_bits) & ((1 << e_bits) - 1)
        sw = w[0, :] >> sh
        mw = w[0, :] & mmax
        sy = 1 ^ sx[:, None] ^ sw[None, :]
        ey = ew[None, :] + ex[:, None]
        my = np.broadcast_to(mw[None, :], (m, k)).copy()
        near = rng.random((m, k)) < 0.25
        my[near] = np.where(my[near] < mmax, my[near] + 1, my[near] - 1)
        y = (sy << sh) | (ey << m_bits) | my
        first = 1
    elif reads_y:
        y = np.zeros((m, k), np.int64)
    for j in range(first, n - 1, 2):
        if rng.random() < 0.5:  # power-of-two x: this pair's products are exact, so it cancels exactly
            x[:, j] &= ~mmax
        x[:, j + 1] = x[:, j]
        w[j + 1, :] = w[j, :] ^ (1 << sh)
    if n > first and (n - first) % 2:  # an unpaired last step: make it tiny (the smallest binade)
        x[:, n - 1] = (x[:, n - 1] & ~(((1 << e_bits) - 1) << m_bits)) | (1 << m_bits)
    return x.astype(dt), w.astype(dt), (None if y is None else y.astype(dt))


# --------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryConfig:
    """The TCDM window the memory model serves: [base, base + size)."""

    base: int = 0x1000_0000
    size: int = 128 * 1024

    MAX_SIZE = 16 * 1024 * 1024

    def __post_init__(self):
        b = _check_int("MemoryConfig", "base", self.base, 0, ADDR_LIMIT - 4)
        s = _check_int("MemoryConfig", "size", self.size, 4, self.MAX_SIZE)
        if b % 4:
            raise ValueError(f"MemoryConfig.base = {b:#x} must be word aligned (a multiple of 4)")
        if s % 4:
            raise ValueError(
                f"MemoryConfig.size = {s} must be a multiple of 4 bytes (whole 32-bit words; "
                f"a power of two is not required), 4 .. {self.MAX_SIZE}"
            )
        if b + s > ADDR_LIMIT:
            raise ValueError(f"MemoryConfig: base {b:#x} + size {s} runs past 2^32")

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, start: int, end: int) -> bool:
        return end <= start or (self.base <= start and end <= self.end)

    def check_fits(self, job: GemmJob) -> None:
        """ValueError unless every range of the job's footprint lies in memory."""
        fp = job.footprint()
        bad = [n for n, (s, e) in fp.items() if not self.contains(s, e)]
        if bad:
            ranges = ", ".join(f"{n} [{s:#x}, {e:#x}) ({e - s} bytes)" for n, (s, e) in fp.items())
            raise ValueError(
                f"job {job.name or format_job(job)!s} does not fit memory: {', '.join(bad)} outside "
                f"[{self.base:#x}, {self.end:#x}) ({self.size} bytes = {self.size // 1024} KiB); "
                f"footprint {job.footprint_bytes()} bytes: {ranges}"
            )

    def to_dict(self) -> dict:
        return {"base": self.base, "size": self.size}

    @classmethod
    def from_dict(cls, d) -> "MemoryConfig":
        _check_keys("MemoryConfig", d, ("base", "size"))
        return cls(**{k: _int_or_str(v) for k, v in d.items()})


@dataclass(frozen=True)
class EngineConfig:
    """The build's array parameters. Take them from the build configuration
    (``EngineConfig.from_params(sim_config.parameters)``), never hard-code them."""

    L: int = 12
    H: int = 4
    P: int = 3
    N_CORES: int = 8

    #: fixed start/drain overhead (spec section 7; ref.CYCLE_OVERHEAD)
    OVERHEAD = 107

    def __post_init__(self):
        _check_int("EngineConfig", "L", self.L, 1, 1024)
        _check_int("EngineConfig", "H", self.H, 1, 1024)
        _check_int("EngineConfig", "P", self.P, 0, 64)
        _check_int("EngineConfig", "N_CORES", self.N_CORES, 1, 32)

    @classmethod
    def from_params(cls, params: dict | None) -> "EngineConfig":
        """From a build parameter dict (e.g. SimConfig.parameters); missing keys default."""
        params = dict(params or {})
        kw = {k: int(params[k]) for k in ("L", "H", "P", "N_CORES") if k in params}
        return cls(**kw)

    @property
    def tile_k(self) -> int:
        """Output columns per tile: H * (P + 1)."""
        return self.H * (self.P + 1)

    @property
    def dw(self) -> int:
        """TCDM data width in bits: 16 * H * (P + 1) + 32."""
        return 16 * self.H * (self.P + 1) + 32

    @property
    def noop_cycles(self) -> int:
        return 32

    def est_cycles(self, m: int, n: int, k: int) -> int:
        """Stall-free cycles of an M x N x K job (spec section 7)."""
        if min(m, n, k) <= 0:
            return self.noop_cycles
        tiles = -(-m // self.L) * -(-k // self.tile_k)
        return tiles * self.H * -(-n // self.H) * (self.P + 1) + self.OVERHEAD

    def check_job(self, job: GemmJob) -> None:
        if job.core >= self.N_CORES:
            raise ValueError(f"job {format_job(job)}: core {job.core} out of range 0..{self.N_CORES - 1}")

    def to_dict(self) -> dict:
        return {"L": self.L, "H": self.H, "P": self.P, "N_CORES": self.N_CORES}


# --------------------------------------------------------------------------
# Job lists
# --------------------------------------------------------------------------


def groups(jobs: list[GemmJob]) -> list[list[int]]:
    """Indices of jobs live at the same time: a serial job starts a new group,
    queued/race jobs join the previous job's group."""
    out: list[list[int]] = []
    for i, j in enumerate(jobs):
        if j.launch == "serial" or not out:
            out.append([i])
        else:
            out[-1].append(i)
    return out


def check_job(job: GemmJob, eng: EngineConfig | None = None, mem: MemoryConfig | None = None) -> None:
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


def check_job_list(jobs: list[GemmJob], eng: EngineConfig | None = None, mem: MemoryConfig | None = None) -> None:
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


def format_job(job: GemmJob) -> str:
    """Compact one-line summary."""
    parts = []
    if job.name:
        parts.append(job.name + ":")
    parts.append(f"{job.op} {job.fmt} M={job.m} N={job.n} K={job.k}")
    parts.append(f"X@{job.x_base:#x} W@{job.w_base:#x} Z@{job.z_base:#x}")
    parts.append(f"core={job.core} data={job.data}/{job.data_seed}")
    if job.class_weights is not None:
        parts.append("cw=" + ",".join(f"{c}:{w:g}" for c, w in job.class_weights.items()))
    parts.append(f"grant={job.grant.summary()}")
    if job.launch != "serial":
        parts.append(f"launch={job.launch}")
    if job.control:
        parts.append("ctl=[" + ",".join(e.summary() for e in job.control) + "]")
    if any(a is not None for a in (job.x, job.w, job.y)):
        parts.append("explicit=" + "".join(n for n in "xwy" if getattr(job, n) is not None))
    return " ".join(parts)


#: a job list, as dump_jobs writes and load_jobs / the directed sequence read it
JobList = list[GemmJob]


def _file_dict(job: GemmJob) -> dict:
    """A job as written to a job file: compact, base addresses as hex strings."""
    d = job.to_dict(compact=True)
    for k in ("x_base", "w_base", "z_base"):
        d[k] = f"{d[k]:#010x}"
    return d


def jobs_to_yaml(jobs: list[GemmJob]) -> str:
    """A job list as YAML text (what a failing job is printed as; load with jobs_from_yaml).

    One block mapping per job; grant profiles and control events on one line each.
    """
    import yaml

    class _Flow(dict):
        pass

    class _Dumper(yaml.SafeDumper):
        pass

    _Dumper.add_representer(_Flow, lambda dumper, d: dumper.represent_mapping("tag:yaml.org,2002:map", d, flow_style=True))
    docs = []
    for j in jobs:
        d = _file_dict(j)
        for k, v in d.items():
            if isinstance(v, dict):
                d[k] = _Flow(v)
            elif k == "control":
                d[k] = [_Flow(e) for e in v]
        docs.append(d)
    return yaml.dump(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 30)


def _jobs_from_obj(obj, where: str) -> list[GemmJob]:
    if isinstance(obj, dict) and "jobs" in obj:
        extra = [k for k in obj if k not in ("jobs", "version", "comment")]
        if extra:
            raise ValueError(f"{where}: unknown top-level key(s) {extra}; expected 'jobs' (and 'version', 'comment')")
        obj = obj["jobs"]
    if not isinstance(obj, list):
        raise ValueError(f"{where}: expected a list of jobs (or a mapping with 'jobs'), got {type(obj).__name__}")
    out = []
    for i, d in enumerate(obj):
        try:
            out.append(GemmJob.from_dict(d))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{where}: job {i}: {e}") from None
    return out


def jobs_from_yaml(text: str, where: str = "<yaml>") -> list[GemmJob]:
    import yaml

    return _jobs_from_obj(yaml.safe_load(text), where)


def dump_jobs(jobs: list[GemmJob], path) -> pathlib.Path:
    """Write a job list: JSON if the name ends in .json, else YAML."""
    path = pathlib.Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps([_file_dict(j) for j in jobs], indent=1) + "\n"
    else:
        text = jobs_to_yaml(jobs)
    path.write_text(text)
    return path


def load_jobs(path) -> list[GemmJob]:
    """Read a job list written by dump_jobs (or by hand): a YAML/JSON list of job mappings."""
    path = pathlib.Path(path)
    text = path.read_text()
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON: {e}") from None
        return _jobs_from_obj(obj, str(path))
    return jobs_from_yaml(text, str(path))
