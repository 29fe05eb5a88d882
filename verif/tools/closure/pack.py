"""Packing closure targets: several small targets generated outside simulation and concatenated into one
directed job list (serial groups are independent), so that the start-up cost of a simulation is paid once
for many small targets."""

from __future__ import annotations

from redmule_verif.sequences.library import sequence_cost
from redmule_verif.tools.closure.targets import is_sequence, job_file, run_key, subst, target_jobs


def packed_specs(loop, plan: list[tuple[str, dict]], slots: int) -> list[dict]:
    """Up to ``slots`` run specs from ``plan`` for ``loop`` (a ClosureLoop), each at most ``loop.pack_cycles``
    estimated cycles and ``loop.pack_max`` targets."""
    specs: list[dict] = []
    packs: list[dict] = []
    cur = None
    for test, knobs in plan:
        seed = loop.next_seed()
        if not is_sequence(test):  # its jobs are made inside simulation: a run of its own
            if len(packs) + (cur is not None) >= slots:
                break
            packs.append({"run": (test, subst(dict(knobs))), "targets": [{"test": test, "knobs": knobs,
                                                                            "seed": seed}],
                          "seed": seed, "cost": 0, "notes": [], "env": {}})
            continue
        try:
            jobs, tplan, note = target_jobs(test, knobs, seed, loop.eng, loop.mem)
        except (ValueError, TypeError) as e:
            loop.log(f"  [{loop.mode}] skip {test} {knobs}: {e}")
            continue
        if not jobs:
            continue
        cost = sequence_cost(jobs, loop.eng)
        env = tplan["env_knobs"]
        if cur is not None and (cur["cost"] + cost > loop.pack_cycles or cur["env"] != env
                                or len(cur["targets"]) >= loop.pack_max):
            packs.append(cur)
            cur = None
            if len(packs) >= slots:
                break
        if cur is None:
            cur = {"jobs": [], "cost": 0, "env": env, "targets": [], "seed": seed, "notes": []}
        if cur["jobs"] and jobs[0].launch != "serial":
            jobs = [jobs[0].replace(launch="serial")] + jobs[1:]
        cur["jobs"] += jobs
        cur["cost"] += cost
        cur["targets"].append({"test": test, "knobs": knobs, "seed": seed})
        if note:
            cur["notes"].append(note)
    if cur is not None and len(packs) < slots:
        packs.append(cur)
    for pk in packs:
        loop.n += 1
        for tg in pk["targets"]:
            k = run_key(tg["test"], tg["knobs"])
            loop.tried[k] = loop.tried.get(k, 0) + 1
        first = pk["targets"][0]
        if "run" in pk:
            test, knobs = pk["run"]
            specs.append({"test": test, "seed": pk["seed"], "knobs": knobs, "mode": loop.mode,
                          "target": {"test": first["test"], "knobs": first["knobs"]}, "targets": pk["targets"],
                          "note": "", "index": loop.n})
            continue
        path = job_file(pk["jobs"], loop.workdir / "jobs", f"pack_{loop.n:03d}",
                         [pk["targets"], loop.n])
        specs.append({"test": "directed", "seed": pk["seed"], "knobs": {**pk["env"], "file": str(path)},
                      "mode": loop.mode, "target": {"test": first["test"], "knobs": first["knobs"]},
                      "targets": pk["targets"], "note": "; ".join(pk["notes"]), "index": loop.n,
                      "est_cycles": pk["cost"]})
    return specs

