"""The environment's configuration: engine geometry, memory, seed, test knobs.

L, H, P and N_CORES come from the build configuration (the build layer passes
the path of its ``build.json`` in REDMULE_VERIF_BUILD), never from constants
here. Knobs are run-time options: environment variables REDMULE_* or a JSON
object in REDMULE_KNOBS, so a regression can steer any test without editing it.
"""

from __future__ import annotations

import dataclasses
import json
import os

from redmule_verif.model.encoding import MEM_BASE, MEM_WORDS
from redmule_verif.model.profile import SPEC, Profile
from redmule_verif.sequences.items import EngineConfig, MemoryConfig


@dataclasses.dataclass
class EnvConfig:
    eng: EngineConfig
    mem: MemoryConfig
    seed: int
    test: str = ""
    knobs: dict = dataclasses.field(default_factory=dict)
    n_periph_ids: int = 8            # ID_WIDTH of the register port
    out_dir: str = "."
    hang_cycles: int = 20000         # offered-grant cycles without progress before a job is hung
    budget_factor: float = 8.0       # x expected_cycles, counted over granting cycles only
    budget_slack: int = 2000
    assert_cycles: bool = False      # assert the timing model (own RTL, always-grant only)
    cycle_tolerance: float = 1.05
    idle_gap_max: int = 3            # register agents: random idle cycles between accesses
    store_resp: bool = True          # memory answers stores with r_valid too (the DUT must ignore it)
    poll_status_prob: float = 0.2    # share of jobs whose core polls STATUS instead of sleeping on the event
    comb_probe: bool = True          # COMB rule: decoy grant/r_valid in the first half of each cycle
    busy_slack: int = 16             # BUSY rule: cycles busy_o may disagree with the job state (0 = off)
    drain_cycles: int = 1000         # end of test: cycles to wait for pending checks before DRAIN_TIMEOUT
    acquire_retry_limit: int = 100_000  # cycles of -1/-2 ACQUIRE answers before ACQUIRE_STUCK
    stuck_cycles: int = 1_000_000    # cycles without a register access, TCDM handshake or event before TEST_STUCK
    profile: Profile = SPEC          # the RTL's programming conventions (REDMULE_PROFILE, JSON)

    @classmethod
    def from_environment(cls, seed: int) -> "EnvConfig":
        build = {}
        path = os.environ.get("REDMULE_VERIF_BUILD")
        if path and os.path.exists(path):
            with open(path) as fh:
                build = json.load(fh)
        params = {k: int(v, 0) if isinstance(v, str) and v.lstrip("-").isdigit() else v
                  for k, v in build.get("parameters", {}).items()}

        def p(name, default):
            return int(params.get(name, default))

        eng = EngineConfig(L=p("L", 12), H=p("H", 4), P=p("P", 3), N_CORES=p("N_CORES", 8))
        mem = MemoryConfig(base=p("MEM_BASE", MEM_BASE), size=4 * p("MEM_WORDS", MEM_WORDS))
        knobs = json.loads(os.environ.get("REDMULE_KNOBS", "{}") or "{}")
        prof = os.environ.get("REDMULE_PROFILE")
        cfg = cls(eng=eng, mem=mem, seed=int(seed), test=os.environ.get("REDMULE_TEST", ""),
                  knobs=knobs, n_periph_ids=p("ID_WIDTH", 8), out_dir=os.getcwd(),
                  profile=Profile.from_json(prof) if prof else SPEC)
        for f in dataclasses.fields(cls):
            env = os.environ.get("REDMULE_" + f.name.upper())
            if env is not None and f.name not in ("eng", "mem", "seed", "knobs", "test", "profile"):
                cur = getattr(cfg, f.name)
                if isinstance(cur, bool):
                    setattr(cfg, f.name, env.lower() in ("1", "true", "yes"))
                else:
                    setattr(cfg, f.name, type(cur)(env))
        return cfg
