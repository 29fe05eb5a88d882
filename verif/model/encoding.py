"""The spec's tables and defaults, in one place (spec sections 3, 4 and 6).

Everything that names or numbers a GEMM-op, a format, a register or a memory
default is defined here and imported everywhere else: the reference model, the
job items and sequences, the coverage model and the environment.

``OPS`` / ``OP_NAMES``            GEMM-op name <-> code (section 4).
``FORMATS`` / ``FORMAT_NAMES``    the supported formats, name <-> code.
``ALL_FORMATS`` / ``ALL_FORMAT_NAMES``
                                  every value of the 3-bit format field: the
                                  supported ones and ``UNSUPPORTED3`` .. ``7``.
``LAYOUTS``                       per format code: exponent / mantissa widths,
                                  bias, canonical NaN, element bytes.
``op_code`` / ``op_name``         the one GEMM-op normaliser.
``fmt_code`` / ``fmt_name``       the one format normaliser.
register offsets, context select, field positions and ``pack_*`` helpers (section 3).
``MEM_BASE`` / ``MEM_WORDS`` / ``MEM_BYTES``  the TCDM window's defaults.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------
# GEMM-ops (spec section 4)
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
#: GEMM-op -> its datapath family (f1, f2 of spec section 4): what a bug in one unit shares
OP_FAMILY: dict[str, str] = {"MATMUL": "fma", "GEMM": "fma", "ADDMAX": "add-minmax", "ADDMIN": "add-minmax",
                             "MULMAX": "mul-minmax", "MULMIN": "mul-minmax", "MAXMIN": "minmax", "MINMAX": "minmax"}

# --------------------------------------------------------------------------
# Formats (spec section 4)
# --------------------------------------------------------------------------

#: the supported formats
FORMATS: dict[str, int] = {"FP8": 0, "FP16": 1, "FP8ALT": 2}
FORMAT_NAMES: dict[int, str] = {c: n for n, c in FORMATS.items()}
#: every value of the 3-bit format field: the supported ones and the no-op codes
ALL_FORMATS: dict[str, int] = {**FORMATS, **{f"UNSUPPORTED{c}": c for c in range(3, 8)}}
ALL_FORMAT_NAMES: dict[int, str] = {c: n for n, c in ALL_FORMATS.items()}
#: other spellings of the supported formats
FORMAT_ALIASES = {"E5M2": "FP8", "FP8E5M2": "FP8", "E4M3": "FP8ALT", "FP8E4M3": "FP8ALT", "BINARY16": "FP16"}


@dataclass(frozen=True)
class FpLayout:
    """Bit layout of one IEEE-like format (FP8ALT is E4M3 with bias 7, Inf 0x78, not e4m3fn)."""

    name: str
    exp_bits: int
    man_bits: int
    bias: int
    nan: int  # the canonical quiet NaN (spec section 5)

    @property
    def width(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    @property
    def nbytes(self) -> int:
        return 2 if self.width == 16 else 1

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint16) if self.width == 16 else np.dtype(np.uint8)

    @property
    def fields(self) -> tuple[int, int, int]:
        """(exponent bits, mantissa bits, bias)."""
        return self.exp_bits, self.man_bits, self.bias

    @property
    def emax(self) -> int:
        """Unbiased exponent of the largest binade of normals."""
        return (1 << self.exp_bits) - 2 - self.bias

    @property
    def emin(self) -> int:
        """Unbiased exponent of the smallest normal."""
        return 1 - self.bias

    @property
    def max_finite(self) -> float:
        return (2 - 2.0 ** -self.man_bits) * 2.0 ** self.emax

    @property
    def min_normal(self) -> float:
        return 2.0 ** self.emin

    @property
    def min_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.man_bits)


#: layout by format code
LAYOUTS: dict[int, FpLayout] = {
    0: FpLayout("FP8", 5, 2, 15, 0x7E),
    1: FpLayout("FP16", 5, 10, 15, 0x7E00),
    2: FpLayout("FP8ALT", 4, 3, 7, 0x7C),
}
#: canonical quiet NaN by format code
CANONICAL_NAN: dict[int, int] = {c: lay.nan for c, lay in LAYOUTS.items()}


def layout(fmt, *, unsupported: bool = False) -> FpLayout:
    """Layout of a format (name or code). With ``unsupported``, the no-op codes 3..7 are
    accepted and laid out as FP16 (a no-op job's nominal layout)."""
    return LAYOUTS.get(fmt_code(fmt, unsupported=unsupported), LAYOUTS[1])


def elem_bytes(fmt, *, unsupported: bool = False) -> int:
    """Bytes per element in memory: 2 for FP16, 1 for the FP8 formats."""
    return layout(fmt, unsupported=unsupported).nbytes


def dtype_of(fmt, *, unsupported: bool = False) -> np.dtype:
    """numpy dtype of the raw bit patterns of a format: uint16 or uint8."""
    return layout(fmt, unsupported=unsupported).dtype


# --------------------------------------------------------------------------
# The normalisers
# --------------------------------------------------------------------------


def _as_code(v):
    """An int code from an integer (numpy ints and IntEnums too), else None; never from a bool or float."""
    if isinstance(v, (bool, str)):
        return None
    try:
        return operator.index(v)
    except TypeError:
        return None


def op_code(op) -> int:
    """GEMM-op name (case-insensitive), code 0..7 or enum with a .name -> code."""
    if isinstance(op, str):
        code = OPS.get(op.strip().upper())
        if code is not None:
            return code
    else:
        code = _as_code(op)
        if code is not None and 0 <= code <= 7:
            return code
        name = getattr(op, "name", None)
        if isinstance(name, str) and name.upper() in OPS:
            return OPS[name.upper()]
    raise ValueError(f"unknown GEMM-op {op!r}: use one of {', '.join(OPS)} or a code 0..7")


def op_name(op) -> str:
    """GEMM-op name from a name, a code or an enum."""
    return OP_NAMES[op_code(op)]


def fmt_code(fmt, *, unsupported: bool = False) -> int:
    """Format code from a name (case-insensitive; aliases E5M2, E4M3, BINARY16), a code or an enum.

    ``unsupported=True`` also accepts the no-op codes 3..7, as ints or as the names
    ``UNSUPPORTED3`` .. ``UNSUPPORTED7`` (or ``FMT3`` .. ``FMT7``). bfloat16 is never a name:
    code 3 is "unsupported", not bfloat16 (spec section 4).
    """
    code = None
    if isinstance(fmt, str):
        s = fmt.strip().upper()
        s = FORMAT_ALIASES.get(s, s)
        if s in FORMATS:
            return FORMATS[s]
        for prefix in ("UNSUPPORTED", "FMT"):  # sequences' "UNSUPPORTED5", coverage's "fmt5"
            if s.startswith(prefix) and s[len(prefix):].isdigit() and 3 <= int(s[len(prefix):]) <= 7:
                code = int(s[len(prefix):])
    else:
        code = _as_code(fmt)
        name = getattr(fmt, "name", None)
        if code is None and isinstance(name, str) and name.upper() in FORMATS:
            return FORMATS[name.upper()]
    if code is not None and (code in FORMAT_NAMES or (unsupported and 0 <= code <= 7)):
        return code
    bf16 = code == 3 or (isinstance(fmt, str) and fmt.strip().upper() in ("BF16", "BFLOAT16"))
    extra = " (code 3, bfloat16, is not supported by RedMulE: spec section 4)" if bf16 else ""
    if unsupported:
        raise ValueError(
            f"unknown format {fmt!r}{extra}: use 'FP16' (code 1), 'FP8' (E5M2, code 0), 'FP8ALT' (E4M3, code 2), "
            f"or 'UNSUPPORTED3'..'UNSUPPORTED7' (codes 3..7, the no-op job)"
        )
    what = "unknown" if isinstance(fmt, str) else "unsupported"
    raise ValueError(
        f"{what} format {fmt!r}{extra}: use 'FP16' (code 1), 'FP8' (E5M2, code 0) "
        f"or 'FP8ALT' (E4M3, code 2)"
    )


def fmt_name(fmt, *, unsupported: bool = False) -> str:
    """Format name ("FP8", "FP16", "FP8ALT"; with ``unsupported``, also "UNSUPPORTED3".."7")."""
    return ALL_FORMAT_NAMES[fmt_code(fmt, unsupported=unsupported)]


# --------------------------------------------------------------------------
# Registers (spec section 3)
# --------------------------------------------------------------------------

TRIGGER, ACQUIRE, FINISHED, STATUS, RUNNING_JOB, SOFT_CLEAR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14
X_PTR, W_PTR, Z_PTR, MK, N_REG, CFG = 0x40, 0x44, 0x48, 0x4C, 0x50, 0x54
JOB_REGS = (X_PTR, W_PTR, Z_PTR, MK, N_REG, CFG)
#: add[9:8] = c + 1 names context c on reads; add[9:8] = 0 the RESERVED context
CTX_SELECT = 0x100
#: register window: add[9:0]
WINDOW_BYTES = 0x400
N_CONTEXTS = 2

#: offset -> name, as the coverage model names them; anything else is unmapped
REGISTER_NAMES = {TRIGGER: "TRIGGER", ACQUIRE: "ACQUIRE", FINISHED: "FINISHED", STATUS: "STATUS",
                  RUNNING_JOB: "RUNNING_JOB", SOFT_CLEAR: "SOFT_CLEAR", X_PTR: "X_PTR", W_PTR: "W_PTR",
                  Z_PTR: "Z_PTR", MK: "MK", N_REG: "N", CFG: "OP_FMT"}
JOB_REGISTER_NAMES = tuple(REGISTER_NAMES[o] for o in JOB_REGS)

#: field positions (lsb, width) of the job registers 0x4C, 0x50, 0x54
MK_M = (0, 16)
MK_K = (16, 16)
N_N = (0, 16)
CFG_FMT = (7, 3)
CFG_OP = (10, 3)

#: M, N and K are 16-bit fields: 1 .. 65535 (0 is the no-op job)
MAX_DIM = 0xFFFF


def pack_mk(m: int, k: int) -> int:
    """Value of job register 0x4C: K in [31:16], M in [15:0]."""
    return (k << MK_K[0]) | (m << MK_M[0])


def pack_n(n: int) -> int:
    """Value of job register 0x50: N in [15:0]."""
    return n << N_N[0]


def pack_cfg(op: int, fmt: int) -> int:
    """Value of job register 0x54: GEMM-op code in [12:10], format code in [9:7]."""
    return (op << CFG_OP[0]) | (fmt << CFG_FMT[0])


# --------------------------------------------------------------------------
# Memory (spec section 6) and the harness's defaults
# --------------------------------------------------------------------------

#: the TCDM window the harness serves by default: 32768 32-bit words (128 KiB) at 0x1000_0000
MEM_BASE = 0x1000_0000
MEM_WORDS = 32768
MEM_BYTES = 4 * MEM_WORDS


# --------------------------------------------------------------------------
# Stimulus vocabulary shared by the job items and the coverage model (spec section 8)
# --------------------------------------------------------------------------

#: how the TCDM model grants requests during a job
GRANT_KINDS = ("always", "random", "bursty", "banks")
#: SOFT_CLEAR writing 0, SOFT_CLEAR writing non-zero, a pulse of rst_ni
CONTROL_KINDS = ("soft_clear", "soft_clear_keep", "reset")
#: where in a job a control event lands
CONTROL_PHASES = ("idle", "load", "compute", "store")
#: how a job is started relative to the previous one
LAUNCHES = ("serial", "queued", "race")
