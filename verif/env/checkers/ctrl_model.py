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
after it. Partial byte-enable writes to TRIGGER or SOFT_CLEAR are outside
what the spec pins down; after one the model stops predicting until reset,
says so in a warning and records it (``predictions_off``: cycle and reason,
in the run's summary).

Checks (one per register family, each with its own negative control):
``REG_ACQUIRE``, ``REG_FINISHED``, ``REG_STATUS``, ``REG_RUNNING_JOB``,
``REG_READBACK`` (job registers through any context select) and
``REG_UNMAPPED`` (TRIGGER, unmapped offsets and control registers under a
context select read 0).
"""

from __future__ import annotations

import copy
import dataclasses


from redmule_verif.env.component import Component
from redmule_verif.env import reg_model as R
from redmule_verif.env.analysis import analysis_imp

SLACK = 2
#: the checks of this module (ids computed per register family in _check_of)
CHECKS = ("REG_ACQUIRE", "REG_FINISHED", "REG_STATUS", "REG_RUNNING_JOB", "REG_READBACK", "REG_UNMAPPED")
FREE, RESERVED, QUEUED, RUNNING = "FREE", "RESERVED", "QUEUED", "RUNNING"


@dataclasses.dataclass
class _Ctx:
    state: str = FREE
    job_id: int = 0
    core: int = 0
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
        self.buffer = []
        self.s = _State()
        self.before_completion = None
        self.enabled = True

    def write_event(self, pulse):
        if pulse.bit == 0:
            self._push(pulse.cycle, "evt", pulse)

    def write_access(self, item):
        # an access takes effect in its request cycle, one before its response
        self._push((item.cycle or 0) - 1, "acc", item)

    def _push(self, cycle, kind, item):
        self.seq += 1
        self.buffer.append((cycle, self.seq, kind, item))
        self.buffer.sort(key=lambda e: (e[0], e[1]))
        newest = max(e[0] for e in self.buffer)
        while self.buffer and self.buffer[0][0] < newest - 2 * SLACK - 1:
            self._apply(self.buffer.pop(0))

    def check_phase(self):
        while self.buffer:
            self._apply(self.buffer.pop(0))

    def _apply(self, entry):
        cycle, _, kind, item = entry
        if not self.enabled:
            return
        if kind == "evt":
            self._complete(cycle)
        elif item.write:
            self._write(item)
        elif item.rdata is not None:  # a read without response was reported by the arbiter
            self._check_read(cycle, item)

    def _complete(self, cycle):
        s = self.s
        if not s.order:
            return  # a spurious event: the scoreboard reports it
        self.before_completion = (cycle, copy.deepcopy(s))
        complete(s)

    def _check_read(self, cycle, item):
        """Predict the read; near a completion either order of the two is accepted."""
        self.checked_reads += 1
        pred = read_value(copy.deepcopy(self.s), item, commit=False)
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
                                           f"{item.cycle} returned {item.rdata:#010x}, expected {pred:#010x}")
        if (item.offset & 0x3FF) != R.ACQUIRE:
            read_value(self.s, item, commit=True)  # its side effects (FINISHED clears) still happen
        self._resync(item)

    # ------------------------------------------------------------------ model
    def _write(self, item):
        s, off, be = self.s, item.offset & 0x3FF, item.be
        mask = sum(0xFF << (8 * b) for b in range(4) if be >> b & 1)
        if off in (R.TRIGGER, R.SOFT_CLEAR) and be != 0xF:
            self.enabled = False
            reason = f"a write to {reg_name(off)} with partial byte enables {be:#x} (outside the spec's rules)"
            self.predictions_off = {"cycle": item.cycle, "reason": reason}
            self.logger.warning("register predictions OFF from cycle %s until reset: %s; reads are no longer "
                                "checked", item.cycle, reason)
            return
        if off == R.SOFT_CLEAR:
            for ctx in s.ctx:
                ctx.state = FREE
            s.order = []
            if item.data == 0:
                s.counter = 0
                s.finished = 0
                s.running_job = None
                for ctx in s.ctx:
                    ctx.regs = {o: 0 for o in R.JOB_REGS}
            self.before_completion = None
            return
        res = reserved(s)
        if off == R.TRIGGER:
            if item.data == 0 and res is not None:
                ctx = s.ctx[res]
                ctx.core = item.core
                s.order.append(res)
                if len(s.order) == 1:
                    ctx.state = RUNNING
                    s.running_job = ctx.job_id
                else:
                    ctx.state = QUEUED
            return
        # writes to ACQUIRE, FINISHED, STATUS, RUNNING_JOB and unmapped offsets have no effect
        if off in R.JOB_REGS and res is not None:
            regs = s.ctx[res].regs
            regs[off] = (regs[off] & ~mask) | (item.data & mask)

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
