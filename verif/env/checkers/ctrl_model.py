"""The register and job-context semantics of spec section 3, as a predictor and checker.

pyuvm 5's uvm_reg predictor is not implemented, and most of this window is
not plain storage anyway (ACQUIRE reserves, FINISHED clears on read, STATUS
follows the contexts), so this component is the small piece the environment
needs: a model of the two contexts, the job-id counter, FINISHED,
RUNNING_JOB and the job registers, fed by every register access (from the
register monitor) and every done event (from the event monitor), that
predicts every read and reports a read whose data differs.

Reads close to a completion are ambiguous by a cycle or two (the DUT may drop
STATUS in the cycle of the event or the one after), so a read whose request
falls within ``SLACK`` cycles of a completion may match the state before or
after it. Partial byte-enable writes to TRIGGER and SOFT_CLEAR follow the
settled rule of spec section 3 ("write 0" means the enabled bytes are 0; a
write with no byte enabled changes nothing), so the model never stops
predicting (``predictions_off`` stays None; kept for the run's summary).

Every mismatch names the rule of section 3 that predicted the value and the
state of both contexts (``rule_of``), e.g. "ACQUIRE answers -2 while a context
is RESERVED (ctx0 RESERVED, ctx1 RUNNING)".

Control-path coverage: the model knows the context states, so it samples the
crosses of ``ctrl_state`` / ``ctrl_phase`` / ``ctrl_decode`` / ``ctrl_reset`` /
``ctrl_roles`` (``coverage/redmule_groups.py``) into ``self.cov`` (the
coverage collector's model, set by the env) as it applies each access, with
the state before the access. The phase of the RUNNING job is resolved when it
ends, from the TCDM accesses it made (``tcdm_export``): "draining" after its
last load (only for a job that completed), else "storing" / "loading" with a
store / load within ``PHASE_WINDOW`` cycles, else "computing".

Checks (one per register family, each with its own negative control):
``REG_ACQUIRE``, ``REG_FINISHED``, ``REG_STATUS``, ``REG_RUNNING_JOB``,
``REG_READBACK`` (job registers through any context select) and
``REG_UNMAPPED`` (TRIGGER, unmapped offsets and control registers under a
context select read 0).
"""

from __future__ import annotations

import bisect
import copy
import dataclasses


from redmule_verif.env.component import Component
from redmule_verif.env import reg_model as R
from redmule_verif.env.agents.tcdm.batch import batch_analysis_imp
from redmule_verif.env.analysis import analysis_imp

SLACK = 2
PHASE_WINDOW = 8
#: the checks of this module (ids computed per register family in _check_of)
CHECKS = ("REG_ACQUIRE", "REG_FINISHED", "REG_STATUS", "REG_RUNNING_JOB", "REG_READBACK", "REG_UNMAPPED")
FREE, RESERVED, QUEUED, RUNNING = "FREE", "RESERVED", "QUEUED", "RUNNING"
#: CTRL_OPS base names of the control registers (job registers are "JOBREG", others "UNMAPPED")
_OP_BASE = {R.TRIGGER: "TRIGGER", R.ACQUIRE: "ACQUIRE", R.FINISHED: "FINISHED", R.STATUS: "STATUS",
            R.RUNNING_JOB: "RUNNING_JOB", R.SOFT_CLEAR: "SOFT_CLEAR"}
#: the coverage name of each register offset (others "unmapped")
_COV_OFFSET = {**_OP_BASE, R.X_PTR: "X_PTR", R.W_PTR: "W_PTR", R.Z_PTR: "Z_PTR", R.MK: "MK", R.N_REG: "N",
               R.CFG: "OP_FMT"}


def _cycle_seq(entry):
    return entry[0], entry[1]


@dataclasses.dataclass
class _Ctx:
    state: str = FREE
    job_id: int = 0
    core: int = 0
    acq_core: int = -1
    regs: dict = dataclasses.field(default_factory=lambda: {o: 0 for o in R.JOB_REGS})


@dataclasses.dataclass
class _State:
    counter: int = 0
    ctx: list = dataclasses.field(default_factory=lambda: [_Ctx(), _Ctx()])
    order: list = dataclasses.field(default_factory=list)  # QUEUED/RUNNING context indices in trigger order
    finished: int = 0
    running_job: int | None = 0  # None: not predictable (after SOFT_CLEAR)


# ------------------------------------------------------------------ spec section 3, as pure functions of the state

def complete(s):
    """The running job completes: its context FREE, FINISHED counts, the next QUEUED job runs."""
    c = s.order.pop(0)
    ctx = s.ctx[c]
    ctx.state = FREE
    s.finished = min(2, s.finished + 1)
    s.running_job = ctx.job_id
    if s.order:
        nxt = s.ctx[s.order[0]]
        nxt.state = RUNNING
        s.running_job = nxt.job_id


def write_value(item):
    """(bytes enabled, value written after the byte enables) of a write (spec 3, settled rules)."""
    mask = sum(0xFF << (8 * b) for b in range(4) if item.be >> b & 1)
    return item.be & 0xF != 0, item.data & mask


def ctx_states(s):
    return tuple(c.state for c in s.ctx)


def rule_of(s, item):
    """The rule of spec section 3 that gives the value of a read of ``item`` in state ``s``."""
    off = item.offset & 0x3FF
    sel, idx = off >> 8, off & 0xFF
    st = f"(ctx0 {s.ctx[0].state}, ctx1 {s.ctx[1].state})"
    if sel != 0 and idx in (R.TRIGGER, R.ACQUIRE, R.FINISHED, R.STATUS, R.RUNNING_JOB, R.SOFT_CLEAR):
        return (f"control registers exist only at add[9:8] = 0: context select {sel} reads 0 with no side effect "
                f"(no reservation, FINISHED not cleared) {st}")
    if sel == 0 and idx == R.ACQUIRE:
        if reserved(s) is not None:
            return f"ACQUIRE answers -2 while a context is RESERVED, to every reader {st}"
        c = s.counter % 2
        if s.ctx[c].state != FREE:
            return f"ACQUIRE answers -1 while the next job's context (ctx{c}) is not FREE {st}"
        return f"ACQUIRE reserves ctx{c} (job id {s.counter} mod 2) and answers the job id {s.counter} {st}"
    if sel == 0 and idx == R.FINISHED:
        return (f"FINISHED counts the jobs finished since the last read of FINISHED at add[9:8] = 0, saturating at "
                f"2; only such a read and SOFT_CLEAR(0) clear it (not a read under another select, not "
                f"SOFT_CLEAR(non-zero), not a write) {st}")
    if sel == 0 and idx == R.STATUS:
        return f"STATUS byte c is 1 while context c is QUEUED or RUNNING {st}"
    if sel == 0 and idx == R.RUNNING_JOB:
        return f"RUNNING_JOB is the id of the job RUNNING, or of the last job run when idle {st}"
    if sel == 0 and idx == R.TRIGGER:
        return "TRIGGER reads 0"
    if idx in R.JOB_REGS:
        if sel == 0:
            return (f"a job register at add[9:8] = 0 reads the RESERVED context (0 when none); writes land only "
                    f"there, all 32 bits, per enabled byte, and nowhere with no context RESERVED {st}")
        if sel == 3:
            return "context select 3 reads 0"
        return (f"context select {sel} reads context {sel - 1}'s job registers: the values held when it was "
                f"triggered, cleared only by SOFT_CLEAR(0); writes under a context select never land {st}")
    return "offsets outside the register table read 0 and ignore writes"


def read_value(s, item, commit):
    """The value a read of ``item.offset`` returns in state ``s`` (None: not predictable); commit its side effects."""
    off = item.offset & 0x3FF
    sel, idx = off >> 8, off & 0xFF
    if sel == 0 and idx == R.ACQUIRE:
        if any(c.state == RESERVED for c in s.ctx):
            return 0xFFFFFFFE
        nxt = s.ctx[s.counter % 2]
        if nxt.state != FREE:
            return 0xFFFFFFFF
        if commit:
            nxt.state = RESERVED
            nxt.acq_core = getattr(item, "core", -1)
            nxt.job_id = s.counter
            s.counter = (s.counter + 1) & 0xFF
            return nxt.job_id
        return s.counter
    if sel == 0 and idx == R.FINISHED:
        value = s.finished
        if commit:
            s.finished = 0
        return value
    if sel == 0 and idx == R.STATUS:
        return sum((1 << (8 * c)) for c in range(2) if s.ctx[c].state in (QUEUED, RUNNING))
    if sel == 0 and idx == R.RUNNING_JOB:
        return s.running_job  # None: not predictable
    if sel == 0 and idx == R.TRIGGER:
        return 0
    if sel == 0 and idx == R.SOFT_CLEAR:
        return None  # the spec gives no read value for SOFT_CLEAR
    if idx in R.JOB_REGS:
        if sel == 0:
            res = reserved(s)
            return s.ctx[res].regs[idx] if res is not None else 0
        if sel in (1, 2):
            return s.ctx[sel - 1].regs[idx]
        return 0
    return 0  # unmapped offsets and context select 3


def reserved(s):
    """Index of the RESERVED context, or None."""
    for i, c in enumerate(s.ctx):
        if c.state == RESERVED:
            return i
    return None


def reg_name(off):
    """The register at ``off`` as a user reads it."""
    names = {o: n for n, o, *_ in R.REGISTERS}
    sel, idx = off >> 8, off & 0xFF
    base = names.get(idx, f"offset {idx:#04x}")
    return base if sel == 0 else f"{base} (context select {sel})"


def check_of(off):
    """The check (a row of CHECKS.yaml) that a wrong read of ``off`` fails."""
    sel, idx = (off & 0x3FF) >> 8, off & 0xFF
    if idx in R.JOB_REGS:
        return "REG_READBACK"
    if sel == 0:
        return {R.ACQUIRE: "REG_ACQUIRE", R.FINISHED: "REG_FINISHED", R.STATUS: "REG_STATUS",
                R.RUNNING_JOB: "REG_RUNNING_JOB"}.get(idx, "REG_UNMAPPED")
    return "REG_UNMAPPED"


class CtrlModel(Component):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.periph_export = analysis_imp("periph_export", self, self.write_access)
        self.evt_export = analysis_imp("evt_export", self, self.write_event)
        self.job_export = analysis_imp("job_export", self, lambda rec: None)
        self.tcdm_export = batch_analysis_imp("tcdm_export", self, self.write_tcdm, self.write_tcdm_batch)
        self.cov = None                # RedmuleCoverage of the coverage collector (set by the env)
        self.tcdm_cycles = []          # (cycle, load) of the TCDM accesses of the RUNNING job
        self.phase_pending = []        # (cycle, op) of accesses made while a job was RUNNING
        self.s = _State()
        self.before_completion = None  # (cycle, state before the last completion applied)
        self.buffer = []               # inputs not yet applied: (cycle, seq, kind, item)
        self.seq = 0
        self.enabled = True
        self.errors = []
        self.checked_reads = 0
        self.predictions_off = None  # {"cycle", "reason"} once predictions are switched off

    # ------------------------------------------------------------------ inputs
    def reset(self):
        """rst_ni was pulsed: everything returns to its reset value."""
        while self.buffer:  # what happened before the reset is applied (and checked) first
            self._apply(self.buffer.pop(0))
        if self.cov is not None and self.enabled:
            self.cov.sample_ctrl_reset(ctx_states(self.s))
        self._resolve_phases(completed=False)
        self.buffer = []
        self.s = _State()
        self.before_completion = None
        self.enabled = True

    def write_event(self, pulse):
        if pulse.bit == 0:
            self._push(pulse.cycle, "evt", pulse)

    def write_tcdm(self, acc):
        self.tcdm_cycles.append((acc.cycle, bool(acc.load)))

    def write_tcdm_batch(self, accs):
        self.tcdm_cycles.extend([(acc.cycle, bool(acc.load)) for acc in accs])

    def write_access(self, item):
        # an access takes effect in its request cycle, one before its response
        self._push((item.cycle or 0) - 1, "acc", item)

    def _push(self, cycle, kind, item):
        self.seq += 1
        buf = self.buffer  # kept sorted by (cycle, seq): the pair is unique, so tuples compare on it alone
        bisect.insort(buf, (cycle, self.seq, kind, item), key=_cycle_seq)
        newest = buf[-1][0]
        while buf and buf[0][0] < newest - 2 * SLACK - 1:
            self._apply(buf.pop(0))

    def check_phase(self):
        while self.buffer:
            self._apply(self.buffer.pop(0))
        self._resolve_phases(completed=False)

    def _apply(self, entry):
        cycle, _, kind, item = entry
        if not self.enabled:
            return
        if kind == "evt":
            self._complete(cycle)
            return
        if item.write or item.rdata is not None:
            self._sample(cycle, item)
        if item.write:
            self._write(item)
        elif item.rdata is not None:  # a read without response was reported by the arbiter
            self._check_read(cycle, item)

    def _complete(self, cycle):
        s = self.s
        if not s.order:
            return  # a spurious event: the scoreboard reports it
        self.before_completion = (cycle, copy.deepcopy(s))
        self._resolve_phases(completed=True, end=cycle)
        complete(s)
        self._job_started(cycle)

    def _check_read(self, cycle, item):
        """Predict the read; near a completion either order of the two is accepted."""
        self.checked_reads += 1
        pred = read_value(self.s, item, commit=False)  # commit=False never changes the state: no copy
        if pred is None or pred == item.rdata:
            read_value(self.s, item, commit=True)
            return
        alternatives = []
        # the completion that was just applied may not have happened yet for this read
        if self.before_completion is not None and abs(cycle - self.before_completion[0]) <= SLACK:
            alternatives.append("before")
        # a completion still in the buffer may already have happened for this read
        upcoming = next((e for e in self.buffer if e[2] == "evt" and e[0] - cycle <= SLACK), None)
        if upcoming is not None and self.s.order:
            alternatives.append("after")
        for alt in alternatives:
            if alt == "before":
                trial = copy.deepcopy(self.before_completion[1])
                if read_value(copy.deepcopy(trial), item, commit=False) == item.rdata:
                    read_value(trial, item, commit=True)
                    complete(trial)
                    self.s = trial
                    return
            else:
                trial = copy.deepcopy(self.s)
                complete(trial)
                if read_value(copy.deepcopy(trial), item, commit=False) == item.rdata:
                    self.before_completion = (upcoming[0], copy.deepcopy(self.s))
                    self.buffer.remove(upcoming)
                    read_value(trial, item, commit=True)
                    self.s = trial
                    return
        self._error(check_of(item.offset), f"REG read of {reg_name(item.offset)} by core {item.core} in cycle "
                                           f"{item.cycle} returned {item.rdata:#010x}, expected {pred:#010x}; "
                                           f"rule: {rule_of(self.s, item)}")
        if (item.offset & 0x3FF) != R.ACQUIRE:
            read_value(self.s, item, commit=True)  # its side effects (FINISHED clears) still happen
        self._resync(item)

    # ------------------------------------------------------------------ model
    def _write(self, item):
        s, off, be = self.s, item.offset & 0x3FF, item.be
        mask = sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)
        enabled, value = write_value(item)
        if not enabled:
            return  # spec 3 (settled): a write with no byte enabled changes nothing
        if off == R.SOFT_CLEAR:
            self._resolve_phases(completed=False)
            for ctx in s.ctx:
                ctx.state = FREE
            s.order = []
            if value == 0:
                s.counter = 0
                s.finished = 0
                s.running_job = None
                for ctx in s.ctx:
                    ctx.regs = {o: 0 for o in R.JOB_REGS}
            self.before_completion = None
            return
        res = reserved(s)
        if off == R.TRIGGER:
            if value == 0 and res is not None:
                ctx = s.ctx[res]
                ctx.core = item.core
                s.order.append(res)
                if len(s.order) == 1:
                    ctx.state = RUNNING
                    s.running_job = ctx.job_id
                    self._job_started((item.cycle or 0) - 1)
                else:
                    ctx.state = QUEUED
            return
        # writes to ACQUIRE, FINISHED, STATUS, RUNNING_JOB and unmapped offsets have no effect
        if off in R.JOB_REGS and res is not None:
            regs = s.ctx[res].regs
            regs[off] = (regs[off] & ~mask) | (item.data & mask)

    # ------------------------------------------------------------------ control-path coverage
    def _job_started(self, cycle):
        self.tcdm_cycles = [e for e in self.tcdm_cycles if e[0] >= cycle]
        self.run_start = cycle

    def _op(self, item, sel, idx):
        """The CTRL_OPS name of an access at add[9:8] = 0 (None: a write with no byte enabled)."""
        base = "JOBREG" if idx in R.JOB_REGS else _OP_BASE.get(idx, "UNMAPPED")
        if not item.write:
            return f"FINISHED.r{self.s.finished}" if base == "FINISHED" else f"{base}.r"
        enabled, value = write_value(item)
        if not enabled:
            return None
        if base == "TRIGGER":
            return "TRIGGER.wnz" if value else ("TRIGGER.w0" if item.be & 0xF == 0xF else "TRIGGER.wpart0")
        if base == "SOFT_CLEAR":
            return "SOFT_CLEAR.wnz" if value else "SOFT_CLEAR.w0"
        return f"{base}.w"

    def _sample(self, cycle, item):
        if self.cov is None:
            return
        s = self.s
        off = item.offset & 0x3FF
        sel, idx = off >> 8, off & 0xFF
        enabled, value = write_value(item) if item.write else (True, None)
        res = reserved(s)
        acquirable = res is None and s.ctx[s.counter % 2].state == FREE
        running = s.ctx[s.order[0]] if s.order else None
        side = None
        if not item.write and idx == R.ACQUIRE and acquirable:
            side = "acquire_would_reserve"
        elif not item.write and idx == R.FINISHED and s.finished:
            side = "finished_pending"
        elif item.write and enabled and idx == R.TRIGGER and value == 0 and res is not None:
            side = "trigger0_reserved"
        elif item.write and enabled and idx in R.JOB_REGS and res is not None:
            side = "jobreg_write_reserved"
        elif item.write and enabled and idx == R.SOFT_CLEAR and any(c.state != FREE for c in s.ctx):
            side = "soft_clear_busy"
        op = self._op(item, sel, idx) if sel == 0 else None
        name = _COV_OFFSET.get(idx, "unmapped")
        self.cov.sample_ctrl(op=op, ctxs=ctx_states(s), offset=name, sel=sel, write=item.write, side=side)
        if op is not None and running is not None:
            self.phase_pending.append((cycle, op))
        if sel != 0:
            return
        if side == "trigger0_reserved" and s.ctx[res].acq_core >= 0:
            self.cov.sample_role("trigger_same" if item.core == s.ctx[res].acq_core else "trigger_other")
        if running is not None:
            same = item.core == running.core
            if not item.write and idx == R.STATUS:
                self.cov.sample_role("poll_same" if same else "poll_other")
            elif side == "soft_clear_busy":
                self.cov.sample_role("clear_same" if same else "clear_other")
            elif side == "acquire_would_reserve":
                self.cov.sample_role("acquire_same" if same else "acquire_other")

    def _resolve_phases(self, completed, end=None):
        """The phase of the RUNNING job at each access made while it ran, now that it ended."""
        pending, self.phase_pending = self.phase_pending, []
        if self.cov is None or not pending:
            return
        hist = sorted(e for e in self.tcdm_cycles if end is None or e[0] <= end)
        cycles = [c for c, _ in hist]
        loads = [c for c, ld in hist if ld]
        last_load = loads[-1] if loads else None
        for t, op in pending:
            if completed and (last_load is None or last_load < t):
                phase = "draining"
            else:
                lo = bisect.bisect_left(cycles, t - PHASE_WINDOW)
                hi = bisect.bisect_right(cycles, t + PHASE_WINDOW)
                near = [ld for _, ld in hist[lo:hi]]
                phase = "storing" if (False in near) else ("loading" if near else "computing")
            self.cov.sample_ctrl_phase(op, phase)

    def _resync(self, item):
        """After a mismatch, adopt what the DUT said where it defines state (no cascade of errors)."""
        off = item.offset & 0x3FF
        if off == R.ACQUIRE and item.rdata < 0x100:
            s = self.s
            for c in s.ctx:
                if c.state == RESERVED and c.job_id == (s.counter - 1) & 0xFF:
                    c.state = FREE
            s.counter = item.rdata
            nxt = s.ctx[item.rdata % 2]
            nxt.state, nxt.job_id = RESERVED, item.rdata
            s.counter = (item.rdata + 1) & 0xFF

    def _error(self, check, msg):
        self.errors.append(msg)
        self.check_error(check, msg)
