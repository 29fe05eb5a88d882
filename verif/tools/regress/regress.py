"""Regressions: every test x seed of a suite, in parallel, nothing lost.

A *suite* is data (``sequences/suites/NAME.yaml``)::

    description: what it is for          # optional
    seed: 1                              # optional base seed (default: --seed, else today's date)
    timeout: 300                         # optional default wall-clock limit per run (s)
    tests:                               # or the list alone at the top level
      - test: random_jobs                # a test of redmule_verif.env.testcases (a library sequence)
        seeds: 4                         # N seeds derived from the base seed, or a list of seeds
        knobs: {count: 6}                # optional, passed to the sequence
        timeout: 120                     # optional, this entry's limit
        env: {REDMULE_HANG_CYCLES: 5000} # optional, extra environment of the run

:func:`run_regression` builds the DUT once (a cache hit when nothing
changed), runs every test x seed in its own directory ``OUT/runs/TEST/SEED``
with ``jobs`` worker threads (each run is its own simulator process) and a
wall-clock limit, and records every outcome (pass / fail / error / timeout /
interrupted, with the failure's signature and a one-line repro command).
``results.json`` is rewritten atomically after every run, so an interrupted
regression (Ctrl-C, SIGTERM) leaves valid results; ``junit.xml`` and
``report.html`` follow at the end. The first failure of each of the first few
failure buckets is rerun with waves on a waves build of the same DUT.

Seeds are ``seeding.derive(base, "regress/TEST/i")`` (31 bits), so a suite run
is reproducible from its base seed.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import json
import os
import pathlib
import signal
import sys
import tempfile
import threading
import time
import traceback
import xml.etree.ElementTree as ET

from redmule_verif.seeding import derive
from redmule_verif.flow.signature import crash_hint, signature

from redmule_verif.sim.paths import SUITES_DIR
SUITE_KEYS = {"description", "seed", "timeout", "tests", "env"}
ENTRY_KEYS = {"test", "seeds", "knobs", "timeout", "env"}
DEFAULT_TIMEOUT = 600.0
MAX_MESSAGE = 4000
MAX_WAVES_CYCLES = 150_000  # longer failures are not rerun with waves automatically (VCD ~20 kB per cycle)
RESULTS_SCHEMA = "redmule-verif/regress-results/1"


class SuiteError(ValueError):
    """A suite file is malformed: the message names the file, the entry and the problem."""


# --------------------------------------------------------------------------- suites


@dataclasses.dataclass
class SuiteEntry:
    test: str
    seeds: int | list
    knobs: dict
    timeout: float | None
    env: dict


@dataclasses.dataclass
class Suite:
    name: str
    path: pathlib.Path
    description: str
    seed: int | None
    timeout: float | None
    entries: list


def suites_dir() -> pathlib.Path:
    try:
        import redmule_verif.sequences as seqpkg

        return pathlib.Path(seqpkg.__file__).resolve().parent / "suites"
    except ImportError:  # pragma: no cover
        return SUITES_DIR


def available_suites() -> dict[str, pathlib.Path]:
    d = suites_dir()
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def known_tests() -> dict[str, str]:
    """Test name -> first line of its doc (every library sequence is a test of that name, plus the extra tests)."""
    from redmule_verif.sequences.library import SEQUENCE_DOCS
    from redmule_verif.env.testlist import EXTRA_TEST_DOCS, all_tests

    docs = {**SEQUENCE_DOCS, **EXTRA_TEST_DOCS}
    return {n: (docs.get(n) or "").strip().split("\n")[0] for n in all_tests()}


def find_suite(name_or_path) -> pathlib.Path:
    p = pathlib.Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in str(name_or_path):
        if not p.exists():
            raise SuiteError(f"suite file {p} does not exist")
        return p
    suites = available_suites()
    if str(name_or_path) not in suites:
        raise SuiteError(f"unknown suite {name_or_path!r}; suites: {', '.join(suites) or '(none)'} "
                         f"(in {suites_dir()}), or give a path to a .yaml file")
    return suites[str(name_or_path)]


def _check_env(where, env) -> dict:
    if env is None:
        return {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and k for k in env):
        raise SuiteError(f"{where}: 'env' must be a mapping NAME: value")
    bad = [v for v in env.values() if not isinstance(v, (str, int, float, bool))]
    if bad:
        raise SuiteError(f"{where}: 'env' values must be strings or numbers, got {bad[0]!r}")
    return {k: str(int(v) if isinstance(v, bool) else v) for k, v in env.items()}


def _check_timeout(where, t):
    if t is None:
        return None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
        raise SuiteError(f"{where}: 'timeout' must be a positive number of seconds, got {t!r}")
    return float(t)


def parse_suite(data, name="<suite>", path=None, tests=None, check_knobs=True, eng=None, mem=None) -> Suite:
    """Validate a suite's data (what the YAML file holds); raises SuiteError listing every problem.

    ``tests``: the known test names (default: the sequence library). With
    ``check_knobs`` every entry's knobs are tried on its sequence (a dry
    generation with seed 0 on ``eng``/``mem``), so a misspelt knob fails here,
    not an hour into the regression.
    """
    src = str(path or name)
    tests = set(tests if tests is not None else known_tests())
    if isinstance(data, list):
        data = {"tests": data}
    if not isinstance(data, dict):
        raise SuiteError(f"{src}: a suite is a list of entries {{test, seeds, knobs, timeout}} "
                         f"or a mapping with 'tests'")
    extra = set(data) - SUITE_KEYS
    if extra:
        raise SuiteError(f"{src}: unknown key(s) {sorted(extra)} (known: {sorted(SUITE_KEYS)})")
    errors: list[str] = []
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        errors.append(f"'seed' must be a non-negative integer, got {seed!r}")
    try:
        timeout = _check_timeout("suite", data.get("timeout"))
    except SuiteError as e:
        errors.append(str(e))
        timeout = None
    try:
        suite_env = _check_env("suite", data.get("env"))
    except SuiteError as e:
        errors.append(str(e))
        suite_env = {}
    raw = data.get("tests")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{src}: needs a non-empty list of entries ('tests')")
    entries = []
    for i, e in enumerate(raw):
        where = f"entry {i + 1}"
        if not isinstance(e, dict):
            errors.append(f"{where}: must be a mapping {{test, seeds, knobs, timeout}}, got {e!r}")
            continue
        where = f"entry {i + 1} ({e.get('test')})"
        extra = set(e) - ENTRY_KEYS
        if extra:
            errors.append(f"{where}: unknown key(s) {sorted(extra)} (known: {sorted(ENTRY_KEYS)})")
        test = e.get("test")
        if not isinstance(test, str) or test not in tests:
            errors.append(f"{where}: unknown test {test!r} (tests: {', '.join(sorted(tests))})")
            continue
        seeds = e.get("seeds", 1)
        if isinstance(seeds, bool) or not (
                (isinstance(seeds, int) and seeds >= 1)
                or (isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool)
                                                              and s >= 0 for s in seeds))):
            errors.append(f"{where}: 'seeds' must be a count >= 1 or a list of non-negative seeds, got {seeds!r}")
            continue
        knobs = e.get("knobs") or {}
        if not isinstance(knobs, dict):
            errors.append(f"{where}: 'knobs' must be a mapping, got {knobs!r}")
            continue
        try:
            t = _check_timeout(where, e.get("timeout"))
            env = {**suite_env, **_check_env(where, e.get("env"))}
        except SuiteError as exc:
            errors.append(str(exc))
            continue
        if check_knobs:
            problem = check_knobs_of(test, knobs, eng, mem)
            if problem:
                errors.append(f"{where}: {problem}")
                continue
        entries.append(SuiteEntry(test, seeds, dict(knobs), t, env))
    if errors:
        raise SuiteError(f"{src}: {len(errors)} problem(s):\n  " + "\n  ".join(errors))
    return Suite(name, pathlib.Path(path) if path else None, str(data.get("description") or "").strip(),
                 seed, timeout, entries)


def check_knobs_of(test: str, knobs: dict, eng=None, mem=None) -> str | None:
    """None when ``test`` accepts ``knobs`` (tried by a dry generation), else the problem."""
    from redmule_verif.sequences.library import generate
    from redmule_verif.env.testlist import EXTRA_TESTS

    if test in EXTRA_TESTS:  # not a library sequence: it reads its own knobs
        unknown = sorted(set(knobs) - set(EXTRA_TESTS[test]))
        return f"unknown knob(s) {', '.join(unknown)} for test {test!r}" if unknown else None
    try:
        generate(test, 0, eng, mem, **knobs)
    except Exception as exc:  # noqa: BLE001 - any failure of the generator is the knobs' problem
        return f"knobs {knobs} rejected by sequence {test!r}: {type(exc).__name__}: {exc}"
    return None


def load_suite(name_or_path, tests=None, check_knobs=True, eng=None, mem=None) -> Suite:
    import yaml

    path = find_suite(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from None
    return parse_suite(data, path.stem, path, tests, check_knobs, eng, mem)


# --------------------------------------------------------------------------- plan


@dataclasses.dataclass
class RunSpec:
    index: int
    test: str
    seed: int
    knobs: dict
    timeout: float
    env: dict
    dir: pathlib.Path


def default_base_seed() -> int:
    """Today's date (UTC) as YYYYMMDD: a nightly regression draws new seeds every day."""
    return int(dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d"))


def run_seed(base: int, test: str, i: int, entry_no: int = 0) -> int:
    path = f"regress/{test}/{i}" if entry_no == 0 else f"regress/{test}@{entry_no}/{i}"
    return derive(base, path) & 0x7FFF_FFFF


def plan(suite: Suite, out: pathlib.Path, base_seed: int, seeds: int | None = None,
         timeout: float | None = None) -> list[RunSpec]:
    """Every run of the suite, in suite order. ``seeds`` overrides every entry's seed count,
    ``timeout`` every limit."""
    out = pathlib.Path(out).resolve()  # the simulator runs inside its run directory: absolute paths only
    runs: list[RunSpec] = []
    seen_test: dict[str, int] = {}
    taken: set = set()
    for e in suite.entries:
        entry_no = seen_test.get(e.test, 0)
        seen_test[e.test] = entry_no + 1
        if seeds is not None:
            seed_list = [run_seed(base_seed, e.test, i, entry_no) for i in range(seeds)]
        elif isinstance(e.seeds, list):
            seed_list = list(e.seeds)
        else:
            seed_list = [run_seed(base_seed, e.test, i, entry_no) for i in range(e.seeds)]
        limit = timeout or e.timeout or suite.timeout or DEFAULT_TIMEOUT
        for s in seed_list:
            d = out / "runs" / e.test / str(s)
            n = 1
            while d in taken:
                n += 1
                d = out / "runs" / e.test / f"{s}.{n}"
            taken.add(d)
            runs.append(RunSpec(len(runs), e.test, int(s), dict(e.knobs), float(limit), dict(e.env), d))
    return runs


# --------------------------------------------------------------------------- files


def atomic_write(path: pathlib.Path, text: str) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_results(path) -> dict:
    """A results.json of an earlier regression; raises ValueError when it is not one."""
    p = pathlib.Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: not a readable results file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError(f"{p}: not a regression results file (no 'runs')")
    data.setdefault("_path", str(p))
    return data


FAILING = ("fail", "error", "timeout")


def summarise(runs: list[dict], planned: int, elapsed: float, previous: list[dict] = ()) -> dict:
    counts = {k: 0 for k in ("pass", "fail", "error", "timeout", "interrupted", "skipped")}
    for r in runs:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    completed = sum(counts[k] for k in ("pass", "fail", "error", "timeout"))
    old_sigs = set()
    for prev in previous:
        for r in prev.get("runs", []):
            if r.get("signature"):
                old_sigs.add(r["signature"])
    buckets: dict[str, dict] = {}
    for r in runs:
        if r["status"] not in FAILING:
            continue
        b = buckets.setdefault(r["signature"], {
            "signature": r["signature"], "count": 0, "status": r["status"], "tests": [],
            "new": bool(previous) and r["signature"] not in old_sigs,
            "first": {"test": r["test"], "seed": r["seed"], "message": r["message"][:1000], "repro": r["repro"],
                      "log": r["log"], "waves": r.get("waves")},
            "runs": []})
        b["count"] += 1
        if r["test"] not in b["tests"]:
            b["tests"].append(r["test"])
        b["runs"].append({"test": r["test"], "seed": r["seed"], "repro": r["repro"]})
    jobs = sum(int(r.get("jobs_checked") or 0) for r in runs)
    cycles = sum(int(r.get("sim_cycles") or 0) for r in runs)
    return {
        "planned": planned, "finished": len(runs), **counts, "completed": completed,
        "pass_rate": round(counts["pass"] / completed, 4) if completed else None,
        "elapsed_s": round(elapsed, 1),
        "run_wall_s": round(sum(float(r.get("wall_s") or 0) for r in runs), 1),
        "jobs_checked": jobs, "sim_cycles": cycles,
        "jobs_per_hour": round(jobs * 3600 / elapsed) if elapsed > 0 else None,
        "buckets": sorted(buckets.values(), key=lambda b: (-b["count"], b["signature"])),
        "new_buckets": sum(1 for b in buckets.values() if b["new"]),
    }


def junit_xml(results: dict) -> str:
    runs = results["runs"]
    summ = results.get("summary", {})
    ts = ET.Element("testsuites", name=f"redmule-verif regress {results.get('suite')}")
    suite = ET.SubElement(
        ts, "testsuite", name=str(results.get("suite")), tests=str(len(runs)),
        failures=str(sum(r["status"] == "fail" for r in runs)),
        errors=str(sum(r["status"] in ("error", "timeout") for r in runs)),
        skipped=str(sum(r["status"] in ("interrupted", "skipped") for r in runs)),
        time=f"{float(summ.get('elapsed_s') or 0):.1f}", timestamp=str(results.get("started", "")))
    for r in runs:
        tc = ET.SubElement(suite, "testcase", classname=f"redmule.{r['test']}", name=f"{r['test']}.seed{r['seed']}",
                           time=f"{float(r.get('wall_s') or 0):.2f}")
        body = f"{r['message']}\nrepro: {r['repro']}\nlog: {r['log']}"
        if r.get("waves"):
            body += f"\nwaves: {r['waves']}"
        if r["status"] == "fail":
            ET.SubElement(tc, "failure", message=r["signature"], type="fail").text = body
        elif r["status"] in ("error", "timeout"):
            ET.SubElement(tc, "error", message=r["signature"], type=r["status"]).text = body
        elif r["status"] in ("interrupted", "skipped"):
            ET.SubElement(tc, "skipped", message=r["signature"])
        out = ET.SubElement(tc, "system-out")
        out.text = (f"seed {r['seed']} knobs {json.dumps(r.get('knobs') or {}, sort_keys=True)} "
                    f"jobs_checked {r.get('jobs_checked')} sim_cycles {r.get('sim_cycles')}\n"
                    f"repro: {r['repro']}\nlog: {r['log']}\n")
    ET.indent(ts)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(ts, encoding="unicode") + "\n"


def coverage_summary(run_dirs, max_holes: int = 40) -> dict | None:
    """Merge the runs' coverage.json and measure testplan closure; None when no run wrote coverage."""
    from redmule_verif.coverage.redmule_cov import RedmuleCoverage
    from redmule_verif.coverage.testplan import closure, load_testplan

    files = [str(pathlib.Path(d) / "coverage.json") for d in run_dirs if (pathlib.Path(d) / "coverage.json").exists()]
    if not files:
        return None
    try:
        cov = RedmuleCoverage.load(files, strict=False)
        rep = cov.report()
        res = closure(load_testplan(), cov)
    except Exception as exc:  # noqa: BLE001 - a coverage problem must not lose the regression's results
        return {"error": f"{type(exc).__name__}: {exc}", "files": len(files)}
    tps = {}
    for name, r in res["testpoints"].items():
        tps[name] = {"percent": r["percent"], "hit": r["hit"], "bins": r["bins"] - r["waived"],
                     "holes": r["holes"][:max_holes], "n_holes": len(r["holes"]),
                     "unsampled": r.get("unsampled", []), "tests": r.get("tests", []),
                     "checks_only": not r["bins"]}
    groups = {n: {"percent": g["percent"], "hit": g["hit"], "bins": g["bins"] - g["waived"]}
              for n, g in rep["covergroups"].items()}
    return {"files": len(files), "functional_percent": rep["total"]["percent"],
            "testplan_percent": res["total"]["percent"], "testplan_bins": res["total"]["bins"],
            "testplan_hit": res["total"]["hit"], "closed": res["total"]["closed"], "open": res["total"]["open"],
            "testpoints": tps, "covergroups": groups}


# --------------------------------------------------------------------------- progress


def _hms(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """One line per finished run; a status line (rewritten in place on a terminal)."""

    def __init__(self, total: int, stream=None, quiet: bool = False):
        self.total = total
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self.done = 0
        self.failing = 0
        self._status_shown = False

    def status_text(self) -> str:
        el = time.monotonic() - self.t0
        left = self.total - self.done
        eta = f"ETA {_hms(el / self.done * left)}" if self.done and left else ("done" if not left else "ETA ?")
        return f"[{self.done}/{self.total} done, {self.failing} failing, {_hms(el)} elapsed, {eta}]"

    def _write(self, text: str) -> None:
        if self.quiet:
            return
        if self.tty and self._status_shown:
            self.stream.write("\r\033[K")
        self.stream.write(text)
        self.stream.flush()

    def line(self, text: str) -> None:
        self._write(text + "\n")
        self._status()

    def _status(self) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write(self.status_text())
            self._status_shown = True
        else:
            self.stream.write("  " + self.status_text() + "\n")
        self.stream.flush()

    def finished(self, rec: dict) -> None:
        self.done += 1
        if rec["status"] in FAILING:
            self.failing += 1
        w = len(str(self.total))
        cyc = rec.get("sim_cycles")
        detail = (f"{rec['wall_s']:6.1f}s {int(rec.get('jobs_checked') or 0):4d} jobs "
                  f"{(str(cyc) if cyc is not None else '-'):>8} cyc")
        tail = f"  {rec['signature']}" if rec["status"] != "pass" else ""
        self.line(f"[{self.done:{w}d}/{self.total}] {rec['status'].upper():<11} {rec['test']:<20} "
                  f"seed={rec['seed']:<10} {detail}{tail}")

    def close(self) -> None:
        if self.tty and self._status_shown and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
            self._status_shown = False


# --------------------------------------------------------------------------- the regression


def _children_running(binary: str) -> list[int]:
    """PIDs of this process's children running ``binary`` (the simulators this regression started)."""
    me = os.getpid()
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid != me:
                continue
            cmd = (d / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if cmd == binary or os.path.basename(cmd) == os.path.basename(binary):
            found.append(int(d.name))
    return found


class Regression:
    """One regression: ``run()`` returns the exit status (0 all pass, 1 failures, 130 interrupted)."""

    def __init__(self, suite: Suite, runs: list[RunSpec], sim, out: pathlib.Path, build_info: dict,
                 build_args: list[str], jobs: int = 2, previous: list[dict] = (), rerun_failures: int = 3,
                 waves_sim_factory=None, base_seed: int = 0, stream=None, quiet: bool = False):
        self.suite = suite
        self.specs = runs
        self.sim = sim
        self.out = pathlib.Path(out).resolve()
        self.build_info = build_info
        self.build_args = list(build_args)
        self.jobs = max(1, int(jobs))
        self.previous = list(previous)
        self.rerun_failures = rerun_failures
        self.waves_sim_factory = waves_sim_factory
        self.base_seed = base_seed
        self.progress = Progress(len(runs), stream, quiet)
        self.records: dict[int, dict] = {}
        self.started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.t0 = time.monotonic()
        self.stopping = threading.Event()
        self.interrupted = False
        self.coverage = None
        self.reruns: list[dict] = []
        self._lock = threading.Lock()

    # -- records
    def repro(self, spec: RunSpec) -> str:
        from redmule_verif.sim.runner import repro_command

        args = list(self.build_args)
        for k, v in sorted(spec.env.items()):
            args += ["--env", f"{k}={v}"]
        return repro_command(spec.test, spec.seed, args, spec.knobs or None)

    def make_record(self, spec: RunSpec, rec: dict | None, status: str | None = None, message: str = "") -> dict:
        rec = dict(rec or {})
        summary = rec.pop("summary", None) or {}
        out = {
            "test": spec.test, "seed": spec.seed, "status": status or rec.get("status", "error"),
            "wall_s": rec.get("wall_s", 0.0), "sim_cycles": rec.get("sim_cycles"),
            "jobs_checked": rec.get("jobs_checked", 0) or 0, "signature": "",
            "message": (message or rec.get("message") or "")[:MAX_MESSAGE],
            "repro": self.repro(spec), "log": rec.get("log") or str(spec.dir / "sim.log"),
            "waves": rec.get("waves"), "knobs": spec.knobs, "timeout": spec.timeout, "dir": str(spec.dir),
            "first_errors": [e[:MAX_MESSAGE] for e in (rec.get("first_errors") or [])],
            "trace_sha256": summary.get("trace_sha256"),
        }
        if spec.env:
            out["env"] = spec.env
        if out["status"] == "error":
            out["crash_hint"] = crash_hint(out["log"])
        out["signature"] = signature(out)
        return out

    def _run_one(self, spec: RunSpec) -> dict:
        from redmule_verif.sim.runner import run_test

        if self.stopping.is_set():
            return self.make_record(spec, None, "skipped", "not started: the regression was interrupted")
        try:
            rec = run_test(self.sim, spec.test, spec.seed, spec.dir, knobs=spec.knobs, timeout=spec.timeout,
                           extra_env=spec.env)
        except Exception as exc:  # noqa: BLE001 - a broken run is a record, never a lost result
            return self.make_record(spec, None, "error",
                                    f"the runner raised {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        if self.stopping.is_set() and rec["status"] not in ("pass", "fail"):
            return self.make_record(spec, rec, "interrupted", "killed: the regression was interrupted")
        return self.make_record(spec, rec)

    # -- files
    def results(self) -> dict:
        runs = [self.records[i] for i in sorted(self.records)]
        elapsed = time.monotonic() - self.t0
        summ = summarise(runs, len(self.specs), elapsed, self.previous)
        summ["interrupted_regression"] = self.interrupted
        if self.coverage is not None:
            summ["coverage"] = self.coverage
        if self.reruns:
            summ["reruns"] = self.reruns
        new = {b["signature"] for b in summ["buckets"] if b["new"]}
        for r in runs:
            r["new"] = r["signature"] in new
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
            atomic_write(self.out / "results.json", json.dumps(res, indent=1, default=str) + "\n")
            atomic_write(self.out / "junit.xml", junit_xml(res))
            if final:
                from redmule_verif.flow.html import render

                atomic_write(self.out / "report.html", render(res, self.previous))
            return res

    # -- running
    def _kill_running(self) -> int:
        n = 0
        for pid in _children_running(str(self.sim.binary)):
            try:
                os.killpg(pid, signal.SIGKILL)  # run_cocotb starts each simulator in its own session
                n += 1
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(pid, signal.SIGKILL)
                    n += 1
                except OSError:
                    pass
        return n

    def _order(self) -> list[RunSpec]:
        """Longest first (wall times of earlier regressions), so that the tail is short."""
        est: dict[str, list] = {}
        for prev in self.previous:
            for r in prev.get("runs", []):
                if r.get("wall_s") and r.get("status") in ("pass", "fail"):
                    est.setdefault(r["test"], []).append(float(r["wall_s"]))
        if not est:
            return list(self.specs)
        mean = {t: sum(v) / len(v) for t, v in est.items()}
        return sorted(self.specs, key=lambda s: (-mean.get(s.test, 0.0), s.index))

    def _result_of(self, fut: cf.Future, spec: RunSpec) -> dict:
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - a bug in the tools must not lose the regression
            rec = {"test": spec.test, "seed": spec.seed, "status": "error", "wall_s": 0.0, "sim_cycles": None,
                   "jobs_checked": 0, "message": f"regression tool error {type(exc).__name__}: {exc}\n"
                                                 f"{traceback.format_exc()}"[:MAX_MESSAGE],
                   "repro": "", "log": str(spec.dir / "sim.log"), "waves": None, "knobs": spec.knobs,
                   "timeout": spec.timeout, "dir": str(spec.dir), "first_errors": [], "trace_sha256": None}
            rec["signature"] = f"ERROR regression tool error {type(exc).__name__}"
            try:
                rec["repro"] = self.repro(spec)
            except Exception:  # noqa: BLE001
                pass
            return rec

    def _loop(self) -> None:
        todo = self._order()
        running: dict[cf.Future, RunSpec] = {}
        with cf.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="regress") as pool:
            try:
                while todo or running:
                    while todo and len(running) < self.jobs and not self.stopping.is_set():
                        spec = todo.pop(0)
                        running[pool.submit(self._run_one, spec)] = spec
                    done, _ = cf.wait(list(running), timeout=0.5, return_when=cf.FIRST_COMPLETED)
                    for fut in done:
                        spec = running.pop(fut)
                        self.records[spec.index] = self._result_of(fut, spec)
                        self.progress.finished(self.records[spec.index])
                        self.write()
            except KeyboardInterrupt:
                self.interrupted = True
                self.stopping.set()
                self.progress.line(f"interrupted: stopping, killing {len(running)} running simulator(s)")
                deadline = time.monotonic() + 60
                while running and time.monotonic() < deadline:
                    try:
                        self._kill_running()
                        done, _ = cf.wait(list(running), timeout=0.2, return_when=cf.FIRST_COMPLETED)
                        for fut in done:
                            spec = running.pop(fut)
                            rec = self._result_of(fut, spec)
                            self.records[spec.index] = rec
                            self.progress.finished(rec)
                    except KeyboardInterrupt:
                        continue
                for spec in todo:
                    self.records[spec.index] = self.make_record(spec, None, "skipped",
                                                                "not started: the regression was interrupted")
                for fut, spec in running.items():  # threads that would not end: recorded anyway
                    self.records[spec.index] = self.make_record(spec, None, "interrupted",
                                                                "killed: the regression was interrupted")

    def _rerun_with_waves(self) -> None:
        if self.rerun_failures <= 0 or self.waves_sim_factory is None:
            return
        from redmule_verif.sim.runner import run_test

        picked, seen = [], set()
        for i in sorted(self.records):
            r = self.records[i]
            if r["status"] in ("fail", "error") and r["signature"] not in seen:
                seen.add(r["signature"])
                if int(r.get("sim_cycles") or 0) > MAX_WAVES_CYCLES:  # a VCD of ~20 kB a cycle
                    r["rerun"] = {"skipped": f"{r['sim_cycles']} cycles: too long for a waves rerun; "
                                             f"use the repro line with --waves"}
                    continue
                picked.append(i)
            if len(picked) >= self.rerun_failures:
                break
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
        for i in picked:
            if self.stopping.is_set():
                break
            spec, r = by_index[i], self.records[i]
            wdir = spec.dir / "waves"
            try:
                rec = run_test(wsim, spec.test, spec.seed, wdir, knobs=spec.knobs, timeout=3 * spec.timeout,
                               waves=True, extra_env=spec.env)
            except Exception as exc:  # noqa: BLE001
                self.reruns.append({"test": spec.test, "seed": spec.seed, "error": f"{type(exc).__name__}: {exc}"})
                continue
            wrec = self.make_record(spec, rec)
            same = wrec["signature"] == r["signature"]
            r["waves"] = wrec["waves"] if wrec["waves"] and pathlib.Path(wrec["waves"]).exists() else None
            r["rerun"] = {"status": wrec["status"], "signature": wrec["signature"], "same_signature": same,
                          "log": wrec["log"], "waves": r["waves"]}
            self.reruns.append({"test": spec.test, "seed": spec.seed, **r["rerun"]})
            self.progress.line(f"  waves: {spec.test} seed={spec.seed} -> {wrec['status']}"
                               f"{'' if same else ' (DIFFERENT signature: ' + wrec['signature'] + ')'}"
                               f"  {r['waves']}")
            self.write()

    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        handlers = {}

        def _interrupt(signum, frame):
            raise KeyboardInterrupt

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, _interrupt)
        try:
            self.write()
            try:
                self._loop()
                if not self.interrupted:
                    self._rerun_with_waves()
            except KeyboardInterrupt:
                self.interrupted = True
                self.stopping.set()
                self._kill_running()
            self.progress.close()
            try:
                self.coverage = coverage_summary(self.records[i]["dir"] for i in sorted(self.records))
            except KeyboardInterrupt:
                self.coverage = None
        finally:
            for sig, h in handlers.items():
                signal.signal(sig, h)
        res = self.write(final=True)
        self.print_summary(res)
        if self.interrupted:
            return 130
        return 0 if all(r["status"] == "pass" for r in res["runs"]) and res["runs"] else 1

    def print_summary(self, res: dict) -> None:
        if self.progress.quiet:
            return
        s = res["summary"]
        p = self.progress.stream
        rate = f"{100 * s['pass_rate']:.1f} %" if s["pass_rate"] is not None else "-"
        p.write(f"\nregression {res['suite']}: {s['finished']}/{s['planned']} runs, {s['pass']} pass, "
                f"{s['fail']} fail, {s['error']} error, {s['timeout']} timeout"
                + (f", {s['interrupted']} interrupted, {s['skipped']} not started" if self.interrupted else "")
                + f"; pass rate {rate}; {_hms(s['elapsed_s'])} elapsed; {s['jobs_checked']} jobs checked"
                + (f" ({s['jobs_per_hour']} jobs/h)" if s.get("jobs_per_hour") else "") + "\n")
        cov = s.get("coverage")
        if cov and "testplan_percent" in cov:
            p.write(f"coverage: testplan {cov['testplan_percent']:.1f} % ({len(cov['closed'])} testpoints closed, "
                    f"{len(cov['open'])} open), functional {cov['functional_percent']:.1f} %\n")
        for b in s["buckets"]:
            p.write(f"  {b['count']:3d} x {b['status'].upper():<7} {'NEW ' if b['new'] else ''}{b['signature']}\n"
                    f"        repro: {b['first']['repro']}\n")
        p.write(f"results: {self.out / 'results.json'}  junit: {self.out / 'junit.xml'}  "
                f"report: {self.out / 'report.html'}\n")
        p.flush()


def write_build_failure(out: pathlib.Path, suite: Suite, base_seed: int, message: str, build_args) -> dict:
    """The DUT did not build: results.json and junit.xml say so (no run could start)."""
    res = {"schema": RESULTS_SCHEMA, "suite": suite.name, "suite_file": str(suite.path) if suite.path else None,
           "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "base_seed": base_seed,
           "build": {"error": message[:MAX_MESSAGE], "args": list(build_args)}, "previous": [], "runs": [],
           "summary": {**summarise([], 0, 0.0), "build_error": message[:MAX_MESSAGE]}}
    atomic_write(pathlib.Path(out) / "results.json", json.dumps(res, indent=1) + "\n")
    ts = ET.Element("testsuites", name=f"redmule-verif regress {suite.name}")
    ts_suite = ET.SubElement(ts, "testsuite", name=suite.name, tests="1", failures="0", errors="1", skipped="0")
    tc = ET.SubElement(ts_suite, "testcase", classname="redmule.build", name="build")
    ET.SubElement(tc, "error", message="the DUT did not build", type="build").text = message
    atomic_write(pathlib.Path(out) / "junit.xml",
                 '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(ts, encoding="unicode") + "\n")
    return res


def history_files(out: pathlib.Path, suite: str, limit: int = 50) -> list[pathlib.Path]:
    hist = pathlib.Path(out) / "history"
    files = sorted(hist.glob("results-*.json")) if hist.is_dir() else []
    keep = []
    for f in files:
        try:
            if json.loads(f.read_text()).get("suite") == suite:
                keep.append(f)
        except (OSError, json.JSONDecodeError):
            continue
    return keep[-limit:]


def archive_previous(out: pathlib.Path) -> pathlib.Path | None:
    """Move an earlier results.json of OUT into OUT/history (it feeds the trend plots)."""
    cur = pathlib.Path(out) / "results.json"
    try:
        data = load_results(cur)
    except ValueError:
        return None
    if not data["runs"]:
        return None
    stamp = str(data.get("started", "unknown")).replace(":", "").replace("+", "_")
    dest = pathlib.Path(out) / "history" / f"results-{stamp}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    data.pop("_path", None)
    atomic_write(dest, json.dumps(data, indent=1, default=str) + "\n")
    return dest
