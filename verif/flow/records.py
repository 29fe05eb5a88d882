"""The run record: what one test x seed gave, in the one shape every tool reads and writes.

:class:`RunSpec` is a run to make (test, seed, knobs, limit, environment,
directory); :func:`run_record` turns what the runner returned into the record
(status, cycles, jobs checked, message, first errors, failure signature, repro
line, log, waves, trace hash); :func:`repro_line` is the one command line that
reruns a run. Signatures come from :mod:`redmule_verif.flow.signature`.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shlex
import traceback

from redmule_verif.flow import triage
from redmule_verif.flow.signature import crash_hint, signature

PROG = "redmule-verif"
FAILING = ("fail", "error", "timeout")
MAX_MESSAGE = 4000


@dataclasses.dataclass
class RunSpec:
    """One run to make: ``index`` orders the results, ``dir`` is the run directory (absolute)."""

    index: int
    test: str
    seed: int
    knobs: dict
    timeout: float | None
    env: dict
    dir: pathlib.Path
    waves: bool = False
    assert_cycles: bool | None = None


def repro_line(test: str, seed: int, build_args=(), knobs: dict | None = None, env: dict | None = None) -> str:
    """``redmule-verif repro TEST --seed S [--knobs JSON] [DUT options] [--env K=V ...]``, shell-quoted."""
    cmd = [PROG, "repro", test, "--seed", str(seed)]
    if knobs:
        cmd += ["--knobs", json.dumps(knobs, sort_keys=True)]
    cmd += list(build_args or [])
    for k, v in sorted((env or {}).items()):
        cmd += ["--env", f"{k}={v}"]
    return " ".join(shlex.quote(c) for c in cmd)


def first_error(rec: dict, limit: int | None = 2000) -> str:
    """The first non-empty error the run logged, else its message."""
    errs = [e for e in (rec.get("first_errors") or []) if e and e.strip()]
    text = errs[0] if errs else rec.get("message") or ""
    return text if limit is None else text[:limit]


def run_record(spec: RunSpec, rec: dict | None, build_args=(), status: str | None = None,
               message: str = "") -> dict:
    """The record of ``spec`` from the runner's ``rec`` (None: the run never produced one)."""
    rec = dict(rec or {})
    summary = rec.pop("summary", None) or {}
    out = {
        "test": spec.test, "seed": spec.seed, "status": status or rec.get("status", "error"),
        "wall_s": rec.get("wall_s", 0.0), "sim_cycles": rec.get("sim_cycles"),
        "jobs_checked": rec.get("jobs_checked", 0) or 0, "signature": "",
        "message": (message or rec.get("message") or "")[:MAX_MESSAGE],
        "repro": repro_line(spec.test, spec.seed, build_args, spec.knobs or None, spec.env),
        "log": rec.get("log") or str(spec.dir / "sim.log"),
        "waves": rec.get("waves"), "knobs": spec.knobs, "timeout": spec.timeout, "dir": str(spec.dir),
        "first_errors": [e[:MAX_MESSAGE] for e in (rec.get("first_errors") or [])],
        "trace_sha256": summary.get("trace_sha256"),
    }
    # what triage needs: every distinct error (check, cycle, job, attributes), how each job ended, waivers
    for key in ("errors_detail", "job_outcomes", "waived", "checks_fired"):
        if summary.get(key):
            out[key] = summary[key]
    if spec.env:
        out["env"] = spec.env
    if out["status"] == "error":
        out["crash_hint"] = crash_hint(out["log"])
    out["signature"] = signature(out)
    out["root_cause"] = triage.root_signature(out)
    return out


def tool_error_record(spec: RunSpec, exc: BaseException, build_args=()) -> dict:
    """A run the tools themselves failed on (a bug, not the DUT's): still a record."""
    rec = {"test": spec.test, "seed": spec.seed, "status": "error", "wall_s": 0.0, "sim_cycles": None,
           "jobs_checked": 0, "message": f"regression tool error {type(exc).__name__}: {exc}\n"
                                         f"{traceback.format_exc()}"[:MAX_MESSAGE],
           "repro": "", "log": str(spec.dir / "sim.log"), "waves": None, "knobs": spec.knobs,
           "timeout": spec.timeout, "dir": str(spec.dir), "first_errors": [], "trace_sha256": None}
    rec["signature"] = rec["root_cause"] = f"ERROR regression tool error {type(exc).__name__}"
    try:
        rec["repro"] = repro_line(spec.test, spec.seed, build_args, spec.knobs or None, spec.env)
    except Exception:  # noqa: BLE001 - the record matters more than its repro line
        pass
    return rec
