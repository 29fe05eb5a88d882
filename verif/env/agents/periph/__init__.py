"""The register-port agent: one :class:`PeriphAgent` (a :class:`PeriphSequencer`) per cluster
core, the :class:`PeriphArbiter` that owns the port (the one driver of its pins), the
:class:`PeriphMonitor`, the :class:`PeriphItem` they carry and the :class:`PeriphRegAdapter`
between uvm_reg and the items."""

from redmule_verif.env.agents.periph.agent import PeriphAgent, PeriphSequencer
from redmule_verif.env.agents.periph.arbiter import PeriphArbiter
from redmule_verif.env.agents.periph.item import PeriphItem
from redmule_verif.env.agents.periph.monitor import PeriphMonitor
from redmule_verif.env.agents.periph.reg_adapter import PeriphRegAdapter

__all__ = ["PeriphAgent", "PeriphSequencer", "PeriphArbiter", "PeriphItem", "PeriphMonitor", "PeriphRegAdapter"]
