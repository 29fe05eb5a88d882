"""What a failing run says about itself: its failure signature (the flow's), the job and the output
element its first error names."""

from __future__ import annotations

import re

from redmule_verif.flow.records import first_error
from redmule_verif.flow.signature import signature

DESC_RE = re.compile(
    r"job #(?P<index>\d+) id=(?P<id>-?\d+) core=(?P<core>\d+) (?P<op>\w+) (?P<fmt>\w+) "
    r"M=(?P<m>\d+) N=(?P<n>\d+) K=(?P<k>\d+)(?: X@0x[0-9a-fA-F]+ W@0x[0-9a-fA-F]+ Z@0x[0-9a-fA-F]+)?")
_JOB_RE = re.compile(r"job #(\d+)")
_ELEM_RE = re.compile(r"z\[(\d+)\]\[(\d+)\]")
_LOGGER_RE = re.compile(r"^\s*\[[^\]]*\]\s*")
_FIRST_RE = re.compile(r"^\s*\w+: \d+ error\(s\) logged; first: ")


def error_text(record: dict) -> str:
    """The first error the run logged (full text, logger prefix removed), or its message."""
    return _LOGGER_RE.sub("", _FIRST_RE.sub("", first_error(record, limit=None))).strip()


def failure_signature(record: dict) -> str:
    """The run's failure signature (:func:`redmule_verif.flow.signature.signature`); "" for a pass."""
    return "" if record.get("status") == "pass" else str(signature(record) or "")


def failing_job_index(record: dict) -> int | None:
    """Index (in the run's job list) of the job the first error names ("job #i"), else None."""
    m = _JOB_RE.search(error_text(record))
    if m:
        return int(m.group(1))
    for e in record.get("first_errors") or []:
        m = _JOB_RE.search(e)
        if m:
            return int(m.group(1))
    return None


def failing_element(record: dict) -> tuple[int, int] | None:
    """(m, k) of the first mismatching output element the scoreboard listed, else None."""
    m = _ELEM_RE.search(error_text(record))
    return (int(m.group(1)), int(m.group(2))) if m else None
