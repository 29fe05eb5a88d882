"""Tests of the functional-coverage library, the RedMulE covergroups and the testplan.

Simulator-free and fast: plain Python and numpy (the reference model is used, when
importable, to check that no waived bin is reachable and that tricky non-waived
bins are).
"""

from __future__ import annotations

import copy
import json
import types

import numpy as np
import pytest

from redmule_verif.coverage import (
    CLASSES,
    CoverageDB,
    CoverageError,
    Covergroup,
    Coverpoint,
    Cross,
    Many,
    RedmuleCoverage,
    class_counts,
    classes_present,
    classify,
    fp_class,
    zero_job_reasons,
)
from redmule_verif.coverage import redmule_cov as rc
from redmule_verif.coverage.__main__ import main
from redmule_verif.coverage.witnesses import WITNESS_FILE, witness_jobs, witness_yaml
from redmule_verif.env.testlist import EXTRA_TESTS, all_tests
from redmule_verif.model import ref
from redmule_verif.sequences import library as lib
from redmule_verif.sequences.items import fpdata
from redmule_verif.coverage.testplan import (
    TestplanError,
    closure,
    format_closure,
    load_testplan,
    next_runs,
    validate_testplan,
)

TESTS = ("random_jobs exhaustive_small remainders ops_formats special_storm overflow_cancel "
         "unaligned_adjacent queued_contexts back_to_back soft_clear reset_mid_job zero_dim multi_core "
         "heavy_stalls grant_profiles large_jobs dim_65535 thin_shapes directed reg_access ctrl_cross").split()
ENG = types.SimpleNamespace(L=12, H=4, P=3, N_CORES=8)


def small_group():
    return Covergroup("g", [
        Coverpoint("op", {"A": "a", "B": {"b", "bb"}, "C": lambda v: v == "c"}),
        Coverpoint("n", {"one": 1, "small": range(2, 5), "big": lambda v: v >= 5, "odd": lambda v: v % 2 == 1}),
    ], [Cross("op_x_n", ["op", "n"], waivers={"C/*": "C never runs with n"})])


def job(op="GEMM", fmt="FP16", m=3, n=2, k=5, x_base=0x100, w_base=0x400, z_base=0x800, **kw):
    return types.SimpleNamespace(op=op, fmt=fmt, m=m, n=n, k=k, x_base=x_base, w_base=w_base, z_base=z_base,
                                 core=0, **kw)


# ----------------------------------------------------------------------------- library


def test_bins_count_hits_and_overlap():
    g = small_group()
    g.sample(op="a", n=1)
    g.sample(op="bb", n=3)
    g.sample(op="c", n=7)
    g.sample(op="zz", n=None)
    op, n = g["op"], g["n"]
    assert op.hits == {"A": 1, "B": 1, "C": 1}
    assert op.unmatched == 1 and op.samples == 4
    # a value hits every bin it matches: 1 is "one" and "odd", 3 is "small" and "odd"
    assert n.hits == {"one": 1, "small": 1, "big": 1, "odd": 3}
    assert n.samples == 3  # None: not sampled
    assert g.samples == 4


def test_cross_bins_names_and_hits():
    g = small_group()
    cr = g["op_x_n"]
    assert cr.bin_names[:4] == ["A/one", "A/small", "A/big", "A/odd"]
    assert len(cr.bin_names) == 12
    g.sample(op="a", n=3)  # A x {small, odd}
    g.sample(op=Many(["a", "b"]), n=1)  # {A, B} x {one, odd}
    g.sample(op="b", n=None)  # cross not sampled
    assert cr.hits["A/small"] == 1 and cr.hits["A/odd"] == 2 and cr.hits["A/one"] == 1
    assert cr.hits["B/one"] == 1 and cr.hits["B/odd"] == 1 and cr.hits["B/small"] == 0
    assert cr.samples == 2
    # Many counts each bin once per sample
    g.sample(op=Many(["a", "a", "a"]), n=1)
    assert g["op"].hits["A"] == 3 and cr.hits["A/one"] == 2


def test_waivers_excluded_from_closure_and_waived_hit_reported():
    g = small_group()
    cr = g["op_x_n"]
    assert set(cr.waivers) == {"C/one", "C/small", "C/big", "C/odd"}
    r = g.report()
    assert r["bins"] == 3 + 4 + 12 and r["waived"] == 4 and r["hit"] == 0
    for op in ("a", "b"):
        for n in (1, 2, 6):
            g.sample(op=op, n=n)
    g.sample(op="c", n=2)
    r = g.report()
    assert r["hit"] == 15 and r["closure"] == 1.0 and r["percent"] == 100.0
    assert r["holes"] == []
    assert r["waived_hit"] == ["g.op_x_n/C/small"]


def test_waiver_errors_and_propagation():
    with pytest.raises(CoverageError, match="matches no bin"):
        Coverpoint("p", {"a": 1}, waivers={"b": "nope"})
    with pytest.raises(CoverageError, match="needs a reason"):
        Coverpoint("p", {"a": 1}, waivers={"a": ""})
    with pytest.raises(CoverageError, match="unknown coverpoints"):
        Covergroup("g", [Coverpoint("p", {"a": 1})], [Cross("c", ["p", "q"])])
    with pytest.raises(CoverageError, match="unknown coverpoints"):
        Covergroup("g", [Coverpoint("p", {"a": 1})]).sample(q=1)
    with pytest.raises(CoverageError, match="may not contain"):
        Coverpoint("p", {"a/b": 1})
    g = Covergroup("g", [Coverpoint("p", {"a": 1, "b": 2}, waivers={"b": "b is impossible"}),
                         Coverpoint("q", {"x": 1, "y": 2})], [Cross("pq", ["p", "q"])])
    assert g["pq"].waivers == {"b/x": "p=b is waived: b is impossible", "b/y": "p=b is waived: b is impossible"}


def test_merge_adds_hits():
    a, b = small_group(), small_group()
    a.sample(op="a", n=1)
    b.sample(op="a", n=1)
    b.sample(op="b", n=6)
    a.merge(b)
    assert a.samples == 3
    assert a["op"].hits == {"A": 2, "B": 1, "C": 0}
    assert a["op_x_n"].hits["A/one"] == 2 and a["op_x_n"].hits["B/big"] == 1
    # merging a dict form works the same way
    a.merge(b.to_dict())
    assert a["op"].hits["A"] == 3


def test_merge_refuses_different_bins_unless_not_strict():
    a = Covergroup("g", [Coverpoint.of_values("m", range(12))])
    b = Covergroup("g", [Coverpoint.of_values("m", range(8))])
    b.sample(m=3)
    with pytest.raises(CoverageError, match="different bins"):
        a.merge(copy.deepcopy(b))
    a.merge(b, strict=False)
    assert a["m"].hits["3"] == 1 and len(a["m"].bin_names) == 12


def test_save_load_round_trip_and_merge_of_files(tmp_path):
    db1 = CoverageDB([small_group()], config={"L": 12})
    db1["g"].sample(op="a", n=1)
    p1 = db1.save(tmp_path / "run1.json", run={"test": "t1", "seed": 1})
    db2 = CoverageDB([small_group()], config={"L": 12})
    db2["g"].sample(op="b", n=2)
    db2["g"].sample(op="c", n=9)
    p2 = db2.save(tmp_path / "sub" / "run2.json", run={"test": "t2", "seed": 2})

    one = CoverageDB.load(p1)
    assert one.to_dict()["covergroups"] == db1.to_dict()["covergroups"]
    assert one.meta["runs"] == [{"test": "t1", "seed": 1}]
    assert one.report()["covergroups"]["g"] == db1.report()["covergroups"]["g"]

    both = CoverageDB.load([p1, p2])
    g = both["g"]
    assert g.samples == 3
    assert g["op"].hits == {"A": 1, "B": 1, "C": 1}
    assert g["op_x_n"].waivers == db1["g"]["op_x_n"].waivers
    assert [r["test"] for r in both.meta["runs"]] == ["t1", "t2"]
    assert both.report()["total"]["runs"] == 2
    # the loaded data-only group cannot be sampled, but it reports and merges
    with pytest.raises(CoverageError, match="loaded from a file"):
        g.sample(op="a", n=1)
    # a round trip through the files keeps everything
    both.save(tmp_path / "merged.json")
    again = CoverageDB.load(tmp_path / "merged.json")
    assert again.to_dict() == both.to_dict()


def test_load_rejects_other_config_and_bad_files(tmp_path):
    a = CoverageDB([small_group()], config={"L": 12})
    b = CoverageDB([small_group()], config={"L": 8})
    pa, pb = a.save(tmp_path / "a.json"), b.save(tmp_path / "b.json")
    with pytest.raises(CoverageError, match="different configurations"):
        CoverageDB.load([pa, pb])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CoverageError, match="not valid JSON"):
        CoverageDB.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(CoverageError, match="schema"):
        CoverageDB.load(tmp_path / "other.json")


def test_never_sampled_covergroup_is_reported():
    db = CoverageDB([small_group(), Covergroup("idle", [Coverpoint("p", {"a": 1, "b": 2})])])
    db["g"].sample(op="a", n=1)
    r = db.report()
    assert r["covergroups"]["idle"]["sampled"] is False
    assert r["covergroups"]["idle"]["samples"] == 0
    assert r["covergroups"]["idle"]["holes"] == ["idle.p/a", "idle.p/b"]
    assert r["covergroups"]["g"]["sampled"] is True
    assert r["total"]["unsampled"] == ["idle"]
    assert "idle.p/a" in db.holes()


def test_resolve_references():
    db = CoverageDB([small_group()])
    assert db.resolve("g.op_x_n/A/*") == ["g.op_x_n/A/one", "g.op_x_n/A/small", "g.op_x_n/A/big", "g.op_x_n/A/odd"]
    assert db.resolve("g.op") == ["g.op/A", "g.op/B", "g.op/C"]
    assert len(db.resolve("g")) == 19
    assert db.resolve("g.o?/A") == ["g.op/A"]
    with pytest.raises(CoverageError, match="unknown bin"):  # every item a glob selects needs the bin
        db.resolve("g.op*/A")
    for bad, msg in (("h", "unknown covergroup"), ("g.nope", "unknown coverpoint/cross"),
                     ("g.op/Z", "unknown bin")):
        with pytest.raises(CoverageError, match=msg):
            db.resolve(bad)


# ----------------------------------------------------------------------------- FP classes

HAND_CODES = {
    "FP16": {
        0x0000: "+zero", 0x8000: "-zero", 0x0001: "+sub", 0x03FF: "+sub", 0x8001: "-sub", 0x0400: "+norm",
        0x3C00: "+norm", 0x7BFE: "+norm", 0xBC00: "-norm", 0x7BFF: "+max", 0xFBFF: "-max", 0x7C00: "+inf",
        0xFC00: "-inf", 0x7E00: "qnan", 0xFE00: "qnan", 0x7FFF: "qnan", 0x7C01: "snan", 0x7DFF: "snan",
        0xFC01: "snan",
    },
    "FP8": {  # E5M2, bias 15
        0x00: "+zero", 0x80: "-zero", 0x01: "+sub", 0x03: "+sub", 0x81: "-sub", 0x04: "+norm", 0x3C: "+norm",
        0xBC: "-norm", 0x7A: "+norm", 0x7B: "+max", 0xFB: "-max", 0x7C: "+inf", 0xFC: "-inf", 0x7E: "qnan",
        0x7F: "qnan", 0xFE: "qnan", 0x7D: "snan", 0xFD: "snan",
    },
    "FP8ALT": {  # IEEE-like E4M3, bias 7, max 240
        0x00: "+zero", 0x80: "-zero", 0x01: "+sub", 0x07: "+sub", 0x87: "-sub", 0x08: "+norm", 0x38: "+norm",
        0xB8: "-norm", 0x76: "+norm", 0x77: "+max", 0xF7: "-max", 0x78: "+inf", 0xF8: "-inf", 0x7C: "qnan",
        0x7F: "qnan", 0xFC: "qnan", 0x79: "snan", 0x7B: "snan", 0xF9: "snan",
    },
}
DTYPE = {"FP16": np.uint16, "FP8": np.uint8, "FP8ALT": np.uint8}


@pytest.mark.parametrize("fmt", ["FP16", "FP8", "FP8ALT"])
def test_fp_classification_by_hand(fmt):
    codes = HAND_CODES[fmt]
    assert set(codes.values()) == set(CLASSES)  # every class is exercised
    for code, cls in codes.items():
        assert fp_class(code, fmt) == cls, f"{fmt} {code:#x}"
    arr = np.array(list(codes), dtype=DTYPE[fmt]).reshape(1, -1)
    got = [CLASSES[i] for i in classify(arr, fmt).ravel()]
    assert got == list(codes.values())
    assert classes_present(arr, fmt) == list(CLASSES)
    # format codes work as well as names
    code = {"FP8": 0, "FP16": 1, "FP8ALT": 2}[fmt]
    assert fp_class(next(iter(codes)), code) == next(iter(codes.values()))


def test_fp_class_census():
    expect = {
        "FP8": {"+zero": 1, "-zero": 1, "+sub": 3, "-sub": 3, "+max": 1, "-max": 1, "+inf": 1, "-inf": 1,
                "qnan": 4, "snan": 2, "+norm": 119, "-norm": 119},
        "FP8ALT": {"+zero": 1, "-zero": 1, "+sub": 7, "-sub": 7, "+max": 1, "-max": 1, "+inf": 1, "-inf": 1,
                   "qnan": 8, "snan": 6, "+norm": 111, "-norm": 111},
        "FP16": {"+zero": 1, "-zero": 1, "+sub": 1023, "-sub": 1023, "+max": 1, "-max": 1, "+inf": 1,
                 "-inf": 1, "qnan": 1024, "snan": 1022, "+norm": 30 * 1024 - 1, "-norm": 30 * 1024 - 1},
    }
    for fmt, counts in expect.items():
        n = 1 << (16 if fmt == "FP16" else 8)
        assert class_counts(np.arange(n, dtype=DTYPE[fmt]), fmt) == {c: counts[c] for c in CLASSES}


def test_classify_rejects_wrong_widths():
    with pytest.raises(ValueError, match="outside"):
        classify(np.array([0x100], dtype=np.uint16), "FP8")
    with pytest.raises(TypeError):
        classify(np.array([1.0]), "FP16")
    with pytest.raises(ValueError, match="unsupported format"):
        fp_class(0, 3)


def test_classification_matches_sequences_classify():
    assert tuple(fpdata.FP_CLASSES) == CLASSES
    for fmt, bits in (("FP8", 8), ("FP8ALT", 8), ("FP16", 16)):
        a = np.arange(1 << bits, dtype=DTYPE[fmt])
        assert np.array_equal(np.asarray(fpdata.classify(a, fmt)), classify(a, fmt)), fmt


# ----------------------------------------------------------------------------- RedmuleCoverage


def test_declaration_and_waivers():
    cov = RedmuleCoverage(ENG)
    names = ["job", "fp_class", "fp_events", "shape", "layout", "grant", "core", "acquire", "control",
             "recovery", "zero_job", "queue", "regs", "ctrl_state", "ctrl_phase", "ctrl_decode", "ctrl_reset",
             "ctrl_roles"]
    assert list(cov.groups) == names
    fc = cov["fp_class"]
    assert len(fc["op_fmt_x"].bin_names) == 8 * 3 * 12
    assert fc["op_fmt_x"].waivers == {} and fc["op_fmt_w"].waivers == {}
    assert set(fc["op_fmt_y"].waivers) == {f"MATMUL/{f}/{c}" for f in rc.FORMAT_BINS for c in CLASSES}
    assert set(fc["op_fmt_z"].waivers) == {f"{o}/{f}/snan" for o in rc.OP_BINS for f in rc.FORMAT_BINS}
    ev = cov["fp_events"]["op_fmt_event"].waivers
    assert set(ev) == ({f"{o}/{f}/{e}" for o in ("MAXMIN", "MINMAX") for f in rc.FORMAT_BINS
                        for e in ("overflow", "underflow", "cancel")}
                       | {f"{o}/{f}/invalid" for o in rc.OP_BINS[2:] for f in rc.FORMAT_BINS})
    for al in ("x_align", "w_align", "z_align"):
        assert set(cov["layout"][al].waivers) == {"FP16/1", "FP16/3"}
        assert "even" in cov["layout"][al].waivers["FP16/1"]
    sh = cov["shape"]
    assert sh["m_mod"].bin_names == [str(i) for i in range(12)]
    assert sh["n_mod"].bin_names == [str(i) for i in range(4)]
    assert sh["k_mod"].bin_names == [str(i) for i in range(16)]
    assert len(cov["core"]["core_x_action"].bin_names) == 8 * 3
    assert len(cov["control"]["kind_x_phase"].bin_names) == 12
    # another engine gives other bins
    other = RedmuleCoverage({"L": 12, "H": 8, "P": 3, "N_CORES": 2})
    assert len(other["shape"]["k_mod"].bin_names) == 32 and len(other["core"]["core"].bin_names) == 2


def test_sample_job_shape_layout_and_classes():
    cov = RedmuleCoverage(ENG)
    x = np.array([[0x0001, 0x7BFF], [0x7C00, 0xFE00], [0x3C00, 0x8000]], dtype=np.uint16)  # 3 x 2
    w = np.full((2, 5), 0x3C00, dtype=np.uint16)
    y = np.full((3, 5), 0x7C01, dtype=np.uint16)  # snan everywhere
    z = np.full((3, 5), 0x7E00, dtype=np.uint16)
    j = job(m=3, n=2, k=5, x_base=0x102, w_base=0x10E, z_base=0x200, launch="queued")
    cov.sample_job(j, x, w, y, z)
    fc = cov["fp_class"]
    assert {b for b, n in fc["op_fmt_x"].hits.items() if n} == {
        "GEMM/FP16/+sub", "GEMM/FP16/+max", "GEMM/FP16/+inf", "GEMM/FP16/qnan", "GEMM/FP16/+norm",
        "GEMM/FP16/-zero"}
    assert {b for b, n in fc["op_fmt_w"].hits.items() if n} == {"GEMM/FP16/+norm"}
    assert {b for b, n in fc["op_fmt_y"].hits.items() if n} == {"GEMM/FP16/snan"}
    assert {b for b, n in fc["op_fmt_z"].hits.items() if n} == {"GEMM/FP16/qnan"}
    assert fc.samples == 1 and fc["x_cls"].samples == 1
    assert cov["job"]["op_x_fmt"].hits["GEMM/FP16"] == 1 and cov["job"]["launch"].hits["queued"] == 1
    sh = cov["shape"]
    assert sh["m_mod_x_fmt"].hits["3/FP16"] == 1
    assert sh["n_mod_x_fmt"].hits["2/FP16"] == 1
    assert sh["k_mod_x_fmt"].hits["5/FP16"] == 1
    assert sh["m_tiles_x_fmt"].hits["single/FP16"] == 1 and sh["k_tiles_x_fmt"].hits["single/FP16"] == 1
    assert sh["volume"].hits["tiny"] == 1
    assert sum(sh["m_ext"].hits.values()) == 0 and sh["m_ext"].unmatched == 0  # 3 is not an extreme
    lay = cov["layout"]
    assert lay["x_align"].hits["FP16/2"] == 1 and lay["w_align"].hits["FP16/2"] == 1
    assert lay["z_align"].hits["FP16/0"] == 1
    assert lay["spacing"].hits["adjacent"] == 1  # X = [0x102, 0x10E), W = [0x10E, 0x122)


def test_layout_spacing():
    cov = RedmuleCoverage(ENG)
    lay = cov["layout"]
    # FP8 2x2x2: X 4 bytes, W 4 bytes, Z 4 bytes
    for xb, wb, zb, want in ((0, 4, 8, "adjacent"), (0, 5, 100, "near"), (0, 35, 200, "near"),
                             (0, 40, 200, "apart"), (100, 0, 4, "adjacent")):
        before = dict(lay["spacing"].hits)
        cov.sample_job(job(fmt="FP8", m=2, n=2, k=2, x_base=xb, w_base=wb, z_base=zb))
        diff = {b for b in before if lay["spacing"].hits[b] != before[b]}
        assert diff == {want}, (xb, wb, zb)
    unmatched = lay["spacing"].unmatched
    cov.sample_job(job(fmt="FP8", m=2, n=2, k=2, x_base=0, w_base=2, z_base=100))  # overlap: undefined
    assert lay["spacing"].unmatched == unmatched + 1
    assert lay["x_align"].hits["FP8/0"] == 6 and lay["w_align"].hits["FP8/1"] == 1


def test_sample_job_extremes_and_formats():
    cov = RedmuleCoverage(ENG)
    sh = cov["shape"]
    cov.sample_job(job(fmt=0, m=1, n=4, k=17))
    cov.sample_job(job(fmt="fp8alt", m=65535, n=5, k=16))
    cov.sample_job(job(fmt=2, m=13, n=1, k=65535))
    assert sh["m_ext"].hits == {"1": 1, "tile_edge": 0, "tile_edge+1": 1, "65535": 1}
    assert sh["n_ext"].hits == {"1": 1, "tile_edge": 1, "tile_edge+1": 1, "65535": 0}
    assert sh["k_ext"].hits == {"1": 0, "tile_edge": 1, "tile_edge+1": 1, "65535": 1}
    assert sh["m_tiles_x_fmt"].hits["multi/FP8ALT"] == 2 and sh["m_tiles_x_fmt"].hits["single/FP8"] == 1
    assert cov["job"]["fmt"].hits == {"FP8": 1, "FP16": 0, "FP8ALT": 2}
    assert sh["volume"].hits["large"] == 1 and sh["volume"].hits["small"] == 1


def test_matmul_y_ignored_and_zero_jobs_skipped():
    cov = RedmuleCoverage(ENG)
    x = np.zeros((1, 1), np.uint8)
    cov.sample_job(job(op="MATMUL", fmt="FP8", m=1, n=1, k=1), x, x, np.full((1, 1), 0x7D, np.uint8), x)
    assert cov["fp_class"]["y_cls"].samples == 0
    assert cov.report()["covergroups"]["fp_class"]["waived_hit"] == []
    assert cov["fp_class"]["op_fmt_z"].hits["MATMUL/FP8/+zero"] == 1
    before = cov["job"].samples
    for j, reasons in ((job(m=0), ["m0"]), (job(n=0, k=0), ["n0", "k0"]), (job(fmt="UNSUPPORTED5"), ["fmt5"]),
                       (job(fmt=7, m=0), ["m0", "fmt7"])):
        assert zero_job_reasons(j) == reasons
        cov.sample_job(j)
        cov.sample_zero_job(reasons)
    assert cov["job"].samples == before
    assert cov["zero_job"]["reason"].hits == {"m0": 2, "n0": 1, "k0": 1, "fmt3": 0, "fmt4": 0, "fmt5": 1,
                                              "fmt6": 0, "fmt7": 1}
    with pytest.raises(ValueError):
        cov.sample_zero_job("m1")


def test_fp_events():
    cov = RedmuleCoverage(ENG)
    ev = cov["fp_events"]["op_fmt_event"]
    u16 = lambda *v: np.array(v, dtype=np.uint16)  # noqa: E731
    # overflow: 65504 * 2 + 0 = Inf from finite operands
    cov.sample_job(job(m=1, n=1, k=1), u16(0x7BFF), u16(0x4000), u16(0x0000), u16(0x7C00))
    assert ev.hits["GEMM/FP16/overflow"] == 1
    # an Inf result with an Inf operand is no overflow
    cov.sample_job(job(m=1, n=1, k=1), u16(0x7C00), u16(0x4000), u16(0x0000), u16(0x7C00))
    assert ev.hits["GEMM/FP16/overflow"] == 1
    # cancel: 1*1 + 1*(-1) = +0; invalid: Inf * 0 = NaN (second column)
    x = u16(0x3C00, 0x3C00).reshape(1, 2)
    w = u16(0x3C00, 0x7C00, 0xBC00, 0xFC00).reshape(2, 2)  # columns (1, -1) and (Inf, -Inf)
    cov.sample_job(job(op="MATMUL", m=1, n=2, k=2), x, w, None, u16(0x0000, 0x7E00))
    assert ev.hits["MATMUL/FP16/cancel"] == 1
    assert ev.hits["MATMUL/FP16/invalid"] == 1
    # a zero result whose operands hold a zero is no cancellation (per element: row of X, column of W, Y)
    cov.sample_job(job(op="GEMM", m=1, n=1, k=2), u16(0x3C00), u16(0x0000, 0x3C00), u16(0x3C00, 0xBC00),
                   u16(0x3C00, 0x0000))
    assert ev.hits["GEMM/FP16/cancel"] == 1  # element 1: 1*1 + -1 = +0 from no zero operand
    cov.sample_job(job(op="GEMM", m=1, n=1, k=1), u16(0x3C00), u16(0x0000), u16(0x0000), u16(0x0000))
    assert ev.hits["GEMM/FP16/cancel"] == 1
    # underflow: 2^-14 * 2^-1 = 2^-15 is subnormal, from normal operands
    cov.sample_job(job(op="MULMIN", m=1, n=1, k=1), u16(0x0400), u16(0x3800), u16(0x3C00), u16(0x0200))
    assert ev.hits["MULMIN/FP16/underflow"] == 1
    assert cov["fp_events"]["event"].samples == 6


def test_other_sampling_apis():
    cov = RedmuleCoverage(ENG)
    cov.sample_grant("bursty", "GEMM")
    cov.sample_grant(types.SimpleNamespace(kind="banks"), 7)
    assert cov["grant"]["profile_x_op"].hits["bursty/GEMM"] == 1
    assert cov["grant"]["profile_x_op"].hits["banks/MINMAX"] == 1
    cov.sample_core(3, "event")
    assert cov["core"]["core_x_action"].hits["3/event"] == 1
    with pytest.raises(ValueError):
        cov.sample_core(0, "poke")
    for v in (0, 255, 0xFFFFFFFF, -2, 7):
        cov.sample_acquire(v)
    a = cov["acquire"]
    assert a["answer"].hits == {"job_id": 3, "-1": 1, "-2": 1}
    assert a["context"].hits == {"ctx0": 1, "ctx1": 2}
    assert a["id_edge"].hits == {"0": 1, "255": 1}
    cov.sample_control("soft_clear_keep", "compute")
    assert cov["control"]["kind_x_phase"].hits["soft_clear_keep/compute"] == 1
    with pytest.raises(ValueError):
        cov.sample_control("reset", "lunch")
    cov.sample_queue(1)
    cov.sample_queue(0)
    assert cov["queue"]["depth"].hits == {"0": 1, "1": 1}
    cov.sample_reg(0x48, write=False, ctx=2)
    cov.sample_reg(0x4C, write=True, be=0x3)
    cov.sample_reg(0x08, write=False, value=2)
    cov.sample_reg(0x3C, write=True)
    r = cov["regs"]
    assert r["ctx_read"].hits["Z_PTR/2"] == 1
    assert r["be_write"].hits["MK/partial"] == 1
    assert r["finished"].hits["2"] == 1
    assert r["reg_x_dir"].hits["unmapped/write"] == 1


def test_redmule_save_load_merge(tmp_path):
    a, b = RedmuleCoverage(ENG), RedmuleCoverage(ENG)
    a.sample_queue(0)
    b.sample_queue(1)
    b.sample_core(7, "trigger")
    pa = a.save(tmp_path / "a.json", run={"test": "back_to_back", "seed": 5})
    pb = b.save(tmp_path / "b.json", run={"test": "queued_contexts", "seed": 6})
    m = RedmuleCoverage.load([pa, pb])  # engine parameters from the files
    assert (m.L, m.H, m.P, m.N_CORES) == (12, 4, 3, 8)
    assert m["queue"]["depth"].hits == {"0": 1, "1": 1}
    assert m.report()["covergroups"]["queue"]["closure"] == 1.0
    assert "queue.depth/0" not in m.holes() and "core.core_x_action/7/trigger" not in m.holes()
    # merge into a live instance keeps it sampleable
    c = RedmuleCoverage(ENG)
    c.merge(pa, b)
    c.sample_queue(1)
    assert c["queue"]["depth"].hits == {"0": 1, "1": 2}
    with pytest.raises(CoverageError, match="different configurations"):
        RedmuleCoverage({"L": 8, "H": 4, "P": 3, "N_CORES": 8}).merge(pa)
    assert "NEVER SAMPLED" in c.format_report()


# ----------------------------------------------------------------------------- waivers vs the reference model


def test_reachability_witnesses_of_non_waived_bins():
    u16 = lambda *v: np.array(v, dtype=np.uint16).reshape(1, -1)  # noqa: E731
    # MATMUL -0: a negative product that underflows (-2^-24 * 2^-2)
    assert int(ref.gemm_op(u16(0x8001), u16(0x3400), None, "MATMUL", "FP16")[0, 0]) == 0x8000
    # MAXMIN returns Y's class through: min(max(x, w), y) with max(x, w) = +Inf
    for ycode in (0xFC00, 0x8000, 0x8001, 0xFBFF):
        z = ref.gemm_op(u16(0x7C00), u16(0x0000), u16(ycode), "MAXMIN", "FP16")
        assert int(z[0, 0]) == ycode
    # FP8ALT max 240 = 15 * 16 exactly, FP8 max 57344 = 224 * 256
    assert int(ref.gemm_op(np.array([[0x57]], np.uint8), np.array([[0x58]], np.uint8), None, "MATMUL",
                           "FP8ALT")[0, 0]) == 0x77
    assert int(ref.gemm_op(np.array([[0x5B]], np.uint8), np.array([[0x5C]], np.uint8), None, "MATMUL",
                           "FP8")[0, 0]) == 0x7B


def test_reference_model_never_hits_a_waived_bin():
    rng = np.random.default_rng(20261126)
    cov = RedmuleCoverage(ENG)
    palettes = {}
    for fmt in ("FP8", "FP16", "FP8ALT"):
        bits = 16 if fmt == "FP16" else 8
        allc = np.arange(1 << bits)
        cls = classify(allc.astype(DTYPE[fmt]), fmt)
        palettes[fmt] = [allc[cls == i] for i in range(len(CLASSES))]
    for op in rc.OP_BINS:
        for fmt in ("FP8", "FP16", "FP8ALT"):
            for _ in range(12):
                m, n, k = (int(v) for v in rng.integers(1, 5, 3))

                def draw(shape):
                    c = rng.integers(0, len(CLASSES), shape)
                    out = np.empty(shape, dtype=DTYPE[fmt])
                    for i in range(len(CLASSES)):
                        sel = c == i
                        out[sel] = rng.choice(palettes[fmt][i], int(sel.sum()))
                    return out

                x, w = draw((m, n)), draw((n, k))
                y = None if op == "MATMUL" else draw((m, k))
                z = ref.gemm_op(x, w, y, op, fmt)
                cov.sample_job(job(op=op, fmt=fmt, m=m, n=n, k=k, x_base=0, w_base=4096, z_base=8192), x, w, y, z)
    rep = cov.report()
    for name in ("fp_class", "fp_events"):
        assert rep["covergroups"][name]["waived_hit"] == [], name
    # and the classes of the inputs are all hit by this storm
    assert rep["covergroups"]["fp_class"]["items"]["op_fmt_x"]["closure"] == 1.0
    assert cov["fp_class"]["op_fmt_z"].hits["MATMUL/FP16/qnan"] > 0


# ----------------------------------------------------------------------------- testplan


def test_packaged_testplan_is_valid():
    tp = load_testplan()
    validate_testplan(tp, RedmuleCoverage(ENG), TESTS)
    names = [t["name"] for t in tp["testpoints"]]
    assert len(names) == len(set(names)) >= 20
    # it is valid for another engine too (references are parameter-independent)
    validate_testplan(tp, RedmuleCoverage({"L": 8, "H": 8, "P": 1, "N_CORES": 2}), TESTS)


def test_testplan_catches_unknown_bin_and_unknown_test():
    cov = RedmuleCoverage(ENG)
    tp = load_testplan()
    bad = copy.deepcopy(tp)
    bad["testpoints"][0]["coverage"].append("job.op_x_fmt/GEMM/FP32")
    bad["testpoints"][1]["tests"].append("no_such_test")
    bad["testpoints"][2]["targets"][0]["test"] = "other_missing_test"
    bad["testpoints"][3]["coverage"].append("nosuchgroup.x")
    with pytest.raises(TestplanError) as e:
        validate_testplan(bad, cov, TESTS)
    msg = str(e.value)
    assert "4 problem(s)" in msg
    assert "unknown bin 'GEMM/FP32'" in msg and "'ops_formats'" in msg
    assert "unknown test 'no_such_test'" in msg
    assert "unknown test 'other_missing_test'" in msg
    assert "unknown covergroup 'nosuchgroup'" in msg
    # a missing test list entry is caught even when the plan itself is fine
    with pytest.raises(TestplanError, match="unknown test 'zero_dim'"):
        validate_testplan(tp, cov, [t for t in TESTS if t != "zero_dim"])


def test_testplan_structure_errors():
    cov = RedmuleCoverage(ENG)
    tp = load_testplan()
    bad = copy.deepcopy(tp)
    bad["testpoints"] = [t for t in bad["testpoints"] if "zero_job" not in str(t.get("coverage"))]
    bad["testpoints"][0]["targets"].append({"bins": "queue.depth/1", "test": "random_jobs", "knobs": {}})
    bad["testpoints"][1]["coverage"] = []
    bad["testpoints"][1].pop("checks", None)
    with pytest.raises(TestplanError) as e:
        validate_testplan(bad, cov, TESTS)
    msg = str(e.value)
    assert "covergroup 'zero_job' is not mapped" in msg
    assert "not in the testpoint's coverage" in msg
    assert "maps to no coverage and no checks" in msg
    with pytest.raises(TestplanError, match="has no knobs"):
        validate_testplan(tp, cov, TESTS, test_knobs={"ops_formats": ["op"]})


def test_testplan_closure_and_next_runs():
    cov = RedmuleCoverage(ENG)
    tp = load_testplan()
    for reason in rc.ZERO_REASONS:
        cov.sample_zero_job(reason)
    cov.sample_queue(1)
    res = closure(tp, cov)
    tps = res["testpoints"]
    assert tps["zero_jobs"]["closure"] == 1.0 and tps["zero_jobs"]["holes"] == []
    assert tps["ops_formats"]["closure"] == 0.0 and tps["ops_formats"]["unsampled"] == ["job"]
    assert tps["contexts_and_queue"]["hit"] == 1
    assert tps["watchdog"]["bins"] == 0 and tps["watchdog"]["closure"] == 1.0
    assert tps["result_classes"]["waived"] == 24  # */*/snan
    hole = "fp_events.op_fmt_event/GEMM/FP8/overflow"
    # placeholders take the hole's bin parts
    assert tps["overflow_underflow_cancel"]["targets"][hole] == [
        {"test": "directed", "knobs": {"file": str(WITNESS_FILE)}},
        {"test": "ops_formats", "knobs": {"ops": ["GEMM"], "fmts": ["FP8"], "dists": ["overflow"]}}]
    assert tps["dim_65535"]["targets"]["shape.k_ext/65535"] == [{"test": "dim_65535", "knobs": {"dims": ["k"]}}]
    # register read-back is targeted by the register-access test
    assert not tps["register_readback"]["gap"] and tps["register_readback"]["untargeted"] == []
    assert all(t == [{"test": "reg_access", "knobs": {}}] for t in tps["register_readback"]["targets"].values())
    # the fallback (a testpoint's tests, no knobs) is flagged and ranked last
    tp2 = copy.deepcopy(tp)
    for t in tp2["testpoints"]:
        if t["name"] == "zero_jobs":
            t.pop("targets")
    cov2 = RedmuleCoverage(ENG)
    r2 = closure(tp2, cov2)["testpoints"]["zero_jobs"]
    assert r2["targets"]["zero_job.reason/m0"] == [{"test": "zero_dim", "knobs": {}, "fallback": True}]
    ranked = next_runs(closure(tp2, cov2))
    assert ranked[-1]["fallback"] and not ranked[0]["fallback"]
    assert all(not r["fallback"] for r in next_runs(closure(tp2, cov2), fallback=False))
    runs = next_runs(res)
    assert runs and all(r["holes"] for r in runs)
    assert len(runs[0]["holes"]) >= len(runs[-1]["holes"])
    assert "zero_jobs" in format_closure(res)


def test_cli_report_merge_closure(tmp_path, capsys):
    runs = tmp_path / "runs"
    a, b = RedmuleCoverage(ENG), RedmuleCoverage(ENG)
    for reason in rc.ZERO_REASONS:
        a.sample_zero_job(reason)
    b.sample_queue(np.int64(1))
    a.save(runs / "a.json", run={"test": "zero_dim", "seed": np.uint64(3)})  # numpy scalars in meta are fine
    b.save(runs / "b.json", run={"test": "queued_contexts", "seed": 4})
    assert main(["merge", str(runs), "-o", str(tmp_path / "merged.json")]) == 0
    merged = CoverageDB.load(tmp_path / "merged.json")
    assert merged["zero_job"].samples == 8 and merged["queue"]["depth"].hits["1"] == 1
    assert [r["seed"] for r in merged.meta["runs"]] == [3, 4]
    capsys.readouterr()
    assert main(["report", str(tmp_path / "merged.json"), "--holes", "1"]) == 0
    out = capsys.readouterr().out
    assert "zero_job" in out and "NEVER SAMPLED" in out
    assert main(["closure", str(runs), "--tests", ",".join(TESTS), "--next", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["testpoints"]["zero_jobs"]["closure"] == 1.0 and len(res["next_runs"]) == 3
    assert main(["closure", str(runs), "--tests", "random_jobs"]) == 2
    assert "unknown test" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing")]) == 2


def test_testplan_matches_the_sequence_library():
    """Every test of the plan is a sequence and every target knob is a knob that sequence reads."""
    knobs = {}
    for name, fn in lib.SEQUENCES.items():
        ctx = lib.SeqContext(knobs={"file": "smoke"} if name == "directed" else {})
        try:
            fn(ctx)
        except Exception as e:  # a library sequence that does not generate is exactly what this test catches
            raise AssertionError(f"sequence {name} does not generate with defaults: {e}") from e
        knobs[name] = set(ctx.used)
    knobs.update({name: set(k) for name, k in EXTRA_TESTS.items()})
    validate_testplan(load_testplan(), RedmuleCoverage(ENG), all_tests(), test_knobs=knobs)
    assert set(TESTS) <= set(all_tests())


def test_placeholder_out_of_range_is_caught():
    tp = load_testplan()
    bad = copy.deepcopy(tp)
    bad["testpoints"][0]["targets"] = [{"bins": "job.op_x_fmt/*/*", "test": "ops_formats", "knobs": {"ops": ["{2}"]}}]
    with pytest.raises(TestplanError, match="placeholder"):
        validate_testplan(bad, RedmuleCoverage(ENG), TESTS)


def test_witness_jobs_hit_their_bins_and_the_file_is_current():
    """Each directed witness job hits the bins its name lists (reference model), never a waived bin;
    the packaged job file is what witnesses.py generates; and every non-waived fp_events bin
    and every +-max / qnan result bin has a witness."""
    assert WITNESS_FILE.read_text() == witness_yaml(), "regenerate: python -m redmule_verif.coverage.witnesses"
    jobs = witness_jobs()
    total = RedmuleCoverage(ENG)
    for j in jobs:
        cov = RedmuleCoverage(ENG)
        x, w, y = j.make_data()
        z = ref.gemm_op(x, w, y, j.op, j.fmt)
        cov.sample_job(j, x, w, y, z)
        total.sample_job(j, x, w, y, z)
        holes = set(cov.holes())
        for b in j.name.split()[1:]:
            assert b not in holes, f"{j.name}: z = {z}"
        assert all(not g["waived_hit"] for g in cov.report()["covergroups"].values()), j.name
    rep = total.report()["covergroups"]
    assert rep["fp_events"]["items"]["op_fmt_event"]["closure"] == 1.0
    zh = set(total["fp_class"]["op_fmt_z"].holes())
    assert not {h for h in zh if h.endswith(("max", "qnan"))}


def test_covergroup_dict_round_trip():
    g = small_group()
    g.sample(op=Many(["a", "c"]), n=3)
    d = json.loads(json.dumps(g.to_dict()))
    h = Covergroup.from_dict(d)
    assert h.name == "g" and h.to_dict() == g.to_dict() and h.report() == g.report()
    assert Covergroup.from_dict("g", d).to_dict() == g.to_dict()  # (name, dict) order works too
    with pytest.raises(CoverageError, match="without a name"):
        Covergroup.from_dict({k: v for k, v in d.items() if k != "name"})


def test_recovery_after_control():
    cov = RedmuleCoverage(ENG)
    u8 = np.zeros((1, 1), np.uint8)
    cov.sample_control("reset", "load")
    cov.sample_control("soft_clear", "store")
    cov.sample_job(job(fmt="FP8", m=1, n=1, k=1), u8, u8, u8, None)  # no result (a victim): no recovery
    cov.sample_zero_job("m0")  # a zero job is no proof of recovery
    assert cov["recovery"].samples == 0
    cov.sample_job(job(fmt="FP8", m=1, n=1, k=1), u8, u8, u8, u8)
    rec = cov["recovery"]["kind_x_phase"]
    assert rec.hits["reset/load"] == 1 and rec.hits["soft_clear/store"] == 1 and sum(rec.hits.values()) == 2
    cov.sample_job(job(fmt="FP8", m=1, n=1, k=1), u8, u8, u8, u8)
    assert sum(rec.hits.values()) == 2  # counted once per control event


def test_control_path_crosses_and_waivers():
    cov = RedmuleCoverage(ENG)
    st = cov.report()["covergroups"]
    # 7 of the 16 context-state pairs are unreachable, for every op of the state cross and for reset
    assert cov.db.bin_state("ctrl_state.op_x_ctxs/ACQUIRE.r/RESERVED/RESERVED")[1]
    assert cov.db.bin_state("ctrl_reset.ctx0_x_ctx1/FREE/QUEUED")[1]
    assert cov.db.bin_state("ctrl_reset.ctx0_x_ctx1/RESERVED/RUNNING")[1] is None
    assert cov.db.bin_state("ctrl_phase.op_x_phase/SOFT_CLEAR.w0/draining")[1]
    cov.sample_ctrl(op="STATUS.r", ctxs=("RUNNING", "QUEUED"), phase=None, offset="STATUS", sel=2, write=False)
    cov.sample_ctrl_phase("STATUS.r", "draining")
    cov.sample_ctrl_reset(("FREE", "RUNNING"))
    cov.sample_role("poll_other")
    for b in ("ctrl_state.op_x_ctxs/STATUS.r/RUNNING/QUEUED", "ctrl_phase.op_x_phase/STATUS.r/draining",
              "ctrl_decode.offset_x_sel/STATUS/2/read", "ctrl_reset.ctx0_x_ctx1/FREE/RUNNING",
              "ctrl_roles.role/poll_other"):
        assert cov.db.bin_state(b)[0] == 1, b
    assert st["ctrl_state"]["hit"] == 0


# ----------------------------------------------------------------------------- per-process declaration, fresh counts


def _counts(db):
    """Every count of a DB (hits, samples, unmatched), for independence checks."""
    return json.dumps({n: g.to_dict() for n, g in db.groups.items()})


def test_each_model_has_its_own_counters():
    """RedmuleCoverage declares its covergroups once per process and copies them: two models (two runs
    in one batch worker) share no count, and sampling, merging or resetting one leaves the other alone."""
    a = RedmuleCoverage(ENG)
    untouched = _counts(a.db)
    assert a.db.to_dict()["covergroups"] == CoverageDB(rc.declare(12, 4, 3, 8)).to_dict()["covergroups"]
    a.sample_reg(0x20, True)
    a.sample_ctrl(op="STATUS.r", ctxs=("RUNNING", "QUEUED"), phase="loading", offset="STATUS", sel=2, write=False)
    a.sample_job(job(fmt="FP8", m=1, n=1, k=1), *[np.zeros((1, 1), np.uint8)] * 4)
    a["shape"].sample(volume=0)  # unmatched
    b = RedmuleCoverage(ENG)
    assert _counts(b.db) == untouched and b.closure() == 0.0
    b.sample_core(1, "event")
    assert a["core"].samples == 0 and a["regs"]["reg"].samples == 1 and a["shape"]["volume"].unmatched == 1
    # a non-strict merge of another configuration adds bins to one model only
    other = RedmuleCoverage({"L": 12, "H": 4, "P": 3, "N_CORES": 9})
    other.sample_core(8, "acquire")
    b.merge(other, strict=False)
    assert "8" in b["core"]["core"].bin_names and "8/acquire" in b["core"]["core_x_action"].hits
    c = RedmuleCoverage(ENG)
    assert "8" not in c["core"]["core"].bin_names and _counts(c.db) == untouched
    assert "8" not in a["core"]["core"].bin_names
    b.sample_core(1, "event")  # a merged model still samples (its added items are not sampled)
    assert b["core"]["core_x_action"].hits["1/event"] == 2
    a.reset()
    assert _counts(a.db) == untouched
    # the declared originals are never handed out
    assert not {id(g) for g in a.db} & {id(g) for gs in rc._DECLARED.values() for g in gs}


def test_fresh_covergroup_shares_no_counts():
    g = small_group()
    g.sample(op="a", n=Many([1, 7]))
    h = g.fresh()
    assert h.to_dict() == small_group().to_dict()
    h.sample(op="c", n=2)
    h["op_x_n"].waivers["A/one"] = "test"
    h["op"].bin_names.append("Z")
    assert g["op"].hits["C"] == 0 and "A/one" not in g["op_x_n"].waivers and "Z" not in g["op"].bin_names
    assert g["op_x_n"].hits["A/one"] == 1 and h["op_x_n"].hits["A/one"] == 0


def test_closure_is_the_report_closure():
    cov = RedmuleCoverage(ENG)
    assert cov.closure() == cov.report()["total"]["closure"] == 0.0
    for i in range(8):
        cov.sample_core(i, "event")
        cov.sample_queue(i % 2)
    rep = cov.report()
    assert 0 < cov.closure() == rep["total"]["closure"]
    for name, g in cov.groups.items():
        assert g.closure() == rep["covergroups"][name]["closure"], name


def test_bins_of_and_sampling_with_overlapping_bins():
    cp = Coverpoint("v", {"a": [1, 1, 2], "b": lambda v: isinstance(v, int) and v > 1, "c": {2, 3}, "d": "s"})
    assert [cp.bins_of(v) for v in (0, 1, 2, 3, "s", [1])] == [[], ["a"], ["a", "c", "b"], ["c", "b"], ["d"], []]
    cp._sample(2), cp._sample(Many([1, 2, 3, "x"])), cp._sample([1])
    assert cp.hits == {"a": 2, "b": 2, "c": 2, "d": 0} and cp.unmatched == 2 and cp.samples == 3


@pytest.mark.parametrize("fmt", ["FP16", "FP8", "FP8ALT"])
def test_class_table_matches_fp_class_everywhere(fmt):
    codes = np.arange(1 << (16 if fmt == "FP16" else 8))
    assert [CLASSES[i] for i in classify(codes, fmt)] == [fp_class(c, fmt) for c in codes]
