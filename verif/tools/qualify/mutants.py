"""RTL mutants: a catalogue of small, realistic bugs, applied to a copy of the RTL.

The catalogue (``tests/mutants/catalogue.yaml``) is data: each entry names a file
of the RTL directory, an exact ``find`` snippet that must occur exactly once in
it and its ``replace``ment, a ``class`` (arithmetic, datapath, memory, control),
a description and, for a mutant that no legal stimulus can tell apart from the
original, the ``equivalent`` reason.

:func:`apply_mutant` copies the RTL directory (never touching the original),
applies one entry to the copy and returns the path of the copy's file list, ready
for ``runner.env_config(rtl=[path])``: the build cache keys on file contents, so
every mutant gets its own cache entry and a rebuild of the same mutant is a hit.
A snippet that is missing or ambiguous is a :class:`MutantError` naming the
entry, the file and the count, so the catalogue cannot silently rot when the RTL
changes (``tests/test_qualify.py`` checks every entry against ``rtl/``).

    from redmule_verif.tools.qualify.mutants import load_catalogue, apply_mutant
    m = load_catalogue()["fma_round_ties_away"]
    flist = apply_mutant(m, dest="out/qualify/mutants/fma_round_ties_away")
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import re
import shutil
import tempfile

import yaml

from redmule_verif.sim.paths import CATALOGUE, RTL_DIR

FILELIST = "redmule.f"
CLASSES = ("arithmetic", "datapath", "memory", "control")
ENTRY_KEYS = {"id", "class", "description", "file", "find", "replace", "equivalent"}
REQUIRED_KEYS = ("id", "class", "description", "file", "find", "replace")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class MutantError(ValueError):
    """A catalogue entry that cannot be applied (file missing, snippet missing or ambiguous)."""


class CatalogueError(ValueError):
    """The catalogue file itself is malformed (keys, types, duplicate ids, classes)."""


@dataclasses.dataclass(frozen=True)
class Mutant:
    id: str
    cls: str
    description: str
    file: str
    find: str
    replace: str
    equivalent: str | None = None

    @property
    def is_equivalent(self) -> bool:
        return bool(self.equivalent)

    def to_dict(self) -> dict:
        d = {"id": self.id, "class": self.cls, "description": self.description, "file": self.file,
             "find": self.find, "replace": self.replace}
        if self.equivalent:
            d["equivalent"] = self.equivalent
        return d

    def diff(self) -> str:
        """A short unified-diff-like view of the change."""
        old = "\n".join("- " + ln for ln in self.find.splitlines())
        new = "\n".join("+ " + ln for ln in self.replace.splitlines())
        return f"{self.file}\n{old}\n{new}"


class Catalogue(dict):
    """id -> Mutant, in catalogue order."""

    path: pathlib.Path | None = None

    def by_class(self) -> dict[str, list[Mutant]]:
        out: dict[str, list[Mutant]] = {c: [] for c in CLASSES}
        for m in self.values():
            out[m.cls].append(m)
        return out

    def select(self, ids=None, classes=None, include_equivalent: bool = True) -> list[Mutant]:
        """Entries by id (in the order given; unknown ids are an error), class, equivalence."""
        if ids:
            unknown = [i for i in ids if i not in self]
            if unknown:
                raise CatalogueError(f"unknown mutant id(s) {', '.join(unknown)}; known: {', '.join(self)}")
            chosen = [self[i] for i in dict.fromkeys(ids)]
        else:
            chosen = list(self.values())
        if classes:
            bad = [c for c in classes if c not in CLASSES]
            if bad:
                raise CatalogueError(f"unknown class(es) {bad}; classes: {', '.join(CLASSES)}")
            chosen = [m for m in chosen if m.cls in classes]
        if not include_equivalent and not ids:
            chosen = [m for m in chosen if not m.is_equivalent]
        return chosen


def parse_catalogue(data, where: str = "<catalogue>") -> Catalogue:
    """Validate the YAML structure of a catalogue (not the RTL snippets: see :func:`check_mutant`)."""
    if isinstance(data, dict):
        extra = set(data) - {"mutants"}
        if extra:
            raise CatalogueError(f"{where}: unknown top-level key(s) {sorted(extra)} (expected 'mutants')")
        data = data.get("mutants")
    if not isinstance(data, list) or not data:
        raise CatalogueError(f"{where}: expected a non-empty list of mutants under 'mutants'")
    cat = Catalogue()
    for n, e in enumerate(data):
        label = f"{where}: entry {n}" + (f" ({e.get('id')})" if isinstance(e, dict) and e.get("id") else "")
        if not isinstance(e, dict):
            raise CatalogueError(f"{label}: must be a mapping")
        unknown = set(e) - ENTRY_KEYS
        if unknown:
            raise CatalogueError(f"{label}: unknown key(s) {sorted(unknown)}; keys: {sorted(ENTRY_KEYS)}")
        missing = [k for k in REQUIRED_KEYS if k not in e]
        if missing:
            raise CatalogueError(f"{label}: missing key(s) {missing}")
        for k in REQUIRED_KEYS + ("equivalent",):
            if k in e and not isinstance(e[k], str):
                raise CatalogueError(f"{label}: {k} must be a string, got {type(e[k]).__name__}")
        mid = e["id"]
        if not _ID_RE.match(mid):
            raise CatalogueError(f"{label}: id {mid!r} must be lower_snake_case")
        if mid in cat:
            raise CatalogueError(f"{label}: duplicate id {mid!r}")
        if e["class"] not in CLASSES:
            raise CatalogueError(f"{label}: class {e['class']!r} is not one of {', '.join(CLASSES)}")
        if not e["find"]:
            raise CatalogueError(f"{label}: empty find")
        if e["find"] == e["replace"]:
            raise CatalogueError(f"{label}: replace is identical to find (not a mutant)")
        if "/" in e["file"] or "\\" in e["file"] or e["file"].startswith("."):
            raise CatalogueError(f"{label}: file {e['file']!r} must be a plain file name of the RTL directory")
        if "equivalent" in e and not e["equivalent"].strip():
            raise CatalogueError(f"{label}: equivalent must give the reason")
        cat[mid] = Mutant(mid, e["class"], " ".join(e["description"].split()), e["file"], e["find"],
                          e["replace"], " ".join(e["equivalent"].split()) if e.get("equivalent") else None)
    return cat


def load_catalogue(path=None) -> Catalogue:
    """Read and validate the catalogue (default ``tests/mutants/catalogue.yaml``)."""
    p = pathlib.Path(path) if path else CATALOGUE
    if not p.exists():
        raise CatalogueError(f"mutant catalogue {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{p}: not valid YAML: {exc}") from None
    cat = parse_catalogue(data, str(p))
    cat.path = p
    return cat


def check_mutant(m: Mutant, rtl_dir=RTL_DIR) -> str:
    """The mutated text of ``m``'s file; :class:`MutantError` when the snippet is not there exactly once."""
    src = pathlib.Path(rtl_dir) / m.file
    if not src.is_file():
        raise MutantError(f"mutant {m.id}: file {m.file} does not exist in {rtl_dir}")
    text = src.read_text()
    count = text.count(m.find)
    if count != 1:
        what = "not found" if count == 0 else f"found {count} times (ambiguous)"
        raise MutantError(f"mutant {m.id}: the find snippet is {what} in {src}; the RTL changed? "
                          f"Update tests/mutants/catalogue.yaml. Snippet: {m.find!r}")
    return text.replace(m.find, m.replace, 1)


def validate(cat: Catalogue, rtl_dir=RTL_DIR) -> list[str]:
    """Every problem of applying the catalogue to ``rtl_dir`` (empty: all entries apply exactly once)."""
    problems = []
    for m in cat.values():
        try:
            check_mutant(m, rtl_dir)
        except MutantError as exc:
            problems.append(str(exc))
    return problems


def apply_mutant(m: Mutant, rtl_dir=RTL_DIR, dest=None, filelist: str = FILELIST) -> pathlib.Path:
    """Copy ``rtl_dir`` to ``dest`` (default: a new temporary directory), mutate the copy, return its file list.

    ``dest`` is emptied first when it exists. The original directory is only read.
    """
    rtl_dir = pathlib.Path(rtl_dir).resolve()
    mutated = check_mutant(m, rtl_dir)  # fails before anything is written
    if dest is None:
        dest = pathlib.Path(tempfile.mkdtemp(prefix=f"redmule_mutant_{m.id}_"))
        shutil.rmtree(dest)
    dest = pathlib.Path(dest).resolve()
    if dest == rtl_dir or rtl_dir in dest.parents:
        raise MutantError(f"mutant {m.id}: destination {dest} is inside the RTL directory {rtl_dir}")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(rtl_dir, dest, ignore=shutil.ignore_patterns("*.orig", "*.rej", ".*"))
    (dest / m.file).write_text(mutated)
    flist = dest / filelist
    if not flist.exists():
        raise MutantError(f"mutant {m.id}: the RTL copy has no file list {filelist} (give the .f of the RTL)")
    return flist


def main(argv=None) -> int:
    """``python -m redmule_verif.tools.qualify.mutants [--check] [--apply ID --dest DIR]``: check or apply the catalogue."""
    ap = argparse.ArgumentParser(prog="python -m redmule_verif.tools.qualify.mutants", description=main.__doc__)
    ap.add_argument("--catalogue", default=None)
    ap.add_argument("--rtl-dir", default=str(RTL_DIR))
    ap.add_argument("--apply", metavar="ID", default=None, help="apply one mutant into --dest")
    ap.add_argument("--dest", default=None)
    a = ap.parse_args(argv)
    cat = load_catalogue(a.catalogue)
    if a.apply:
        print(apply_mutant(cat.select([a.apply])[0], a.rtl_dir, a.dest))
        return 0
    problems = validate(cat, a.rtl_dir)
    for c, ms in cat.by_class().items():
        print(f"{c:<11} {len(ms):3d}  {' '.join(m.id for m in ms)}")
    print(f"{len(cat)} mutants, {sum(m.is_equivalent for m in cat.values())} marked equivalent")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
