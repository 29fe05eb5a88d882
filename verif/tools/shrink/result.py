"""The outcome of a shrink: the minimal failing job list, the attempts, the text report and the directed
test written from it."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shlex

from redmule_verif.sequences.items.job import format_job, jobs_to_yaml, load_jobs
from redmule_verif.sim.paths import DIRECTED_DIR
from redmule_verif.tools.shrink.surgery import job_size


@dataclasses.dataclass
class Attempt:
    """One candidate run."""

    n: int
    step: str
    desc: str
    status: str
    signature: str
    kept: bool
    wall_s: float
    dir: str

    def line(self) -> str:
        verdict = "KEPT" if self.kept else ("passes" if self.status == "pass" else
                                            f"other failure: {self.signature[:70]}")
        return f"  {self.n:>3}  {self.step:<10} {self.desc:<58} -> {verdict}"


@dataclasses.dataclass
class ShrinkResult:
    test: str
    seed: int
    knobs: dict
    signature: str
    reproduced: bool              # the original run failed
    original_jobs: list
    culprit_index: int | None     # index of the failing job in the original list
    jobs: list                    # the minimal failing job list
    attempts: list
    runs: int
    budget: int
    path: pathlib.Path | None = None
    yaml: str = ""
    repro: str = ""
    first_record: dict | None = None
    last_record: dict | None = None
    note: str = ""

    @property
    def shrunk(self) -> bool:
        return self.reproduced and job_size(self.jobs) < job_size(self.original_jobs)

    def to_dict(self) -> dict:
        return {
            "test": self.test, "seed": self.seed, "knobs": self.knobs, "signature": self.signature,
            "reproduced": self.reproduced, "culprit_index": self.culprit_index, "runs": self.runs,
            "budget": self.budget, "path": str(self.path) if self.path else None, "repro": self.repro,
            "note": self.note,
            "before": [format_job(j) for j in self.original_jobs],
            "after": [format_job(j) for j in self.jobs],
            "attempts": [dataclasses.asdict(a) for a in self.attempts],
        }

    def report(self) -> str:
        lines = [f"shrink {self.test} seed {self.seed}: signature {self.signature!r}"]
        if not self.reproduced:
            lines.append(f"  the run does not fail ({self.first_record.get('status') if self.first_record else '?'}): "
                         "nothing to shrink")
            return "\n".join(lines)
        nj, vol = job_size(self.original_jobs)
        lines.append(f"  before: {nj} job(s), sum M*N*K = {vol}"
                     + (f"; failing job #{self.culprit_index}: {format_job(self.original_jobs[self.culprit_index])}"
                        if self.culprit_index is not None and self.culprit_index < nj else ""))
        nj2, vol2 = job_size(self.jobs)
        lines.append(f"  after:  {nj2} job(s), sum M*N*K = {vol2}")
        for j in self.jobs:
            lines.append(f"          {format_job(j)}")
        lines.append(f"  {self.runs} of {self.budget} runs used; tried:")
        lines += [a.line() for a in self.attempts]
        if self.note:
            lines.append("  note: " + self.note)
        if self.path:
            lines.append(f"directed test written to {self.path}:")
            lines.append(self.yaml.rstrip())
            lines.append("repro:")
            lines.append("  " + self.repro)
        return "\n".join(lines)


def write_directed(result: ShrinkResult, path=None, build_args: list[str] | None = None) -> ShrinkResult:
    """Write the shrunk job list as a directed test (YAML with a header) and fill in path/yaml/repro."""
    if path is None:
        path = DIRECTED_DIR / f"shrunk_{result.test}_s{result.seed}.yaml"
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i, j in enumerate(result.jobs):
        name = f"shrunk_{result.test}_s{result.seed}" + (f"_{i}" if len(result.jobs) > 1 else "")
        jobs.append(j.replace(name=name))
    result.jobs = jobs
    nj, vol = job_size(result.original_jobs)
    header = [
        f"# Directed test from `redmule-verif shrink {result.test} --seed {result.seed}"
        + (f" --knobs '{json.dumps(result.knobs, sort_keys=True)}'" if result.knobs else "") + "`",
        f"# failure signature: {result.signature}",
        f"# shrunk from {nj} job(s) (sum M*N*K {vol}) in {result.runs} runs"
        + (f"; failing job #{result.culprit_index}: {format_job(result.original_jobs[result.culprit_index])}"
           if result.culprit_index is not None and result.culprit_index < nj else ""),
        "# Replay: redmule-verif run directed --seed S --knobs '{\"file\": \"<this file>\"}'",
    ]
    body = jobs_to_yaml(jobs)
    text = "\n".join(header) + "\n" + body
    path.write_text(text)
    load_jobs(path)  # must round-trip
    result.path = path.resolve()
    result.yaml = text
    try:
        rel = result.path.relative_to(DIRECTED_DIR)
        ref = str(rel.with_suffix("")) if rel.suffix == ".yaml" else str(rel)
    except ValueError:
        ref = str(result.path)
    cmd = ["redmule-verif", "run", "directed", "--seed", str(result.seed), "--knobs", json.dumps({"file": ref})]
    cmd += list(build_args or [])
    result.repro = " ".join(shlex.quote(c) for c in cmd)
    return result
