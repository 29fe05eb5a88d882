"""Triage: from failing runs to distinct root causes.

A run can log many errors, and the first one logged is not always the cause
(a Z mismatch is reported before the late store that explains it). Triage
works on every distinct error of a run, each an :class:`ErrorEvent` (check,
cycle, job, attributes), and names the run's *root cause*: the earliest event
in simulated cycles, ties broken by how close the check sits to the port
(protocol before footprint before control before data).

The bucket of a failing run is its root-cause signature: the check plus the
attributes that separate causes (for a hang: which stream stalled, in which
phase, with how many jobs queued; for a Z mismatch: how the bits are wrong and
whether all elements are; for a stray access: its side and distance), never the op or
the format of the one job that happened to fail first, so one cause does not
split into five buckets: which formats and op families a bucket's error shows
in is reported beside it (:func:`scope`), and characterisation tests it.
:func:`merge_buckets` folds a bucket with an unknown attribute ('?') into the
one bucket it is compatible with.

Known issues (a YAML file) mark buckets known or new; waivers demote a check
to a warning with a stated reason (UVM's report catcher).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

import yaml

from redmule_verif.flow.signature import normalise

#: rank of each family of checks: lower ranks sit closer to the port, so they are the likelier cause
#: when two errors come in the same cycle (check ids are the rows of verif/env/checkers/CHECKS.yaml)
_RANKS = [
    (0, ("CRASH", "TIMEOUT")),
    (1, ("RQ-3", "RQ-4", "ALIGN", "RESP", "COMB", "PERIPH_NO_RVALID", "PERIPH_RID")),
    (2, ("STORE_OUTSIDE_Z", "LOAD_OUTSIDE_FOOTPRINT", "ZERO_JOB_TRAFFIC", "ACCESS_NO_JOB", "STORE_AFTER_EVENT")),
    (3, ("EVT_CORE", "EVT_SPURIOUS", "EVT1", "BUSY", "ACQUIRE_STUCK", "REG_ACQUIRE", "REG_FINISHED", "REG_STATUS",
         "REG_RUNNING_JOB", "REG_READBACK", "REG_UNMAPPED")),
    (4, ("HANG_NO_PROGRESS", "HANG_OVER_BUDGET")),
    (5, ("Z_MISMATCH",)),
    (6, ("TIMING", "NEVER_COMPLETED")),
    (7, ("TRACE", "EVT_COUNT", "PERIPH_COUNT", "DRAIN_TIMEOUT", "NO_JOB_CHECKED")),
]
CHECK_RANK = {c: r for r, checks in _RANKS for c in checks}
OTHER_RANK = 8

#: attributes of a check that separate root causes (everything else is detail)
SEPARATING = {
    "HANG_NO_PROGRESS": ("stream", "phase", "queued"),
    "HANG_OVER_BUDGET": ("stream", "phase", "queued"),
    "Z_MISMATCH": ("pattern", "where"),
    "LOAD_OUTSIDE_FOOTPRINT": ("matrix", "side", "dist"),
    "STORE_OUTSIDE_Z": ("side", "dist"),
    "CRASH": ("hint",),
}

# Headline patterns of the environment's messages, for records without structured errors
# (older results, a crash): check id and the attributes the text carries.
_PATTERNS = [
    (re.compile(r"Z MISMATCH in .*?\b(?P<op>MATMUL|GEMM|ADDMAX|ADDMIN|MULMAX|MULMIN|MAXMIN|MINMAX)\b\s+"
                r"(?P<fmt>FP16|FP8ALT|FP8)\b"), "Z_MISMATCH"),
    (re.compile(r"LOAD OUTSIDE FOOTPRINT"), "LOAD_OUTSIDE_FOOTPRINT"),
    (re.compile(r"STORE OUTSIDE Z"), "STORE_OUTSIDE_Z"),
    (re.compile(r"STORE AFTER EVENT"), "STORE_AFTER_EVENT"),
    (re.compile(r"while no job was running"), "ACCESS_NO_JOB"),
    (re.compile(r"must make no (?:TCDM )?request"), "ZERO_JOB_TRAFFIC"),
    (re.compile(r"PROTOCOL (?P<rule>[\w-]+) violated"), "PROTOCOL"),
    (re.compile(r"HANG no progress"), "HANG_NO_PROGRESS"),
    (re.compile(r"HANG over budget"), "HANG_OVER_BUDGET"),
    (re.compile(r"^TIMING\b"), "TIMING"),
    (re.compile(r"^NEVER COMPLETED"), "NEVER_COMPLETED"),
    (re.compile(r"^TRACE\b"), "TRACE"),
    (re.compile(r"^DRAIN\b"), "DRAIN_TIMEOUT"),
    (re.compile(r"^NO JOB CHECKED"), "NO_JOB_CHECKED"),
    (re.compile(r"REG read of (?P<register>\w+)"), "REG"),
]
_LOGGER_PREFIX = re.compile(r"^\s*\[[^\]]*\]\s*")
_HANG_ATTRS = re.compile(r"\b(stream|phase|queued)=([\w./-]+)")


@dataclasses.dataclass
class ErrorEvent:
    """One error of a run: which check fired, when, in which job, and what separates its cause."""

    check: str
    message: str = ""
    cycle: int | None = None
    job: int | None = None
    attrs: dict = dataclasses.field(default_factory=dict)
    waived: str | None = None  # the waiver's reason when the check was demoted

    @classmethod
    def from_dict(cls, d: dict) -> "ErrorEvent":
        return cls(check=str(d.get("check") or "OTHER"), message=str(d.get("message") or ""),
                   cycle=d.get("cycle"), job=d.get("job"), attrs=dict(d.get("attrs") or {}),
                   waived=d.get("waived"))

    @property
    def rank(self) -> tuple:
        return (self.cycle if self.cycle is not None else float("inf"), CHECK_RANK.get(self.check, OTHER_RANK))

    def signature(self) -> str:
        keys = SEPARATING.get(self.check, ())
        parts = [f"{k}={_attr_text(self.attrs[k])}" for k in keys if self.attrs.get(k) not in (None, "", [])]
        return " ".join([self.check] + parts)


def _attr_text(v) -> str:
    if isinstance(v, (list, tuple, set)):
        return "+".join(sorted(str(x) for x in v)) or "-"
    return str(v)


def classify_message(text: str) -> ErrorEvent:
    """An :class:`ErrorEvent` from a logged message (for records without structured errors)."""
    text = _LOGGER_PREFIX.sub("", text or "").strip()
    for pat, check in _PATTERNS:
        m = pat.search(text)
        if m:
            attrs = {k: v for k, v in m.groupdict().items() if v}
            if check == "PROTOCOL":
                check = attrs.pop("rule")
            elif check == "REG":
                check = "REG_" + attrs.pop("register")
            elif check.startswith("HANG"):
                attrs.update(dict(_HANG_ATTRS.findall(text)))
            cyc = re.search(r"\bcycle (\d+)", text)
            job = re.search(r"\bjob #(\d+)", text)
            return ErrorEvent(check, text, int(cyc.group(1)) if cyc else None,
                              int(job.group(1)) if job else None, attrs)
    return ErrorEvent("OTHER", text)


def events_of(record: dict) -> list[ErrorEvent]:
    """Every distinct error of a run record, structured where the environment gave structure."""
    summary = record.get("summary") or {}
    detail = record.get("errors_detail") or summary.get("errors_detail")
    if detail:
        evs = [ErrorEvent.from_dict(d) for d in detail]
    else:
        evs = [classify_message(t) for t in (record.get("first_errors") or []) if t and t.strip()]
    status = record.get("status")
    if not evs and status == "fail" and record.get("message"):
        # the test ended before writing its summary (a sequence gave up): its message names the error
        ev = classify_message(str(record["message"]).split(": ", 1)[-1] if ": job #" in str(record["message"])
                              else str(record["message"]))
        evs = [ev] if ev.check != "OTHER" else [classify_message(str(record["message"]))]
    if status == "timeout":
        evs.append(ErrorEvent("TIMEOUT", "wall-clock limit reached, simulator killed"))
    elif status == "error":
        hint = record.get("crash_hint") or record.get("message") or "simulator crashed"
        evs.insert(0, ErrorEvent("CRASH", hint, attrs={"hint": normalise(hint)[:80]}))
    return evs


def distinct(events: list[ErrorEvent]) -> list[ErrorEvent]:
    """One event per signature, the earliest of each, in cycle order."""
    best: dict[str, ErrorEvent] = {}
    for e in events:
        s = e.signature()
        if s not in best or e.rank < best[s].rank:
            best[s] = e
    return sorted(best.values(), key=lambda e: e.rank)


def root_cause(record: dict) -> ErrorEvent | None:
    """The event that most likely caused the run's failure (waived checks never are)."""
    live = [e for e in events_of(record) if not e.waived]
    return min(live, key=lambda e: e.rank) if live else None


def root_signature(record: dict) -> str:
    """The bucket of a run: its root cause's signature ('' for a pass)."""
    if record.get("status") == "pass":
        return ""
    if record.get("status") == "interrupted":
        return "INTERRUPTED"
    ev = root_cause(record)
    if ev is None:
        return "FAIL with no error recorded"
    return ev.signature()


def scope(records: list[dict], check: str) -> dict:
    """Across runs: the formats and op families of the jobs ``check`` fired for, and of those it did not
    fire for that ran to their end (what a bucket's cause is confined to, for the report)."""
    hit, clean = {"fmt": set(), "family": set()}, {"fmt": set(), "family": set()}
    for r in records:
        summary = r.get("summary") or {}
        detail = summary.get("errors_detail") or r.get("errors_detail") or []
        jobs = {d.get("job") for d in detail if d.get("check") == check and d.get("job") is not None}
        for o in summary.get("job_outcomes") or r.get("job_outcomes") or []:
            side = hit if o.get("job") in jobs else clean if o.get("status") in ("pass", "zero") else None
            if side is not None:
                for k in side:
                    if o.get(k):
                        side[k].add(o[k])
    return {"formats": sorted(hit["fmt"]), "ops": sorted(hit["family"]),
            "formats_clean": sorted(clean["fmt"] - hit["fmt"]), "ops_clean": sorted(clean["family"] - hit["family"])}


#: what the shrinker and the characterisation keep constant: the root cause (no job-mix attributes left)
cause_signature = root_signature


def _parse_sig(sig: str) -> tuple[str, dict]:
    head, *rest = sig.split(" ")
    return head, dict(p.split("=", 1) for p in rest if "=" in p)


def merge_buckets(signatures: list[str]) -> dict[str, str]:
    """Map each signature to its bucket: an unknown ('?') attribute joins the one compatible known bucket."""
    parsed = {s: _parse_sig(s) for s in set(signatures)}
    known = [s for s, (_, a) in parsed.items() if "?" not in a.values()]
    out = {}
    for s, (check, attrs) in parsed.items():
        if "?" not in attrs.values():
            out[s] = s
            continue
        fixed = {k: v for k, v in attrs.items() if v != "?"}
        cands = [k for k in known if parsed[k][0] == check and all(parsed[k][1].get(a) == v for a, v in fixed.items())]
        out[s] = cands[0] if len(cands) == 1 else s
    return out


# --------------------------------------------------------------------------- known issues


class KnownIssuesError(ValueError):
    pass


@dataclasses.dataclass
class KnownIssue:
    """One known bug: a bucket whose signature matches is *known*, not new tonight."""

    id: str
    title: str
    match: str  # a regular expression searched in the bucket's signature
    status: str = "open"
    link: str = ""
    note: str = ""

    def matches(self, signature: str) -> bool:
        return re.search(self.match, signature) is not None


def load_known_issues(path) -> list[KnownIssue]:
    """Read a known-issues YAML file: a list (or ``issues:`` list) of {id, title, match, status, link}."""
    p = pathlib.Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KnownIssuesError(f"known issues {p}: cannot read it ({exc})") from None
    items = data.get("issues") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise KnownIssuesError(f"known issues {p}: expected a list of issues (or a mapping with 'issues:')")
    out, seen = [], set()
    for i, it in enumerate(items):
        where = f"known issues {p}, entry {i + 1}"
        if not isinstance(it, dict) or not it.get("id") or not it.get("match"):
            raise KnownIssuesError(f"{where}: needs at least 'id' and 'match' (a regular expression)")
        if it["id"] in seen:
            raise KnownIssuesError(f"{where}: id {it['id']!r} appears twice")
        seen.add(it["id"])
        try:
            re.compile(str(it["match"]))
        except re.error as exc:
            raise KnownIssuesError(f"{where}: match {it['match']!r} is not a regular expression ({exc})") from None
        status = str(it.get("status", "open"))
        if status not in ("open", "fixed", "wontfix", "convention"):
            raise KnownIssuesError(f"{where}: status {status!r}; use open, fixed, wontfix or convention")
        out.append(KnownIssue(str(it["id"]), str(it.get("title", "")), str(it["match"]), status,
                              str(it.get("link", "")), str(it.get("note", ""))))
    return out


def known_issue_of(signature: str, issues: list[KnownIssue]) -> KnownIssue | None:
    for k in issues:
        if k.matches(signature):
            return k
    return None


# --------------------------------------------------------------------------- waivers


def parse_waivers(items) -> dict[str, str]:
    """``--waive CHECK:REASON`` (repeatable) -> {check: reason}; a waiver without a reason is refused."""
    out = {}
    for item in items or []:
        check, sep, reason = str(item).partition(":")
        check, reason = check.strip().upper(), reason.strip()
        if not sep or not check or not reason:
            raise ValueError(f"--waive {item!r}: expected CHECK:REASON, e.g. --waive "
                             "'TIMING:published RTL is not cycle-matched to the spec model'")
        if check not in CHECK_RANK or check in ("CRASH", "TIMEOUT"):
            known = sorted(c for c in CHECK_RANK if c not in ("CRASH", "TIMEOUT"))
            raise ValueError(f"--waive {item!r}: unknown check {check!r}; checks: {', '.join(known)}")
        out[check] = reason
    return out
