"""The register model of spec section 3, on pyuvm's uvm_reg layer.

One :class:`RedmuleRegBlock` is one core's view of the accelerator: its map
sends frontdoor accesses through that core's register agent. (pyuvm's uvm_reg
serialises accesses to one register object; a block a core keeps cores that
race for ACQUIRE really racing on the port.) Job registers are modelled three
times: at 0x40 (the RESERVED context, written by software) and, read-only, at
0x140 and 0x240 (context 0 and 1 through the context select add[9:8]).
"""

from __future__ import annotations

from pyuvm import uvm_reg, uvm_reg_block, uvm_reg_field
from pyuvm._reg.uvm_reg_model import uvm_endianness_e

# offsets of spec section 3
from redmule_verif.model.encoding import (  # noqa: F401 (used as R.<NAME> by the env)
    ACQUIRE, CFG, CTX_SELECT, FINISHED, JOB_REGS, MK, N_REG, RUNNING_JOB, SOFT_CLEAR, STATUS, TRIGGER, W_PTR, X_PTR, Z_PTR)

# (name, offset, fields as (name, lsb, size, access), volatile)
REGISTERS = (
    ("TRIGGER", TRIGGER, (("value", 0, 32, "WO"),), False),
    ("ACQUIRE", ACQUIRE, (("value", 0, 32, "RO"),), True),
    ("FINISHED", FINISHED, (("count", 0, 32, "RO"),), True),
    ("STATUS", STATUS, (("ctx0", 0, 8, "RO"), ("ctx1", 8, 8, "RO"), ("rsvd", 16, 16, "RO")), True),
    ("RUNNING_JOB", RUNNING_JOB, (("id", 0, 32, "RO"),), True),
    ("SOFT_CLEAR", SOFT_CLEAR, (("value", 0, 32, "WO"),), False),
    ("X_PTR", X_PTR, (("ptr", 0, 32, "RW"),), False),
    ("W_PTR", W_PTR, (("ptr", 0, 32, "RW"),), False),
    ("Z_PTR", Z_PTR, (("ptr", 0, 32, "RW"),), False),
    ("MK", MK, (("m", 0, 16, "RW"), ("k", 16, 16, "RW")), False),
    ("N", N_REG, (("n", 0, 16, "RW"), ("rsvd", 16, 16, "RW")), False),
    ("CFG", CFG, (("rsvd0", 0, 7, "RW"), ("fmt", 7, 3, "RW"), ("op", 10, 3, "RW"), ("rsvd1", 13, 19, "RW")), False),
)


class RedmuleReg(uvm_reg):
    """A 32-bit register built from a field list."""

    def __init__(self, name, fields, volatile):
        super().__init__(name, 32)
        self._field_spec = fields
        self._volatile = volatile
        self.fields = {}

    def build(self):
        for fname, lsb, size, access in self._field_spec:
            f = uvm_reg_field(fname)
            f.configure(self, size, lsb, access, self._volatile, 0, has_reset=True, is_rand=False,
                        individually_accessible=False)
            self.fields[fname] = f


class RedmuleRegBlock(uvm_reg_block):
    """The accelerator's 1 KiB register window as seen by one core."""

    def __init__(self, name="redmule_regs"):
        super().__init__(name)
        self.regs = {}
        self._by_offset = {}
        self.map = self.create_map("map", 0, 4, uvm_endianness_e.UVM_LITTLE_ENDIAN)
        self.set_default_map(self.map)
        for rname, offset, fields, volatile in REGISTERS:
            self._add(rname, offset, fields, volatile)
        for ctx in (0, 1):  # read-back views of each context's job registers
            for rname, offset, fields, _ in REGISTERS:
                if offset in JOB_REGS:
                    ro = tuple((f, lsb, size, "RO") for f, lsb, size, _ in fields)
                    self._add(f"CTX{ctx}_{rname}", offset + (ctx + 1) * CTX_SELECT, ro, True)
        self.lock_model()

    def _add(self, rname, offset, fields, volatile):
        reg = RedmuleReg(rname, fields, volatile)
        reg.configure(self)
        reg.build()
        rights = "RW" if any(a == "RW" for *_, a in fields) else ("WO" if fields[0][3] == "WO" else "RO")
        self.map.add_reg(reg, offset, rights)
        self.regs[rname] = reg
        self._by_offset.setdefault(offset, reg)

    def __getitem__(self, name) -> RedmuleReg:
        return self.regs[name]

    def by_offset(self, offset: int) -> RedmuleReg | None:
        return self._by_offset.get(offset)
