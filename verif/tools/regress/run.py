"""One regression on the flow layer: the planned runs through a launcher, the records kept in
results.json (rewritten atomically after every run, so a stopped regression leaves valid results),
the first failure of the first few buckets rerun with waves, then junit.xml and report.html."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import threading
import time

from redmule_verif.flow.executor import Launcher, LocalLauncher, kill_children, stop_signals
from redmule_verif.flow.records import MAX_MESSAGE, RunSpec
from redmule_verif.flow.results_io import atomic_write, write_json
from redmule_verif.tools.regress.plan import longest_first
from redmule_verif.tools.regress.progress import Progress
from redmule_verif.tools.closure import codecov
from redmule_verif.tools.closure.code_waivers import code_lines
from redmule_verif.tools.regress.report import (RESULTS_SCHEMA, bucket_key, coverage_summary, junit_xml,
                                                print_summary, summarise)
from redmule_verif.tools.regress.report_html import render
from redmule_verif.tools.regress.suite import Suite

MAX_WAVES_CYCLES = 150_000  # longer failures are not rerun with waves automatically (VCD ~20 kB per cycle)


class Regression:
    """One regression: ``run()`` returns the exit status (0 all pass, 1 failures, 130 interrupted)."""

    def __init__(self, suite: Suite, runs: list[RunSpec], sim, out: pathlib.Path, build_info: dict,
                 build_args: list[str], jobs: int = 2, previous: list[dict] = (), rerun_failures: int = 3,
                 waves_sim_factory=None, base_seed: int = 0, stream=None, quiet: bool = False,
                 launcher: Launcher | None = None, known: list = (), fail_on: str = "any",
                 characterise=None, characterise_max: int = 0, resumed: dict | None = None,
                 code_coverage: bool = False, code_waivers=None):
        self.suite = suite
        self.specs = runs
        self.out = pathlib.Path(out).resolve()
        self.build_info = build_info
        self.build_args = list(build_args)
        self.jobs = max(1, int(jobs))
        self.previous = list(previous)
        self.rerun_failures = rerun_failures
        self.waves_sim_factory = waves_sim_factory
        self.base_seed = base_seed
        self.progress = Progress(len(runs), stream, quiet)
        self.launcher = launcher or LocalLauncher(sim, self.jobs, self.build_args, on_interrupt=self._on_interrupt)
        self.records: dict[int, dict] = dict(resumed or {})  # --resume: the final records kept from OUT
        self.progress.done = len(self.records)
        self.progress.failing = sum(r["status"] in ("fail", "error", "timeout") for r in self.records.values())
        self.started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.t0 = time.monotonic()
        self.interrupted = False
        self.coverage = None
        self.reruns: list[dict] = []
        self._lock = threading.Lock()
        self.known = list(known)          # known issues (triage.KnownIssue): their buckets are not new
        self.fail_on = fail_on            # "any": exit 1 on any failure; "new": only on new buckets
        self.characterise = characterise  # callable(bucket) -> dict, for the first failure of new buckets
        self.characterise_max = characterise_max
        self.characterised: dict[str, dict] = {}
        self.code_coverage = code_coverage  # the build has Verilator coverage: sign off code coverage at the end
        self.code_waivers = code_waivers
        self.code = None

    # -- records and files
    def _on_interrupt(self, running: int) -> None:
        self.progress.line(f"interrupted: stopping, killing {running} running simulator(s)")

    def _finished(self, spec: RunSpec, rec: dict) -> None:
        self.records[spec.index] = rec
        if rec["status"] != "skipped":
            self.progress.finished(rec)
        self.write()

    def results(self) -> dict:
        runs = [self.records[i] for i in sorted(self.records)]
        summ = summarise(runs, len(self.specs), time.monotonic() - self.t0, self.previous, self.known)
        for b in summ["buckets"]:
            if b["signature"] in self.characterised:
                b["characterised"] = self.characterised[b["signature"]]
        summ["interrupted_regression"] = self.interrupted
        if self.coverage is not None:
            summ["coverage"] = self.coverage
        if self.code is not None:
            summ["code_coverage"] = self.code
        if self.reruns:
            summ["reruns"] = self.reruns
        new = {r["dir"] for b in summ["buckets"] if b["new"] for r in runs
               if r["status"] in ("fail", "error", "timeout") and (r["test"], r["seed"]) in
               {(x["test"], x["seed"]) for x in b["runs"]}}
        for r in runs:
            r["new"] = r["dir"] in new
        return {
            "schema": RESULTS_SCHEMA, "suite": self.suite.name,
            "suite_file": str(self.suite.path) if self.suite.path else None,
            "started": self.started, "base_seed": self.base_seed, "jobs": self.jobs,
            "build": self.build_info, "previous": [p.get("_path") for p in self.previous],
            "runs": runs, "summary": summ,
        }

    def write(self, final: bool = False) -> dict:
        with self._lock:
            res = self.results()
            write_json(self.out / "results.json", res)
            atomic_write(self.out / "junit.xml", junit_xml(res))
            if final:
                atomic_write(self.out / "report.html", render(res, self.previous))
            return res

    # -- waves reruns
    def _rerun_picks(self) -> list[int]:
        picked, seen = [], set()
        for i in sorted(self.records):
            r = self.records[i]
            if r["status"] in ("fail", "error") and bucket_key(r) not in seen:
                seen.add(bucket_key(r))
                if int(r.get("sim_cycles") or 0) > MAX_WAVES_CYCLES:  # a VCD of ~20 kB a cycle
                    r["rerun"] = {"skipped": f"{r['sim_cycles']} cycles: too long for a waves rerun; "
                                             f"use the repro line with --waves"}
                    continue
                picked.append(i)
            if len(picked) >= self.rerun_failures:
                break
        return picked

    def _rerun_with_waves(self) -> None:
        if self.rerun_failures <= 0 or self.waves_sim_factory is None:
            return
        picked = self._rerun_picks()
        if not picked:
            return
        self.progress.line(f"rerunning {len(picked)} failure(s) with waves (waves build of the same DUT) ...")
        try:
            wsim = self.waves_sim_factory()
        except Exception as exc:  # noqa: BLE001
            self.reruns.append({"error": f"waves build failed: {type(exc).__name__}: {exc}"[:MAX_MESSAGE]})
            self.progress.line(f"waves build failed: {exc}")
            return
        by_index = {s.index: s for s in self.specs}
        specs = [dataclasses.replace(by_index[i], dir=by_index[i].dir / "waves", timeout=3 * by_index[i].timeout,
                                     waves=True) for i in picked]
        launcher = LocalLauncher(wsim, 1, self.build_args, runs_per_process=1)  # waves: one process per run
        launcher.launch(specs, self._rerun_done)
        self.interrupted = self.interrupted or launcher.interrupted

    def _rerun_done(self, spec: RunSpec, wrec: dict) -> None:
        if wrec["status"] == "skipped":
            return
        r = self.records[spec.index]
        same = wrec["signature"] == r["signature"]
        r["waves"] = wrec["waves"] if wrec["waves"] and pathlib.Path(wrec["waves"]).exists() else None
        r["rerun"] = {"status": wrec["status"], "signature": wrec["signature"], "same_signature": same,
                      "log": wrec["log"], "waves": r["waves"]}
        self.reruns.append({"test": spec.test, "seed": spec.seed, **r["rerun"]})
        self.progress.line(f"  waves: {spec.test} seed={spec.seed} -> {wrec['status']}"
                           f"{'' if same else ' (DIFFERENT signature: ' + wrec['signature'] + ')'}"
                           f"  {r['waves']}")
        self.write()

    # -- the whole regression
    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        with stop_signals():
            self.write()
            try:
                todo = [s for s in longest_first(self.specs, self.previous) if s.index not in self.records]
                self.interrupted = self.launcher.launch(todo, self._finished, self.progress.scheduler)
                if not self.interrupted:
                    self._rerun_with_waves()
                if not self.interrupted:
                    self._characterise()
            except KeyboardInterrupt:
                self.interrupted = True
                self.launcher.stop.set()
                kill_children()
            self.progress.close()
            try:
                self.coverage = coverage_summary(self.records[i]["dir"] for i in sorted(self.records))
            except KeyboardInterrupt:
                self.coverage = None
            if self.code_coverage:
                self.code = self._code_coverage()
        res = self.write(final=True)
        if not self.progress.quiet:
            print_summary(res, self.out, self.progress.stream, self.interrupted)
            if self.code is not None:
                print("\n".join(code_lines(self.code)), file=self.progress.stream, flush=True)
        if self.interrupted:
            return 130
        if not res["runs"]:
            return 1
        if self.fail_on == "new":
            return 1 if res["summary"]["new_buckets"] else 0
        return 0 if all(r["status"] == "pass" for r in res["runs"]) else 1

    def _code_coverage(self) -> dict:
        """Merge the runs' coverage.dat (one a batch worker process) and sign off against the waivers; a
        problem with the coverage data is recorded, never a lost regression."""
        try:
            return codecov.code_coverage(self.out, waivers=self.code_waivers) or {
                "error": f"no coverage.dat under {self.out}: the build has coverage, but no simulator wrote it"}
        except Exception as exc:  # noqa: BLE001 - the regression's results must still be written
            return {"error": f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]}

    # -- characterisation of new buckets
    def _characterise(self) -> None:
        if self.characterise is None or self.characterise_max <= 0:
            return
        todo = [b for b in self.results()["summary"]["buckets"] if b["new"]][: self.characterise_max]
        for b in todo:
            self.progress.line(f"characterising bucket {b['signature']} (first failure {b['first']['test']} "
                               f"seed {b['first']['seed']}) ...")
            try:
                self.characterised[b["signature"]] = self.characterise(b)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - a characterisation problem never loses the results
                self.characterised[b["signature"]] = {"error": f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]}
            self.progress.line(f"  -> {self.characterised[b['signature']].get('line') or self.characterised[b['signature']].get('error')}")
            self.write()
