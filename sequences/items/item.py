"""The job item: one RedMulE GEMM-op job (a dataclass), its validation and derived values.

Plain, deterministic, simulator-free Python (no cocotb here): the pyuvm
environment executes these items; the sequence library and the constrained
randomiser (``randomize``) produce them.

The job's other jobs live next to it: ``registers`` (its register values),
``fpdata`` (its data), ``expected`` (its result, via the reference model),
``serialise`` (dict / JSON / YAML / text), ``configs`` (engine and memory),
``joblist`` (legality of a list) and ``jobfile`` (job-list files).

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
from dataclasses import dataclass, field

import numpy as np
import yaml

from redmule_verif.model.encoding import (ALL_FORMATS, FORMAT_NAMES, LAUNCHES, MAX_DIM, OPS, dtype_of, fmt_name,
                                          op_name)
from redmule_verif.model.encoding import elem_bytes as _elem_bytes

from . import footprint, registers
from .checks import ADDR_LIMIT, check_choice, check_int, check_real
from .configs import EngineConfig
from .expected import expected_z
from .fpdata import CLASS_DRAWN, CLASS_INDEX, DISTRIBUTIONS, FP_CLASSES, generate
from .profiles import ControlEvent, GrantProfile, default_grant
from .serialise import format_job, hex_to_arr, job_from_dict, job_to_dict, job_to_json, job_to_yaml

__all__ = ["GemmJob"]


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
    grant: GrantProfile = field(default_factory=default_grant)
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
        """Check and normalise every field (ValueError naming the field and what is legal)."""
        o = "GemmJob"
        self.op = _check_op(self.op)
        try:
            self.fmt = fmt_name(self.fmt, unsupported=True)
        except ValueError as e:
            raise ValueError(f"GemmJob.fmt: {e}") from None
        for d in ("m", "n", "k"):
            setattr(self, d, check_int(o, d, getattr(self, d), 0, MAX_DIM))
        eb = self.elem_bytes
        for name, size in (("x_base", self.m * self.n), ("w_base", self.n * self.k), ("z_base", self.m * self.k)):
            setattr(self, name, _check_base(name, getattr(self, name), size * eb, eb, self.fmt))
        self.core = check_int(o, "core", self.core, 0, 31)
        self.data_seed = check_int(o, "data_seed", self.data_seed, 0, (1 << 64) - 1)
        self.data = check_choice(o, "data", self.data, DISTRIBUTIONS)
        if self.class_weights is not None:
            self.class_weights = _check_class_weights(self.class_weights, self.data)
        if isinstance(self.grant, dict):
            self.grant = GrantProfile.from_dict(self.grant)
        if not isinstance(self.grant, GrantProfile):
            raise ValueError(f"GemmJob.grant must be a GrantProfile, got {type(self.grant).__name__}")
        self.control = _check_control(self.control)
        self.launch = check_choice(o, "launch", self.launch, LAUNCHES)
        if self.name is None:  # an empty "name:" in a YAML job file
            self.name = ""
        if not isinstance(self.name, str):
            raise ValueError(f"GemmJob.name must be a string, got {type(self.name).__name__}")
        dt = dtype_of(self.fmt, unsupported=True)
        for what, shape in (("x", (self.m, self.n)), ("w", (self.n, self.k)), ("y", (self.m, self.k))):
            a = getattr(self, what)
            if a is not None:
                if what == "y" and self.op == "MATMUL":
                    raise ValueError("GemmJob.y: MATMUL does not read Y; leave y None")
                setattr(self, what, _check_matrix(what, a, shape, dt, self.fmt))

    # ---- derived properties -------------------------------------------------

    @property
    def op_code(self) -> int:
        return OPS[self.op]

    @property
    def fmt_code(self) -> int:
        return ALL_FORMATS[self.fmt]

    @property
    def fmt_supported(self) -> bool:
        return self.fmt_code in FORMAT_NAMES

    @property
    def elem_bytes(self) -> int:
        """1 for FP8/FP8ALT, 2 for FP16 (and, nominally, for unsupported formats)."""
        return _elem_bytes(self.fmt, unsupported=True)

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
        return registers.reg_mk(self)

    @property
    def reg_n(self) -> int:
        """Value of job register 0x50."""
        return registers.reg_n(self)

    @property
    def reg_cfg(self) -> int:
        """Value of job register 0x54: GEMM-op in [12:10], format in [9:7]."""
        return registers.reg_cfg(self)

    def buffers(self) -> dict[str, tuple[int, int]]:
        """Nominal [start, end) byte ranges of X, W and Z (= Y), no-op jobs included."""
        return footprint.buffers(self)

    def footprint(self) -> dict[str, tuple[int, int]]:
        """[start, end) byte ranges the job reads/writes: X, W, (Y,) Z; {} for a no-op job."""
        return footprint.footprint(self)

    def footprint_bytes(self) -> int:
        return footprint.footprint_bytes(self)

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of this job's non-empty matrices (X, W, Z) that overlap."""
        return footprint.overlaps(self)

    def est_cycles(self, eng: "EngineConfig | None" = None) -> int:
        """Stall-free cycle estimate (spec section 7), for sizing sequences."""
        eng = eng or EngineConfig()
        return eng.est_cycles(self.m, self.n, self.k) if not self.is_noop else eng.noop_cycles

    # ---- data and result ------------------------------------------------------

    def make_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(x, w, y) raw bits, deterministic in data_seed; y is None for MATMUL.

        Explicit x/w/y given on the job take precedence over generated ones.
        """
        gen = generate(self.data, self.fmt_code, self.m, self.n, self.k, self.data_seed, self.class_weights,
                       self.reads_y)
        x = self.x if self.x is not None else gen[0]
        w = self.w if self.w is not None else gen[1]
        y = None if not self.reads_y else (self.y if self.y is not None else gen[2])
        return x, w, y

    def expected(self):
        """Expected Z (raw bits, M x K) via redmule_verif.model.ref.gemm_op; None for a no-op job."""
        return expected_z(self)

    # ---- serialisation (``serialise``) ------------------------------------------

    def to_dict(self, compact: bool = False) -> dict:
        """Plain dict (JSON/YAML-safe). compact=True leaves out fields at their defaults."""
        return job_to_dict(self, compact)

    @classmethod
    def from_dict(cls, d) -> "GemmJob":
        return job_from_dict(cls, d)

    def to_json(self, **kw) -> str:
        return job_to_json(self, **kw)

    @classmethod
    def from_json(cls, s: str) -> "GemmJob":
        return cls.from_dict(json.loads(s))

    def to_yaml(self) -> str:
        return job_to_yaml(self)

    @classmethod
    def from_yaml(cls, s: str) -> "GemmJob":
        return cls.from_dict(yaml.safe_load(s))

    def __eq__(self, other):
        if not isinstance(other, GemmJob):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def replace(self, **changes) -> "GemmJob":
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        return format_job(self)



def _check_op(op) -> str:
    """The op's name (from a name in any case, a code 0..7 or an enum)."""
    try:
        return op_name(op)
    except ValueError:
        raise ValueError(f"GemmJob.op = {op!r} is not legal: use one of {', '.join(OPS)}") from None


def _check_base(name: str, a, nbytes: int, eb: int, fmt: str) -> int:
    a = check_int("GemmJob", name, a, 0, ADDR_LIMIT - 1)
    if a % eb:
        raise ValueError(
            f"GemmJob.{name} = {a:#x} is not element aligned: {fmt} elements are "
            f"{eb} bytes, so the base must be a multiple of {eb}"
        )
    if a + nbytes > ADDR_LIMIT:
        raise ValueError(f"GemmJob.{name} = {a:#x}: the matrix ({nbytes} bytes) runs past 2^32")
    return a


def _check_class_weights(cw, data: str) -> dict:
    if not isinstance(cw, dict) or not cw:
        raise ValueError(
            f"GemmJob.class_weights must be a non-empty mapping class -> weight "
            f"(classes: {', '.join(FP_CLASSES)}), got {cw!r}"
        )
    bad = [c for c in cw if c not in CLASS_INDEX]
    if bad:
        raise ValueError(
            f"GemmJob.class_weights: unknown class(es) {', '.join(map(repr, bad))}; "
            f"classes: {', '.join(FP_CLASSES)}"
        )
    cw = {c: check_real("GemmJob", f"class_weights[{c!r}]", v, 0.0, 1e12) for c, v in cw.items()}
    if sum(cw.values()) <= 0:
        raise ValueError("GemmJob.class_weights: the weights sum to 0; at least one must be > 0")
    if data not in CLASS_DRAWN:
        raise ValueError(
            f"GemmJob.class_weights applies to the class-drawn distributions "
            f"({', '.join(CLASS_DRAWN)}), not to the structured distribution {data!r}"
        )
    return cw


def _check_control(control) -> list:
    if not isinstance(control, (list, tuple)):
        raise ValueError(f"GemmJob.control must be a list of ControlEvent, got {type(control).__name__}")
    out = []
    for ev in control:
        if isinstance(ev, dict):
            ev = ControlEvent.from_dict(ev)
        if not isinstance(ev, ControlEvent):
            raise ValueError(f"GemmJob.control entries must be ControlEvent, got {type(ev).__name__}")
        out.append(ev)
    return out


def _check_matrix(what: str, a, shape, dt: np.dtype, fmt: str) -> np.ndarray:
    """Explicit raw-bit data (an array, or a hex string from a job file), as a read-only copy."""
    if isinstance(a, str):
        a = hex_to_arr(a, shape, dt, what)
    if not isinstance(a, np.ndarray):
        raise ValueError(
            f"GemmJob.{what} must be a numpy array of raw bits (in a job file: a hex string), "
            f"got {type(a).__name__}"
        )
    if a.dtype != dt:
        raise ValueError(f"GemmJob.{what} has dtype {a.dtype}; {fmt} data must be raw {dt.name} bit patterns")
    if a.shape != shape:
        raise ValueError(f"GemmJob.{what} has shape {a.shape}, expected {shape}")
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a
