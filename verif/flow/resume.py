"""``--resume``: which planned runs of an output directory already have their final record.

A run is done when OUT/results.json holds a final record of it (pass, fail,
error, timeout: same test, seed and run directory), or when its array task
wrote the record into the run directory (``run_record.json``) after the
regression that submitted it was stopped. Runs recorded ``interrupted`` or
``skipped`` (or not at all) are run again, with the same seeds.
"""

from __future__ import annotations

import pathlib

from redmule_verif.flow.farm import RECORD_NAME
from redmule_verif.flow.records import RunSpec
from redmule_verif.flow.results_io import load_results, read_json

FINAL = ("pass", "fail", "error", "timeout")


def previous_results(out) -> dict | None:
    """OUT/results.json, None when there is none (raises ValueError when it is not a results file)."""
    p = pathlib.Path(out) / "results.json"
    return load_results(p) if p.exists() else None


def _key(test, seed, d) -> tuple:
    return test, int(seed), str(pathlib.Path(d).resolve())


def done_records(specs: list[RunSpec], previous: dict | None) -> dict[int, dict]:
    """index -> final record, for the specs that need no new run."""
    by_key = {}
    for r in (previous or {}).get("runs", []):
        if r.get("status") in FINAL and r.get("dir"):
            by_key[_key(r["test"], r["seed"], r["dir"])] = r
    kept: dict[int, dict] = {}
    for s in specs:
        rec = by_key.get(_key(s.test, s.seed, s.dir))
        if rec is None:
            f = pathlib.Path(s.dir) / RECORD_NAME
            if f.exists():
                try:
                    cand = read_json(f)
                except ValueError:
                    cand = None
                if (isinstance(cand, dict) and cand.get("status") in FINAL and cand.get("test") == s.test
                        and cand.get("seed") == s.seed and (cand.get("knobs") or {}) == (s.knobs or {})):
                    rec = cand
        if rec is not None:
            kept[s.index] = rec
    return kept
