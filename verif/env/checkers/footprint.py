"""No store outside Z, no load outside the footprint rule (spec section 6).

Every accepted TCDM access belongs to the job running at that time (jobs run
one at a time, in trigger order). A store may write only bytes of that job's
Z; a load may cover bytes outside the footprint only within an access that
holds at least one byte of a matrix the job reads (X, W and, unless MATMUL,
Y). A job with a zero dimension or an unsupported format makes no access at
all, and no access is allowed while no job is outstanding. After SOFT_CLEAR
or reset an aborted job may still finish its request in flight: its accesses
are judged against its own footprint.
"""

from __future__ import annotations

from redmule_verif.env.agents.tcdm.batch import batch_analysis_imp
from redmule_verif.env.analysis import analysis_imp
from redmule_verif.env.component import Component

ABORT_GRACE = 16  # cycles an aborted job may still finish a request in flight


class FootprintChecker(Component):
    def build_phase(self):
        self.cfg = self.cdb_get("env_cfg")
        self.access_export = batch_analysis_imp("access_export", self, self.write_access, self.write_accesses)
        self.job_export = analysis_imp("job_export", self, self.write_job)
        self.evt_export = analysis_imp("evt_export", self, lambda pulse: None)  # records carry event cycles
        self.width = self.cfg.eng.dw // 8
        self.records = []      # every triggered job, in trigger order
        self.violations = []

    def write_job(self, rec):
        if rec.state == "triggered":
            self.records.append(rec)

    @staticmethod
    def _end(rec):
        """Last cycle in which ``rec`` may own an access."""
        if rec.event_cycle >= 0:
            return rec.event_cycle
        if rec.abort_cycle >= 0:
            return rec.abort_cycle + ABORT_GRACE
        return float("inf")

    def _owner(self, cycle):
        """The job running in ``cycle``: jobs run one at a time, in trigger order."""
        for rec in self.records:
            if rec.trigger_cycle - 1 <= cycle <= self._end(rec):
                return rec
        return None

    def _late_store(self, acc, addrs=None) -> bool:
        """A store into the Z of a job whose done event already came: reported as such.

        ``addrs``: the bytes to judge (default every byte the store writes; for a store of a
        running job, only the bytes outside its own Z).
        """
        addrs = [a for a, _ in acc.store_bytes()] if addrs is None else addrs
        for done in reversed(self.records):
            z0, z1 = done.z_range
            if 0 <= done.event_cycle < acc.cycle and any(z0 <= a < z1 for a in addrs):
                self._violate("STORE_AFTER_EVENT",
                              f"STORE AFTER EVENT: {done.describe()} signalled done in cycle {done.event_cycle} "
                              f"but a store to its Z at {acc.addr:#x} was granted in cycle {acc.cycle}",
                              job=done.index, cycle=acc.cycle)
                return True
        return False

    def write_access(self, acc):
        self.write_accesses((acc,))

    def write_accesses(self, accs):
        """Judge accesses in turn, as :meth:`write_access` of each (a batch of the TCDM monitor: the accesses
        of one poll). Nothing that decides an owner changes within a batch, so the jobs that may own one of
        its cycles are found once, with what each may read."""
        if not accs:
            return
        cycles = [a.cycle for a in accs]
        first, last = min(cycles), max(cycles)
        candidates = []  # (from, to, record, its non-empty read ranges) in trigger order, like _owner
        for rec in self.records:
            lo, hi = rec.trigger_cycle - 1, self._end(rec)
            if lo <= last and first <= hi:
                candidates.append((lo, hi, rec, [(s, e) for s, e in rec.reads() if e > s]))
        width = self.width
        for acc in accs:
            cycle = acc.cycle
            for lo, hi, rec, reads in candidates:
                if lo <= cycle <= hi:
                    break
            else:
                if not acc.load and self._late_store(acc):
                    continue
                self._violate("ACCESS_NO_JOB", f"TCDM {'load' if acc.load else 'store'} at {acc.addr:#x} in cycle "
                                               f"{cycle} while no job was running", cycle=cycle)
                continue
            rec.accesses += 1
            if rec.zero_job:
                self._violate("ZERO_JOB_TRAFFIC", f"TCDM {'load' if acc.load else 'store'} at {acc.addr:#x} in "
                                                  f"cycle {cycle} by a zero job: {rec.describe()} must make no "
                                                  f"request", job=rec.index, cycle=cycle)
                continue
            if acc.load:
                lo, hi = acc.addr, acc.addr + width
                for s, e in reads:
                    if s < hi and lo < e:
                        break
                else:
                    self._stray_load(rec, acc, lo, hi)
            else:
                z0, z1 = rec.z_range
                if acc.within(z0, z1):  # every byte in Z (the usual case)
                    rec.last_store_cycle = cycle
                else:
                    self._stray_store(rec, acc, z0, z1)

    def _stray_load(self, rec, acc, lo, hi):
        self._violate("LOAD_OUTSIDE_FOOTPRINT",
                      f"LOAD OUTSIDE FOOTPRINT: {rec.describe()} loaded [{lo:#x}, {hi:#x}) in cycle "
                      f"{acc.cycle}, which holds no byte of X, W{'' if rec.job.op == 'MATMUL' else ' or Y'}",
                      job=rec.index, cycle=acc.cycle, **self._nearest(rec, lo, hi))

    def _stray_store(self, rec, acc, z0, z1):
        """A store of ``rec`` with bytes outside its Z ``[z0, z1)``."""
        outside = [a for a, _ in acc.store_bytes() if not z0 <= a < z1]
        if outside and self._late_store(acc, outside):
            return
        if outside:
            self._violate("STORE_OUTSIDE_Z",
                          f"STORE OUTSIDE Z: {rec.describe()} stored {len(outside)} byte(s) outside Z "
                          f"[{z0:#x}, {z1:#x}) in cycle {acc.cycle}, first at {outside[0]:#x} "
                          f"(access {acc.addr:#x} be={acc.be:#x})", job=rec.index, cycle=acc.cycle,
                          side="before" if outside[0] < z0 else "after",
                          dist="adjacent" if min(abs(a - z0) if a < z0 else a - z1 + 1 for a in outside)
                          <= self.width else "far")
        else:
            rec.last_store_cycle = acc.cycle

    def _nearest(self, rec, lo, hi) -> dict:
        """Which matrix a stray load is nearest to, on which side, and whether it is adjacent (triage)."""
        best = None
        for name, (s, e) in rec.ranges.items():
            if e <= s or (name == "Y" and rec.job.op == "MATMUL"):
                continue
            dist, side = (s - hi, "before") if hi <= s else (lo - e, "after")
            if best is None or dist < best[0]:
                best = (dist, name, side)
        if best is None:
            return {}
        return {"matrix": best[1], "side": best[2], "dist": "adjacent" if best[0] < self.width else "far"}

    def _violate(self, check, msg, job=None, cycle=None, **attrs):
        self.violations.append(msg)
        self.check_error(check, msg, job=job, cycle=cycle, **attrs)
