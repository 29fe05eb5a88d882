"""RedMulE functional coverage: the covergroups of the testplan and the env's sampling API.

``RedmuleCoverage(eng)`` declares every covergroup for one engine configuration
(``eng`` has L, H, P, N_CORES; a mapping with those keys works too) and exposes
the calls the env makes:

==============================================  =================================================
call                                            when
==============================================  =================================================
``sample_job(job, x, w, y, z)``                 a job with data completed (x, w, y, z raw-bit
                                                arrays in the job's format; y may be None and is
                                                ignored for MATMUL; z is the DUT's result)
``sample_zero_job(reason)``                     a job that completes without memory traffic:
                                                "m0", "n0", "k0", "fmt3" .. "fmt7"
                                                (``zero_job_reasons(job)`` gives them)
``sample_grant(profile_kind, op)``              a job ran under a grant profile ("always",
                                                "random", "bursty", "banks", or a GrantProfile)
``sample_core(core, action)``                   core id did "acquire" (got a job id), "trigger",
                                                or received its "event"
``sample_acquire(value)``                       every ACQUIRE read answer (job id, -1, -2;
                                                0xFFFFFFFF / 0xFFFFFFFE accepted)
``sample_control(kind, phase)``                 "soft_clear" (write 0), "soft_clear_keep"
                                                (non-zero write), "reset", in phase "idle",
                                                "load", "compute", "store"
``sample_queue(depth)``                         a job was triggered with ``depth`` jobs queued
                                                behind the running one (0 or 1)
``sample_reg(offset, write, ctx=0, be=0xF,      (optional) one register access, for the
value=None)``                                   register-table rows of spec section 8
==============================================  =================================================

``sample_job`` skips jobs with a zero dimension or an unsupported format (they
have no data; use ``sample_zero_job``), so nothing is counted twice. For a job
aborted by SOFT_CLEAR or reset (a victim) pass ``z=None``: its result is not a
result. Matrices may be 2-D or flat (row-major); their values must fit the
format (uint16 for FP16, uint8 for FP8/FP8ALT), else ValueError.

Covergroups, bins and waivers
-----------------------------
``job``        op (8) x fmt (3): cross ``op_x_fmt``; ``launch`` of the job when it
               has one (sequences' GemmJob.launch: "serial", "queued" behind a
               running job, "race": ACQUIRE at the same time as another core).
``fp_class``   the FP class (``fpclass.CLASSES``: +-zero, +-sub, +-norm, +-max,
               +-inf, qnan, snan) of every element of X, W, Y and of the result Z,
               each crossed with op x fmt (``op_fmt_x``, ``op_fmt_w``,
               ``op_fmt_y``, ``op_fmt_z``; bins like "GEMM/FP16/+sub"). Waived:

               - ``op_fmt_y`` MATMUL/*/*: MATMUL does not read Y (spec 4: z starts
                 from +0), so Y has no class to sample.
               - ``z_cls`` snan (and so every */*/snan of ``op_fmt_z``): every NaN
                 an operation produces is the canonical quiet NaN (spec 5) and the
                 FP16 -> FP8 cast maps NaN to the canonical NaN; no step returns
                 a NaN operand unchanged (fma, + and * give the canonical NaN;
                 minimumNumber/maximumNumber return the number when one operand
                 is NaN and the canonical NaN when both are). N >= 1, so every
                 result went through at least one step.

               Deliberately NOT waived (reachable, with the witness): every other
               Z class of every op. Y carries any class into Z (z = Y when the
               step's other operand loses: e.g. ADDMAX with x + w = -Inf, MAXMIN
               with max(x, w) = +Inf, MINMAX with min(x, w) = -Inf; MULMAX/MULMIN
               with x * w = -+Inf); so "MAXMIN can only return classes of its
               inputs" limits one job, not the bin. MATMUL (z from +0, Y unread):
               -0 by a negative product that underflows (FP16 -2^-24 * 2^-2 rounds
               to -0, and -0 + +0 is not an exact zero sum: the exact sum is
               -2^-26), +-max/+-Inf by products, qnan by Inf * 0; the FP8 formats
               reach their max (57344, 240) exactly and -0/subnormals by the final
               rounding.
``fp_events``  op x fmt x event, where an event is seen in a result element whose
               operands (its row of X, its column of W, its Y element when Y is
               read) have no element of the class produced:
               "overflow" (+-Inf from no Inf), "underflow" (subnormal from no
               subnormal), "cancel" (zero from no zero: cancellation or a non-zero
               value rounded to zero), "invalid" (NaN from no NaN). Waived:

               - MAXMIN/MINMAX overflow, underflow, cancel: min(max(x, w), z) and
                 max(min(x, w), z) return one of their operands or the canonical
                 NaN at every step (FP8 operands widen exactly and the final cast
                 of an FP8 value is exact), so the result's class is the class of
                 an operand it depends on, or NaN.
               - invalid for ADDMAX, ADDMIN, MULMAX, MULMIN, MAXMIN, MINMAX: z
                 starts at Y, which is not NaN (the event requires no NaN
                 operand), and each step is max/min(a, z)
                 with maximumNumber/minimumNumber semantics, which returns a number
                 when z is a number; by induction the result is never NaN.
               A waived bin that is hit anyway is reported as ``waived_hit``
               (e.g. a DUT whose padding injects +0 into a min/max chain).
``shape``      M mod L, N mod H, K mod H*(P+1) (``*_mod``), single vs multi tile
               (``*_tiles``: M <= L, N <= H, K <= H*(P+1)), all crossed with fmt;
               extremes (``*_ext``: 1, tile_edge, tile_edge+1, 65535; not sampled
               for other values); ``volume`` of M*N*K (tiny < 64, small < 2^15,
               medium < 2^21, large >= 2^21 = 128^3).
``layout``     base mod 4 of X, W, Z, each crossed with fmt (``x_align``,
               ``w_align``, ``z_align``, bins "FP16/2"); ``spacing``: the smallest
               gap between the byte footprints of X, W and Z: "adjacent" (0),
               "near" (inside one TCDM access, 1 .. DW/8-1 bytes), "apart";
               overlapping footprints match no bin (undefined jobs: counted as
               unmatched). Waived: FP16/1 and FP16/3 of every ``*_align``: FP16
               elements are 2 bytes and bases need element alignment (spec 6), so
               an FP16 base is even and base mod 4 is 0 or 2.
``grant``      grant profile kind x op (``profile_x_op``).
``core``       core id x action (acquire, trigger, event): ``core_x_action``.
``acquire``    answer ("job_id", "-1", "-2"), context of the job id ("ctx0",
               "ctx1"), id edges ("0", "255": the 8-bit counter's wrap).
``control``    kind x phase (``kind_x_phase``).
``recovery``   kind x phase of the control events that a correct job with data
               (``sample_job`` with a result z) completed after: "each followed
               by a correct job" of spec section 8.
``zero_job``   reason (m0, n0, k0, fmt3 .. fmt7).
``queue``      depth (0, 1).
``regs``       register x direction (``reg_x_dir``), job register x context
               select of reads (``ctx_read``), job register x byte enables of
               writes (``be_write``: full, partial), FINISHED values read (0, 1, 2).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .covergroup import CoverageDB, Coverpoint, Covergroup, Cross, Many, format_report
from .fpclass import CLASSES, classify, class_mask, fmt_name

__all__ = ["RedmuleCoverage", "OPS", "FORMATS", "GRANT_KINDS", "CORE_ACTIONS", "CONTROL_KINDS",
           "CONTROL_PHASES", "LAUNCHES", "ZERO_REASONS", "REGISTERS", "JOB_REGISTERS", "FP_EVENTS",
           "op_name", "zero_job_reasons"]

OPS = ("MATMUL", "GEMM", "ADDMAX", "ADDMIN", "MULMAX", "MULMIN", "MAXMIN", "MINMAX")
FORMATS = ("FP8", "FP16", "FP8ALT")  # by format code 0, 1, 2
GRANT_KINDS = ("always", "random", "bursty", "banks")
CORE_ACTIONS = ("acquire", "trigger", "event")
CONTROL_KINDS = ("soft_clear", "soft_clear_keep", "reset")
CONTROL_PHASES = ("idle", "load", "compute", "store")
LAUNCHES = ("serial", "queued", "race")
ZERO_REASONS = ("m0", "n0", "k0", "fmt3", "fmt4", "fmt5", "fmt6", "fmt7")
FP_EVENTS = ("overflow", "underflow", "cancel", "invalid")
MAX_DIM = 0xFFFF

#: register offset -> name (spec section 3); anything else is "unmapped"
REGISTERS = {0x00: "TRIGGER", 0x04: "ACQUIRE", 0x08: "FINISHED", 0x0C: "STATUS", 0x10: "RUNNING_JOB",
             0x14: "SOFT_CLEAR", 0x40: "X_PTR", 0x44: "W_PTR", 0x48: "Z_PTR", 0x4C: "MK", 0x50: "N",
             0x54: "OP_FMT"}
JOB_REGISTERS = ("X_PTR", "W_PTR", "Z_PTR", "MK", "N", "OP_FMT")

_MINMAX_ONLY = ("MAXMIN", "MINMAX")
_MINMAX_CHAIN = ("ADDMAX", "ADDMIN", "MULMAX", "MULMIN", "MAXMIN", "MINMAX")

W_Y_MATMUL = ("MATMUL does not read Y (spec 4: z starts from +0, Y is not read), so there is no Y "
              "class to sample")
W_SNAN_RESULT = ("every NaN an operation produces is the canonical quiet NaN (spec 5) and the FP16->FP8 "
                 "cast maps NaN to the canonical NaN; no step returns a NaN operand unchanged (fma, +, * "
                 "give the canonical NaN; min/max return the number when one operand is NaN and the "
                 "canonical NaN when both are); N >= 1, so every result went through at least one step")
W_MINMAX_SELECT = ("MAXMIN/MINMAX compute min(max(x, w), z) / max(min(x, w), z): every step returns one "
                   "of its operands or the canonical NaN (FP8 operands widen exactly and the final cast "
                   "of an FP8 value is exact), so a result of class Inf/subnormal/zero needs an operand "
                   "of that class")
W_NO_INVALID = ("z starts at Y, not NaN (the event requires no NaN operand), and every step is "
                "max/min(a, z) with maximumNumber/minimumNumber semantics, which returns a number when z "
                "is a number: by induction the result is never NaN without a NaN operand")
W_FP16_ODD = ("FP16 elements are 2 bytes and bases need element alignment (spec 6): an FP16 base is "
              "even, so base mod 4 is 0 or 2")


def _get(obj, name):
    if isinstance(obj, Mapping):
        return obj[name]
    return getattr(obj, name)


def op_name(op) -> str:
    """GEMM-op name from a name (case-insensitive), a code 0..7 or an enum."""
    if isinstance(op, str):
        s = op.strip().upper()
        if s in OPS:
            return s
    elif not isinstance(op, bool):
        try:
            code = int(op)
        except (TypeError, ValueError):
            code = None
        if code is not None and 0 <= code < len(OPS):
            return OPS[code]
        name = getattr(op, "name", None)
        if isinstance(name, str) and name.upper() in OPS:
            return name.upper()
    raise ValueError(f"unknown GEMM-op {op!r}: use one of {', '.join(OPS)} or a code 0..7")


def _fmt_code(fmt) -> int:
    """Format code 0..7 (3..7 unsupported) from a code, name or enum."""
    if isinstance(fmt, str):
        s = fmt.strip().upper()
        if s in ("BF16", "BFLOAT16"):
            return 3
        for prefix in ("FMT", "UNSUPPORTED"):  # "fmt5", sequences' "UNSUPPORTED5"
            if s.startswith(prefix) and s[len(prefix):].isdigit():
                return int(s[len(prefix):])
        return FORMATS.index(fmt_name(s))
    try:
        return int(fmt)
    except (TypeError, ValueError):
        return FORMATS.index(fmt_name(fmt))


def zero_job_reasons(job) -> list[str]:
    """Why a job completes without memory traffic: [] for a job with data, else some of
    "m0", "n0", "k0", "fmt3" .. "fmt7"."""
    reasons = [f"{d}0" for d in ("m", "n", "k") if int(_get(job, d)) == 0]
    code = _fmt_code(_get(job, "fmt"))
    if code not in (0, 1, 2):
        reasons.append(f"fmt{code}")
    return reasons


def _signed32(v: int) -> int:
    v = int(v)
    return v - (1 << 32) if v >= (1 << 31) else v


class RedmuleCoverage:
    """Every RedMulE covergroup for one engine configuration, and the env's sampling API."""

    def __init__(self, eng):
        self.L = int(_get(eng, "L"))
        self.H = int(_get(eng, "H"))
        self.P = int(_get(eng, "P"))
        self.N_CORES = int(_get(eng, "N_CORES"))
        if min(self.L, self.H, self.N_CORES) < 1 or self.P < 0:
            raise ValueError(f"bad engine parameters L={self.L} H={self.H} P={self.P} N_CORES={self.N_CORES}")
        self.tile_k = self.H * (self.P + 1)
        self.access_bytes = (16 * self.tile_k + 32) // 8  # DW/8: one TCDM access
        self.config = {"L": self.L, "H": self.H, "P": self.P, "N_CORES": self.N_CORES}
        self.db = CoverageDB(self._declare(), config=self.config)
        self._since_control: list[tuple[str, str]] = []  # control events not yet followed by a good job

    # ------------------------------------------------------------------ declaration
    def _declare(self) -> list[Covergroup]:
        fmt_cp = lambda: Coverpoint.of_values("fmt", FORMATS)  # noqa: E731
        op_cp = lambda: Coverpoint.of_values("op", OPS)  # noqa: E731
        groups = []

        groups.append(Covergroup("job", [op_cp(), fmt_cp(), Coverpoint.of_values("launch", LAUNCHES)],
                                 [Cross("op_x_fmt", ["op", "fmt"])],
                                 "every GEMM-op in every format; how jobs were launched"))

        cls_pts = [Coverpoint.of_values(f"{m}_cls", CLASSES,
                                        waivers={"snan": W_SNAN_RESULT} if m == "z" else None)
                   for m in "xwyz"]
        cls_x = [Cross(f"op_fmt_{m}", ["op", "fmt", f"{m}_cls"],
                       waivers={"MATMUL/*/*": W_Y_MATMUL} if m == "y" else None) for m in "xwyz"]
        groups.append(Covergroup("fp_class", [op_cp(), fmt_cp(), *cls_pts], cls_x,
                                 "FP classes of the operands and the result, per op and format"))

        ev_waivers = {}
        for op in _MINMAX_ONLY:
            for ev in ("overflow", "underflow", "cancel"):
                ev_waivers[f"{op}/*/{ev}"] = W_MINMAX_SELECT
        for op in _MINMAX_CHAIN:
            ev_waivers[f"{op}/*/invalid"] = W_NO_INVALID
        groups.append(Covergroup(
            "fp_events", [op_cp(), fmt_cp(), Coverpoint.of_values("event", FP_EVENTS)],
            [Cross("op_fmt_event", ["op", "fmt", "event"], waivers=ev_waivers)],
            "overflow, underflow, cancellation and invalid operations produced by the arithmetic"))

        L, H, T = self.L, self.H, self.tile_k

        def ext(name, edge):
            return Coverpoint(name, {"1": 1, "tile_edge": edge, "tile_edge+1": edge + 1, "65535": MAX_DIM})

        def tiles(name, edge):
            return Coverpoint(name, {"single": lambda v, e=edge: 1 <= v <= e, "multi": lambda v, e=edge: v > e})

        shape_pts = [
            fmt_cp(),
            Coverpoint.of_values("m_mod", range(L)), Coverpoint.of_values("n_mod", range(H)),
            Coverpoint.of_values("k_mod", range(T)),
            tiles("m_tiles", L), tiles("n_tiles", H), tiles("k_tiles", T),
            ext("m_ext", L), ext("n_ext", H), ext("k_ext", T),
            Coverpoint("volume", {"tiny": lambda v: 1 <= v < 64, "small": lambda v: 64 <= v < 1 << 15,
                                  "medium": lambda v: (1 << 15) <= v < 1 << 21, "large": lambda v: v >= 1 << 21}),
        ]
        shape_x = [Cross(f"{p}_x_fmt", [p, "fmt"]) for p in ("m_mod", "n_mod", "k_mod",
                                                              "m_tiles", "n_tiles", "k_tiles")]
        groups.append(Covergroup("shape", shape_pts, shape_x,
                                 f"remainders, tiles and extremes of M, N, K (L={L}, H={H}, tile_k={T})"))

        ab = self.access_bytes
        layout_pts = [fmt_cp(), *(Coverpoint.of_values(f"{m}_mod4", range(4)) for m in "xwz"),
                      Coverpoint("spacing", {"adjacent": 0, "near": range(1, ab), "apart": lambda g: g >= ab})]
        layout_x = [Cross(f"{m}_align", ["fmt", f"{m}_mod4"], waivers={"FP16/1": W_FP16_ODD, "FP16/3": W_FP16_ODD})
                    for m in "xwz"]
        groups.append(Covergroup("layout", layout_pts, layout_x,
                                 "base alignment and the distance between the matrices"))

        groups.append(Covergroup("grant", [Coverpoint.of_values("profile", GRANT_KINDS), op_cp()],
                                 [Cross("profile_x_op", ["profile", "op"])], "TCDM grant profile per op"))
        groups.append(Covergroup("core", [Coverpoint.of_values("core", range(self.N_CORES)),
                                          Coverpoint.of_values("action", CORE_ACTIONS)],
                                 [Cross("core_x_action", ["core", "action"])],
                                 "every core acquires, triggers and receives its event"))
        groups.append(Covergroup("acquire", [
            Coverpoint("answer", {"job_id": range(256), "-1": -1, "-2": -2}),
            Coverpoint("context", {"ctx0": range(0, 256, 2), "ctx1": range(1, 256, 2)}),
            Coverpoint("id_edge", {"0": 0, "255": 255}),
        ], [], "ACQUIRE answers"))
        groups.append(Covergroup("control", [Coverpoint.of_values("kind", CONTROL_KINDS),
                                             Coverpoint.of_values("phase", CONTROL_PHASES)],
                                 [Cross("kind_x_phase", ["kind", "phase"])],
                                 "SOFT_CLEAR and reset in every phase of a job"))
        groups.append(Covergroup("recovery", [Coverpoint.of_values("kind", CONTROL_KINDS),
                                              Coverpoint.of_values("phase", CONTROL_PHASES)],
                                 [Cross("kind_x_phase", ["kind", "phase"])],
                                 "a correct job with data completed after each SOFT_CLEAR / reset"))
        groups.append(Covergroup("zero_job", [Coverpoint.of_values("reason", ZERO_REASONS)], [],
                                 "jobs that complete without memory traffic"))
        groups.append(Covergroup("queue", [Coverpoint.of_values("depth", (0, 1))], [],
                                 "jobs queued behind a running one when triggered"))
        groups.append(Covergroup("regs", [
            Coverpoint.of_values("reg", [*REGISTERS.values(), "unmapped"]),
            Coverpoint.of_values("dir", ("read", "write")),
            Coverpoint.of_values("job_reg", JOB_REGISTERS),
            Coverpoint.of_values("ctx_sel", range(4)),
            Coverpoint.of_values("be", ("full", "partial")),
            Coverpoint.of_values("finished", (0, 1, 2)),
        ], [Cross("reg_x_dir", ["reg", "dir"]), Cross("ctx_read", ["job_reg", "ctx_sel"]),
            Cross("be_write", ["job_reg", "be"])],
            "register accesses: every register read and written, context selects, byte enables"))
        return groups

    # ------------------------------------------------------------------ access
    def __getitem__(self, name: str) -> Covergroup:
        return self.db[name]

    @property
    def groups(self) -> dict[str, Covergroup]:
        return self.db.groups

    # ------------------------------------------------------------------ sampling
    def _matrix(self, name, a, rows, cols, fmt):
        if a is None:
            return None
        a = np.asarray(a)
        if a.size != rows * cols:
            raise ValueError(f"sample_job: {name} has {a.size} elements, expected {rows} x {cols}")
        return classify(a.reshape(rows, cols), fmt)

    def sample_job(self, job, x=None, w=None, y=None, z=None) -> None:
        """Sample a completed job with data. Zero-dimension / unsupported-format jobs are skipped
        (sample them with ``sample_zero_job``)."""
        if zero_job_reasons(job):
            return
        if z is not None:  # a completed job with a result: the engine recovered from earlier controls
            for kind, phase in self._since_control:
                self.db["recovery"].sample(kind=kind, phase=phase)
            self._since_control.clear()
        op = op_name(_get(job, "op"))
        fmt = FORMATS[_fmt_code(_get(job, "fmt"))]
        m, n, k = (int(_get(job, d)) for d in ("m", "n", "k"))
        launch = getattr(job, "launch", None) if not isinstance(job, Mapping) else job.get("launch")
        self.db["job"].sample(op=op, fmt=fmt, launch=launch)

        # -- shape
        self.db["shape"].sample(
            fmt=fmt, m_mod=m % self.L, n_mod=n % self.H, k_mod=k % self.tile_k,
            m_tiles=m, n_tiles=n, k_tiles=k,
            m_ext=m if m in (1, self.L, self.L + 1, MAX_DIM) else None,
            n_ext=n if n in (1, self.H, self.H + 1, MAX_DIM) else None,
            k_ext=k if k in (1, self.tile_k, self.tile_k + 1, MAX_DIM) else None,
            volume=m * n * k,
        )

        # -- layout
        eb = 2 if fmt == "FP16" else 1
        bases = {mat: int(_get(job, f"{mat}_base")) for mat in "xwz"}
        spans = [(bases["x"], bases["x"] + m * n * eb), (bases["w"], bases["w"] + n * k * eb),
                 (bases["z"], bases["z"] + m * k * eb)]
        # gap between two byte ranges [a0, a1) and [b0, b1); negative when they overlap
        gap = min(max(a[0], b[0]) - min(a[1], b[1]) for a, b in ((spans[0], spans[1]), (spans[0], spans[2]),
                                                                 (spans[1], spans[2])))
        self.db["layout"].sample(fmt=fmt, x_mod4=bases["x"] % 4, w_mod4=bases["w"] % 4, z_mod4=bases["z"] % 4,
                                 spacing=gap)

        # -- FP classes and events
        if op == "MATMUL":
            y = None
        cx = self._matrix("x", x, m, n, fmt)
        cw = self._matrix("w", w, n, k, fmt)
        cy = self._matrix("y", y, m, k, fmt)
        cz = self._matrix("z", z, m, k, fmt)

        def present(c):
            if c is None:
                return None
            counts = np.bincount(c.ravel(), minlength=len(CLASSES))
            return Many(cl for cl, cnt in zip(CLASSES, counts) if cnt)

        self.db["fp_class"].sample(op=op, fmt=fmt, x_cls=present(cx), w_cls=present(cw),
                                   y_cls=present(cy), z_cls=present(cz))

        if cz is not None and cx is not None and cw is not None and (cy is not None or op == "MATMUL"):
            events = []
            for ev, names in (("overflow", ("+inf", "-inf")), ("underflow", ("+sub", "-sub")),
                              ("cancel", ("+zero", "-zero")), ("invalid", ("qnan", "snan"))):
                zm = class_mask(cz, *names)
                if not zm.any():
                    continue
                dep = class_mask(cx, *names).any(axis=1)[:, None] | class_mask(cw, *names).any(axis=0)[None, :]
                if cy is not None:
                    dep = dep | class_mask(cy, *names)
                if (zm & ~dep).any():
                    events.append(ev)
            self.db["fp_events"].sample(op=op, fmt=fmt, event=Many(events))

    def sample_grant(self, profile_kind, op) -> None:
        """Grant profile kind ("always", "random", "bursty", "banks", or an object with .kind) x op."""
        kind = getattr(profile_kind, "kind", profile_kind)
        kind = getattr(kind, "value", kind) if not isinstance(kind, str) else kind
        self.db["grant"].sample(profile=str(kind).lower(), op=op_name(op))

    def sample_core(self, core, action) -> None:
        """Core id x "acquire" / "trigger" / "event"."""
        if action not in CORE_ACTIONS:
            raise ValueError(f"sample_core: action {action!r} is not one of {CORE_ACTIONS}")
        self.db["core"].sample(core=int(core), action=action)

    def sample_acquire(self, value) -> None:
        """One ACQUIRE answer: a job id 0..255, -1 or -2 (32-bit unsigned forms accepted)."""
        v = _signed32(value)
        is_id = 0 <= v <= 255
        self.db["acquire"].sample(answer=v, context=v if is_id else None,
                                  id_edge=v if v in (0, 255) else None)

    def sample_control(self, kind, phase) -> None:
        """"soft_clear" / "soft_clear_keep" / "reset" while "idle" / "load" / "compute" / "store"."""
        if kind not in CONTROL_KINDS or phase not in CONTROL_PHASES:
            raise ValueError(f"sample_control: ({kind!r}, {phase!r}) is not in {CONTROL_KINDS} x {CONTROL_PHASES}")
        self.db["control"].sample(kind=kind, phase=phase)
        self._since_control.append((kind, phase))

    def sample_zero_job(self, reason) -> None:
        """A job completed without memory traffic: one of ZERO_REASONS (or a list of them)."""
        reasons = [reason] if isinstance(reason, str) else list(reason)
        bad = [r for r in reasons if r not in ZERO_REASONS]
        if bad:
            raise ValueError(f"sample_zero_job: {bad} not in {ZERO_REASONS}")
        self.db["zero_job"].sample(reason=Many(reasons))

    def sample_queue(self, depth) -> None:
        """Jobs queued behind the running one when a job is triggered (0 or 1)."""
        self.db["queue"].sample(depth=int(depth))

    def sample_reg(self, offset, write, ctx=0, be=0xF, value=None) -> None:
        """One register access. ``offset`` is add[7:0] (add[9:8] is ``ctx``), ``write`` is True for a
        write, ``be`` the byte enables, ``value`` the read data (used for FINISHED)."""
        offset = int(offset) & 0xFC
        reg = REGISTERS.get(offset, "unmapped")
        write = bool(write)
        job_reg = reg if reg in JOB_REGISTERS else None
        be = int(be) & 0xF
        self.db["regs"].sample(
            reg=reg, dir="write" if write else "read", job_reg=job_reg,
            ctx_sel=int(ctx) if (job_reg and not write) else None,
            be=(("full" if be == 0xF else "partial") if (job_reg and write and be) else None),
            finished=(int(value) if (reg == "FINISHED" and not write and value is not None) else None),
        )

    # ------------------------------------------------------------------ results
    def report(self) -> dict:
        return self.db.report()

    def holes(self) -> list[str]:
        return self.db.holes()

    def closure(self) -> float:
        return self.db.closure()

    def format_report(self, holes_per_group: int = 20) -> str:
        return format_report(self.report(), holes_per_group)

    def save(self, path, run: Mapping | None = None) -> str:
        """Write this run's coverage as JSON; ``run`` (test, seed, ...) is recorded in the file."""
        return self.db.save(path, run=run)

    def merge(self, *sources, strict: bool = True) -> "RedmuleCoverage":
        """Add hit counts from RedmuleCoverage / CoverageDB objects or coverage files (in place)."""
        for src in sources:
            if isinstance(src, RedmuleCoverage):
                src = src.db
            elif not isinstance(src, CoverageDB):
                src = CoverageDB.load(src, strict=strict)
            self.db.merge(src, strict=strict)
        return self

    @classmethod
    def load(cls, paths, eng=None, strict: bool = True) -> "RedmuleCoverage":
        """Merge coverage files into a fresh RedmuleCoverage (engine parameters from the files
        when ``eng`` is None)."""
        db = CoverageDB.load(paths, strict=strict)
        if eng is None:
            if not db.config:
                raise ValueError("coverage files carry no engine parameters: pass eng")
            eng = db.config
        cov = cls(eng)
        cov.db.merge(db, strict=strict)
        return cov

    def reset(self) -> None:
        self.db.reset()
        self._since_control.clear()
