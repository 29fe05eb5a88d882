"""Bucket quality on the mutant catalogue: do distinct bugs land in distinct buckets?

``python -m redmule_verif.tools.qualify.buckets --mutants A B C --suite smoke --seeds 2`` builds each
mutant (through the build cache, -O0 as qualification does), runs the suite on it, and buckets every
failing run by its root cause (:mod:`redmule_verif.flow.triage`). It prints, and writes as JSON:

* purity: for each mutant, the share of its failing runs in its most common bucket (repeats of one
  bug should land in one bucket);
* separation: how many mutants have a majority bucket no other mutant has (distinct bugs should land
  in distinct buckets), and the pairs that share one.
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys
import time

from redmule_verif.flow import triage
from redmule_verif.flow.executor import LocalLauncher
from redmule_verif.sim.dut import DutOptions
from redmule_verif.sim.paths import out_dir
from redmule_verif.tools.qualify import mutants as mu
from redmule_verif.tools.regress.plan import plan
from redmule_verif.tools.regress.suite import load_suite


def quality(by_mutant: dict[str, list[str]]) -> dict:
    """Purity and separation of ``{mutant: [root-cause signature of each failing run]}``."""
    majority, purity = {}, {}
    for m, sigs in by_mutant.items():
        if sigs:
            sig, n = collections.Counter(sigs).most_common(1)[0]
            majority[m], purity[m] = sig, round(n / len(sigs), 3)
    owners = collections.defaultdict(list)
    for m, sig in majority.items():
        owners[sig].append(m)
    distinct = [m for m, sig in majority.items() if len(owners[sig]) == 1]
    return {"mutants": len(by_mutant), "killed": len(majority), "distinct": len(distinct),
            "shared": {sig: ms for sig, ms in owners.items() if len(ms) > 1},
            "purity": purity, "mean_purity": round(sum(purity.values()) / len(purity), 3) if purity else None,
            "majority": majority}


def measure(ids, suite: str, seeds: int, out: pathlib.Path, jobs: int = 2, log=print) -> dict:
    cat = mu.load_catalogue()
    dut = DutOptions(cxx_opt="O0")
    sel = cat.select(ids)
    eng, mem = dut.engine(), dut.memory()
    s = load_suite(suite, eng=eng, mem=mem)
    by_mutant, detail = {}, {}
    for m in sel:
        t0 = time.monotonic()
        flist = mu.apply_mutant(m, dest=out / m.id / "rtl")
        sim = dut.replace(rtl=(str(flist),)).build()
        runs = plan(s, out / m.id / "runs", 1, seeds=seeds)
        recs = LocalLauncher(sim, jobs, dut.cli_args()).run_all(runs)
        sigs = [triage.root_signature(r) for r in recs if r["status"] in ("fail", "error", "timeout")]
        by_mutant[m.id] = sigs
        detail[m.id] = {"runs": len(recs), "failing": len(sigs), "buckets": dict(collections.Counter(sigs)),
                        "seconds": round(time.monotonic() - t0, 1)}
        log(f"{m.id}: {len(sigs)}/{len(recs)} failing runs, buckets {dict(collections.Counter(sigs))}")
    res = {"suite": suite, "seeds": seeds, "quality": quality(by_mutant), "mutants": detail}
    out.mkdir(parents=True, exist_ok=True)
    (out / "bucket_quality.json").write_text(json.dumps(res, indent=1))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.tools.qualify.buckets", description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", nargs="+", required=True)
    ap.add_argument("--suite", default="smoke")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(out_dir("bucket_quality")))
    args = ap.parse_args(argv)
    res = measure(args.mutants, args.suite, args.seeds, pathlib.Path(args.out).resolve(), args.jobs)
    q = res["quality"]
    print(f"{q['killed']}/{q['mutants']} mutants killed; {q['distinct']} in a bucket of their own; "
          f"mean purity {q['mean_purity']}; shared: {q['shared']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
