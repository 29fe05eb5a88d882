"""Where the project's own files are, in one place.

The package carries what it needs as package data, so an installed
``redmule_verif`` works outside a checkout: the project's RTL
(``redmule_verif.rtl``, the repository's ``rtl/``), the SystemVerilog harness,
the suites and directed jobs, the mutant catalogue and the testplan. Outputs
(``out/``) go below the working directory; the build cache below the
checkout when the package runs from one, else below the working directory,
unless ``REDMULE_VERIF_BUILD_ROOT`` names it.
"""

from __future__ import annotations

import os
import pathlib
import importlib.util

PKG = pathlib.Path(__file__).resolve().parents[1]


def _package_dir(name: str) -> pathlib.Path:
    """The folder of a subpackage, found without importing it (no import cycles)."""
    return pathlib.Path(importlib.util.find_spec(name).submodule_search_locations[0])


# Installed: package data in redmule_verif/rtl; editable: the checkout's rtl/ beside verif/.
RTL_DIR = PKG / "rtl" if (PKG / "rtl" / "redmule.f").is_file() else PKG.parent / "rtl"
DEFAULT_RTL = RTL_DIR / "redmule.f"
HARNESS = PKG / "env" / "harness" / "redmule_harness.sv"
ADAPTERS_DIR = PKG / "sim" / "adapters"
BENCH_HARNESS_CPP = PKG / "tools" / "bench" / "bench_harness.cpp"
CATALOGUE = PKG / "tools" / "qualify" / "catalogue.yaml"
SEQUENCES_DIR = _package_dir("redmule_verif.sequences")
SUITES_DIR = SEQUENCES_DIR / "suites"
DIRECTED_DIR = SEQUENCES_DIR / "directed"
COVERAGE_DIR = _package_dir("redmule_verif.coverage")
TESTPLAN = COVERAGE_DIR / "testplan.yaml"
CODE_WAIVERS = COVERAGE_DIR / "code_waivers.yaml"


def checkout_root() -> pathlib.Path | None:
    """The repository checkout the package runs from (an editable install), or None."""
    root = PKG.parent
    return root if (root / "pyproject.toml").is_file() and (root / "verif").resolve() == PKG else None


def out_dir(*parts: str) -> pathlib.Path:
    """A default output folder: ``out/PARTS`` below the working directory, absolute."""
    return pathlib.Path("out", *parts).resolve()


def build_cache() -> pathlib.Path:
    env = os.environ.get("REDMULE_VERIF_BUILD_ROOT")
    if env:
        return pathlib.Path(env).resolve()
    return (checkout_root() or pathlib.Path.cwd()) / "build" / "cache"
