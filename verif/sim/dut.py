"""The DUT options of every command, in one place: ``--rtl --top -P --mem-kib --no-dut-params --build-dir
--cxx-opt --define --verilator-arg --profile --waive`` -> :class:`DutOptions` -> the build configuration
(:meth:`DutOptions.sim_config`), the environment of every run (:meth:`DutOptions.run_env`: the profile's
conventions and the waivers) and back to command-line words for repro lines (:meth:`DutOptions.cli_args`).

A new DUT option is one argument in :func:`add_dut_options`, one field of
:class:`DutOptions` (read in :meth:`DutOptions.from_args`), and its effect in
``sim_config`` and ``cli_args``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib

from redmule_verif.flow.triage import parse_waivers
from redmule_verif.model.encoding import MEM_BASE, MEM_BYTES
from redmule_verif.model.profile import ProfileError, load_profile
from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig
from redmule_verif.sim.build import build
from redmule_verif.sim.paths import DEFAULT_RTL
from redmule_verif.sim.runner import DUT_PARAMS, env_config

DEFAULT_TOP = "redmule"
UPSTREAM_TOP = "redmule_published"  # the project's adapter around the published redmule_top
UPSTREAM_PROFILE = "published"
DEFAULT_MEM_KIB = MEM_BYTES // 1024
CXX_OPTS = ("O0", "O1", "O2")


class UsageError(Exception):
    """A command-line option is wrong: the message says which and why (exit status 2)."""


def add_dut_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("DUT options")
    g.add_argument("--upstream", metavar="DIR", default=None,
                   help="a checkout of the published RedMulE (github.com/pulp-platform/redmule) with its Bender "
                        "dependencies checked out (bender checkout, or DIR/.bender/git/checkouts): builds it through "
                        f"the project's adapter ({UPSTREAM_TOP}) with the published flow's defines and options, "
                        f"and drives it with the {UPSTREAM_PROFILE} profile unless --profile says otherwise")
    g.add_argument("--rtl", action="append", metavar="PATH", default=None,
                   help="RTL: a .f file list, HDL files, a directory or a Bender package's Bender.yml "
                        "(repeatable; default rtl/redmule.f)")
    g.add_argument("--bender-target", action="append", metavar="T", default=None,
                   help="extra Bender target for a Bender.yml among the RTL (repeatable)")
    g.add_argument("--bender-deps", action="append", metavar="DIR", default=None,
                   help="folder of dependency checkouts named by package, for a Bender.yml among the RTL "
                        "(repeatable; default: the package's .bender/git/checkouts)")
    g.add_argument("--top", default=DEFAULT_TOP, metavar="NAME", help=f"top module of the DUT (default {DEFAULT_TOP})")
    g.add_argument("-P", dest="param", action="append", metavar="NAME=VALUE", default=None,
                   help=f"DUT parameter (repeatable): {', '.join(DUT_PARAMS)}")
    g.add_argument("--mem-kib", type=int, default=DEFAULT_MEM_KIB, metavar="N",
                   help=f"TCDM size in KiB (default {DEFAULT_MEM_KIB})")
    g.add_argument("--no-dut-params", action="store_true",
                   help="the top has no L/H/P/N_CORES/ID_WIDTH parameters (give the geometry with -P anyway)")
    g.add_argument("--build-dir", metavar="DIR", default=None, help="build cache root (default build/cache)")
    g.add_argument("--cxx-opt", choices=CXX_OPTS, default=None,
                   help="C++ optimisation of the simulator (default: the build layer's -O2; O0 compiles about "
                        "4x faster, for short runs)")
    g.add_argument("--define", action="append", metavar="NAME[=VALUE]", default=None,
                   help="a Verilog define for the build (repeatable), e.g. --define TARGET_VERILATOR")
    g.add_argument("--verilator-arg", action="append", metavar="ARG", default=None,
                   help="an extra Verilator option (repeatable; one word each), e.g. --verilator-arg=-Wno-BLKANDNBLK")
    g.add_argument("--profile", metavar="NAME|FILE", default=None,
                   help="the RTL's programming conventions (verif/model/profiles: spec, published; or a YAML "
                        "file); default spec")
    g.add_argument("--waive", action="append", metavar="CHECK:REASON", default=None,
                   help="demote one check to a warning, with the reason (repeatable; recorded in the results)")


def parse_params(items) -> dict:
    params = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise UsageError(f"-P {item!r}: expected NAME=VALUE, e.g. -P L=8")
        if name not in DUT_PARAMS:
            raise UsageError(f"-P {name}: unknown DUT parameter (known: {', '.join(DUT_PARAMS)})")
        try:
            params[name] = int(value, 0)
        except ValueError:
            raise UsageError(f"-P {item!r}: the value must be an integer") from None
    return params


def parse_defines(items) -> tuple[tuple[str, str], ...]:
    out = {}
    for item in items or []:
        name, _, value = str(item).partition("=")
        name = name.strip()
        if not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise UsageError(f"--define {item!r}: expected NAME or NAME=VALUE with a Verilog identifier, "
                             "e.g. --define TARGET_VERILATOR")
        out[name] = value
    return tuple(sorted(out.items()))


def _dirs(paths, option: str) -> tuple[str, ...]:
    out = []
    for d in paths or ():
        p = pathlib.Path(d).expanduser()
        if not p.is_dir():
            raise UsageError(f"{option} {d}: no such directory")
        out.append(str(p.resolve()))
    return tuple(out)


def _upstream(path) -> str | None:
    if not path:
        return None
    d = pathlib.Path(path).expanduser().resolve()
    if not (d / "Bender.yml").is_file():
        raise UsageError(f"--upstream {path}: no Bender.yml there. Give a checkout of the published RedMulE: "
                         "git clone https://github.com/pulp-platform/redmule DIR && cd DIR && bender checkout "
                         "(or put the dependency checkouts in DIR/.bender/git/checkouts, or name a folder of them "
                         "with --bender-deps)")
    return str(d)


def _rtl_paths(paths) -> tuple[str, ...]:
    out = []
    for p in paths:
        rp = pathlib.Path(p).expanduser()
        if not rp.exists():
            raise UsageError(f"--rtl {p}: no such file or directory")
        out.append(str(rp.resolve()))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class DutOptions:
    """The DUT a command runs on. ``rtl`` is empty for the project's own RTL."""

    rtl: tuple[str, ...] = ()
    top: str = DEFAULT_TOP
    params: tuple[tuple[str, int], ...] = ()
    mem_kib: int = DEFAULT_MEM_KIB
    dut_params: bool = True
    build_dir: str | None = None
    cxx_opt: str | None = None
    defines: tuple[tuple[str, str], ...] = ()
    verilator_args: tuple[str, ...] = ()
    profile: str | None = None   # a profile name or an absolute YAML path; None = the spec
    waivers: tuple[tuple[str, str], ...] = ()
    upstream: str | None = None  # a checkout of the published RedMulE (sets rtl, top and profile's defaults)
    bender_targets: tuple[str, ...] = ()
    bender_deps: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args) -> "DutOptions":
        """The options of a parsed command line (raises UsageError)."""
        mem_kib = getattr(args, "mem_kib", DEFAULT_MEM_KIB)
        if mem_kib <= 0 or mem_kib * 1024 > 16 * 1024 * 1024:
            raise UsageError(f"--mem-kib {mem_kib}: legal 1 .. 16384")
        opt = getattr(args, "cxx_opt", None)
        build_dir = getattr(args, "build_dir", None)
        upstream = _upstream(getattr(args, "upstream", None))
        profile = getattr(args, "profile", None)
        if profile is None and upstream:
            profile = UPSTREAM_PROFILE
        if profile and pathlib.Path(profile).is_file():
            profile = str(pathlib.Path(profile).resolve())
        try:
            load_profile(profile)
            waivers = tuple(sorted(parse_waivers(getattr(args, "waive", None)).items()))
        except (ProfileError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        rtl = _rtl_paths(getattr(args, "rtl", None) or ())
        top = getattr(args, "top", DEFAULT_TOP)
        if upstream:
            rtl = (str(pathlib.Path(upstream) / "Bender.yml"),) + rtl
            if top == DEFAULT_TOP:
                top = UPSTREAM_TOP
        return cls(rtl=rtl, top=top,
                   params=tuple(sorted(parse_params(getattr(args, "param", None)).items())), mem_kib=mem_kib,
                   dut_params=not getattr(args, "no_dut_params", False),
                   build_dir=str(pathlib.Path(build_dir).resolve()) if build_dir else None,
                   cxx_opt=None if opt in (None, "", "default") else opt,
                   defines=parse_defines(getattr(args, "define", None)),
                   verilator_args=tuple(getattr(args, "verilator_arg", None) or ()),
                   profile=profile or None, waivers=waivers, upstream=upstream,
                   bender_targets=tuple(getattr(args, "bender_target", None) or ()),
                   bender_deps=_dirs(getattr(args, "bender_deps", None), "--bender-deps"))

    def replace(self, **kw) -> "DutOptions":
        return dataclasses.replace(self, **kw)

    @property
    def parameters(self) -> dict:
        return dict(self.params)

    @property
    def mem_words(self) -> int:
        return self.mem_kib * 1024 // 4

    @property
    def rtl_paths(self) -> list[str]:
        return list(self.rtl) or [str(DEFAULT_RTL)]

    def sim_config(self, waves: bool = False, coverage: bool = False):
        """The build configuration: the harness around the RTL."""
        try:
            cfg = env_config(rtl=self.rtl_paths, top=self.top, parameters=self.parameters, mem_words=self.mem_words,
                             mem_base=MEM_BASE, waves=waves, coverage=coverage, dut_params=self.dut_params,
                             defines=dict(self.defines), bender_targets=self.bender_targets,
                             bender_deps=self.bender_deps)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if self.verilator_args:
            cfg = cfg.with_(extra_args=tuple(cfg.extra_args) + self.verilator_args)
        if self.cxx_opt:  # appended after the build layer's -O2: the last -O wins
            cfg = cfg.with_(extra_args=tuple(cfg.extra_args) + ("-CFLAGS", f"-{self.cxx_opt}"))
        return cfg

    def build(self, waves: bool = False, coverage: bool = False, quiet: bool = True):
        """Build (or take from the cache) the simulator."""
        cfg = self.sim_config(waves=waves, coverage=coverage)
        if not quiet:
            print(f"building {self.top} ({'waves' if waves else 'no waves'}) ...", flush=True)
        sim = build(cfg, cache_root=self.build_dir)
        sim.run_env = self.run_env()
        if not quiet:
            print(f"build {'cached' if sim.cached else 'done'}: {sim.dir} ({sim.build_seconds:.1f} s)", flush=True)
        return sim

    def cli_args(self, rtl: bool = True, cxx_opt: bool = True) -> list[str]:
        """The non-default options as command-line words (paths absolute), for repro lines."""
        out = []
        derived_rtl = str(pathlib.Path(self.upstream) / "Bender.yml") if self.upstream else None
        if self.upstream:
            out += ["--upstream", self.upstream]
        if rtl:
            for p in self.rtl:
                if p != derived_rtl:
                    out += ["--rtl", p]
        if self.top != (UPSTREAM_TOP if self.upstream else DEFAULT_TOP):
            out += ["--top", self.top]
        for t in self.bender_targets:
            out += ["--bender-target", t]
        for d in self.bender_deps:
            out += ["--bender-deps", d]
        for k, v in self.params:
            out += ["-P", f"{k}={v}"]
        if self.mem_kib != DEFAULT_MEM_KIB:
            out += ["--mem-kib", str(self.mem_kib)]
        if not self.dut_params:
            out += ["--no-dut-params"]
        if self.build_dir:
            out += ["--build-dir", self.build_dir]
        if cxx_opt and self.cxx_opt:
            out += ["--cxx-opt", self.cxx_opt]
        for k, v in self.defines:
            out += ["--define", f"{k}={v}" if v else k]
        for a in self.verilator_args:
            out += [f"--verilator-arg={a}"]
        if self.profile != (UPSTREAM_PROFILE if self.upstream else None):
            out += ["--profile", self.profile or "spec"]
        for k, v in self.waivers:
            out += ["--waive", f"{k}:{v}"]
        return out

    def run_env(self) -> dict:
        """What every run of this DUT gets in its environment: the profile and the waivers."""
        env = {}
        if self.profile and self.profile != "spec":
            env["REDMULE_PROFILE"] = load_profile(self.profile).to_json()
        if self.waivers:
            env["REDMULE_WAIVE"] = json.dumps(dict(self.waivers), sort_keys=True)
        return env

    def build_info(self, sim) -> dict:
        """What results.json records of the DUT and its build."""
        return {"rtl": self.rtl_paths, "top": self.top,
                "parameters": sim.config.params, "mem_kib": self.mem_kib, "dut_params": self.dut_params,
                "key": sim.key, "dir": str(sim.dir), "cached": sim.cached, "build_seconds": sim.build_seconds,
                "cxx_opt": self.cxx_opt or "O2", "defines": dict(self.defines),
                "verilator_args": list(self.verilator_args), "profile": self.profile or "spec",
                "upstream": self.upstream,
                "waivers": dict(self.waivers), "args": self.cli_args()}

    def engine(self) -> EngineConfig:
        """The engine geometry the parameters give."""
        return EngineConfig.from_params(self.parameters)

    def memory(self) -> MemoryConfig:
        return MemoryConfig(size=self.mem_words * 4)
