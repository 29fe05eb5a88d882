"""The regression tools: failure signatures, suite files, results/junit/report, the CLI end to end.

Fast unit tests first; then the simulator tests, all through the installed
``redmule-verif`` console script:

- the CI smoke run: ``redmule-verif regress --suite smoke`` on the project's RTL must pass
  completely (results.json, junit.xml, repro lines, report.html checked);
- an interrupted regression (SIGINT after the first run) leaves valid results;
- a run over its time limit is "timeout", a simulator that dies without results is "error";
- a DUT with a real injected bug (a copy of rtl/ with the store byte enables one byte too
  wide): the regression fails it with one stable bucket across two seeds, reruns it with
  waves, and the repro line reproduces the same signature.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from redmule_verif import cli
from redmule_verif.cli.common import parse_knobs
from redmule_verif.flow.results_io import load_results
from redmule_verif.flow.signature import normalise, signature
from redmule_verif.sim.dut import DutOptions
from redmule_verif.tools.regress import report, suite as suites
from redmule_verif.tools.regress.plan import plan
from redmule_verif.tools.regress.report_html import render

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(sys.executable).parent / "redmule-verif"


# --------------------------------------------------------------------------- signatures


def _mismatch(job, jid, core, op, fmt, m, n, k, x, seed, bad, total, logger_id=140614497667984):
    return (f"[uvm.uvm_test_top.env.scoreboard{logger_id}] Z MISMATCH in job #{job} id={jid} core={core} {op} {fmt} "
            f"M={m} N={n} K={k} X@{x:#x} W@{x + 0x300:#x} Z@{x + 0x600:#x} (seed {seed}): {bad} of {total} "
            f"elements differ\n  z[20][17]: expected 0xc6 (-normal) actual 0xc2 (-normal): 4 ulp\n  job: {{...}}")


def test_signature_mismatch_strips_numbers_keeps_op_and_format():
    a = _mismatch(1, 1, 7, "ADDMIN", "FP8ALT", 47, 17, 20, 0x100054D8, 1, 10, 940)
    b = _mismatch(4, 9, 2, "ADDMIN", "FP8ALT", 3, 5, 64, 0x10000004, 998877, 1, 192, logger_id=1234)
    sa = signature({"status": "fail", "first_errors": [a], "message": "ignored"})
    assert sa == signature({"status": "fail", "first_errors": [b]})
    assert sa == ("Z MISMATCH in job #<n> id=<n> core=<n> ADDMIN FP8ALT M= N= K= X@<hex> W@<hex> Z@<hex>: "
                  "<n> of <n> elements differ")
    other_fmt = _mismatch(1, 1, 7, "ADDMIN", "FP16", 47, 17, 20, 0x100054D8, 1, 10, 940)
    other_op = _mismatch(1, 1, 7, "GEMM", "FP8ALT", 47, 17, 20, 0x100054D8, 1, 10, 940)
    assert signature({"status": "fail", "first_errors": [other_fmt]}) != sa
    assert signature({"status": "fail", "first_errors": [other_op]}) != sa


@pytest.mark.parametrize("msg, expect", [
    ("PROTOCOL RQ-3 violated in cycle 123: add changed from 0x10000040 to 0x10000080",
     "PROTOCOL RQ-3 violated in cycle <n>: add changed from <hex> to <hex>"),
    ("HANG no progress: 20000 cycles with grants offered but no TCDM handshake and no event; the DUT stopped "
     "at cycle 5123: busy_o=1, tcdm_req_o=0",
     "HANG no progress: <n> cycles with grants offered but no TCDM handshake and no event"),
    ("REG read of STATUS by core 1 in cycle 88 returned 0x1, expected 0x0",
     "REG read of STATUS by core <n> in cycle <n> returned <hex>, expected <hex>"),
    ("ACQUIRE answered -1/-2 to core 3 for 5012 cycles: the engine never freed a context",
     "ACQUIRE answered <n>/<n> to core <n> for <n> cycles: the engine never freed a context"),
    ("STORE OUTSIDE Z: job #0 id=0 core=2 GEMM FP16 M=12 N=4 K=16 X@0x10000100 W@0x10000200 Z@0x10000300 "
     "stored 1 byte(s) outside Z [0x10000300, 0x10000380) in cycle 812, first at 0x10000380 (access 0x10000360 "
     "be=0x1ffffffff)",
     "STORE OUTSIDE Z: job #<n> id=<n> core=<n> GEMM FP16 M= N= K= X@<hex> W@<hex> Z@<hex> stored <n> byte(s) "
     "outside Z [<hex>, <hex>) in cycle <n>, first at <hex> (access <hex> be=<hex>)"),
    ("random_jobs: 2 error(s) logged; first: [uvm.uvm_test_top.env.ctrl99] wrong-core event went to core 4 | [x] y",
     "wrong-core event went to core <n>"),
    ("ValueError: job file '/tmp/pytest-of-me/pytest-12/x/jobs.yaml' not found after 12.5 s",
     "ValueError: job file '<path>' not found after <n> s"),
])
def test_signature_normalises_common_messages(msg, expect):
    assert normalise(msg) == expect


def test_signature_of_non_failures(tmp_path):
    assert signature({"status": "pass"}) == ""
    assert signature({"status": "timeout", "message": "wall-clock limit of 3 s"}).startswith("TIMEOUT")
    assert signature({"status": "interrupted"}).startswith("INTERRUPTED")
    log = tmp_path / "sim.log"
    log.write_text("     -.--ns INFO     gpi   ..mbed/gpi_embed.cpp:100  in x  starting\n"
                   "     -.--ns ERROR    gpi   ../gpi/GpiCommon.cpp:218  in gpi_load_users  "
                   "Error loading library '/nonexistent/libpython.so'\n- :0: Verilog $finish\n")
    rec = {"status": "error", "message": f"simulator exited with code 0 and wrote no results (crash?); see {log}",
           "log": str(log)}
    assert signature(rec) == "ERROR Error loading library '<path>'"
    assert signature({"status": "error", "message": "simulator exited with code -11 and wrote no results"}) == \
        "ERROR simulator exited with code <n> and wrote no results"


# --------------------------------------------------------------------------- suites


def _suite(data, **kw):
    return suites.parse_suite(data, "t", **kw)


def test_packaged_suites_are_valid_and_cover_every_family():
    tests = suites.known_tests()
    smoke = suites.load_suite("smoke")
    nightly = suites.load_suite("nightly")
    families = set(tests)
    assert {e.test for e in smoke.entries} == families, "smoke must cover every sequence family"
    assert {e.test for e in nightly.entries} == families
    assert smoke.seed is not None, "smoke runs in CI: its base seed is fixed"
    n_nightly = len(plan(nightly, pathlib.Path("/nonexistent"), 20260101))
    assert n_nightly >= 300


@pytest.mark.parametrize("data, problem", [
    ([{"test": "no_such_test"}], "unknown test 'no_such_test'"),
    ([{"test": "random_jobs", "seed": 3}], "unknown key(s) ['seed']"),
    ([{"test": "random_jobs", "seeds": 0}], "'seeds' must be a count >= 1"),
    ([{"test": "random_jobs", "seeds": [1, -2]}], "'seeds' must be a count >= 1"),
    ([{"test": "random_jobs", "knobs": [1]}], "'knobs' must be a mapping"),
    ([{"test": "random_jobs", "knobs": {"cuont": 3}}], "unknown knob(s) cuont"),
    ([{"test": "ops_formats", "knobs": {"ops": ["NOPE"]}}], "unknown op(s) ['NOPE']"),
    ([{"test": "random_jobs", "timeout": -1}], "'timeout' must be a positive number"),
    ([{"test": "random_jobs", "env": ["X"]}], "'env' must be a mapping"),
    ({"tests": [{"test": "random_jobs"}], "sed": 1}, "unknown key(s) ['sed']"),
    ([], "needs a non-empty list"),
    ("random_jobs", "a suite is a list of entries"),
    (["random_jobs"], "must be a mapping"),
])
def test_suite_validation_errors(data, problem):
    with pytest.raises(suites.SuiteError) as ei:
        _suite(data)
    assert problem in str(ei.value)


def test_suite_validation_lists_every_problem():
    with pytest.raises(suites.SuiteError) as ei:
        _suite([{"test": "nope"}, {"test": "random_jobs", "bogus": 1}, {"test": "zero_dim"}])
    text = str(ei.value)
    assert "2 problem(s)" in text and "entry 1" in text and "entry 2" in text


def test_unknown_suite_name_lists_suites():
    with pytest.raises(suites.SuiteError, match="smoke"):
        suites.load_suite("no_such_suite")


def test_plan_seeds_are_deterministic_and_distinct(tmp_path):
    s = _suite({"timeout": 50, "tests": [{"test": "random_jobs", "seeds": 3}, {"test": "zero_dim", "seeds": [7, 9]},
                                         {"test": "random_jobs", "seeds": 2, "knobs": {"count": 2}, "timeout": 9}]})
    a = plan(s, tmp_path, 11)
    b = plan(s, tmp_path, 11)
    c = plan(s, tmp_path, 12)
    assert [(r.test, r.seed) for r in a] == [(r.test, r.seed) for r in b]
    assert [r.seed for r in a] != [r.seed for r in c]
    assert [r.seed for r in a if r.test == "zero_dim"] == [7, 9]
    rj = [r.seed for r in a if r.test == "random_jobs"]
    assert len(set(rj)) == 5, "repeated entries of a test draw different seeds"
    assert len({r.dir for r in a}) == len(a)
    assert [r.timeout for r in a] == [50, 50, 50, 50, 50, 9, 9]
    assert all(r.timeout == 3 for r in plan(s, tmp_path, 11, timeout=3))
    assert len(plan(s, tmp_path, 11, seeds=4)) == 12


# --------------------------------------------------------------------------- results files


def _rec(test, seed, status, sig="", jobs=3):
    return {"test": test, "seed": seed, "status": status, "wall_s": 1.5, "sim_cycles": 100, "jobs_checked": jobs,
            "signature": sig, "message": sig and f"{sig} details", "repro": f"redmule-verif repro {test} --seed {seed}",
            "log": f"/x/{test}/{seed}/sim.log", "waves": None, "knobs": {}, "dir": f"/x/runs/{test}/{seed}"}


def test_summary_buckets_new_signatures_and_junit():
    runs = [_rec("a", 1, "pass"), _rec("a", 2, "fail", "Z MISMATCH X"), _rec("b", 3, "fail", "Z MISMATCH X"),
            _rec("b", 4, "fail", "HANG"), _rec("c", 5, "timeout", "TIMEOUT t"), _rec("c", 6, "interrupted", "I")]
    prev = [{"runs": [_rec("z", 1, "fail", "HANG")]}]
    s = report.summarise(runs, 7, 3600.0, prev)
    assert (s["pass"], s["fail"], s["timeout"], s["interrupted"], s["completed"]) == (1, 3, 1, 1, 5)
    assert s["pass_rate"] == 0.2 and s["jobs_per_hour"] == 18
    by_sig = {b["signature"]: b for b in s["buckets"]}
    assert set(by_sig) == {"Z MISMATCH X", "HANG", "TIMEOUT t"}
    assert by_sig["Z MISMATCH X"]["count"] == 2 and by_sig["Z MISMATCH X"]["tests"] == ["a", "b"]
    assert by_sig["Z MISMATCH X"]["new"] and not by_sig["HANG"]["new"]
    xml = report.junit_xml({"suite": "t", "started": "now", "runs": runs, "summary": s})
    root = ET.fromstring(xml)
    cases = root.findall(".//testcase")
    assert len(cases) == len(runs)
    ts = root.find("testsuite")
    assert (ts.get("failures"), ts.get("errors"), ts.get("skipped")) == ("3", "1", "1")
    fail = [c for c in cases if c.find("failure") is not None][0]
    assert "repro: redmule-verif repro" in fail.find("failure").text


def test_earlier_results_go_to_history_and_feed_the_next_regression(tmp_path):
    first = {"suite": "smoke", "started": "2026-11-25T02:00:00+00:00", "runs": [_rec("a", 1, "fail", "HANG")],
             "summary": {"pass_rate": 0.0}}
    (tmp_path / "results.json").write_text(json.dumps(first))
    dest = report.archive_previous(tmp_path)
    assert dest.parent == tmp_path / "history" and json.loads(dest.read_text())["runs"] == first["runs"]
    other = dict(first, suite="nightly", started="2026-11-25T03:00:00+00:00")
    (tmp_path / "results.json").write_text(json.dumps(other))
    report.archive_previous(tmp_path)
    assert report.history_files(tmp_path, "smoke") == [dest]
    (tmp_path / "results.json").write_text("{truncated")
    assert report.archive_previous(tmp_path) is None
    with pytest.raises(ValueError, match="not a readable results file"):
        load_results(tmp_path / "results.json")


def test_report_html_is_self_contained(tmp_path):
    runs = [_rec("a", 1, "pass"), _rec("a", 2, "fail", "Z MISMATCH <b>")]
    prev = [{"started": "2026-01-0%dT00:00:00" % i, "runs": [], "summary": {"pass_rate": 0.5 + i / 10,
                                                                           "coverage": {"testplan_percent": 40 + i}}}
            for i in range(1, 4)]
    res = {"suite": "t", "started": "2026-01-05T00:00:00", "runs": runs, "build": {}, "previous": ["p"],
           "summary": report.summarise(runs, 2, 10.0, prev)}
    page = render(res, prev)
    assert page.count("<svg") == 2 and "<polyline" in page
    assert "Z MISMATCH &lt;b&gt;" in page and "NEW" in page
    for external in ("<script", "<link", "src=", "url("):
        assert external not in page


# --------------------------------------------------------------------------- CLI (in process)


def test_cli_has_every_subcommand_at_module_level():
    names = [m.NAME for m in cli.COMMANDS]
    assert names == ["run", "regress", "repro", "list", "shrink", "coverage", "qualify"]
    ap = cli.make_parser()
    for m in cli.COMMANDS:
        assert callable(m.add_arguments) and callable(m.main)
        args = ap.parse_args([m.NAME, *(["x", "--seed", "1"] if m.NAME in ("run", "repro", "shrink") else []),
                              *(["d"] if m.NAME == "coverage" else []), "--top", "mytop"])
        assert args.func is m.main and args.top == "mytop"
    # a command's own option wins over the DUT option of the same name
    assert ap.parse_args(["qualify"]).cxx_opt == "O0" and ap.parse_args(["run", "x", "--seed", "1"]).cxx_opt is None


def test_cli_usage_errors(capsys):
    assert cli.main(["run", "no_such_test", "--seed", "1"]) == 2
    assert "unknown test" in capsys.readouterr().err
    assert cli.main(["run", "random_jobs", "--seed", "1", "-P", "Q=3"]) == 2
    assert "unknown DUT parameter" in capsys.readouterr().err
    assert cli.main(["run", "random_jobs", "--seed", "1", "--knobs", "{bad"]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert cli.main(["regress", "--suite", "no_such_suite"]) == 2
    assert "unknown suite" in capsys.readouterr().err


def test_dut_build_args_round_trip(tmp_path):
    ap = cli.make_parser()
    args = ap.parse_args(["regress", "--rtl", str(REPO / "rtl"), "-P", "L=8", "-P", "H=0x2", "--mem-kib", "64",
                          "--top", "redmule", "--cxx-opt", "O0"])
    bargs = DutOptions.from_args(args).cli_args()
    assert bargs == ["--rtl", str(REPO / "rtl"), "-P", "H=2", "-P", "L=8", "--mem-kib", "64", "--cxx-opt", "O0"]
    again = ap.parse_args(["repro", "x", "--seed", "3", *bargs])
    assert DutOptions.from_args(again).sim_config() == DutOptions.from_args(args).sim_config()


# --------------------------------------------------------------------------- end to end (simulator)


def _env():
    env = dict(os.environ)
    env["PYTHONSAFEPATH"] = "1"
    env["PATH"] = str(SCRIPT.parent) + os.pathsep + env.get("PATH", "")
    return env


def _cli(args, cwd, timeout=1500, check_rc=None):
    assert SCRIPT.exists(), f"{SCRIPT} missing: run `make venv` (pip install -e .)"
    proc = subprocess.run([str(SCRIPT), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check_rc is not None:
        assert proc.returncode == check_rc, f"exit {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    return proc


def _check_repro_line(line: str, rec: dict, build_args=()):
    argv = shlex.split(line)
    assert argv[:3] == ["redmule-verif", "repro", rec["test"]], line
    args = cli.make_parser().parse_args(argv[1:])
    assert args.seed == rec["seed"]
    assert parse_knobs(args.knobs) == (rec.get("knobs") or {})
    assert DutOptions.from_args(args).cli_args() == list(build_args)


def _suite_file(tmp_path, data) -> pathlib.Path:
    p = tmp_path / "suite.yaml"
    p.write_text(json.dumps(data))  # JSON is YAML
    return p


def _sim_processes_under(path: pathlib.Path) -> list[int]:
    """Processes whose working directory is inside ``path`` (simulators left running)."""
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if str(pathlib.Path(os.readlink(d / "cwd"))).startswith(str(path)):
                    found.append(int(d.name))
            except OSError:
                continue
    return found


@pytest.mark.xdist_group("regress_smoke")
def test_ci_smoke_regression(tmp_path):
    """The CI smoke run: `redmule-verif regress --suite smoke -j 2` passes on the project's RTL."""
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = _cli(["regress", "--suite", "smoke", "-j", "2", "--out", str(out)], tmp_path, timeout=1500)
    wall = time.monotonic() - t0
    print(proc.stdout[-3000:])
    res = json.loads((out / "results.json").read_text())
    suite = suites.load_suite("smoke", check_knobs=False)
    failed = [(r["test"], r["seed"], r["status"], r["signature"], r["repro"]) for r in res["runs"]
              if r["status"] != "pass"]
    assert proc.returncode == 0 and not failed, f"smoke failures: {failed}\n{proc.stdout[-4000:]}{proc.stderr}"
    planned = plan(suite, out, suite.seed)
    assert len(res["runs"]) == len(planned)
    assert {r["test"] for r in res["runs"]} == {e.test for e in suite.entries}
    assert [(r["test"], r["seed"]) for r in res["runs"]] == [(p.test, p.seed) for p in planned]
    assert all(r["jobs_checked"] > 0 for r in res["runs"])
    for r in res["runs"]:
        _check_repro_line(r["repro"], r)
    s = res["summary"]
    assert s["pass_rate"] == 1.0 and s["buckets"] == [] and s["coverage"]["testplan_percent"] > 50
    root = ET.parse(out / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(planned)
    assert not root.findall(".//failure") and not root.findall(".//error")
    page = (out / "report.html").read_text()
    assert "Coverage by testpoint" in page and "<svg" in page
    print(f"smoke: {len(planned)} runs in {wall:.0f} s (regression {s['elapsed_s']} s), "
          f"{s['jobs_checked']} jobs, {s['jobs_per_hour']} jobs/h")


def test_interrupted_regression_leaves_valid_results(tmp_path):
    suite = _suite_file(tmp_path, {"seed": 5, "tests": [{"test": "random_jobs", "seeds": 5, "knobs": {"count": 10}}]})
    out = tmp_path / "out"
    proc = subprocess.Popen([str(SCRIPT), "regress", "--suite", str(suite), "-j", "1", "--out", str(out)],
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads((out / "results.json").read_text())["runs"]:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        assert proc.poll() is None, "the regression ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        text, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, text[-3000:]
    res = json.loads((out / "results.json").read_text())
    statuses = [r["status"] for r in res["runs"]]
    assert len(statuses) == 5, statuses
    assert statuses.count("pass") >= 1
    assert set(statuses) <= {"pass", "interrupted", "skipped"} and set(statuses) & {"interrupted", "skipped"}
    assert res["summary"]["interrupted_regression"] is True
    assert res["summary"]["planned"] == 5
    ET.parse(out / "junit.xml")
    assert (out / "report.html").exists()
    time.sleep(0.5)
    assert _sim_processes_under(out) == [], "simulators survived the interrupt"


def test_timeout_and_crash_are_recorded(tmp_path):
    suite = _suite_file(tmp_path, {"seed": 1, "tests": [
        {"test": "random_jobs", "knobs": {"count": 400}, "timeout": 2},  # longer than 2 s in a warm batch worker too
        # a simulator whose Python never loads: it exits without results (a crash, for the runner)
        {"test": "zero_dim", "env": {"LIBPYTHON_LOC": "/nonexistent/libpython3.so"}},
    ]})
    out = tmp_path / "out"
    proc = _cli(["regress", "--suite", str(suite), "-j", "2", "--out", str(out), "--rerun-failures", "0"], tmp_path,
                timeout=1200, check_rc=1)
    res = json.loads((out / "results.json").read_text())
    by_test = {r["test"]: r for r in res["runs"]}
    to, err = by_test["random_jobs"], by_test["zero_dim"]
    assert to["status"] == "timeout" and to["signature"].startswith("TIMEOUT"), to
    assert to["wall_s"] < 60
    assert err["status"] == "error", err
    assert err["signature"] == "ERROR Error loading library '<path>'", err
    assert "--env LIBPYTHON_LOC=/nonexistent/libpython3.so" in err["repro"]
    kinds = {e.get("type") for e in ET.parse(out / "junit.xml").getroot().iter("error")}
    assert kinds == {"timeout", "error"}
    assert "2 x" not in proc.stdout and proc.stdout.count("repro:") == 2


# The injected bug: the streamer's store byte enables cover one byte past the data,
# so the last store of every job writes one byte after Z.
BUG_FILE = "redmule_streamer.sv"
BUG_FROM = "(8'(b) < 8'(s_addr[1:0]) + st_bytes)"
BUG_TO = "(8'(b) <= 8'(s_addr[1:0]) + st_bytes)"


def test_injected_bug_fails_with_a_stable_bucket_and_reproduces(tmp_path):
    rtl = tmp_path / "rtl"
    shutil.copytree(REPO / "rtl", rtl)
    src = (rtl / BUG_FILE).read_text()
    if src.count(BUG_FROM) != 1:
        pytest.fail(f"the injected bug no longer applies: {BUG_FROM!r} not found once in rtl/{BUG_FILE}")
    (rtl / BUG_FILE).write_text(src.replace(BUG_FROM, BUG_TO))
    knobs = {"count": 3, "ops": ["GEMM"], "fmts": ["FP16"]}
    suite = _suite_file(tmp_path, {"seed": 3, "tests": [{"test": "random_jobs", "seeds": 2, "knobs": knobs}]})
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps({"suite": "suite", "started": "2026-01-01T00:00:00", "runs": [],
                                    "summary": {"pass_rate": 1.0}}))
    out = tmp_path / "out"
    # -O0: the mutant and its waves build compile in a quarter of the time (the runs are Python-bound)
    _cli(["regress", "--suite", str(suite), "--rtl", str(rtl / "redmule.f"), "--cxx-opt", "O0", "-j", "2",
          "--out", str(out), "--rerun-failures", "1", "--previous", str(previous)], tmp_path, timeout=1800, check_rc=1)
    res = json.loads((out / "results.json").read_text())
    runs = res["runs"]
    assert [r["status"] for r in runs] == ["fail", "fail"], [(r["status"], r["message"][:300]) for r in runs]
    assert runs[0]["seed"] != runs[1]["seed"]
    sig = runs[0]["signature"]
    assert sig == runs[1]["signature"], "the bucket must not depend on the seed"
    assert sig.startswith("STORE OUTSIDE Z") and "GEMM FP16" in sig, sig
    buckets = res["summary"]["buckets"]
    assert len(buckets) == 1 and buckets[0]["count"] == 2 and buckets[0]["new"] is True
    build_args = ["--rtl", str((rtl / "redmule.f").resolve()), "--cxx-opt", "O0"]
    for r in runs:
        _check_repro_line(r["repro"], r, build_args)
    # the first failure was rerun with waves on a waves build of the same RTL
    first = runs[0]
    assert first["rerun"]["same_signature"] is True, first["rerun"]
    assert first["waves"] and pathlib.Path(first["waves"]).stat().st_size > 0
    # the repro line reruns it: it fails again with the same signature
    argv = shlex.split(first["repro"])
    proc = _cli(argv[1:], tmp_path, timeout=900, check_rc=1)
    assert f"signature: {sig}" in proc.stdout, proc.stdout[-3000:]
