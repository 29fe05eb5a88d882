"""The TCDM agent: memory (backdoor), responder (grant profiles), monitor (trace), their items and config."""

from redmule_verif.env.agents.tcdm.agent import TcdmAgent
from redmule_verif.env.agents.tcdm.cfg import TcdmAgentConfig
from redmule_verif.env.agents.tcdm.items import EventPulse, ProtocolViolation, TcdmAccess
from redmule_verif.env.agents.tcdm.memory import MemoryRangeError, TcdmMemory
from redmule_verif.env.agents.tcdm.monitor import TcdmMonitor
from redmule_verif.env.agents.tcdm.responder import MODES, TcdmResponder

__all__ = ["TcdmAgent", "TcdmAgentConfig", "EventPulse", "ProtocolViolation", "TcdmAccess", "MemoryRangeError",
           "TcdmMemory", "TcdmMonitor", "MODES", "TcdmResponder"]
