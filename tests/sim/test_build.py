"""The build layer: lean Verilator builds, the cache, the lock, and recorded runs."""

import json
import multiprocessing
import pathlib
import time

import pytest

from redmule_verif.sim import build as B

FIX = pathlib.Path(__file__).parents[1] / "fixtures"


def _cfg(**kw):
    base = dict(sources=[FIX / "counter.f"], top="counter", parameters={"WIDTH": 6, "STEP": 3})
    base.update(kw)
    return B.SimConfig.make(**base)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def sim(cache):
    return B.build(_cfg(), cache)


def test_build_runs_and_ports_are_visible(sim, tmp_path):
    res = B.run_cocotb(sim, "counter_tb", [FIX], testcase="counts", seed=11, test_dir=tmp_path,
                       extra_env={"EXPECT_STEP": "3"})
    assert res.status == "pass", res.message + (tmp_path / "sim.log").read_text()[-2000:]
    assert [t.name for t in res.tests] == ["counts"]


def test_simulator_processes_cache_their_bytecode(sim, tmp_path, monkeypatch):
    """A simulator process compiles the framework once per build root, not once per process (cocotb's
    assertion rewriting included), even when the caller's environment forbids writing bytecode."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    env = B.cocotb_env(sim, "counter_tb", [FIX])
    prefix = pathlib.Path(env["PYTHONPYCACHEPREFIX"])
    assert "PYTHONDONTWRITEBYTECODE" not in env and prefix == sim.dir.resolve().parent / "pycache"
    res = B.run_cocotb(sim, "counter_tb", [FIX], testcase="counts", seed=11, test_dir=tmp_path,
                       extra_env={"EXPECT_STEP": "3"})
    assert res.status == "pass"
    cached = {p.name.split(".")[0] for p in prefix.rglob("*.pyc")}
    assert "counter_tb" in cached and "regression" in cached  # the test module (rewritten) and cocotb's own
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "mine"))
    assert B.cocotb_env(sim, "counter_tb", [FIX])["PYTHONPYCACHEPREFIX"] == str(tmp_path / "mine")


def test_lean_build_flags(sim):
    cmd = (sim.dir / "build.log").read_text().splitlines()[0]
    assert "--public-flat-rw" not in cmd
    assert "--public-depth 1" in cmd
    assert "-O2" in cmd
    meta = json.loads((sim.dir / "build.json").read_text())
    assert meta["parameters"] == {"STEP": "3", "WIDTH": "6"}


def test_rebuild_with_nothing_changed_is_cached_and_fast(sim, cache):
    t0 = time.monotonic()
    again = B.build(_cfg(), cache)
    assert again.cached and again.dir == sim.dir
    assert time.monotonic() - t0 < 1.0


def test_key_changes_with_parameters_defines_and_sources(sim, cache, tmp_path):
    files, inc = B.resolve_sources(_cfg())
    k0 = B.build_key(_cfg(), files, inc)
    assert B.build_key(_cfg(parameters={"WIDTH": 7, "STEP": 3}), files, inc) != k0
    assert B.build_key(_cfg(defines={"FIXTURE_MAGIC": 9}), files, inc) != k0
    assert B.build_key(_cfg(waves=True), files, inc) != k0
    # a changed source file changes the key even under the same name
    copy = tmp_path / "rtl"
    copy.mkdir()
    for f in ("counter.sv", "counter_core.sv", "counter.f"):
        (copy / f).write_text((FIX / f).read_text())
    cfg2 = _cfg(sources=[copy / "counter.f"])
    f2, i2 = B.resolve_sources(cfg2)
    same = B.build_key(cfg2, f2, i2)
    (copy / "counter_core.sv").write_text((FIX / "counter_core.sv").read_text() + "\n// edit\n")
    assert B.build_key(cfg2, f2, i2) != same


def test_directory_source_and_define(cache, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    for f in ("counter.sv", "counter_core.sv"):
        (d / f).write_text((FIX / f).read_text())
    sim = B.build(_cfg(sources=[d], defines={"FIXTURE_MAGIC": 9}), cache)
    res = B.run_cocotb(sim, "counter_tb", [FIX], testcase="counts", seed=1, test_dir=tmp_path / "run",
                       extra_env={"EXPECT_STEP": "9"})
    assert res.status == "pass", res.message


def test_failing_test_is_recorded_not_raised(sim, tmp_path):
    res = B.run_cocotb(sim, "counter_tb", [FIX], testcase="fails_on_purpose", seed=1, test_dir=tmp_path,
                       extra_env={"FIXTURE_FAIL": "1"})
    assert res.status == "fail" and "asked to fail" in res.message


def test_hang_is_a_timeout(sim, tmp_path):
    res = B.run_cocotb(sim, "counter_tb", [FIX], testcase="hangs_on_purpose", seed=1, test_dir=tmp_path,
                       extra_env={"FIXTURE_HANG": "1"}, timeout=3)
    assert res.status == "timeout"
    assert res.wall_seconds < 30


def test_crash_without_results_is_an_error(sim, tmp_path):
    res = B.run_cocotb(sim, "no_such_module_xyz", [FIX], seed=1, test_dir=tmp_path, timeout=60)
    assert res.status == "error"


def test_bad_rtl_gives_a_clear_error(cache):
    with pytest.raises(B.BuildError, match="build.log"):
        B.build(B.SimConfig.make([FIX / "broken.sv"], "broken"), cache)
    # nothing half-built stays in the cache: a second attempt builds again and fails the same way
    with pytest.raises(B.BuildError):
        B.build(B.SimConfig.make([FIX / "broken.sv"], "broken"), cache)


def test_missing_source_is_named(cache):
    with pytest.raises(B.BuildError, match="does not exist"):
        B.build(B.SimConfig.make([FIX / "nope.sv"], "nope"), cache)


def _build_in_child(args):
    cache, width = args
    sim = B.build(_cfg(parameters={"WIDTH": width, "STEP": 1}), cache)
    return sim.cached, str(sim.dir)


def test_parallel_workers_share_one_build(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        out = pool.map(_build_in_child, [(str(tmp_path), 5)] * 3)
    dirs = {d for _, d in out}
    assert len(dirs) == 1
    assert sorted(c for c, _ in out) == [False, True, True]  # exactly one compiled
