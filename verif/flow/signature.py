"""Failure signatures: the same bug gives the same signature, whatever the seed.

A regression groups its failing runs into buckets by :func:`signature`, and
marks a bucket *new* when no earlier regression had that signature. The
signature is the first error message the environment logged (the root cause
more often than the errors it triggers), reduced to its headline (first line,
up to the first ``;``) with everything that changes from seed to seed replaced
by placeholders:

============================  ==============================================
what                          becomes
============================  ==============================================
``(seed 123)``                removed
logger prefix ``[uvm...]``    removed (it carries an object id)
``0x1000_54d8``, ``0xc6``     ``<hex>``
``/tmp/x/sim.log``            ``<path>``
``M=47 N=17 K=20``            ``M= N= K=`` (dimensions are not the bug)
``123``, ``-2``, ``12.5 s``   ``<n>``
============================  ==============================================

Identifiers that carry digits stay as they are (``FP16``, ``FP8ALT``,
``RQ-3``, ``evt_o``), and so do the GEMM-op and the format of a Z mismatch:
one arithmetic bug in FP8 is worth a bucket of its own. For example::

    Z MISMATCH in job #1 id=1 core=7 ADDMIN FP8ALT M=47 N=17 K=20 X@0x100054d8 ... (seed 1): 10 of 940 ...
    -> Z MISMATCH in job #<n> id=<n> core=<n> ADDMIN FP8ALT M= N= K= X@<hex> W@<hex> Z@<hex>: <n> of <n> ...

A run that did not fail gets a signature naming its status: ``TIMEOUT ...``,
``ERROR ...`` (a crash: the last error line of the simulator log when there
is one), ``INTERRUPTED``; a passing run has the empty signature.
"""

from __future__ import annotations

import pathlib
import re

MAX_LEN = 240

_PREFIX_TEST = re.compile(r"^[A-Za-z_][\w.]*: (?=\d+ error\(s\) logged)")
_ERRORS_LOGGED = re.compile(r"^\d+ error\(s\) logged; first: ")
_LOGGER = re.compile(r"^\s*\[[^\]]*\]\s*")
_SEED = re.compile(r"\s*\(?\b(?:seed|RANDOM_SEED|COCOTB_RANDOM_SEED)\s*[=:]?\s*\d+\)?", re.I)
_PATH = re.compile(r"(?<![\w.>])(?:~|\.{1,2})?/(?:[\w.+\-]+/?)+")
_HEX = re.compile(r"(?<![\w])[-+]?0[xX][0-9a-fA-F_]+\b|\b[0-9]+'[hHbBdD][0-9a-fA-F_xXzZ]+\b")
_DIMS = re.compile(r"\b([MNK])=\d+")
_NUM = re.compile(r"(?<![\w.\-])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:ns|us|ms|ps|s|%)?(?![\w])")
_SPACES = re.compile(r"\s+")
_COCOTB_PREFIX = re.compile(r"^\s*(?:[-\d.]+\s*[a-z]*s)\s+(?:ERROR|CRITICAL|WARNING|INFO|DEBUG)\s+\S+\s+"
                            r"(?:\S+:\d+\s+in\s+\S+\s+)?")
_CRASH_LINE = re.compile(r"(Fatal|FATAL|Error|ERROR|error:|Exception|Segmentation|Assertion|Aborted|core dumped|"
                         r"%Error|%Fatal|Traceback)")


def normalise(text: str) -> str:
    """The seed-independent headline of one message."""
    text = (text or "").strip()
    text = _PREFIX_TEST.sub("", text)
    text = _ERRORS_LOGGED.sub("", text)
    text = _LOGGER.sub("", text)
    text = text.splitlines()[0] if text else ""
    text = text.split(" | ")[0]           # a joined list of errors: the first one
    text = text.split("; ")[0]            # headline; the detail after ';' varies (where a hang stopped ...)
    text = _SEED.sub("", text)
    text = _HEX.sub("<hex>", text)
    text = _PATH.sub("<path>", text)
    text = _DIMS.sub(r"\1=", text)
    text = _NUM.sub("<n>", text)
    text = _SPACES.sub(" ", text).strip().rstrip(":,;")
    if len(text) > MAX_LEN:
        text = text[:MAX_LEN - 3] + "..."
    return text


def crash_hint(log_path) -> str:
    """The last line of a simulator log that looks like an error (for crashes), or ''."""
    try:
        p = pathlib.Path(log_path)
        with open(p, "rb") as fh:
            fh.seek(max(0, p.stat().st_size - 64 * 1024))
            lines = fh.read().decode(errors="replace").splitlines()
    except (OSError, TypeError, ValueError):
        return ""
    for line in reversed(lines[-400:]):
        if _CRASH_LINE.search(line):
            return _COCOTB_PREFIX.sub("", line).strip()
    return ""


def signature(record: dict) -> str:
    """The bucket of a run record (``runner.run_test`` / regression record); '' for a pass."""
    status = record.get("status")
    if status == "pass":
        return ""
    if status == "timeout":
        return "TIMEOUT wall-clock limit reached, simulator killed"
    if status == "interrupted":
        return "INTERRUPTED regression stopped before the run finished"
    if status == "skipped":
        return "SKIPPED not started"
    errors = [e for e in (record.get("first_errors") or []) if e and e.strip()]
    if status == "error":
        hint = record.get("crash_hint")
        if hint is None and record.get("log"):
            hint = crash_hint(record["log"])
        base = normalise(record.get("message") or "simulator crashed")
        return f"ERROR {normalise(hint)}" if hint else f"ERROR {base}"
    text = errors[0] if errors else (record.get("message") or "failed with no message")
    sig = normalise(text)
    return sig or "FAIL with no message"
