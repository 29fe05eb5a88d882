"""The TCDM side's fast paths do what the plain ones did, item for item.

* the monitor's whole-chunk parse of access lines and its batches (``BatchAnalysisPort``);
* ``new_access`` and ``TcdmAccess.within``;
* the footprint checker's batch judgement (``write_accesses``) against the per-access algorithm it
  replaced, on random jobs (overlapping ownership windows, aborted and zero jobs, late and stray
  stores, stray loads);
* the memory backdoor's word access (only the partly covered words are read before a write; signed
  words from the simulator; words written in this time step overlaid) against a byte model.

No simulator: the components are made without pyuvm's build, with stand-ins for what they touch.
"""

from __future__ import annotations

import dataclasses
import random
import types

import numpy as np
import pytest

from redmule_verif.env.agents.tcdm import memory as memory_mod
from redmule_verif.env.agents.tcdm.batch import BatchAnalysisPort, batch_analysis_imp
from redmule_verif.env.agents.tcdm.items import ProtocolViolation, TcdmAccess, new_access
from redmule_verif.env.agents.tcdm.memory import TcdmMemory
from redmule_verif.env.agents.tcdm.monitor import TcdmMonitor
from redmule_verif.env.checkers.footprint import FootprintChecker
from redmule_verif.env.job_record import JobRecord


# ---------------------------------------------------------------------------------------------- items
def test_new_access_is_the_dataclass():
    for args in [(5, True, 0x100), (7, False, 0x40, 0xF0F0, 123456789), (0, False, 0, 0, 0)]:
        a, b = new_access(*args), TcdmAccess(*args)
        assert a == b and hash(a) == hash(b) and repr(a) == repr(b) and type(a) is TcdmAccess
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.cycle = 1


def test_within_is_every_store_byte_inside():
    rng = random.Random(1)
    for _ in range(20000):
        be = rng.choice([0, rng.getrandbits(32), 1 << rng.randrange(32), rng.getrandbits(8) << rng.randrange(24)])
        acc = TcdmAccess(1, False, rng.randrange(0, 256, 4), be, 0)
        z0 = rng.randrange(0, 300)
        z1 = z0 + rng.randrange(0, 80)
        assert acc.within(z0, z1) == all(z0 <= a < z1 for a, _ in acc.store_bytes())


# ---------------------------------------------------------------------------------------------- batch port
class _Sink:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def write(self, item):
        self.log.append((self.name, item))


def test_batch_port_batches_to_who_takes_them_and_items_to_the_others():
    port = BatchAnalysisPort("ap", None)
    log = []
    plain = types.SimpleNamespace(write=lambda it: log.append(("plain", it)))
    batched = types.SimpleNamespace(write=lambda it: log.append(("one", it)),
                                    write_batch=lambda its: log.append(("batch", list(its))))
    port.subscribers.extend([batched, plain])  # what connect() appends, without the export type check
    port.write_batch([1, 2, 3])
    assert log == [("batch", [1, 2, 3]), ("plain", 1), ("plain", 2), ("plain", 3)]
    log.clear()
    port.write(4)  # still a plain analysis port
    assert log == [("one", 4), ("plain", 4)]


def test_batch_analysis_imp_connects_like_an_analysis_imp():
    got = []
    imp = batch_analysis_imp("exp", None, lambda it: got.append(("one", it)), lambda its: got.append(("all", its)))
    port = BatchAnalysisPort("ap2", None)
    port.connect(imp)
    port.write(1)
    port.write_batch([2, 3])
    assert got == [("one", 1), ("all", [2, 3])]


# ---------------------------------------------------------------------------------------------- monitor
def _reference_parse(line) -> list:
    """The monitor's parse of one trace line before batches (the oracle of _parse_lines)."""
    parts = line.split()
    if not parts:
        return []
    if parts[0] == "A":
        cycle = int(parts[1])
        if parts[2] == "L":
            return [TcdmAccess(cycle, True, int(parts[3], 16))]
        return [TcdmAccess(cycle, False, int(parts[3], 16), int(parts[4], 16), int(parts[5], 16))]
    if parts[0] == "X":
        return [ProtocolViolation(int(parts[1]), parts[2], " ".join(parts[3:]))]
    return []


def _reference_poll(partial, chunk):
    """The monitor's poll before batches: (new partial, [(port, item)], counts)."""
    text = partial + chunk
    lines = text.split("\n")
    partial = lines.pop()
    items = []
    for line in lines:
        items.extend(_reference_parse(line))
    items.sort(key=lambda it: it.cycle)
    out = []
    for it in items:
        out.append(("ap" if isinstance(it, TcdmAccess) else "violation_ap", it))
    return partial, out


def _monitor(chunks):
    mon = TcdmMonitor.__new__(TcdmMonitor)
    log = []
    mon.ap = types.SimpleNamespace(write_batch=lambda its: log.extend(("ap", it) for it in its),
                                   write=lambda it: log.append(("ap", it)))
    mon.violation_ap = types.SimpleNamespace(write=lambda it: log.append(("violation_ap", it)))
    mon._partial = ""
    mon.n_loads = mon.n_stores = mon.n_violations = 0
    mon.last_access = None
    feed = iter(chunks)
    mon._read = lambda: next(feed).encode()
    return mon, log


def _random_lines(rng, n, clean):
    """Trace lines; ``clean``: accesses and event pulses only (no violation: one batch a poll)."""
    lines, cycle = [], 100
    for _ in range(n):
        cycle += rng.choice([0, 0, 1, 2, -1])  # the odd line out of order
        r = rng.random() * (0.88 if clean else 1)
        if r < 0.45:
            lines.append(f"A {cycle} L {rng.getrandbits(32):08x}")
        elif r < 0.8:
            lines.append(f"A {cycle} S {rng.getrandbits(32):08x} {rng.getrandbits(32):x} {rng.getrandbits(256):x}")
        elif r < 0.88:
            lines.append(f"E {cycle} {rng.randrange(1, 16):x}")
        elif r < 0.93:
            lines.append(f"X {cycle} RQ-3 request changed while waiting for grant: add {rng.getrandbits(32):08x}")
        elif r < 0.95:
            lines.append("")
        elif r < 0.97:
            lines.append(f"  A {cycle}  L {rng.getrandbits(16):x} ")  # odd spacing
        else:
            lines.append(f"A {cycle} L {rng.getrandbits(32):08X}")
    return lines


@pytest.mark.parametrize("clean", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_poll_publishes_what_the_line_by_line_poll_published(seed, clean):
    rng = random.Random(seed)
    text = "\n".join(_random_lines(rng, rng.randrange(1, 400), clean)) + rng.choice(["\n", "", "\nA 9"])
    cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randrange(1, 12))))
    chunks = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    mon, log = _monitor(chunks)
    partial, expected = "", []
    for chunk in chunks:
        n_before = len(log)
        n = mon.poll() if chunk else 0
        if chunk:
            partial, out = _reference_poll(partial, chunk)
            expected.extend(out)
            assert n == len(out) and log[n_before:] == out
    assert log == expected and mon._partial == partial
    accesses = [it for port, it in expected if port == "ap"]
    assert mon.n_loads == sum(a.load for a in accesses) and mon.n_stores == sum(not a.load for a in accesses)
    assert mon.n_violations == sum(port == "violation_ap" for port, _ in expected)
    assert mon.last_access == (accesses[-1] if accesses else None)


@pytest.mark.parametrize("seed", range(4))
def test_parse_lines_is_parse_of_each_line(seed):
    rng = random.Random(seed)
    lines = _random_lines(rng, 500, clean=False)
    items, violations = TcdmMonitor._parse_lines("\n".join(lines))
    want = [it for line in lines for it in _reference_parse(line)]
    assert items == want and violations == any(isinstance(it, ProtocolViolation) for it in want)
    assert [type(it) for it in items] == [type(it) for it in want]


# ---------------------------------------------------------------------------------------------- footprint
def _reference_write_access(chk, acc):
    """FootprintChecker.write_access as it was: a scan for the owner of every access."""
    rec = chk._owner(acc.cycle)
    if rec is None:
        if not acc.load and chk._late_store(acc):
            return
        chk._violate("ACCESS_NO_JOB", f"TCDM {'load' if acc.load else 'store'} at {acc.addr:#x} in cycle "
                                      f"{acc.cycle} while no job was running", cycle=acc.cycle)
        return
    rec.accesses += 1
    if rec.zero_job:
        chk._violate("ZERO_JOB_TRAFFIC", f"TCDM {'load' if acc.load else 'store'} at {acc.addr:#x} in cycle "
                                         f"{acc.cycle} by a zero job: {rec.describe()} must make no request",
                     job=rec.index, cycle=acc.cycle)
        return
    if acc.load:
        lo, hi = acc.addr, acc.addr + chk.width
        if not any(s < hi and lo < e for s, e in rec.reads() if e > s):
            chk._violate("LOAD_OUTSIDE_FOOTPRINT",
                         f"LOAD OUTSIDE FOOTPRINT: {rec.describe()} loaded [{lo:#x}, {hi:#x}) in cycle "
                         f"{acc.cycle}, which holds no byte of X, W{'' if rec.job.op == 'MATMUL' else ' or Y'}",
                         job=rec.index, cycle=acc.cycle, **chk._nearest(rec, lo, hi))
    else:
        z0, z1 = rec.z_range
        outside = [a for a, _ in acc.store_bytes() if not z0 <= a < z1]
        if outside and chk._late_store(acc, outside):
            return
        if outside:
            chk._violate("STORE_OUTSIDE_Z",
                         f"STORE OUTSIDE Z: {rec.describe()} stored {len(outside)} byte(s) outside Z "
                         f"[{z0:#x}, {z1:#x}) in cycle {acc.cycle}, first at {outside[0]:#x} "
                         f"(access {acc.addr:#x} be={acc.be:#x})", job=rec.index, cycle=acc.cycle,
                         side="before" if outside[0] < z0 else "after",
                         dist="adjacent" if min(abs(a - z0) if a < z0 else a - z1 + 1 for a in outside)
                         <= chk.width else "far")
        else:
            rec.last_store_cycle = acc.cycle


def _records(rng):
    recs, cycle = [], 0
    for i in range(rng.randrange(0, 7)):
        op = rng.choice(["GEMM", "MATMUL", "ADDMAX"])
        base = rng.randrange(0, 2048, 2)
        x = (base, base + rng.randrange(0, 96))
        w = (x[1] + rng.randrange(0, 64), 0)
        w = (w[0], w[0] + rng.randrange(0, 96))
        z = (w[1] + rng.randrange(0, 64), 0)
        z = (z[0], z[0] + rng.randrange(0, 96))
        ranges = {"X": x, "W": w, "Z": z} if op == "MATMUL" else {"X": x, "W": w, "Y": z, "Z": z}
        job = types.SimpleNamespace(op=op, fmt="FP16", m=1, n=1, k=1, x_base=x[0], w_base=w[0], z_base=z[0])
        cycle += rng.randrange(-3, 40)
        rec = JobRecord(job=job, index=i, core=rng.randrange(8), ranges=ranges, zero_job=rng.random() < 0.15)
        rec.trigger_cycle = cycle
        fate = rng.random()
        if fate < 0.6:
            rec.event_cycle = cycle + rng.randrange(0, 60)
        elif fate < 0.85:
            rec.abort_cycle = cycle + rng.randrange(0, 30)
        cycle += rng.randrange(0, 70)
        recs.append(rec)
    return recs


def _checker(records, width):
    chk = FootprintChecker.__new__(FootprintChecker)
    chk.records, chk.violations, chk.width = records, [], width
    chk.fired = []
    chk.check_error = lambda check, msg, **kw: chk.fired.append((check, msg, kw))
    return chk


def _accesses(rng, n):
    out, cycle = [], rng.randrange(-5, 30)
    for _ in range(n):
        cycle += rng.randrange(0, 4)
        if rng.random() < 0.5:
            out.append(TcdmAccess(cycle, True, rng.randrange(0, 2400, 4)))
        else:
            be = rng.choice([0xFFFFFFFF, 0xFFFF, 0xFF00, 0, rng.getrandbits(32)])
            out.append(TcdmAccess(cycle, False, rng.randrange(0, 2400, 4), be, rng.getrandbits(64)))
    return out


@pytest.mark.parametrize("seed", range(200))
def test_batch_judgement_is_the_per_access_judgement(seed):
    rng = random.Random(seed)
    width = rng.choice([4, 16, 32])
    records = _records(rng)
    accs = _accesses(rng, rng.randrange(0, 200))
    ref = _checker([dataclasses.replace(r) for r in records], width)
    for a in accs:
        _reference_write_access(ref, a)
    new = _checker([dataclasses.replace(r) for r in records], width)
    i = 0
    while i < len(accs):  # in batches of any size, and one at a time
        n = rng.choice([1, 3, 50, 1000])
        if n == 1:
            new.write_access(accs[i])
        else:
            new.write_accesses(accs[i:i + n])
        i += n
    assert new.fired == ref.fired and new.violations == ref.violations
    assert [(r.accesses, r.last_store_cycle) for r in new.records] == \
           [(r.accesses, r.last_store_cycle) for r in ref.records]


# ---------------------------------------------------------------------------------------------- memory
class _Sim:
    """Words as the simulator shows them: a deposit is seen once time moves on; reads come back signed."""

    def __init__(self, n, rng):
        self.now = 0
        self.cur = [rng.getrandbits(32) for _ in range(n)]
        self.next = {}
        self.reads = 0

    def step(self):
        for i, v in self.next.items():
            self.cur[i] = v
        self.next.clear()
        self.now += 1


class _Word:
    def __init__(self, sim, i):
        self.sim, self.i = sim, i

    def get_signal_val_long(self):
        self.sim.reads += 1
        v = self.sim.cur[self.i]
        return v - (1 << 32) if v >> 31 else v

    def set_signal_val_int(self, action, v):
        assert action == 0 and 0 <= v < 1 << 32
        self.sim.next[self.i] = v


class _Array:
    def __init__(self, sim, n):
        self.sim, self.n = sim, n

    def get_handle_by_index(self, i):
        assert 0 <= i < self.n
        return _Word(self.sim, i)


class _Mem:
    """The harness's ``mem`` array: its words through the simulator's interface (``_handle``)."""

    def __init__(self, sim, n):
        self._handle, self.n = _Array(sim, n), n

    def __len__(self):
        return self.n


class _PlainMem:
    """A ``mem`` without the simulator's interface: words through cocotb's ``.value``."""

    def __init__(self, sim, n):
        self.sim, self.n = sim, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        sim = self.sim

        class _Value:
            @property
            def value(self):
                sim.reads += 1
                return sim.cur[i]

            @value.setter
            def value(self, v):
                sim.next[i] = v
        return _Value()


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_memory_backdoor_against_a_byte_model(seed, plain, monkeypatch):
    rng = random.Random(seed)
    n_words, base = 64, 0x1000
    sim = _Sim(n_words, rng)
    monkeypatch.setattr(memory_mod, "get_sim_time", lambda: sim.now)
    mem = TcdmMemory(types.SimpleNamespace(mem=(_PlainMem if plain else _Mem)(sim, n_words)), base, 4 * n_words)
    model = bytearray(b"".join(v.to_bytes(4, "little") for v in sim.cur))
    for _ in range(300):
        r = rng.random()
        addr = base + rng.randrange(0, 4 * n_words)
        n = rng.randrange(0, min(40, base + 4 * n_words - addr) + 1)
        if r < 0.45:
            data = bytes(rng.getrandbits(8) for _ in range(n))
            before = sim.reads
            mem.write(addr, data if rng.random() < 0.5 else np.frombuffer(data, np.uint8))
            partial_words = (addr % 4 != 0) + ((addr + n) % 4 != 0)
            assert sim.reads - before <= partial_words  # only the partly covered words are read
            model[addr - base: addr - base + n] = data
        elif r < 0.85:
            assert mem.read(addr, n).tobytes() == bytes(model[addr - base: addr - base + n])
        else:
            sim.step()
    sim.step()
    assert mem.read(base, 4 * n_words).tobytes() == bytes(model)
    assert b"".join(v.to_bytes(4, "little") for v in sim.cur) == bytes(model)
