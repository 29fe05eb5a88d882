"""cocotb tests of rtl/redmule_regfile.sv against spec section 3 (run by tests/test_rtl_regfile.py).

Cycle-based testbench, one coroutine: everything happens at the falling edge of
the clock. ``Tb.tick()`` advances one cycle: it steps a cycle-accurate Python
model of the register file with the inputs of the cycle just ended, steps the
behavioural engine stub (drives engine_idle_i / job_done_i of the new cycle),
lets the combinational job_start_o settle (1 ns), compares every DUT output of
the new cycle with the model (r_valid/r_id/r_data, job_start_o with the job
fields, soft_clear, evt, busy, gnt) and clears the register request. The
directed tests check the spec's values explicitly on top of that.

Environment: RF_N_CORES, RF_ID_WIDTH (the build's parameters), RF_RANDOM_CYCLES.
"""

from __future__ import annotations

import collections
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

N_CORES = int(os.environ.get("RF_N_CORES", "8"))
ID_WIDTH = int(os.environ.get("RF_ID_WIDTH", "8"))
RANDOM_CYCLES = int(os.environ.get("RF_RANDOM_CYCLES", "20000"))

TRIGGER, ACQUIRE, FINISHED, STATUS, RUNNING_JOB, SOFT_CLEAR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14
X_PTR, W_PTR, Z_PTR, MK, N_REG, OPFMT = 0x40, 0x44, 0x48, 0x4C, 0x50, 0x54
JOB_REGS = (X_PTR, W_PTR, Z_PTR, MK, N_REG, OPFMT)
CTRL_REGS = (TRIGGER, ACQUIRE, FINISHED, STATUS, RUNNING_JOB, SOFT_CLEAR)
# bits of each job register that are stored and read back (all: unused bits are ignored by the job only)
JOB_MASK = dict.fromkeys(JOB_REGS, 0xFFFFFFFF)
# add[9:0] of the window that read 0 and ignore writes: everything but the control registers at
# add[9:8] = 0 and the job registers (writable at add[9:8] = 0, read-only context views above)
UNMAPPED = tuple(o for o in range(0, 0x400, 4) if o not in CTRL_REGS and (o & 0xFC) not in JOB_REGS)
UNMAPPED_Q0 = tuple(o for o in UNMAPPED if o < 0x100)
NEG1, NEG2 = 0xFFFFFFFF, 0xFFFFFFFE
FREE, RESERVED, QUEUED, RUNNING = "FREE", "RESERVED", "QUEUED", "RUNNING"


def be_mask(be: int) -> int:
    return sum(0xFF << (8 * i) for i in range(4) if be >> i & 1)


def core_of(id_: int):
    """Core index recorded by TRIGGER: lowest set id bit below N_CORES, or None."""
    v = id_ & ((1 << N_CORES) - 1)
    return (v & -v).bit_length() - 1 if v else None


# --------------------------------------------------------------------------- model


class Model:
    """Cycle-accurate reference of the register file (spec section 3 + the header's choices)."""

    def __init__(self):
        self.ctx = [FREE, FREE]
        self.ctx_id = [0, 0]
        self.ctx_core = [None, None]
        self.regs = [dict.fromkeys(JOB_REGS, 0) for _ in range(2)]
        self.order = []  # QUEUED contexts in trigger order
        self.next_id = 0
        self.finished = 0
        self.running_job = 0
        self.run_ctx = 0
        # registered outputs of the current cycle
        self.r_valid, self.r_data, self.r_id = 0, 0, 0
        self.soft_clear, self.evt = 0, None

    def reserved(self):
        return next((c for c in range(2) if self.ctx[c] == RESERVED), None)

    def busy(self):
        return int(any(s in (QUEUED, RUNNING) for s in self.ctx))

    def running(self):
        return next((c for c in range(2) if self.ctx[c] == RUNNING), None)

    def start_ctx(self, idle):
        """Context that job_start_o starts in this cycle (combinational in engine_idle_i), or None."""
        return self.order[0] if self.running() is None and self.order and idle else None

    def fields(self):
        """Job fields shown with job_start_o: those of the context being started."""
        r = self.regs[self.order[0]]
        return dict(x=r[X_PTR], w=r[W_PTR], z=r[Z_PTR], m=r[MK] & 0xFFFF, k=r[MK] >> 16,
                    n=r[N_REG] & 0xFFFF, op=(r[OPFMT] >> 10) & 7, fmt=(r[OPFMT] >> 7) & 7)

    def read_value(self, off, sel):
        res = self.reserved()
        if off == ACQUIRE:
            if res is not None:
                return NEG2
            return self.next_id if self.ctx[self.next_id % 2] == FREE else NEG1
        if off == FINISHED:
            return self.finished
        if off == STATUS:
            return sum(1 << (8 * c) for c in range(2) if self.ctx[c] in (QUEUED, RUNNING))
        if off == RUNNING_JOB:
            return self.running_job
        if off & 0xFC in JOB_REGS:
            c = {0: res, 1: 0, 2: 1, 3: None}[sel]
            return 0 if c is None else self.regs[c][off & 0xFC]
        return 0

    def step(self, req, idle, done):
        """Advance one clock edge with the inputs of the cycle that ends."""
        res = self.reserved()
        running = self.running()
        start_ctx = self.start_ctx(idle)
        self.soft_clear, self.evt = 0, None
        self.r_valid = int(req is not None)
        self.r_data = 0
        if req is not None:
            self.r_id = req["id"]
        rd = req is not None and req["wen"] == 1
        wr = req is not None and req["wen"] == 0 and req["be"] != 0
        off = req["add"] & 0x3FC if req is not None else None  # control regs and job writes: sel 0 only
        sel = (req["add"] >> 8) & 3 if req is not None else None
        wval = req["data"] & be_mask(req["be"]) if wr else 0
        if rd:
            self.r_data = self.read_value(off, sel)
        if start_ctx is not None:  # job_start_o went out in this cycle: RUNNING_JOB follows it
            self.order.pop(0)
            self.ctx[start_ctx] = RUNNING
            self.run_ctx = start_ctx
            self.running_job = self.ctx_id[start_ctx]
        if wr and off == SOFT_CLEAR:
            self.soft_clear = 1
            self.ctx = [FREE, FREE]
            self.order = []
            if wval == 0:
                self.next_id = 0
                self.finished = 0
                self.regs = [dict.fromkeys(JOB_REGS, 0) for _ in range(2)]
            return
        if rd and off == ACQUIRE and self.r_data == self.next_id:
            c = self.next_id % 2
            self.ctx[c] = RESERVED
            self.ctx_id[c] = self.next_id
            self.next_id = (self.next_id + 1) % 256
        if rd and off == FINISHED:
            self.finished = 0
        if wr and off == TRIGGER and wval == 0 and res is not None:
            self.ctx[res] = QUEUED
            self.ctx_core[res] = core_of(req["id"])
            self.order.append(res)
        if wr and off in JOB_REGS and res is not None:
            m = be_mask(req["be"])
            old = self.regs[res][off]
            self.regs[res][off] = ((old & ~m) | (req["data"] & m)) & JOB_MASK[off]
        if done and running is not None:
            self.ctx[running] = FREE
            self.evt = self.ctx_core[running]
            self.finished = min(2, self.finished + 1)


# --------------------------------------------------------------------------- engine stub


class EngineStub:
    """Behavioural engine: takes job_start_o when idle, pulses job_done_i after a delay,
    aborts on soft_clear_o and is idle again after at most 7 cycles."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.state = "idle"
        self.count = 0
        self.durations = collections.deque()  # per job: cycles from job_start_o to job_done_i
        self.duration = 4                     # default
        self.post_done = 0                    # busy cycles after job_done_i
        self.abort_cycles = 3                 # busy cycles after soft_clear_o
        self.randomize = False
        self.jobs = []                        # (cycle, fields) of every job taken
        self.prev_start = 0
        self.prev_sc = 0
        self.prev_fields = None
        self.idle = 1
        self.done = 0
        self.error = None

    def step(self, cycle):
        """engine_idle_i / job_done_i of this cycle, from what was seen in the cycles before."""
        self.done = 0
        if self.prev_sc:
            if self.state in ("run", "post", "abort") or self.randomize:
                ab = self.rng.randint(0, 7) if self.randomize else self.abort_cycles
                self.state, self.count = ("abort", ab) if ab else ("idle", 0)
        elif self.prev_start:
            d = self.durations.popleft() if self.durations else (
                self.rng.randint(1, 12) if self.randomize else self.duration)
            self.state, self.count = "run", d
            self.jobs.append((cycle - 1, self.prev_fields))
        # this cycle
        if self.state == "run":
            self.count -= 1
            if self.count == 0:
                self.done = 1
                p = self.rng.randint(0, 3) if self.randomize else self.post_done
                self.state, self.count = ("post", p) if p else ("done_idle", 0)
        elif self.state == "post":
            self.count -= 1
            if self.count == 0:
                self.state = "done_idle"
        elif self.state == "abort":
            self.count -= 1
            if self.count == 0:
                self.state = "idle"
        elif self.state == "done_idle":
            self.state = "idle"
        self.idle = int(self.state == "idle")

    def observe(self, cycle, start, sc, fields):
        """job_start_o / soft_clear_o of this cycle, taken at the next clock edge."""
        if start and not self.idle and self.error is None:
            self.error = f"cycle {cycle}: job_start_o while engine_idle_i is low"
        self.prev_start, self.prev_sc, self.prev_fields = start, sc, fields


# --------------------------------------------------------------------------- testbench


class Tb:
    def __init__(self, dut, seed_salt: str):
        self.dut = dut
        self.rng = random.Random(f"{cocotb.RANDOM_SEED}-{seed_salt}")
        self.model = Model()
        self.eng = EngineStub(self.rng)
        self.cycle = 0
        self.req = None
        self.events = []      # (cycle, core) of evt_o pulses
        self.starts = []      # cycles of job_start_o
        self.soft_clears = []
        self.busy_trace = []
        self.done_cycles = []  # cycles in which job_done_i was driven high
        self.resp = None

    async def reset(self):
        d = self.dut
        cocotb.start_soon(Clock(d.clk_i, 10, unit="ns").start())
        d.rst_ni.value = 0
        d.periph_req_i.value = 0
        d.periph_add_i.value = 0
        d.periph_wen_i.value = 1
        d.periph_be_i.value = 0
        d.periph_data_i.value = 0
        d.periph_id_i.value = 0
        d.engine_idle_i.value = 1
        d.job_done_i.value = 0
        for _ in range(3):
            await FallingEdge(d.clk_i)
        await self.hard_reset()

    async def hard_reset(self):
        """Assert rst_ni for 2 cycles (asynchronously, mid-cycle) and restart model and stub."""
        d = self.dut
        d.rst_ni.value = 0
        d.periph_req_i.value = 0
        d.engine_idle_i.value = 1
        d.job_done_i.value = 0
        await FallingEdge(d.clk_i)
        await FallingEdge(d.clk_i)
        d.rst_ni.value = 1
        await Timer(1, unit="ns")
        self.model = Model()
        eng = EngineStub(self.rng)
        eng.durations, eng.duration, eng.post_done = self.eng.durations, self.eng.duration, self.eng.post_done
        eng.abort_cycles, eng.randomize, eng.jobs = self.eng.abort_cycles, self.eng.randomize, self.eng.jobs
        eng.durations.clear()
        self.eng = eng
        self.req = None
        self.check_outputs()

    def fail(self, msg):
        raise AssertionError(f"cycle {self.cycle}: {msg}")

    def sample(self):
        d = self.dut
        evt = int(d.evt_o.value)
        return dict(
            gnt=int(d.periph_gnt_o.value), r_valid=int(d.periph_r_valid_o.value),
            r_data=int(d.periph_r_data_o.value), r_id=int(d.periph_r_id_o.value),
            start=int(d.job_start_o.value), sc=int(d.soft_clear_o.value), busy=int(d.busy_o.value),
            evt=[evt >> (2 * c) & 1 for c in range(N_CORES)], evt_hi=[evt >> (2 * c + 1) & 1 for c in range(N_CORES)],
            fields=dict(x=int(d.job_x_ptr_o.value), w=int(d.job_w_ptr_o.value), z=int(d.job_z_ptr_o.value),
                        m=int(d.job_m_o.value), n=int(d.job_n_o.value), k=int(d.job_k_o.value),
                        op=int(d.job_op_o.value), fmt=int(d.job_fmt_o.value)),
        )

    def check_outputs(self):
        s, m = self.sample(), self.model
        if s["gnt"] != 1:
            self.fail("periph_gnt_o is not high")
        if s["r_valid"] != m.r_valid:
            self.fail(f"periph_r_valid_o={s['r_valid']}, expected {m.r_valid}")
        if m.r_valid:
            if s["r_id"] != m.r_id:
                self.fail(f"periph_r_id_o={s['r_id']:#x}, expected {m.r_id:#x}")
            if s["r_data"] != m.r_data:
                self.fail(f"periph_r_data_o={s['r_data']:#010x}, expected {m.r_data:#010x}")
        exp_start = int(m.start_ctx(self.eng.idle) is not None)
        if s["start"] != exp_start:
            self.fail(f"job_start_o={s['start']}, expected {exp_start}")
        if exp_start and s["fields"] != m.fields():
            self.fail(f"job fields {s['fields']}, expected {m.fields()}")
        if s["sc"] != m.soft_clear:
            self.fail(f"soft_clear_o={s['sc']}, expected {m.soft_clear}")
        if s["busy"] != m.busy():
            self.fail(f"busy_o={s['busy']}, expected {m.busy()}")
        exp_evt = [int(c == m.evt) for c in range(N_CORES)]
        if s["evt"] != exp_evt:
            self.fail(f"evt_o[*][0]={s['evt']}, expected {exp_evt}")
        if any(s["evt_hi"]):
            self.fail("evt_o[c][1] is not 0")
        return s

    async def tick(self):
        d = self.dut
        await FallingEdge(d.clk_i)
        self.cycle += 1
        self.model.step(self.req, self.eng.idle, self.eng.done)
        self.eng.step(self.cycle)
        d.engine_idle_i.value = self.eng.idle
        d.job_done_i.value = self.eng.done
        if self.eng.done:
            self.done_cycles.append(self.cycle)
        await Timer(1, unit="ns")  # job_start_o depends combinationally on engine_idle_i
        s = self.check_outputs()
        if s["r_valid"]:
            self.resp = s["r_data"]
        if s["start"]:
            self.starts.append(self.cycle)
        if s["sc"]:
            self.soft_clears.append(self.cycle)
        for c in range(N_CORES):
            if s["evt"][c]:
                self.events.append((self.cycle, c))
        self.busy_trace.append(s["busy"])
        self.eng.observe(self.cycle, s["start"], s["sc"], s["fields"] if s["start"] else None)
        if self.eng.error:
            self.fail(self.eng.error)
        d.periph_req_i.value = 0
        self.req = None

    async def cycles(self, n):
        for _ in range(n):
            await self.tick()

    def drive(self, wen, add, data=0, be=0xF, id_=1):
        d = self.dut
        d.periph_req_i.value = 1
        d.periph_wen_i.value = wen
        d.periph_add_i.value = add & 0xFFFFFFFF
        d.periph_data_i.value = data & 0xFFFFFFFF
        d.periph_be_i.value = be
        d.periph_id_i.value = id_ & ((1 << ID_WIDTH) - 1)
        self.req = dict(wen=wen, add=add & 0x3FF, data=data & 0xFFFFFFFF, be=be,
                        id=id_ & ((1 << ID_WIDTH) - 1))

    async def read(self, add, id_=1, be=0xF):
        self.drive(1, add, self.rng.getrandbits(32), be, id_)
        await self.tick()
        return self.resp

    async def write(self, add, data, be=0xF, id_=1):
        self.drive(0, add, data, be, id_)
        await self.tick()
        assert self.resp == 0, "write response data is not 0"

    # ----- programming helpers
    async def acquire(self, id_=1):
        return await self.read(ACQUIRE, id_)

    async def program(self, regs, id_=1, sel_bits=0):
        for off in JOB_REGS:
            await self.write(off | (sel_bits << 8), regs[off], id_=id_)

    def random_regs(self):
        return {X_PTR: self.rng.getrandbits(32), W_PTR: self.rng.getrandbits(32), Z_PTR: self.rng.getrandbits(32),
                MK: self.rng.getrandbits(32), N_REG: self.rng.getrandbits(32), OPFMT: self.rng.getrandbits(32)}

    async def submit(self, core=0, regs=None, duration=None):
        """ACQUIRE (must succeed), program and TRIGGER a job from core ``core``; returns (id, regs)."""
        id_ = 1 << core
        jid = await self.acquire(id_)
        assert jid < 256, f"ACQUIRE returned {jid:#x}"
        regs = regs or self.random_regs()
        await self.program(regs, id_)
        if duration is not None:
            self.eng.durations.append(duration)
        await self.write(TRIGGER, 0, id_=id_)
        return jid, regs

    async def wait_idle(self, limit=500):
        for _ in range(limit):
            if not self.model.busy() and self.eng.idle:
                return
            await self.tick()
        self.fail("jobs did not complete")


def expected_fields(regs):
    return dict(x=regs[X_PTR], w=regs[W_PTR], z=regs[Z_PTR], m=regs[MK] & 0xFFFF, k=regs[MK] >> 16,
                n=regs[N_REG] & 0xFFFF, op=(regs[OPFMT] >> 10) & 7, fmt=(regs[OPFMT] >> 7) & 7)


async def new_tb(dut, name):
    tb = Tb(dut, name)
    await tb.reset()
    return tb


# --------------------------------------------------------------------------- tests


@cocotb.test()
async def reset_values(dut):
    """After reset every register reads 0 (ACQUIRE: id 0), busy and events low."""
    tb = await new_tb(dut, "reset_values")
    for off in (TRIGGER, FINISHED, STATUS, RUNNING_JOB, SOFT_CLEAR) + UNMAPPED:
        assert await tb.read(off) == 0, f"offset {off:#x}"
    for sel in range(4):
        for off in JOB_REGS:
            assert await tb.read(off | sel << 8) == 0
    await tb.cycles(3)
    assert await tb.acquire() == 0


@cocotb.test()
async def acquire_ids_and_contexts(dut):
    """Ids count 0,1,2,... and alternate contexts; ACQUIRE -2 while RESERVED (to every core), -1 while
    the next context is busy; the id counter wraps at 256."""
    tb = await new_tb(dut, "acquire")
    assert await tb.acquire(id_=1) == 0
    for core in range(N_CORES):  # -2 to every reader, including the one that reserved
        assert await tb.acquire(id_=1 << core) == NEG2
    assert await tb.read(X_PTR | 1 << 8) == 0
    regs0 = tb.random_regs()
    await tb.program(regs0)
    assert await tb.acquire() == NEG2
    tb.eng.durations.append(60)
    await tb.write(TRIGGER, 0)
    await tb.cycles(3)
    assert await tb.read(STATUS) == 0x1
    assert await tb.read(RUNNING_JOB) == 0
    # job 1 uses context 1 while job 0 runs
    assert await tb.acquire(id_=4) == 1
    assert await tb.acquire(id_=2) == NEG2
    regs1 = tb.random_regs()
    await tb.program(regs1, id_=4)
    # both contexts hold their own registers
    for off in JOB_REGS:
        assert await tb.read(off | 1 << 8) == regs0[off] & JOB_MASK[off]
        assert await tb.read(off | 2 << 8) == regs1[off] & JOB_MASK[off]
        assert await tb.read(off) == regs1[off] & JOB_MASK[off]  # select 0 = RESERVED context 1
    tb.eng.durations.append(5)
    await tb.write(TRIGGER, 0, id_=4)
    assert await tb.read(STATUS) == 0x101
    # job 2 would use context 0, which is RUNNING: -1, no reservation made
    for _ in range(3):
        assert await tb.acquire() == NEG1
    assert await tb.read(X_PTR) == 0  # nothing RESERVED
    # wait for job 0 to complete: context 0 FREE again, job 1 runs
    while tb.model.ctx[0] != FREE:
        await tb.tick()
    await tb.cycles(2)
    assert await tb.read(RUNNING_JOB) == 1
    assert await tb.read(STATUS) == 0x100
    assert await tb.acquire() == 2
    await tb.write(TRIGGER, 0)
    await tb.wait_idle()
    assert [f for _, f in tb.eng.jobs[:2]] == [expected_fields(regs0), expected_fields(regs1)]
    assert await tb.read(RUNNING_JOB) == 2
    # wrap-around of the 8-bit counter: ids 3..255 then 0, 1
    tb.eng.duration = 1
    ids = []
    for i in range(3, 258):
        jid = await tb.acquire()
        while jid == NEG1:  # the job before last still runs in that context
            jid = await tb.acquire()
        ids.append(jid)
        await tb.write(TRIGGER, 0, id_=1 << (i % N_CORES))
        if i % 3 == 0:
            await tb.wait_idle()
    await tb.wait_idle()
    assert ids == [i % 256 for i in range(3, 258)], ids[-5:]
    assert await tb.read(RUNNING_JOB) == 1
    assert len(tb.events) == 258


@cocotb.test()
async def trigger_rules(dut):
    """TRIGGER: a non-zero write and a write with nothing RESERVED do nothing; reads return 0;
    a write with no byte enabled does nothing; a partial write triggers iff its enabled bytes are 0."""
    tb = await new_tb(dut, "trigger")
    await tb.write(TRIGGER, 0)  # nothing reserved
    await tb.cycles(3)
    assert not tb.starts and await tb.read(STATUS) == 0
    assert await tb.acquire() == 0
    for data, be in ((1, 0xF), (0x80000000, 0xF), (0x100, 0x2), (0xFFFFFFFF, 0x1), (0, 0x0), (0x12345678, 0x0)):
        await tb.write(TRIGGER, data, be=be)
        await tb.cycles(2)
        assert not tb.starts, f"data {data:#x} be {be:#x} triggered"
        assert await tb.read(STATUS) == 0
        assert await tb.acquire() == NEG2  # still RESERVED
    assert await tb.read(TRIGGER) == 0
    # the enabled byte is 0 (other bytes non-zero but not written): triggers
    await tb.write(TRIGGER, 0xFFFF00FF, be=0x2)
    await tb.cycles(2)
    assert tb.starts and await tb.read(STATUS) == 0x1
    await tb.wait_idle()
    assert tb.events == [(tb.events[0][0], 0)]
    # a second TRIGGER after the job left RESERVED does nothing
    await tb.write(TRIGGER, 0)
    await tb.cycles(3)
    assert len(tb.starts) == 1


@cocotb.test()
async def status_finished_running_job(dut):
    """STATUS bytes follow QUEUED/RUNNING, FINISHED counts and saturates at 2 and is cleared by the read,
    RUNNING_JOB shows the running job and the last one when idle."""
    tb = await new_tb(dut, "status")
    assert await tb.read(FINISHED) == 0
    await tb.submit(core=0, duration=40)
    await tb.cycles(2)
    assert await tb.read(STATUS) == 0x1
    await tb.submit(core=1, duration=30)
    assert await tb.read(STATUS) == 0x101
    assert await tb.read(RUNNING_JOB) == 0
    while tb.model.ctx[0] != FREE:
        await tb.tick()
    assert await tb.read(STATUS) == 0x100
    await tb.cycles(2)
    assert await tb.read(RUNNING_JOB) == 1
    await tb.wait_idle()
    assert await tb.read(STATUS) == 0
    assert await tb.read(RUNNING_JOB) == 1
    assert await tb.read(FINISHED) == 2
    assert await tb.read(FINISHED) == 0  # cleared by the read
    for core in range(3):
        await tb.submit(core=core, duration=2)
        await tb.wait_idle()
    assert await tb.read(FINISHED) == 2  # saturated
    assert await tb.read(FINISHED) == 0
    assert await tb.read(RUNNING_JOB) == 4
    await tb.submit(core=0, duration=2)
    await tb.wait_idle()
    assert await tb.read(FINISHED) == 1
    # a FINISHED read in the very cycle of the completion: the completion is not lost
    await tb.submit(core=0, duration=6)
    while not tb.eng.done:
        await tb.tick()
    # job_done_i is driven for this cycle: read now
    assert await tb.read(FINISHED) == 0
    assert await tb.read(FINISHED) == 1
    # writes to the read-only registers are ignored
    for off in (ACQUIRE, FINISHED, STATUS, RUNNING_JOB):
        await tb.write(off, 0xFFFFFFFF)
    await tb.submit(core=0, duration=20)
    for off in (ACQUIRE, FINISHED, STATUS, RUNNING_JOB):
        await tb.write(off, 0)
    assert await tb.read(STATUS) == 0x100 and await tb.read(RUNNING_JOB) == 7  # job 7: context 1
    await tb.wait_idle()
    assert await tb.read(FINISHED) == 1


@cocotb.test()
async def readback_context_select(dut):
    """Job registers: written at 0x40..0x54 to the RESERVED context only, in any order (writes through
    the context views 0x140.., 0x240.., 0x340.. are ignored); read back through select 0 (RESERVED or 0),
    1, 2 (contexts 0 and 1) and 3 (0), all 32 bits; address bits above 9 are ignored."""
    tb = await new_tb(dut, "readback")
    # nothing RESERVED: writes ignored
    for off in JOB_REGS:
        await tb.write(off, 0xFFFFFFFF)
    for sel in range(4):
        for off in JOB_REGS:
            assert await tb.read(off | sel << 8) == 0
    ctx_regs = {}
    for ctx in range(2):
        assert await tb.acquire() == ctx
        regs = tb.random_regs()
        offs = list(JOB_REGS)
        tb.rng.shuffle(offs)
        for off in offs:  # any order, junk above bit 9
            await tb.write(off | tb.rng.getrandbits(22) << 10, regs[off])
        for off in offs:  # the context views are read-only
            for sel in (1, 2, 3):
                await tb.write(off | sel << 8, ~regs[off])
        for off in JOB_REGS:
            exp = regs[off] & JOB_MASK[off]
            assert await tb.read(off) == exp
            assert await tb.read(off | (ctx + 1) << 8 | 0xABC00000) == exp
            assert await tb.read(off | 3 << 8) == 0
        ctx_regs[ctx] = regs
        tb.eng.durations.append(100)
        await tb.write(TRIGGER, 0)
    # both QUEUED/RUNNING: select 0 reads 0, 1 and 2 read the contexts
    for off in JOB_REGS:
        assert await tb.read(off) == 0
        for ctx in range(2):
            assert await tb.read(off | (ctx + 1) << 8) == ctx_regs[ctx][off] & JOB_MASK[off]
        assert await tb.read(off | 3 << 8) == 0
    # the RUNNING job's registers cannot be changed (no RESERVED context)
    await tb.write(X_PTR | 1 << 8, 0)
    assert await tb.read(X_PTR | 1 << 8) == ctx_regs[0][X_PTR]
    await tb.wait_idle()
    assert [f for _, f in tb.eng.jobs] == [expected_fields(ctx_regs[0]), expected_fields(ctx_regs[1])]
    # registers persist after completion; a new ACQUIRE keeps the old values
    assert await tb.read(Z_PTR | 1 << 8) == ctx_regs[0][Z_PTR]
    assert await tb.acquire() == 2
    assert await tb.read(Z_PTR) == ctx_regs[0][Z_PTR]


@cocotb.test()
async def unmapped_and_aliases(dut):
    """Unmapped offsets read 0 and ignore writes everywhere in the window, including the control-register
    offsets with add[9:8] != 0 (no ACQUIRE reservation, no FINISHED clear, no TRIGGER, no SOFT_CLEAR);
    address bits above 9 are ignored."""
    tb = await new_tb(dut, "unmapped")
    await tb.submit(core=0, duration=2)
    await tb.wait_idle()  # FINISHED = 1, RUNNING_JOB = 0
    for q in (1, 2, 3):  # control offsets outside quarter 0, nothing RESERVED
        assert await tb.read(ACQUIRE | q << 8) == 0
        assert await tb.read(FINISHED | q << 8) == 0
    assert await tb.acquire() == 1  # no reservation was made by those reads
    regs = tb.random_regs()
    await tb.program(regs)
    for off in UNMAPPED:
        await tb.write(off | tb.rng.getrandbits(22) << 10, 0)  # a zero write triggers or clears nothing
        await tb.write(off, 0xFFFFFFFF, be=tb.rng.randint(1, 15))
        assert await tb.read(off | tb.rng.getrandbits(22) << 10) == 0
        assert await tb.read(off) == 0
    assert len(tb.starts) == 1 and not tb.soft_clears
    for off in JOB_REGS:
        assert await tb.read(off) == regs[off] & JOB_MASK[off]
    assert await tb.read(ACQUIRE) == NEG2  # still RESERVED
    assert await tb.read(FINISHED) == 1  # not cleared by the reads above
    await tb.write(TRIGGER | 0x400, 0)  # bit 10: ignored, this is TRIGGER
    await tb.cycles(2)
    assert await tb.read(STATUS | 0xFFFFFC00) == 0x100  # job 1: context 1
    await tb.wait_idle()
    assert await tb.read(RUNNING_JOB) == 1 and await tb.read(FINISHED) == 1
    await tb.write(SOFT_CLEAR | 0x100, 0)
    assert not tb.soft_clears and await tb.read(RUNNING_JOB) == 1


@cocotb.test()
async def partial_byte_enables(dut):
    """Byte enables apply per byte to the job registers (every be pattern, both contexts)."""
    tb = await new_tb(dut, "partial_be")
    for ctx in range(2):
        assert await tb.acquire() == ctx
        shadow = dict.fromkeys(JOB_REGS, 0)
        for _ in range(3):
            for off in JOB_REGS:
                for be in range(16):
                    data = tb.rng.getrandbits(32)
                    await tb.write(off, data, be=be)
                    m = be_mask(be)
                    shadow[off] = ((shadow[off] & ~m) | (data & m)) & JOB_MASK[off]
                    assert await tb.read(off | (ctx + 1) << 8) == shadow[off], (off, be)
        tb.eng.durations.append(3)
        await tb.write(TRIGGER, 0)
        await tb.wait_idle()
        assert tb.eng.jobs[-1][1] == expected_fields(shadow)


@cocotb.test()
async def events_every_core(dut):
    """evt_o[c][0] pulses one cycle for the core that wrote TRIGGER, for every core id; the lowest set id
    bit below N_CORES counts; an id without such a bit queues the job but raises no event."""
    tb = await new_tb(dut, "events")
    for core in range(N_CORES):
        for dur in (1, 7):
            n0 = len(tb.events)
            jid, _ = await tb.submit(core=core, duration=dur)
            await tb.wait_idle()
            assert tb.events[n0:] == [(tb.events[-1][0], core)], tb.events[n0:]
    # every event came exactly one cycle after a job_done_i
    assert [c for c, _ in tb.events] == [d + 1 for d in tb.done_cycles]
    # the acquiring core and the triggering core differ: the trigger writer is signalled
    jid = await tb.acquire(id_=1)
    await tb.write(TRIGGER, 0, id_=1 << (N_CORES - 1))
    await tb.wait_idle()
    assert tb.events[-1][1] == N_CORES - 1
    # several id bits: the lowest counts; bits at or above N_CORES are ignored
    ids = [0b0110, 0b1000_0100]
    if ID_WIDTH > N_CORES:
        ids += [(1 << N_CORES) | (1 << (N_CORES - 1)), ((1 << ID_WIDTH) - 1) ^ ((1 << (N_CORES - 1)) - 1)]
    for id_ in ids:
        id_ &= (1 << ID_WIDTH) - 1
        n0 = len(tb.events)
        assert await tb.acquire(id_=id_) < 256
        await tb.write(TRIGGER, 0, id_=id_)
        await tb.wait_idle()
        assert tb.events[n0:] and tb.events[-1][1] == core_of(id_), (id_, tb.events[n0:])
    # no core bit: the job runs, completes, counts, but no event
    n0, s0 = len(tb.events), len(tb.starts)
    await tb.read(FINISHED)
    no_core = [0] + ([1 << N_CORES] if ID_WIDTH > N_CORES else [])
    for id_ in no_core:
        assert await tb.acquire(id_=id_) < 256
        await tb.write(TRIGGER, 0, id_=id_)
        await tb.wait_idle()
    assert len(tb.starts) == s0 + len(no_core) and len(tb.events) == n0
    assert await tb.read(FINISHED) == len(no_core)


@cocotb.test()
async def event_timing(dut):
    """job_done_i as early as the cycle after job_start_o; evt_o one cycle after job_done_i; the next
    QUEUED job starts after the completion; STATUS drops with the completion."""
    tb = await new_tb(dut, "event_timing")
    # queue a second job while the engine is busy with a long one
    await tb.submit(core=2, duration=30)
    await tb.submit(core=3, duration=1)
    await tb.wait_idle()
    done_cycles = tb.done_cycles
    assert tb.starts[1] + 1 == done_cycles[1]  # job_done_i in the cycle after job_start_o
    ev = [c for c, _ in tb.events]
    assert ev == [d + 1 for d in done_cycles], (ev, done_cycles)
    assert [c for _, c in tb.events] == [2, 3]
    # the second job started after the first completed
    assert tb.starts[1] > done_cycles[0]
    assert tb.starts[1] - tb.starts[0] > 30


@cocotb.test()
async def trigger_order(dut):
    """Jobs run in trigger order even when both contexts are QUEUED with nothing RUNNING (the engine not
    idle, e.g. still aborting after a SOFT_CLEAR) and the older one is in context 1."""
    tb = await new_tb(dut, "order")
    await tb.submit(core=0, duration=2)  # job 0: the next job uses context 1
    await tb.wait_idle()
    for how in ("held", "after_soft_clear"):
        if how == "held":
            tb.eng.state, tb.eng.count = "abort", 10_000  # engine not idle, no job of ours
        else:
            tb.eng.abort_cycles = 7
            await tb.submit(core=0, duration=100)
            await tb.cycles(2)
            await tb.write(SOFT_CLEAR, 0x55)  # aborting for 6 more cycles; ids go on
        n0 = len(tb.eng.jobs)
        jid_a = await tb.acquire(id_=1 << 1)
        assert how != "held" or jid_a % 2 == 1, jid_a
        await tb.write(TRIGGER, 0, id_=1 << 1)
        jid_b = await tb.acquire(id_=1 << 2)
        await tb.write(TRIGGER, 0, id_=1 << 2)
        assert jid_b == (jid_a + 1) % 256
        assert await tb.read(STATUS) == 0x101 and not tb.model.running()
        if how == "held":
            tb.eng.state, tb.eng.count = "idle", 0
        await tb.wait_idle()
        ctx_of = [tb.eng.jobs[n0][1], tb.eng.jobs[n0 + 1][1]]
        exp = [await tb.read(X_PTR | (jid_a % 2 + 1) << 8), await tb.read(X_PTR | (jid_b % 2 + 1) << 8)]
        assert exp[0] != exp[1]
        assert [f["x"] for f in ctx_of] == exp  # the older job's context first
        assert [c for _, c in tb.events[-2:]] == [1, 2]
        assert await tb.read(RUNNING_JOB) == jid_b


@cocotb.test()
async def soft_clear_cases(dut):
    """SOFT_CLEAR(0) and SOFT_CLEAR(non-zero) while idle, RESERVED, QUEUED, RUNNING and RUNNING+QUEUED:
    soft_clear_o pulses with the response, no events, STATUS 0, contexts FREE; writing 0 also clears the
    job registers, FINISHED and the id counter; a correct job runs afterwards."""
    tb = await new_tb(dut, "soft_clear")
    for value, be in ((0, 0xF), (1, 0xF), (0x0100, 0x2), (0xFF00, 0x1)):
        clears_all = (value & be_mask(be)) == 0
        for situation in ("idle", "reserved", "queued", "running", "running+queued", "finished"):
            await tb.hard_reset()
            tb.eng.abort_cycles = tb.rng.randint(0, 7)
            # id counter at 5, FINISHED at 1, registers in both contexts
            tb.eng.duration = 2
            for core in range(5):
                await tb.submit(core=core)
                await tb.wait_idle()
            await tb.read(FINISHED)
            await tb.submit(core=1)
            await tb.wait_idle()
            ctx_before = [{off: await tb.read(off | (c + 1) << 8) for off in JOB_REGS} for c in range(2)]
            expect_next = 6
            if situation == "reserved":
                assert await tb.acquire() == 6
                await tb.write(X_PTR, 0x1234)
                expect_next = 7
            elif situation == "queued":
                # the engine is busy with something else (never started by us): keep it non-idle
                tb.eng.state, tb.eng.count = "abort", 10_000
                await tb.submit(core=6 % N_CORES)
                expect_next = 7
            elif situation == "running":
                await tb.submit(core=6 % N_CORES, duration=50)
                expect_next = 7
            elif situation == "running+queued":
                await tb.submit(core=6 % N_CORES, duration=50)
                await tb.submit(core=7 % N_CORES, duration=50)
                expect_next = 8
            elif situation == "finished":
                await tb.submit(core=0, duration=1)
                await tb.wait_idle()
                expect_next = 7
            await tb.cycles(3)
            ctx_before = [{off: await tb.read(off | (c + 1) << 8) for off in JOB_REGS} for c in range(2)]
            n_ev, n_start = len(tb.events), len(tb.starts)
            fin_before = tb.model.finished
            await tb.write(SOFT_CLEAR, value, be=be, id_=1 << (tb.rng.randrange(N_CORES)))
            assert tb.soft_clears and tb.soft_clears[-1] == tb.cycle, "soft_clear_o not with the response"
            assert not tb.busy_trace[-1]
            for _ in range(8):  # software waits 8 cycles after the response
                await tb.tick()
            assert len(tb.events) == n_ev, f"{situation}: event after SOFT_CLEAR"
            assert len(tb.starts) == n_start, f"{situation}: job started after SOFT_CLEAR"
            assert await tb.read(STATUS) == 0
            assert await tb.read(FINISHED) == (0 if clears_all else fin_before)
            for c in range(2):
                for off in JOB_REGS:
                    got = await tb.read(off | (c + 1) << 8)
                    assert got == (0 if clears_all else ctx_before[c][off]), (situation, c, off)
                    assert await tb.read(off) == 0  # nothing RESERVED
            jid = await tb.acquire()
            assert jid == (0 if clears_all else expect_next % 256), (situation, jid)
            regs = tb.random_regs()
            await tb.program(regs, id_=1 << 3 % N_CORES)
            tb.eng.durations.clear()
            tb.eng.durations.append(4)
            await tb.write(TRIGGER, 0, id_=1 << 3 % N_CORES)
            await tb.wait_idle()
            assert tb.events[-1][1] == 3 % N_CORES and len(tb.events) == n_ev + 1
            assert tb.eng.jobs[-1][1] == expected_fields(regs)
            assert await tb.read(RUNNING_JOB) == jid
    # a SOFT_CLEAR write with no byte enabled is no write at all
    await tb.submit(core=0, duration=20)
    await tb.write(SOFT_CLEAR, 0, be=0)
    assert tb.soft_clears[-1] != tb.cycle
    await tb.wait_idle()
    assert tb.events[-1][1] == 0


@cocotb.test()
async def soft_clear_races(dut):
    """Completion in the cycle of the SOFT_CLEAR request, or while soft_clear_o is high, gives no event;
    a job triggered right after SOFT_CLEAR (without waiting) starts once the engine is idle."""
    tb = await new_tb(dut, "sc_race")
    for case in ("same_cycle", "during_soft_clear_o", "cycle_before"):
        await tb.hard_reset()
        tb.eng.abort_cycles = 5
        await tb.submit(core=1, duration=20)
        await tb.read(FINISHED)
        if case == "during_soft_clear_o":
            while not (tb.eng.state == "run" and tb.eng.count == 1):
                await tb.tick()
        else:
            while not tb.eng.done:
                await tb.tick()
            if case == "cycle_before":
                await tb.tick()
        n_ev = len(tb.events)
        n_done = len(tb.done_cycles)
        await tb.write(SOFT_CLEAR, 1)  # request in cycle t, soft_clear_o in t+1
        await tb.cycles(3)
        assert len(tb.done_cycles) == n_done + (1 if case == "during_soft_clear_o" else 0)
        assert len(tb.events) == n_ev, case
        assert await tb.read(FINISHED) == (1 if case == "cycle_before" else 0), case
        assert await tb.read(STATUS) == 0
    # trigger immediately after a SOFT_CLEAR of a running job
    await tb.hard_reset()
    tb.eng.abort_cycles = 7
    await tb.submit(core=0, duration=50)
    await tb.cycles(5)
    await tb.write(SOFT_CLEAR, 0)
    jid, regs = await tb.submit(core=2, duration=3)
    assert jid == 0
    await tb.wait_idle()
    assert tb.eng.jobs[-1][1] == expected_fields(regs) and tb.events[-1][1] == 2


@cocotb.test()
async def reset_while_running(dut):
    """rst_ni while RESERVED, QUEUED and RUNNING returns everything to the reset state."""
    tb = await new_tb(dut, "reset")
    await tb.submit(core=0, duration=50)
    await tb.submit(core=1, duration=50)
    assert await tb.acquire() == NEG1
    await tb.cycles(4)
    await tb.hard_reset()
    assert await tb.read(STATUS) == 0
    assert await tb.read(RUNNING_JOB) == 0
    assert await tb.read(X_PTR | 1 << 8) == 0
    assert await tb.acquire() == 0
    await tb.hard_reset()
    _, regs = await tb.submit(core=5 % N_CORES, duration=2)
    await tb.wait_idle()
    assert tb.events[-1][1] == 5 % N_CORES


@cocotb.test()
async def response_timing(dut):
    """periph_r_valid_o exactly one cycle after every request (reads and writes, back to back or with gaps),
    with the request's id; nothing without a request."""
    tb = await new_tb(dut, "rvalid")
    for _ in range(600):
        if tb.rng.random() < 0.3:
            await tb.tick()
            continue
        off = tb.rng.choice(CTRL_REGS[1:5] + JOB_REGS + UNMAPPED_Q0[:4])
        id_ = tb.rng.getrandbits(ID_WIDTH)
        if tb.rng.random() < 0.5 and off != SOFT_CLEAR:
            tb.drive(1, off | tb.rng.getrandbits(2) << 8, tb.rng.getrandbits(32), tb.rng.getrandbits(4), id_)
        else:
            tb.drive(0, off, tb.rng.getrandbits(32), tb.rng.getrandbits(4), id_)
        await tb.tick()  # the model checks r_valid, r_id and r_data every cycle


@cocotb.test()
async def random_traffic(dut):
    """Random register traffic from all cores with a random engine, checked every cycle against the model."""
    tb = await new_tb(dut, "random")
    tb.eng.randomize = True
    rng = tb.rng
    weights = [("acquire", 12), ("jobreg", 25), ("trigger", 10), ("read", 20), ("soft_clear", 0.6),
               ("unmapped", 3), ("idle", 25), ("reset", 0.05)]
    names = [w[0] for w in weights]
    ws = [w[1] for w in weights]
    stats = collections.Counter()
    while tb.cycle < RANDOM_CYCLES:
        op = rng.choices(names, ws)[0]
        core = rng.randrange(N_CORES)
        id_ = 1 << core if rng.random() < 0.9 else rng.getrandbits(ID_WIDTH)
        be = 0xF if rng.random() < 0.8 else rng.getrandbits(4)
        if op == "acquire":
            r = await tb.read(ACQUIRE | (0 if rng.random() < 0.9 else rng.randint(1, 3)) << 8, id_)
            stats["acquire_ok" if r < 256 else f"acquire_{r - 2**32}"] += 1
        elif op == "jobreg":
            sel = 0 if rng.random() < 0.85 else rng.randint(1, 3)
            await tb.write(rng.choice(JOB_REGS) | sel << 8, rng.getrandbits(32), be, id_)
        elif op == "trigger":
            await tb.write(TRIGGER, 0 if rng.random() < 0.8 else rng.getrandbits(32), be, id_)
        elif op == "read":
            await tb.read(rng.choice(CTRL_REGS + JOB_REGS) | rng.getrandbits(2) << 8, id_)
        elif op == "soft_clear":
            await tb.write(SOFT_CLEAR, 0 if rng.random() < 0.5 else rng.getrandbits(32), be, id_)
            stats["soft_clear"] += 1
        elif op == "unmapped":
            if rng.random() < 0.5:
                await tb.write(rng.choice(UNMAPPED) | rng.getrandbits(22) << 10, rng.getrandbits(32), be, id_)
            else:
                await tb.read(rng.choice(UNMAPPED), id_)
        elif op == "reset":
            await tb.hard_reset()
            stats["reset"] += 1
        else:
            await tb.cycles(rng.randint(1, 8))
    stats["jobs"] = len(tb.starts)
    stats["events"] = len(tb.events)
    dut._log.info("random traffic: %d cycles, %s", tb.cycle, dict(stats))
    assert stats["jobs"] > 50 and stats["events"] > 50 and stats["acquire_-1"] > 0 and stats["acquire_-2"] > 0
