"""The memory side of the TCDM port: grant profiles, store responses, stall histogram.

The harness decides each cycle's grant from that cycle's request (spec section
2 allows it: the DUT's request never depends on the grant). This component
programs the profile of a job (always, random with probability p, bursty
on/off, bank contention from the cluster cores, and a maximum stall) from a
:class:`GrantProfile`, reseeding the harness generator with the profile's own
seed so that a job's grant pattern depends on nothing else, and reads back the
histogram of stall lengths.
"""

from __future__ import annotations

from cocotb.triggers import RisingEdge

from redmule_verif.env.component import Component

MODES = {"always": 0, "random": 1, "bursty": 2, "banks": 3}


class TcdmResponder(Component):
    def build_phase(self):
        self.dut = self.cdb_get("dut")
        self.cfg = self.cdb_get("tcdm_cfg")
        self.profile = None

    def start_of_simulation_phase(self):
        d = self.dut
        d.gnt_mode_i.value = 0
        d.gnt_p_i.value = 0xFFFF
        d.gnt_on_i.value = 16
        d.gnt_off_i.value = 4
        d.gnt_core_rate_i.value = 0
        d.gnt_n_banks_i.value = 16
        d.gnt_n_cores_i.value = 8
        d.gnt_max_stall_i.value = 0
        d.gnt_seed_i.value = 1
        d.gnt_reseed_i.value = 0
        d.store_resp_i.value = int(self.cfg.store_resp)

    async def apply(self, profile) -> None:
        """Program ``profile`` (a GrantProfile) and reseed; takes effect from the next cycle."""
        d = self.dut
        if profile.kind not in MODES:
            raise ValueError(f"unknown grant profile {profile.kind!r}; use one of {sorted(MODES)}")
        limits = [("n_banks", profile.n_banks, 1, 32), ("n_cores", profile.n_cores, 0, 8),
                  ("on", profile.on, 1, 0xFFFF), ("off", profile.off, 0, 0xFFFF),
                  ("max_stall", profile.max_stall, 0, 0xFFFFFFFF)]
        for name, value, lo, hi in limits:
            if not lo <= value <= hi:
                raise ValueError(f"grant profile {profile.summary()}: {name}={value} is outside what the memory "
                                 f"model offers ({lo}..{hi}); choose a value in that range")
        d.gnt_mode_i.value = MODES[profile.kind]
        d.gnt_p_i.value = min(0xFFFF, max(0, int(round(profile.p * 65536))))  # p = 1 is 0xFFFF: always
        d.gnt_on_i.value = max(1, min(0xFFFF, int(profile.on)))
        d.gnt_off_i.value = max(1, int(profile.off))  # off = 0: refusing runs end at once
        d.gnt_core_rate_i.value = min(0xFFFF, max(0, int(round(profile.core_rate * 65536))))
        d.gnt_n_banks_i.value = max(1, min(32, int(profile.n_banks)))
        d.gnt_n_cores_i.value = max(0, min(8, int(profile.n_cores)))
        d.gnt_max_stall_i.value = max(0, int(profile.max_stall))
        d.gnt_seed_i.value = (int(profile.seed) & 0xFFFFFFFF) or 1
        d.gnt_reseed_i.value = 1
        await RisingEdge(d.clk_i)
        d.gnt_reseed_i.value = 0
        self.profile = profile

    def stall_histogram(self) -> list[int]:
        """Counts of grants after 0, 1, ..., 62 and >= 63 refused cycles, since the start."""
        h = self.dut.stall_hist
        return [int(h[i].value) for i in range(len(h))]
