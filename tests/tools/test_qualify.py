"""Mutation qualification of the environment (issue 6).

Fast tests: the mutant catalogue (tests/mutants/catalogue.yaml) is well formed and
every entry applies exactly once to the current rtl/, into a copy, leaving rtl/
untouched; apply errors are clear.
"""

from __future__ import annotations

import hashlib
import json
import pathlib

import pytest

from redmule_verif.tools.qualify import mutants as mu

REPO = pathlib.Path(__file__).resolve().parents[2]


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


# --------------------------------------------------------------------------- qualify logic (no simulation)

from redmule_verif.sim.dut import DutOptions  # noqa: E402
from redmule_verif.tools.qualify import plan as qplan  # noqa: E402
from redmule_verif.tools.qualify import qualifier as q  # noqa: E402
from redmule_verif.tools.qualify.plan import Run  # noqa: E402
from redmule_verif.tools.qualify.workspace import Workspace  # noqa: E402


def _make(mutants, runs, out, rtl_dir=mu.RTL_DIR, build_fn=None, run_fn=None, dut=None, previous=None, **settings):
    ws = Workspace(out, rtl_dir, mu.FILELIST, dut or DutOptions(cxx_opt="O0"), build_fn=build_fn)
    extra = {"run_fn": run_fn} if run_fn else {}
    return q.Qualifier(mutants, runs, ws, q.Settings(**settings), log=lambda s: None, previous=previous, **extra)


class _FakeSim:
    def __init__(self, rtl):
        self.rtl = pathlib.Path(rtl)
        self.cached = True
        self.key = "fake"


def _fake_world(kill_map, broken=(), slow=None):
    """build_fn/run_fn stand-ins: a mutant (by the directory name of its copy) fails the runs of kill_map."""

    calls = []

    def build_fn(rtl):
        return _FakeSim(rtl)

    def run_fn(sim, test, seed, out_dir, knobs=None, timeout=None, extra_env=None, assert_cycles=None):
        parts = sim.rtl.parts
        mid = parts[parts.index("mutants") + 1] if "mutants" in parts else None
        calls.append((mid, test, seed))
        if slow:
            slow(timeout)
        fails = (mid is None and test in broken) or (mid is not None and test in kill_map.get(mid, ()))
        rec = {"test": test, "seed": seed, "status": "fail" if fails else "pass", "wall_s": 1.0,
               "sim_cycles": 100, "jobs_checked": 1, "message": "", "dir": str(out_dir), "log": "",
               "first_errors": [f"Z MISMATCH in job #0 id=0 core=1 GEMM FP16 M=3 N=4 K=5 (seed {seed})"] if fails else []}
        return rec

    return build_fn, run_fn, calls


def _qualifier(tmp_path, cat, ids, runs, kill_map, broken=(), **kw):
    build_fn, run_fn, calls = _fake_world(kill_map, broken, kw.pop("slow", None))
    return _make(cat.select(ids), runs, tmp_path / "out", build_fn=build_fn, run_fn=run_fn, **kw), calls


def _runs():
    return [Run("zero_dim", 1, {}, 60, {}, est_s=6), Run("ops_formats", 1, {}, 60, {}, est_s=13),
            Run("dim_65535", 1, {}, 60, {}, est_s=90), Run("back_to_back", 2, {}, 60, {}, est_s=6.1)]


def test_qualifier_kills_cheapest_first_and_records(tmp_path, cat):
    ids = ["fma_round_ties_away", "job_id_stuck", "fma_zero_sum_sign", "fp8_input_nan_payload"]
    kill_map = {"fma_round_ties_away": {"ops_formats", "dim_65535"}, "job_id_stuck": {"back_to_back"}}
    qq, calls = _qualifier(tmp_path, cat, ids, _runs(), kill_map)
    res = qq.run()
    m = {r["id"]: r for r in res["mutants"]}
    k = m["fma_round_ties_away"]
    assert k["status"] == "killed" and k["test"] == "ops_formats" and k["runs"] == 3  # zero_dim, back_to_back first
    assert k["sim_cycles"] == 300 and k["signature"].startswith("Z MISMATCH in job")
    assert "--rtl" in k["repro"] and "mutants/fma_round_ties_away/rtl/redmule.f" in k["repro"]
    # ops_formats killed before: it now comes first (13 s / 4), then zero_dim, then back_to_back
    assert m["job_id_stuck"]["status"] == "killed" and m["job_id_stuck"]["runs"] == 3
    assert m["fma_zero_sum_sign"]["status"] == "survived" and m["fma_zero_sum_sign"]["runs"] == 4
    assert m["fp8_input_nan_payload"]["status"] == "equivalent" and m["fp8_input_nan_payload"]["runs"] == 0
    s = res["summary"]
    assert s["killed"] == 2 and s["survived"] == 1 and abs(s["kill_rate"] - 2 / 3) < 1e-9
    assert s["survivors"] == ["fma_zero_sum_sign"]
    # every kill is confirmed on the clean RTL (baseline runs are cached)
    assert [c for c in calls if c[0] is None] == [(None, "ops_formats", 1), (None, "back_to_back", 2)]
    out = tmp_path / "out"
    data = json.loads((out / "qualify.json").read_text())
    assert data["schema"] == q.SCHEMA and data["finished"]
    page = (out / "qualify.html").read_text()
    assert "fma_round_ties_away" in page and "<svg" in page and "<script" not in page
    # the mutated copy is kept for the repro, rtl/ untouched
    assert (out / "mutants" / "fma_round_ties_away" / "rtl" / "redmule.f").exists()


def test_qualifier_sets_aside_runs_broken_on_clean_rtl(tmp_path, cat):
    qq, _ = _qualifier(tmp_path, cat, ["fma_round_ties_away"], _runs(),
                       {"fma_round_ties_away": {"zero_dim", "ops_formats"}}, broken={"zero_dim"})
    res = qq.run()
    r = res["mutants"][0]
    assert r["status"] == "killed" and r["test"] == "ops_formats"
    assert [b["test"] for b in res["broken_on_clean_rtl"]] == ["zero_dim"]


def test_qualifier_killer_runs_move_first(tmp_path, cat):
    ids = ["fma_round_ties_away", "fma_zero_sum_sign"]
    kill_map = {m: {"dim_65535"} for m in ids}
    qq, calls = _qualifier(tmp_path, cat, ids, _runs(), kill_map)
    res = qq.run()
    first, second = res["mutants"]
    assert first["runs"] == 4 and second["runs"] == 4  # 90 s / 4 = 22.5 s: after the cheap runs still
    assert res["kills_by_run"] == {"dim_65535/1": 2}
    assert qplan.order_runs(_runs(), {"ops_formats/1": 1})[0].test == "ops_formats"


def test_qualifier_budget_stops_cleanly(tmp_path, cat):
    ids = ["fma_round_ties_away", "fma_zero_sum_sign", "job_id_stuck"]

    def slow(timeout):
        import time

        time.sleep(0.4)

    qq, _ = _qualifier(tmp_path, cat, ids, _runs(), {}, budget_s=1.0, slow=slow)
    res = qq.run()
    st = [r["status"] for r in res["mutants"]]
    assert st[0] == "incomplete" and st[1:] == ["not-run", "not-run"], st
    assert res["budget_exhausted"] and res["summary"]["kill_rate"] is None
    assert json.loads((tmp_path / "out" / "qualify.json").read_text())["mutants"][0]["status"] == "incomplete"


def test_qualifier_not_applicable(tmp_path, cat):
    bad = mu.Mutant("gone", "memory", "d", "redmule_streamer.sv", "this text is not in the RTL", "x")
    build_fn, run_fn, _ = _fake_world({})
    qq = _make([bad], _runs(), tmp_path / "out", build_fn=build_fn, run_fn=run_fn)
    r = qq.run()["mutants"][0]
    assert r["status"] == "not-applicable" and "not found" in r["message"]


def test_plan_runs_default_and_suite():
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig

    eng, mem = EngineConfig(), MemoryConfig()
    # the default: the nightly suite
    label, runs = qplan.plan_runs(None, eng, mem, seeds=1)
    assert runs and label.startswith("nightly") and all(r.est_s > 0 for r in runs)
    # a suite file of our own: deterministic seeds, estimates filled in, duplicates dropped
    suite = REPO / "sequences" / "suites" / "smoke.yaml"
    label, runs = qplan.plan_runs(str(suite), eng, mem, seeds=1)
    assert runs and all(r.est_s > 0 for r in runs)
    assert len({r.key for r in runs}) == len(runs)
    again = qplan.plan_runs(str(suite), eng, mem, seeds=1)[1]
    assert [r.key for r in again] == [r.key for r in runs]


# --------------------------------------------------------------------------- real kills (simulation)

# One mutant per class that the directed smoke job list kills in seconds; a small array so that each
# build is quick. The kill is confirmed on the clean RTL (one shared build).
SMALL = {"L": 4, "H": 2, "P": 1}
CI_KILLS = {
    "fma_round_ties_away": ("arithmetic", "MISMATCH"),
    "store_one_byte_past": ("memory", "outside"),
    "job_id_stuck": ("control", "ACQUIRE"),
}


@pytest.mark.parametrize("mid", list(CI_KILLS))
def test_mutant_is_killed(mid, cat, tmp_path, build_root):
    cls, words = CI_KILLS[mid]
    m = cat[mid]
    assert m.cls == cls
    runs = [Run("directed", 1, {"file": "smoke"}, 300.0, {})]
    dut = DutOptions(params=tuple(sorted(SMALL.items())), mem_kib=16, build_dir=str(build_root), cxx_opt="O0")
    qq = _make([m], runs, tmp_path / "out", dut=dut, shrink_runs=0)
    res = qq.run()
    r = res["mutants"][0]
    assert r["status"] == "killed", json.dumps(r, indent=1, default=str)[:3000]
    assert r["test"] == "directed" and r["sim_cycles"] > 0 and r["run_wall_s"] > 0
    assert words.lower() in (r["signature"] + r["first_error"]).lower(), r["first_error"]
    assert res["baseline"]["directed/1/" + json.dumps({"file": "smoke"})]["status"] == "pass"
    assert (tmp_path / "out" / "qualify.html").exists()


def test_extra_sequences_run_as_directed_job_files(tmp_path):
    from redmule_verif.sequences.items.job import EngineConfig, MemoryConfig, load_jobs
    from redmule_verif.sequences.library import generate

    names = qplan.extra_sequences()
    assert "tiny_products" in names
    eng, mem = EngineConfig(), MemoryConfig()
    test, knobs = qplan.as_directed("tiny_products", 5, {}, eng, mem, tmp_path)
    assert test == "directed" and pathlib.Path(knobs["file"]).is_absolute()
    replay = load_jobs(knobs["file"])
    orig = generate("tiny_products", 5, eng, mem)
    assert [(j.op, j.fmt, j.m, j.n, j.k, j.x_base) for j in replay] == [(j.op, j.fmt, j.m, j.n, j.k, j.x_base)
                                                                          for j in orig]
    assert all((a.x == b.x).all() for a, b in zip(replay, orig))


def test_snapshot_isolates_the_run_from_rtl_edits(tmp_path, cat):
    rtl = tmp_path / "rtl"
    import shutil

    shutil.copytree(mu.RTL_DIR, rtl)
    build_fn, run_fn, _ = _fake_world({})
    m = cat["fma_round_ties_away"]
    qq = _make([m], _runs()[:1], tmp_path / "out", rtl_dir=rtl, build_fn=build_fn, run_fn=run_fn)
    qq.source_dir()
    (rtl / m.file).write_text("// edited by somebody else meanwhile\n")
    r = qq.run()["mutants"][0]
    assert r["status"] == "survived"
    assert m.replace in (tmp_path / "out" / "mutants" / m.id / "rtl" / m.file).read_text()
    assert qq.assert_cycles is False  # not the project's rtl/ directory: timing not asserted


def test_resume_keeps_decided_results(tmp_path, cat):
    ids = ["fma_round_ties_away", "fma_zero_sum_sign", "job_id_stuck"]
    qq, _ = _qualifier(tmp_path, cat, ids, _runs(), {"fma_round_ties_away": {"zero_dim"}})
    first = qq.run()
    assert [r["status"] for r in first["mutants"]] == ["killed", "survived", "survived"]
    # second pass: job_id_stuck only, now killed; the others are carried over unchanged
    qq2, calls = _qualifier(tmp_path, cat, ["fma_round_ties_away", "job_id_stuck"], _runs(),
                            {"job_id_stuck": {"back_to_back"}}, previous=first)
    res = qq2.run()
    st = {r["id"]: r["status"] for r in res["mutants"]}
    assert st == {"fma_round_ties_away": "killed", "job_id_stuck": "killed", "fma_zero_sum_sign": "survived"}
    assert not any(c[0] == "fma_round_ties_away" for c in calls)
    assert res["summary"]["killed"] == 2 and res["summary"]["survived"] == 1
