"""The runs of a regression: every suite entry x seed, with its seed, limit and run directory.

Seeds are ``seeding.derive(base, "regress/TEST/i")`` (31 bits), so a suite run
is reproducible from its base seed.
"""

from __future__ import annotations

import datetime as dt
import pathlib

from redmule_verif.flow.records import RunSpec
from redmule_verif.seeding import derive
from redmule_verif.tools.regress.suite import Suite

DEFAULT_TIMEOUT = 600.0


def default_base_seed() -> int:
    """Today's date (UTC) as YYYYMMDD: a nightly regression draws new seeds every day."""
    return int(dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d"))


def run_seed(base: int, test: str, i: int, entry_no: int = 0) -> int:
    path = f"regress/{test}/{i}" if entry_no == 0 else f"regress/{test}@{entry_no}/{i}"
    return derive(base, path) & 0x7FFF_FFFF


def plan(suite: Suite, out: pathlib.Path, base_seed: int, seeds: int | None = None,
         timeout: float | None = None) -> list[RunSpec]:
    """Every run of the suite, in suite order. ``seeds`` overrides every entry's seed count,
    ``timeout`` every limit."""
    out = pathlib.Path(out).resolve()  # the simulator runs inside its run directory: absolute paths only
    runs: list[RunSpec] = []
    seen_test: dict[str, int] = {}
    taken: set = set()
    for e in suite.entries:
        entry_no = seen_test.get(e.test, 0)
        seen_test[e.test] = entry_no + 1
        if seeds is not None:
            seed_list = [run_seed(base_seed, e.test, i, entry_no) for i in range(seeds)]
        elif isinstance(e.seeds, list):
            seed_list = list(e.seeds)
        else:
            seed_list = [run_seed(base_seed, e.test, i, entry_no) for i in range(e.seeds)]
        limit = timeout or e.timeout or suite.timeout or DEFAULT_TIMEOUT
        for s in seed_list:
            d = out / "runs" / e.test / str(s)
            n = 1
            while d in taken:
                n += 1
                d = out / "runs" / e.test / f"{s}.{n}"
            taken.add(d)
            runs.append(RunSpec(len(runs), e.test, int(s), dict(e.knobs), float(limit), dict(e.env), d))
    return runs




def longest_first(specs: list[RunSpec], previous: list[dict]) -> list[RunSpec]:
    """Longest first (wall times of earlier regressions), so that the tail is short."""
    est: dict[str, list] = {}
    for prev in previous:
        for r in prev.get("runs", []):
            if r.get("wall_s") and r.get("status") in ("pass", "fail"):
                est.setdefault(r["test"], []).append(float(r["wall_s"]))
    if not est:
        return list(specs)
    mean = {t: sum(v) / len(v) for t, v in est.items()}
    return sorted(specs, key=lambda s: (-mean.get(s.test, 0.0), s.index))
