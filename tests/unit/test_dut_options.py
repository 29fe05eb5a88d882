"""redmule_verif.sim.dut: the DUT options reach the build, every run's environment and the repro line."""

import argparse
import json

import pytest

from redmule_verif.sim import dut as D


def _args(*words):
    p = argparse.ArgumentParser()
    D.add_dut_options(p)
    return p.parse_args(list(words))


def test_defines_verilator_args_profile_and_waivers_round_trip():
    o = D.DutOptions.from_args(_args("--define", "TARGET_VERILATOR", "--define", "W=3", "--verilator-arg=-Wno-BLKANDNBLK",
                                     "--profile", "published", "--waive", "TIMING:not cycle matched"))
    cfg = o.sim_config()
    assert ("TARGET_VERILATOR", "") in cfg.defines and ("W", "3") in cfg.defines
    assert cfg.extra_args[-1] == "-Wno-BLKANDNBLK"
    words = o.cli_args()
    assert words[-8:] == ["--define", "TARGET_VERILATOR", "--define", "W=3", "--verilator-arg=-Wno-BLKANDNBLK",
                          "--profile", "published", "--waive", "TIMING:not cycle matched"][-8:]
    assert D.DutOptions.from_args(_args(*words)) == o  # a repro line gives the same DUT
    env = o.run_env()
    assert json.loads(env["REDMULE_PROFILE"])["name"] == "published"
    assert json.loads(env["REDMULE_WAIVE"]) == {"TIMING": "not cycle matched"}
    assert D.DutOptions.from_args(_args()).run_env() == {}


def test_defines_and_args_enter_the_build_key(tmp_path):
    from redmule_verif.sim.build import build_key, resolve_sources

    base = D.DutOptions.from_args(_args()).sim_config()
    files, inc = resolve_sources(base)
    keys = {build_key(c, files, inc) for c in (base, D.DutOptions.from_args(_args("--define", "X")).sim_config(),
                                               D.DutOptions.from_args(_args("--verilator-arg=-Wno-X")).sim_config())}
    assert len(keys) == 3


@pytest.mark.parametrize("words, msg", [
    (["--define", "9BAD"], "Verilog identifier"),
    (["--profile", "nope"], "not one of the project's profiles"),
    (["--waive", "TIMING"], "expected CHECK:REASON"),
    (["--waive", "NOPE:x"], "unknown check"),
])
def test_bad_options_say_what_is_wrong(words, msg):
    with pytest.raises(D.UsageError, match=msg):
        D.DutOptions.from_args(_args(*words))


def test_upstream_sets_the_adapter_the_bender_package_and_the_published_profile(tmp_path):
    up = tmp_path / "redmule"
    up.mkdir()
    (up / "Bender.yml").write_text("package: {name: redmule}\n")
    o = D.DutOptions.from_args(_args("--upstream", str(up)))
    assert o.top == D.UPSTREAM_TOP and o.rtl[0] == str(up / "Bender.yml") and o.profile == "published"
    assert o.cli_args() == ["--upstream", str(up)]
    assert D.DutOptions.from_args(_args(*o.cli_args())) == o
    spec = D.DutOptions.from_args(_args("--upstream", str(up), "--profile", "spec"))
    assert spec.run_env() == {} and spec.cli_args() == ["--upstream", str(up), "--profile", "spec"]
    assert D.DutOptions.from_args(_args(*spec.cli_args())) == spec
    with pytest.raises(D.UsageError, match="no Bender.yml there.*bender checkout"):
        D.DutOptions.from_args(_args("--upstream", str(tmp_path)))
