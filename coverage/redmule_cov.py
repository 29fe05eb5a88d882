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

The covergroups, their bins and waivers are declared (and documented) in
``redmule_groups``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from redmule_verif.model.encoding import (CONTROL_KINDS, CONTROL_PHASES, JOB_REGISTER_NAMES, MAX_DIM, REGISTER_NAMES,
                                          fmt_code, fmt_name, op_name)

from .covergroup import CoverageDB, Covergroup, Many, format_report
from .fpclass import CLASSES, classify
from .redmule_groups import (CORE_ACTIONS, FORMAT_BINS, FP_EVENTS, OP_BINS, ZERO_REASONS,  # noqa: F401 (re-exported)
                             access_bytes, declare, tile_k)

__all__ = ["RedmuleCoverage", "OP_BINS", "FORMAT_BINS", "CORE_ACTIONS", "ZERO_REASONS", "FP_EVENTS", "fp_events",
           "zero_job_reasons"]


def _get(obj, name):
    if isinstance(obj, Mapping):
        return obj[name]
    return getattr(obj, name)


def zero_job_reasons(job) -> list[str]:
    """Why a job completes without memory traffic: [] for a job with data, else some of
    "m0", "n0", "k0", "fmt3" .. "fmt7"."""
    reasons = [f"{d}0" for d in ("m", "n", "k") if int(_get(job, d)) == 0]
    code = fmt_code(_get(job, "fmt"), unsupported=True)
    if code not in (0, 1, 2):
        reasons.append(f"fmt{code}")
    return reasons


def _signed32(v: int) -> int:
    v = int(v)
    return v - (1 << 32) if v >= (1 << 31) else v


def _present(c):
    """The FP classes present in a class-index matrix, as one Many sample (None: not sampled)."""
    if c is None:
        return None
    counts = np.bincount(c.ravel(), minlength=len(CLASSES))
    return Many(CLASSES[i] for i in np.flatnonzero(counts))


#: FP_EVENTS and the classes that make them; each event is one bit of _EVENT_BITS (a class makes at most one)
_EVENT_CLASSES = (("overflow", ("+inf", "-inf")), ("underflow", ("+sub", "-sub")),
                  ("cancel", ("+zero", "-zero")), ("invalid", ("qnan", "snan")))
_EVENT_BITS = np.zeros(len(CLASSES), dtype=np.uint8)  # class index -> bit of its event (0: none)
for _bit, (_, _names) in enumerate(_EVENT_CLASSES):
    for _name in _names:
        _EVENT_BITS[CLASSES.index(_name)] |= 1 << _bit
_EVENT_BITS.setflags(write=False)


def fp_events(cx, cw, cy, cz) -> list[str]:
    """FP_EVENTS seen in a result: a class produced in a Z element whose operands (its row of X,
    its column of W, its Y element; cy None for MATMUL) hold no element of that class.
    All four events at once: one bit per event in every element."""
    z = _EVENT_BITS[cz]
    if not z.any():
        return []
    dep = (np.bitwise_or.reduce(_EVENT_BITS[cx], axis=1)[:, None]
           | np.bitwise_or.reduce(_EVENT_BITS[cw], axis=0)[None, :])
    if cy is not None:
        dep = dep | _EVENT_BITS[cy]
    seen = int(np.bitwise_or.reduce(z & ~dep, axis=None))
    return [ev for bit, (ev, _) in enumerate(_EVENT_CLASSES) if seen >> bit & 1]


#: the covergroups declared per engine configuration (L, H, P, N_CORES); never sampled, only copied
_DECLARED: dict[tuple[int, int, int, int], list[Covergroup]] = {}


def fresh_groups(L: int, H: int, P: int, N_CORES: int) -> list[Covergroup]:
    """Every covergroup of one engine configuration with zero counts, independent of any other
    call's. The declaration is built once per process and configuration and then copied
    (``Covergroup.fresh``), which is much cheaper than ``declare`` for each run."""
    key = (L, H, P, N_CORES)
    declared = _DECLARED.get(key)
    if declared is None:
        declared = _DECLARED[key] = declare(*key)
    return [g.fresh() for g in declared]


class RedmuleCoverage:
    """Every RedMulE covergroup for one engine configuration, and the env's sampling API."""

    def __init__(self, eng):
        self.L = int(_get(eng, "L"))
        self.H = int(_get(eng, "H"))
        self.P = int(_get(eng, "P"))
        self.N_CORES = int(_get(eng, "N_CORES"))
        if min(self.L, self.H, self.N_CORES) < 1 or self.P < 0:
            raise ValueError(f"bad engine parameters L={self.L} H={self.H} P={self.P} N_CORES={self.N_CORES}")
        self.tile_k = tile_k(self.H, self.P)
        self.access_bytes = access_bytes(self.H, self.P)  # DW/8: one TCDM access
        self.config = {"L": self.L, "H": self.H, "P": self.P, "N_CORES": self.N_CORES}
        self.db = CoverageDB(fresh_groups(self.L, self.H, self.P, self.N_CORES), config=self.config)
        self._since_control: list[tuple[str, str]] = []  # control events not yet followed by a good job

    # ------------------------------------------------------------------ declaration
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
        fmt = fmt_name(_get(job, "fmt"))
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

        self.db["fp_class"].sample(op=op, fmt=fmt, x_cls=_present(cx), w_cls=_present(cw),
                                   y_cls=_present(cy), z_cls=_present(cz))
        if cz is not None and cx is not None and cw is not None and (cy is not None or op == "MATMUL"):
            self.db["fp_events"].sample(op=op, fmt=fmt, event=Many(fp_events(cx, cw, cy, cz)))

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
        reg = REGISTER_NAMES.get(offset, "unmapped")
        write = bool(write)
        job_reg = reg if reg in JOB_REGISTER_NAMES else None
        be = int(be) & 0xF
        self.db["regs"].sample(
            reg=reg, dir="write" if write else "read", job_reg=job_reg,
            ctx_sel=int(ctx) if (job_reg and not write) else None,
            be=(("full" if be == 0xF else "partial") if (job_reg and write and be) else None),
            finished=(int(value) if (reg == "FINISHED" and not write and value is not None) else None),
        )

    def sample_ctrl(self, op=None, ctxs=None, phase=None, offset=None, sel=None, write=None, side=None) -> None:
        """One register access as the control model applied it: ``op`` (CTRL_OPS, for add[9:8] = 0),
        ``ctxs`` ((ctx0 state, ctx1 state) before the access), ``phase`` of the RUNNING job (or None),
        ``offset`` (DECODE_OFFSETS), ``sel`` = add[9:8], ``write``, ``side`` (SIDE_EFFECTS or None)."""
        if op is not None:
            self.db["ctrl_state"].sample(op=op, ctx0=ctxs[0], ctx1=ctxs[1])
            if phase is not None:
                self.db["ctrl_phase"].sample(op=op, phase=phase)
        if offset is not None:
            self.db["ctrl_decode"].sample(offset=offset, sel=int(sel), dir="write" if write else "read", side=side)

    def sample_ctrl_phase(self, op, phase) -> None:
        """An operation whose RUNNING-job phase was resolved after the access (at the job's end)."""
        self.db["ctrl_phase"].sample(op=op, phase=phase)

    def sample_ctrl_reset(self, ctxs) -> None:
        """rst_ni pulsed with the contexts in ``ctxs`` ((ctx0 state, ctx1 state))."""
        self.db["ctrl_reset"].sample(ctx0=ctxs[0], ctx1=ctxs[1])

    def sample_role(self, role) -> None:
        """Which core did what (ROLES)."""
        self.db["ctrl_roles"].sample(role=role)

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
