"""Mutation qualification of the environment (issue 6).

Fast tests: the mutant catalogue (tests/mutants/catalogue.yaml) is well formed and
every entry applies exactly once to the current rtl/, into a copy, leaving rtl/
untouched; apply errors are clear.
"""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from redmule_verif import mutants as mu

REPO = pathlib.Path(__file__).resolve().parents[1]


def _tree_hash(d: pathlib.Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def cat():
    return mu.load_catalogue()


# --------------------------------------------------------------------------- catalogue


def test_catalogue_size_and_classes(cat):
    assert len(cat) >= 25
    by_class = cat.by_class()
    for c in mu.CLASSES:
        real = [m for m in by_class[c] if not m.is_equivalent]
        assert len(real) >= 4, f"class {c} has only {len(real)} non-equivalent mutants"
    assert len(set(cat)) == len(cat)


def test_every_entry_applies_exactly_once_to_current_rtl(cat):
    problems = mu.validate(cat, mu.RTL_DIR)
    assert not problems, "\n".join(problems)


def test_entries_name_files_of_the_file_list(cat):
    listed = {ln.strip() for ln in (mu.RTL_DIR / mu.FILELIST).read_text().splitlines()
              if ln.strip() and not ln.strip().startswith(("//", "+", "#"))}
    for m in cat.values():
        assert m.file in listed, f"{m.id}: {m.file} is not compiled (not in rtl/{mu.FILELIST})"


def test_equivalent_entries_give_a_reason(cat):
    eq = [m for m in cat.values() if m.is_equivalent]
    for m in eq:
        assert len(m.equivalent) > 40, f"{m.id}: the equivalence argument is too short"
    assert len(eq) < len(cat) // 4


def test_ids_unique_in_the_file():
    import yaml

    data = yaml.safe_load(mu.CATALOGUE.read_text())["mutants"]
    ids = [e["id"] for e in data]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- apply


def test_apply_into_copy_leaves_rtl_untouched(cat, tmp_path):
    before = _tree_hash(mu.RTL_DIR)
    m = cat["fma_round_ties_away"]
    flist = mu.apply_mutant(m, dest=tmp_path / "m")
    assert _tree_hash(mu.RTL_DIR) == before
    assert flist == (tmp_path / "m" / mu.FILELIST).resolve()
    after = _tree_hash(flist.parent)
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed == {m.file}
    text = (flist.parent / m.file).read_text()
    assert m.replace in text and m.find not in text
    # applying again into the same destination starts from a clean copy
    flist2 = mu.apply_mutant(cat["fma_zero_sum_sign"], dest=tmp_path / "m")
    assert m.find in (flist2.parent / m.file).read_text()


def test_apply_to_temporary_directory(cat):
    flist = mu.apply_mutant(cat["job_id_stuck"])
    try:
        assert flist.exists() and flist.parent != mu.RTL_DIR
    finally:
        import shutil

        shutil.rmtree(flist.parent)


def test_apply_errors_are_clear(tmp_path):
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    (rtl / "a.sv").write_text("assign x = y;\nassign x = y;\nassign z = 1;\n")
    (rtl / "redmule.f").write_text("a.sv\n")
    missing = mu.Mutant("gone", "control", "d", "a.sv", "assign q = 0;", "assign q = 1;")
    with pytest.raises(mu.MutantError, match="not found"):
        mu.apply_mutant(missing, rtl, tmp_path / "o1")
    amb = mu.Mutant("amb", "control", "d", "a.sv", "assign x = y;", "assign x = 0;")
    with pytest.raises(mu.MutantError, match="2 times"):
        mu.apply_mutant(amb, rtl, tmp_path / "o2")
    nofile = mu.Mutant("nofile", "control", "d", "b.sv", "x", "y")
    with pytest.raises(mu.MutantError, match="does not exist"):
        mu.apply_mutant(nofile, rtl, tmp_path / "o3")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
    ok = mu.Mutant("ok", "control", "d", "a.sv", "assign z = 1;", "assign z = 0;")
    with pytest.raises(mu.MutantError, match="inside the RTL"):
        mu.apply_mutant(ok, rtl, rtl / "sub")
    assert "assign z = 0;" in (mu.apply_mutant(ok, rtl, tmp_path / "o4").parent / "a.sv").read_text()


@pytest.mark.parametrize("entry,match", [
    ({"id": "a", "class": "bogus", "description": "d", "file": "f.sv", "find": "x", "replace": "y"}, "class"),
    ({"id": "a", "class": "memory", "description": "d", "file": "f.sv", "find": "x"}, "missing"),
    ({"id": "A-1", "class": "memory", "description": "d", "file": "f.sv", "find": "x", "replace": "y"}, "snake"),
    ({"id": "a", "class": "memory", "description": "d", "file": "f.sv", "find": "x", "replace": "x"}, "identical"),
    ({"id": "a", "class": "memory", "description": "d", "file": "../f.sv", "find": "x", "replace": "y"}, "plain"),
    ({"id": "a", "class": "memory", "description": "d", "file": "f.sv", "find": "x", "replace": "y",
      "typo": 1}, "unknown key"),
])
def test_parse_rejects_bad_entries(entry, match):
    with pytest.raises(mu.CatalogueError, match=match):
        mu.parse_catalogue({"mutants": [entry]})


def test_parse_rejects_duplicate_ids():
    e = {"id": "a", "class": "memory", "description": "d", "file": "f.sv", "find": "x", "replace": "y"}
    with pytest.raises(mu.CatalogueError, match="duplicate"):
        mu.parse_catalogue({"mutants": [e, dict(e)]})


def test_select(cat):
    assert [m.id for m in cat.select(["job_id_stuck", "fma_zero_sum_sign"])] == ["job_id_stuck", "fma_zero_sum_sign"]
    assert all(m.cls == "memory" for m in cat.select(classes=["memory"]))
    assert not any(m.is_equivalent for m in cat.select(include_equivalent=False))
    with pytest.raises(mu.CatalogueError, match="unknown mutant"):
        cat.select(["nope"])
