"""The RedMulE covergroups of the testplan: declarations, bins and waivers.

``declare(L, H, P, N_CORES)`` builds them for one engine configuration;
``RedmuleCoverage`` (``redmule_cov``) samples them.

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

Control-path crosses (sampled by the control model, ``ctrl_model.py``, from the
state it holds when it applies each access; spec section 3):

``ctrl_state`` register operation (``CTRL_OPS``, add[9:8] = 0) x the state of
               both contexts (``ctx0``, ``ctx1``) (``op_x_ctxs``).
               Waived (``W_CTX_PAIRS``): pairs the context rules never reach.
``ctrl_phase`` register operation x phase of the RUNNING job (``op_x_phase``:
               loading, computing, storing, draining = after its last load).
``ctrl_decode`` every offset x context select x direction (``offset_x_sel``),
               and accesses whose side effect depends on the select
               (``side_x_sel``: an ACQUIRE that would reserve, FINISHED with
               jobs pending, TRIGGER 0 / job-register write with a context
               RESERVED, SOFT_CLEAR with a context busy) at every select.
``ctrl_reset`` rst_ni pulsed in every reachable context-state pair.
``ctrl_roles`` which core does what: the triggering vs the acquiring core, the
               polling / clearing / next acquiring core vs the core of the
               RUNNING job, same and other.
"""

from __future__ import annotations

from redmule_verif.model.encoding import (CONTROL_KINDS, CONTROL_PHASES, FORMATS, GRANT_KINDS, JOB_REGISTER_NAMES,
                                          LAUNCHES, MAX_DIM, OPS, REGISTER_NAMES)

from .covergroup import Coverpoint, Covergroup, Cross
from .fpclass import CLASSES

__all__ = ["declare", "CTRL_OPS", "CTX_STATES", "CTRL_PHASES", "DECODE_OFFSETS", "SIDE_EFFECTS",
           "ROLES", "W_CTX_PAIRS", "tile_k", "access_bytes", "OP_BINS", "FORMAT_BINS", "CORE_ACTIONS", "ZERO_REASONS",
           "FP_EVENTS"]

OP_BINS = tuple(OPS)  # by op code 0..7
FORMAT_BINS = tuple(FORMATS)  # by format code 0, 1, 2
CORE_ACTIONS = ("acquire", "trigger", "event")
ZERO_REASONS = ("m0", "n0", "k0", "fmt3", "fmt4", "fmt5", "fmt6", "fmt7")
FP_EVENTS = ("overflow", "underflow", "cancel", "invalid")

#: register operations of the control-path crosses (add[9:8] = 0)
CTRL_OPS = ("TRIGGER.r", "TRIGGER.w0", "TRIGGER.wnz", "TRIGGER.wpart0", "ACQUIRE.r", "ACQUIRE.w",
            "FINISHED.r0", "FINISHED.r1", "FINISHED.r2", "FINISHED.w", "STATUS.r", "STATUS.w",
            "RUNNING_JOB.r", "RUNNING_JOB.w", "SOFT_CLEAR.r", "SOFT_CLEAR.w0", "SOFT_CLEAR.wnz",
            "JOBREG.r", "JOBREG.w", "UNMAPPED.r", "UNMAPPED.w")
CTX_STATES = ("FREE", "RESERVED", "QUEUED", "RUNNING")
CTRL_PHASES = ("loading", "computing", "storing", "draining")
DECODE_OFFSETS = ("TRIGGER", "ACQUIRE", "FINISHED", "STATUS", "RUNNING_JOB", "SOFT_CLEAR", "X_PTR", "W_PTR",
                  "Z_PTR", "MK", "N", "OP_FMT", "unmapped")
SIDE_EFFECTS = ("acquire_would_reserve", "finished_pending", "trigger0_reserved", "jobreg_write_reserved",
                "soft_clear_busy")
ROLES = ("trigger_same", "trigger_other", "poll_same", "poll_other", "clear_same", "clear_other",
         "acquire_same", "acquire_other")
W_ONE_RESERVED = ("at most one context is RESERVED: ACQUIRE answers -2 while any context is RESERVED (spec 3)")
W_ONE_RUNNING = ("at most one job RUNNING: jobs run one at a time, in trigger order (spec 3)")
W_QUEUED_ALONE = ("a context is QUEUED only behind a RUNNING job: a job triggered with the engine free starts "
                  "at once, and when the running job completes the next QUEUED job starts (spec 3)")
#: unreachable pairs of context states (ctx0/ctx1) and why
W_CLEAR_DRAINING = ("'draining' is the part of a job after its last load, known only when the job completes; "
                    "SOFT_CLEAR aborts the job, so it never completes and no clear can be placed in that phase "
                    "(clears late in a job are 'storing' here and control.kind_x_phase/*/store)")
W_CTX_PAIRS = {"RESERVED/RESERVED": W_ONE_RESERVED, "RUNNING/RUNNING": W_ONE_RUNNING,
               "QUEUED/QUEUED": W_QUEUED_ALONE, "FREE/QUEUED": W_QUEUED_ALONE, "QUEUED/FREE": W_QUEUED_ALONE,
               "RESERVED/QUEUED": W_QUEUED_ALONE, "QUEUED/RESERVED": W_QUEUED_ALONE}

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


def tile_k(H: int, P: int) -> int:
    """Output columns per tile: H * (P + 1)."""
    return H * (P + 1)


def access_bytes(H: int, P: int) -> int:
    """Bytes of one TCDM access: DW / 8 with DW = 16 * H * (P + 1) + 32."""
    return (16 * tile_k(H, P) + 32) // 8


def declare(L: int, H: int, P: int, N_CORES: int) -> list[Covergroup]:
    """Every covergroup for one engine configuration (L, H, P, N_CORES of the build)."""
    fmt_cp = lambda: Coverpoint.of_values("fmt", FORMAT_BINS)  # noqa: E731
    op_cp = lambda: Coverpoint.of_values("op", OP_BINS)  # noqa: E731
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

    T = tile_k(H, P)

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

    ab = access_bytes(H, P)
    layout_pts = [fmt_cp(), *(Coverpoint.of_values(f"{m}_mod4", range(4)) for m in "xwz"),
                  Coverpoint("spacing", {"adjacent": 0, "near": range(1, ab), "apart": lambda g: g >= ab})]
    layout_x = [Cross(f"{m}_align", ["fmt", f"{m}_mod4"], waivers={"FP16/1": W_FP16_ODD, "FP16/3": W_FP16_ODD})
                for m in "xwz"]
    groups.append(Covergroup("layout", layout_pts, layout_x,
                             "base alignment and the distance between the matrices"))

    groups.append(Covergroup("grant", [Coverpoint.of_values("profile", GRANT_KINDS), op_cp()],
                             [Cross("profile_x_op", ["profile", "op"])], "TCDM grant profile per op"))
    groups.append(Covergroup("core", [Coverpoint.of_values("core", range(N_CORES)),
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
        Coverpoint.of_values("reg", [*REGISTER_NAMES.values(), "unmapped"]),
        Coverpoint.of_values("dir", ("read", "write")),
        Coverpoint.of_values("job_reg", JOB_REGISTER_NAMES),
        Coverpoint.of_values("ctx_sel", range(4)),
        Coverpoint.of_values("be", ("full", "partial")),
        Coverpoint.of_values("finished", (0, 1, 2)),
    ], [Cross("reg_x_dir", ["reg", "dir"]), Cross("ctx_read", ["job_reg", "ctx_sel"]),
        Cross("be_write", ["job_reg", "be"])],
        "register accesses: every register read and written, context selects, byte enables"))

    # ------------------------------------------------------------------ control-path crosses
    ctxs = lambda: [Coverpoint.of_values("ctx0", CTX_STATES), Coverpoint.of_values("ctx1", CTX_STATES)]  # noqa: E731
    groups.append(Covergroup("ctrl_state", [Coverpoint.of_values("op", CTRL_OPS), *ctxs()],
                             [Cross("op_x_ctxs", ["op", "ctx0", "ctx1"],
                                    waivers={f"*/{p}": r for p, r in W_CTX_PAIRS.items()})],
                             "every register operation in every reachable state of the two contexts"))
    groups.append(Covergroup("ctrl_phase", [Coverpoint.of_values("op", CTRL_OPS),
                                            Coverpoint.of_values("phase", CTRL_PHASES)],
                             [Cross("op_x_phase", ["op", "phase"],
                                    waivers={"SOFT_CLEAR.w0/draining": W_CLEAR_DRAINING,
                                             "SOFT_CLEAR.wnz/draining": W_CLEAR_DRAINING})],
                             "every register operation in every phase of the RUNNING job"))
    groups.append(Covergroup("ctrl_decode", [
        Coverpoint.of_values("offset", DECODE_OFFSETS), Coverpoint.of_values("sel", range(4)),
        Coverpoint.of_values("dir", ("read", "write")), Coverpoint.of_values("side", SIDE_EFFECTS)],
        [Cross("offset_x_sel", ["offset", "sel", "dir"]), Cross("side_x_sel", ["side", "sel"])],
        "every offset through every context select, and the side effects a select must (not) have"))
    groups.append(Covergroup("ctrl_reset", ctxs(), [Cross("ctx0_x_ctx1", ["ctx0", "ctx1"], waivers=dict(W_CTX_PAIRS))],
                             "rst_ni in every reachable state of the two contexts"))
    groups.append(Covergroup("ctrl_roles", [Coverpoint.of_values("role", ROLES)], [],
                             "acquiring, triggering, polling and clearing cores, same and different"))
    return groups
