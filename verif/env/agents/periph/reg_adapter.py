"""Converts between uvm_reg bus operations and one core's PeriphItem."""

from __future__ import annotations

from pyuvm import uvm_reg_adapter
from pyuvm._reg.uvm_reg_model import uvm_access_e, uvm_status_e

from redmule_verif.env.agents.periph.item import PeriphItem


class PeriphRegAdapter(uvm_reg_adapter):
    def __init__(self, name="periph_reg_adapter", core=0):
        super().__init__(name)
        self.core = core
        self.supports_byte_enable = True
        self.provides_responses = False

    def reg2bus(self, rw):
        write = rw.kind == uvm_access_e.UVM_WRITE
        be = rw.byte_en & 0xF if isinstance(rw.byte_en, int) and rw.byte_en >= 0 else 0xF
        return PeriphItem("reg_item", offset=rw.addr, write=write, data=rw.data if write else 0,
                          be=be or 0xF, core=self.core)

    def bus2reg(self, bus_item, rw):
        rw.kind = uvm_access_e.UVM_WRITE if bus_item.write else uvm_access_e.UVM_READ
        rw.addr = bus_item.offset
        rw.data = bus_item.data if bus_item.write else (bus_item.rdata or 0)
        rw.status = uvm_status_e.UVM_IS_OK if bus_item.rdata is not None or bus_item.write else uvm_status_e.UVM_NOT_OK
