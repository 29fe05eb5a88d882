"""Serialisers of one job: plain dict (JSON/YAML-safe), JSON and YAML text, hex matrices, one-line text.

The dict form is what job files hold (``jobfile``); explicit matrices are
row-major hex strings, big-endian per element. ``job_to_dict`` and
``job_from_dict`` work on any GemmJob-like class, so this module does not
import the item.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import yaml

from .checks import check_keys, int_or_str
from .profiles import ControlEvent, GrantProfile, default_grant

__all__ = ["REQUIRED", "arr_to_hex", "hex_to_arr", "job_to_dict", "job_from_dict", "job_to_json", "job_to_yaml",
           "format_job"]

#: the fields a job mapping must name
REQUIRED = ("op", "fmt", "m", "n", "k", "x_base", "w_base", "z_base")


def arr_to_hex(a: np.ndarray) -> str:
    """Row-major hex, big-endian per element, one space-separated word per row."""
    digits = 2 * a.dtype.itemsize
    flat = a.astype(a.dtype.newbyteorder(">"), copy=False).tobytes().hex()
    if a.ndim != 2 or a.shape[1] == 0 or a.shape[0] == 0:
        return flat
    w = a.shape[1] * digits
    return " ".join(flat[i : i + w] for i in range(0, len(flat), w))


def hex_to_arr(s: str, shape, dtype: np.dtype, what: str) -> np.ndarray:
    if not isinstance(s, str):
        raise ValueError(f"GemmJob.{what} must be a hex string of raw bits, got {type(s).__name__}")
    h = "".join(s.split())
    digits = 2 * dtype.itemsize
    need = shape[0] * shape[1] * digits
    if len(h) != need:
        raise ValueError(
            f"GemmJob.{what}: {len(h)} hex digits, expected {need} "
            f"({shape[0]} x {shape[1]} elements of {digits} hex digits)"
        )
    try:
        raw = bytes.fromhex(h)
    except ValueError:
        raise ValueError(f"GemmJob.{what}: not a hex string") from None
    return np.frombuffer(raw, dtype=dtype.newbyteorder(">")).astype(dtype).reshape(shape)



def job_to_dict(job, compact: bool = False) -> dict:
    """Plain dict (JSON/YAML-safe). compact=True leaves out fields at their defaults."""
    d: dict[str, Any] = {}
    for f in dataclasses.fields(job):
        v = getattr(job, f.name)
        if f.name == "grant":
            v = v.to_dict()
            if compact and v == default_grant().to_dict():
                continue
        elif f.name == "control":
            v = [ev.to_dict() for ev in v]
            if compact and not v:
                continue
        elif f.name in ("x", "w", "y"):
            if v is None:
                continue
            v = arr_to_hex(v)
        elif f.name == "class_weights":
            if v is None and compact:
                continue
            v = None if v is None else dict(v)
        elif compact and f.name not in REQUIRED and f.default is not dataclasses.MISSING and v == f.default:
            continue
        d[f.name] = v
    return d


def job_from_dict(cls, d):
    """An instance of the job class ``cls`` from a mapping (ints may be strings such as '0x1000_0000')."""
    names = [f.name for f in dataclasses.fields(cls)]
    check_keys("GemmJob", d, names, REQUIRED)
    kw = {}
    for k, v in d.items():
        if k in ("m", "n", "k", "x_base", "w_base", "z_base", "core", "data_seed"):
            v = int_or_str(v)
        elif k == "grant":
            v = GrantProfile.from_dict(v)
        elif k == "control":
            if not isinstance(v, list):
                raise ValueError(f"GemmJob.control must be a list, got {type(v).__name__}")
            v = [ControlEvent.from_dict(e) for e in v]
        elif k == "class_weights" and v is not None and not isinstance(v, dict):
            raise ValueError(f"GemmJob.class_weights must be a mapping or null, got {v!r}")
        kw[k] = v
    # explicit data is parsed in validate() once op/fmt/shape are known
    return cls(**kw)


def job_to_json(job, **kw) -> str:
    return json.dumps(job_to_dict(job), **kw)


def job_to_yaml(job) -> str:
    return yaml.safe_dump(job_to_dict(job), sort_keys=False, default_flow_style=None, width=1 << 30)


def format_job(job) -> str:
    """Compact one-line summary."""
    parts = []
    if job.name:
        parts.append(job.name + ":")
    parts.append(f"{job.op} {job.fmt} M={job.m} N={job.n} K={job.k}")
    parts.append(f"X@{job.x_base:#x} W@{job.w_base:#x} Z@{job.z_base:#x}")
    parts.append(f"core={job.core} data={job.data}/{job.data_seed}")
    if job.class_weights is not None:
        parts.append("cw=" + ",".join(f"{c}:{w:g}" for c, w in job.class_weights.items()))
    parts.append(f"grant={job.grant.summary()}")
    if job.launch != "serial":
        parts.append(f"launch={job.launch}")
    if job.control:
        parts.append("ctl=[" + ",".join(e.summary() for e in job.control) + "]")
    if any(a is not None for a in (job.x, job.w, job.y)):
        parts.append("explicit=" + "".join(n for n in "xwy" if getattr(job, n) is not None))
    return " ".join(parts)
