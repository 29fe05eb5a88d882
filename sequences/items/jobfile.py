"""Job-list files: YAML or JSON lists of job mappings (what ``directed`` replays and failing jobs print as)."""

from __future__ import annotations

import json
import pathlib

import yaml

from .item import GemmJob

__all__ = ["JobList", "jobs_to_yaml", "jobs_from_yaml", "dump_jobs", "load_jobs"]

JobList = list[GemmJob]


def _file_dict(job: GemmJob) -> dict:
    """A job as written to a job file: compact, base addresses as hex strings."""
    d = job.to_dict(compact=True)
    for k in ("x_base", "w_base", "z_base"):
        d[k] = f"{d[k]:#010x}"
    return d


def jobs_to_yaml(jobs: list[GemmJob]) -> str:
    """A job list as YAML text (what a failing job is printed as; load with jobs_from_yaml).

    One block mapping per job; grant profiles and control events on one line each.
    """
    class _Flow(dict):
        pass

    class _Dumper(yaml.SafeDumper):
        pass

    _Dumper.add_representer(_Flow, lambda dumper, d: dumper.represent_mapping("tag:yaml.org,2002:map", d, flow_style=True))
    docs = []
    for j in jobs:
        d = _file_dict(j)
        for k, v in d.items():
            if isinstance(v, dict):
                d[k] = _Flow(v)
            elif k == "control":
                d[k] = [_Flow(e) for e in v]
        docs.append(d)
    return yaml.dump(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 30)


def _jobs_from_obj(obj, where: str) -> list[GemmJob]:
    if isinstance(obj, dict) and "jobs" in obj:
        extra = [k for k in obj if k not in ("jobs", "version", "comment")]
        if extra:
            raise ValueError(f"{where}: unknown top-level key(s) {extra}; expected 'jobs' (and 'version', 'comment')")
        obj = obj["jobs"]
    if not isinstance(obj, list):
        raise ValueError(f"{where}: expected a list of jobs (or a mapping with 'jobs'), got {type(obj).__name__}")
    out = []
    for i, d in enumerate(obj):
        try:
            out.append(GemmJob.from_dict(d))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{where}: job {i}: {e}") from None
    return out


def jobs_from_yaml(text: str, where: str = "<yaml>") -> list[GemmJob]:
    return _jobs_from_obj(yaml.safe_load(text), where)


def dump_jobs(jobs: list[GemmJob], path) -> pathlib.Path:
    """Write a job list: JSON if the name ends in .json, else YAML."""
    path = pathlib.Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps([_file_dict(j) for j in jobs], indent=1) + "\n"
    else:
        text = jobs_to_yaml(jobs)
    path.write_text(text)
    return path


def load_jobs(path) -> list[GemmJob]:
    """Read a job list written by dump_jobs (or by hand): a YAML/JSON list of job mappings."""
    path = pathlib.Path(path)
    text = path.read_text()
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON: {e}") from None
        return _jobs_from_obj(obj, str(path))
    return jobs_from_yaml(text, str(path))
