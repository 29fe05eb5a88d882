"""Where a qualification builds: a snapshot of the RTL taken once (so every mutant starts from the same
text even when somebody edits the RTL meanwhile), the mutated copies, and their builds."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import threading
from typing import Callable

from redmule_verif.sim.dut import DutOptions
from redmule_verif.tools.qualify import mutants as mu

# Mutant (and baseline) simulators are compiled at -O0: about a quarter of the C++ compile time of -O2,
# and a run's wall time is dominated by the Python environment, not by the model (large_jobs: same time).
DEFAULT_CXX_OPT = "O0"


def rtl_version(rtl_dir: pathlib.Path) -> str | None:
    """git commit of the RTL directory, '+dirty' when it has uncommitted changes (None outside git)."""
    try:
        head = subprocess.run(["git", "-C", str(rtl_dir), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(rtl_dir), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


class Workspace:
    """The RTL (``rtl_dir``, with ``filelist`` when it has one) and how to build it (``dut``; ``build_fn``
    replaces the build, for tests)."""

    def __init__(self, out: pathlib.Path, rtl_dir: pathlib.Path, filelist: str | None,
                 dut: DutOptions = DutOptions(cxx_opt=DEFAULT_CXX_OPT), build_fn: Callable | None = None):
        self.out = pathlib.Path(out).resolve()
        self.rtl_dir = pathlib.Path(rtl_dir).resolve()
        self.filelist = filelist
        self.dut = dut
        self.build_fn = build_fn
        self.lock = threading.RLock()
        self._snapshot = None
        self._clean_sim = None

    @property
    def is_project_rtl(self) -> bool:
        return self.rtl_dir == mu.RTL_DIR.resolve()

    def source_dir(self) -> pathlib.Path:
        """The snapshot (OUT/clean_rtl), taken on first use."""
        with self.lock:
            if self._snapshot is None:
                snap = self.out / "clean_rtl"
                if snap.exists():
                    shutil.rmtree(snap)
                shutil.copytree(self.rtl_dir, snap, ignore=shutil.ignore_patterns(".*", "*.orig", "*.rej"))
                self._snapshot = snap
            return self._snapshot

    def build(self, rtl):
        if self.build_fn is not None:
            return self.build_fn(rtl)
        return self.dut.replace(rtl=(str(rtl),)).build()

    def clean_sim(self):
        """The build of the snapshot (made once)."""
        with self.lock:
            if self._clean_sim is None:
                src = self.source_dir()
                self._clean_sim = self.build(src / self.filelist if self.filelist else src)
            return self._clean_sim

    def apply(self, m, dest: pathlib.Path) -> pathlib.Path:
        """The mutated copy of the snapshot in ``dest``: its file list, or the directory when there is none
        (raises mutants.MutantError when the mutant does not apply)."""
        if self.filelist:
            return mu.apply_mutant(m, self.source_dir(), dest, self.filelist)
        text = mu.check_mutant(m, self.source_dir())
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.source_dir(), dest)
        (dest / m.file).write_text(text)
        return dest
