"""Job items, randomisation and the sequence library (no simulator)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from redmule_verif.model import encoding
from redmule_verif.sequences.items import fpdata
from redmule_verif.sequences.items import (
    FP_CLASSES,
    ControlEvent,
    EngineConfig,
    GemmJob,
    GrantProfile,
    MemoryConfig,
    check_job,
    check_job_list,
    class_counts,
    dump_jobs,
    format_job,
    groups,
    jobs_from_yaml,
    jobs_to_yaml,
    load_jobs,
)
from redmule_verif.sequences.library import SEQUENCES, SeqContext, generate, sequence_cost
from redmule_verif.sequences.randomize import Allocator, random_job, with_remainder

B = encoding.MEM_BASE
GENERATED = sorted(n for n in SEQUENCES if n != "directed")
SECTION8 = {
    "random_jobs", "exhaustive_small", "remainders", "ops_formats", "special_storm", "overflow_cancel",
    "unaligned_adjacent", "queued_contexts", "back_to_back", "soft_clear", "reset_mid_job", "zero_dim",
    "multi_core", "heavy_stalls", "grant_profiles", "large_jobs", "dim_65535", "thin_shapes", "directed",
}

_CACHE: dict = {}


def seq(name, seed=1, **kw):
    key = (name, seed, tuple(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = generate(name, seed=seed, **kw)
    return _CACHE[key]


def full_job(**over):
    """A job with every field away from its default, explicit data included."""
    x = np.arange(6, dtype=np.uint16).reshape(2, 3) + 0x3C00
    w = np.arange(12, dtype=np.uint16).reshape(3, 4) ^ 0x8000
    y = np.full((2, 4), 0x7C01, dtype=np.uint16)
    kw = dict(op="GEMM", fmt="FP16", m=2, n=3, k=4, x_base=B + 2, w_base=B + 0x102, z_base=B + 0x206, core=5,
              data_seed=(1 << 63) + 12345, data="specials", class_weights={"qnan": 0.1, "-sub": 2.5, "+max": 1e-5},
              grant=GrantProfile("banks", p=0.125, on=3, off=77, core_rate=0.3333333333333333, n_banks=32,
                                 n_cores=7, max_stall=9, seed=424242),
              control=[ControlEvent("soft_clear_keep", "compute", 17), ControlEvent("reset", "idle")],
              launch="race", name="every field", x=x, w=w, y=y)
    kw.update(over)
    return GemmJob(**kw)


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------


def test_every_section8_sequence_is_registered():
    assert SECTION8 <= set(SEQUENCES), SECTION8 - set(SEQUENCES)


def test_fp8_decode_tables_match_the_reference_casts():
    ref = pytest.importorskip("redmule_verif.model.ref")
    for code in (0, 2):
        bits = np.arange(256, dtype=np.uint8)
        ours = fpdata.decode_table(code)
        theirs = ref.to_fp16(bits, code).view(np.float16).astype(np.float64)
        assert np.array_equal(ours, theirs, equal_nan=True)


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


def _same_data(a: GemmJob, b: GemmJob):
    for u, v in zip(a.make_data(), b.make_data()):
        assert (u is None) == (v is None)
        if u is not None:
            assert u.dtype == v.dtype and np.array_equal(u, v)


@pytest.mark.parametrize("fmt", ["FP16", "FP8", "FP8ALT"])
def test_roundtrip_every_field_and_explicit_data(fmt):
    j = full_job()
    if fmt != "FP16":
        j = full_job(fmt=fmt, x_base=B + 1, z_base=B + 0x203, x=j.x.astype(np.uint8), w=j.w.astype(np.uint8),
                     y=(j.y & 0xFF).astype(np.uint8))
    d = j.to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(GemmJob)}
    for back in (GemmJob.from_json(j.to_json()), GemmJob.from_yaml(j.to_yaml()), GemmJob.from_dict(d),
                 GemmJob.from_dict(j.to_dict(compact=True)), jobs_from_yaml(jobs_to_yaml([j]))[0]):
        assert back == j
        assert back.grant == j.grant and back.control == j.control and back.class_weights == j.class_weights
        for a in "xwy":
            assert getattr(back, a).dtype == getattr(j, a).dtype
            assert np.array_equal(getattr(back, a), getattr(j, a))
        _same_data(back, j)
    # explicit data takes precedence over generated data
    x, w, y = j.make_data()
    assert np.array_equal(x, j.x) and np.array_equal(w, j.w) and np.array_equal(y, j.y)
    assert j != j.replace(y=(j.y ^ 1).astype(j.y.dtype))


@pytest.mark.parametrize("name", GENERATED)
def test_roundtrip_jobs_of_every_sequence(name):
    jobs = seq(name)
    assert jobs, name
    for j in jobs:
        back_j = GemmJob.from_json(j.to_json())
        back_y = GemmJob.from_yaml(j.to_yaml())
        assert back_j == j and back_y == j, format_job(j)
    assert jobs_from_yaml(jobs_to_yaml(jobs)) == jobs
    for j in jobs[:: max(1, len(jobs) // 8)]:
        if j.m * j.n + j.n * j.k + j.m * j.k <= 200_000:
            _same_data(GemmJob.from_json(j.to_json()), j)


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_dump_and_load_job_files(tmp_path, suffix):
    jobs = seq("queued_contexts") + [full_job(launch="serial"), full_job(fmt="UNSUPPORTED6", x=None, w=None, y=None, launch="serial")]
    p = dump_jobs(jobs, tmp_path / f"jobs{suffix}")
    assert load_jobs(p) == jobs
    # what the directed test replays
    assert generate("directed", file=str(p)) == [j.replace(name=j.name or f"directed.{i}") for i, j in enumerate(jobs)]


def test_load_accepts_a_jobs_mapping_and_hand_written_ints(tmp_path):
    p = tmp_path / "hand.yaml"
    p.write_text(
        "version: 1\njobs:\n- {op: gemm, fmt: 1, m: 2, n: 2, k: 2, x_base: '0x1000_0000', w_base: 0x10000010,"
        " z_base: 268435488}\n"
    )
    (j,) = load_jobs(p)
    assert (j.op, j.fmt, j.x_base, j.w_base, j.z_base) == ("GEMM", "FP16", B, B + 16, B + 32)


def test_shipped_directed_file():
    jobs = generate("directed", file="smoke")
    assert len(jobs) >= 3 and any(j.x is not None for j in jobs)
    pytest.importorskip("redmule_verif.model.ref")
    hand = next(j for j in jobs if j.name == "hand_1x2x1_gemm")
    assert hand.expected().view(np.float16)[0, 0] == np.float16(11.5)  # 0.5 + 1*3 + 2*4


# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------

_DIGEST_SCRIPT = r"""
import hashlib, sys
import numpy as np
from redmule_verif.sequences.library import SEQUENCES, generate
from redmule_verif.sequences.items import jobs_to_yaml
h = hashlib.sha256()
for name in sorted(SEQUENCES):
    if name in ("directed", "dim_65535", "large_jobs"):
        continue
    jobs = generate(name, seed=int(sys.argv[1]))
    h.update(jobs_to_yaml(jobs).encode())
    for j in jobs[::5]:
        for a in j.make_data():
            if a is not None:
                h.update(a.tobytes())
print(h.hexdigest())
"""


def _digest(seed, hashseed):
    env = dict(os.environ, PYTHONHASHSEED=str(hashseed), PYTHONSAFEPATH="1")
    out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT, str(seed)], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_same_seed_same_jobs_across_processes():
    a = _digest(7, 1)
    b = _digest(7, 4242)
    assert a == b and len(a) == 64
    assert _digest(8, 1) != a


@pytest.mark.parametrize("name", GENERATED)
def test_deterministic_in_process(name):
    assert generate(name, seed=3) == generate(name, seed=3)
    if name not in ("dim_65535", "large_jobs", "thin_shapes"):
        assert generate(name, seed=3) != generate(name, seed=4)


def test_data_depends_only_on_seed_and_shape():
    j = GemmJob("GEMM", "FP8ALT", 5, 6, 7, B, B + 64, B + 128, data="normal", data_seed=99)
    moved = j.replace(x_base=B + 1000, name="other", core=3)
    _same_data(j, moved)
    assert not np.array_equal(j.make_data()[0], j.replace(data_seed=100).make_data()[0])


# --------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------


def _independent_check(jobs, eng, mem):
    for j in jobs:
        assert 0 <= j.m <= 65535 and 0 <= j.n <= 65535 and 0 <= j.k <= 65535
        assert 0 <= j.core < eng.N_CORES
        eb = j.elem_bytes
        assert eb == (1 if j.fmt in ("FP8", "FP8ALT") else 2)
        rng = j.buffers()
        for name, (s, e) in rng.items():
            assert s % eb == 0, (name, format_job(j))
            if not j.is_noop:
                assert mem.base <= s and e <= mem.end, (name, format_job(j))
        fp = j.footprint()
        if j.is_noop:
            assert fp == {}
        else:
            assert ("Y" in fp) == (j.op != "MATMUL")
            assert fp["X"][1] - fp["X"][0] == j.m * j.n * eb
            assert fp["W"][1] - fp["W"][0] == j.n * j.k * eb
            assert fp["Z"][1] - fp["Z"][0] == j.m * j.k * eb
    for g in groups(jobs):
        ranges = sorted((s, e) for i in g for (s, e) in jobs[i].buffers().values() if e > s)
        for (s1, e1), (s2, e2) in zip(ranges, ranges[1:]):
            assert e1 <= s2, [format_job(jobs[i]) for i in g]
        race_cores = [jobs[i].core for i in g if jobs[i].launch == "race"]
        if race_cores:
            lead = [jobs[i].core for i in g if jobs[i].launch != "race"][-1:]
            # race jobs in a run of races use distinct cores
            assert len(set(race_cores + lead)) == len(race_cores + lead) or len(g) > len(race_cores) + 1


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", GENERATED)
def test_constraints_hold(name, seed):
    eng, mem = EngineConfig(), MemoryConfig()
    jobs = seq(name, seed)
    _independent_check(jobs, eng, mem)
    check_job_list(jobs, eng, mem)


@pytest.mark.parametrize("name", [n for n in GENERATED if n not in ("dim_65535", "large_jobs")])
def test_sequences_adapt_to_another_engine_and_memory(name):
    eng = EngineConfig(L=8, H=2, P=1, N_CORES=4)
    mem = MemoryConfig(base=0x2000, size=48 * 1024 + 12)
    jobs = generate(name, seed=5, eng=eng, mem=mem)
    _independent_check(jobs, eng, mem)


def test_remainders_hit_every_remainder_single_and_multi_tile():
    for eng in (EngineConfig(), EngineConfig(L=8, H=2, P=1, N_CORES=2)):
        jobs = generate("remainders", seed=1, eng=eng)
        assert {j.m % eng.L for j in jobs} == set(range(eng.L))
        assert {j.n % eng.H for j in jobs} == set(range(eng.H))
        assert {j.k % eng.tile_k for j in jobs} == set(range(eng.tile_k))
        for r in range(eng.L):
            ms = [j.m for j in jobs if j.m % eng.L == r]
            assert min(ms) <= eng.L < max(ms), (r, ms)  # single-tile and multi-tile
        for r in range(eng.tile_k):
            ks = [j.k for j in jobs if j.k % eng.tile_k == r]
            assert min(ks) <= eng.tile_k < max(ks), (r, ks)


def test_multi_core_every_core_and_races():
    for eng in (EngineConfig(), EngineConfig(N_CORES=3)):
        jobs = generate("multi_core", seed=2, eng=eng)
        assert {j.core for j in jobs} == set(range(eng.N_CORES))
        big = max(groups(jobs), key=len)
        assert len(big) == eng.N_CORES and len({jobs[i].core for i in big}) == eng.N_CORES
        assert all(jobs[i].launch == "race" for i in big[1:])


def test_exhaustive_small_and_subsample():
    jobs = seq("exhaustive_small", small=3)
    assert {(j.m, j.n, j.k) for j in jobs} == {(m, n, k) for m in (1, 2, 3) for n in (1, 2, 3) for k in (1, 2, 3)}
    assert {j.op for j in seq("exhaustive_small")} == set(encoding.OPS)
    sub = generate("exhaustive_small", seed=1, small=6, subsample=0.25)
    assert 20 < len(sub) < 90


def test_ops_formats_covers_every_op_format_distribution():
    jobs = seq("ops_formats")
    assert {(j.op, j.fmt, j.data) for j in jobs} == {
        (o, f, d) for o in encoding.OPS for f in encoding.FORMATS for d in fpdata.DISTRIBUTIONS
    }


def test_zero_dim_and_unsupported_formats_are_noops():
    jobs = seq("zero_dim")
    noops = [j for j in jobs if j.is_noop]
    zero_sets = {(j.m == 0, j.n == 0, j.k == 0) for j in noops}
    assert len(zero_sets - {(False, False, False)}) == 7
    assert {j.fmt_code for j in noops} >= {3, 4, 5, 6, 7}
    for j in noops:
        assert j.footprint() == {} and j.expected() is None and j.footprint_bytes() == 0
    assert any(not j.is_noop for j in jobs)


def test_control_sequences():
    for name, kinds in (("soft_clear", {"soft_clear", "soft_clear_keep"}), ("reset_mid_job", {"reset"})):
        jobs = seq(name)
        seen = {(e.kind, e.phase) for j in jobs for e in j.control}
        assert seen == {(k, p) for k in kinds for p in encoding.CONTROL_PHASES}
        for i, j in enumerate(jobs):
            if j.is_victim:
                nxt = jobs[i + 1]
                assert not nxt.is_victim and not nxt.is_noop and nxt.launch == "serial"


def test_queued_and_back_to_back():
    jobs = seq("queued_contexts")
    gs = [g for g in groups(jobs) if len(g) > 1]
    assert gs and any(len(g) >= 3 for g in gs)
    assert any(jobs[g[0]].core == jobs[g[1]].core for g in gs) and any(jobs[g[0]].core != jobs[g[1]].core for g in gs)
    b2b = seq("back_to_back")
    assert all(j.launch == "serial" and not j.control for j in b2b)
    assert any(a.to_dict() | {"name": ""} == b.to_dict() | {"name": ""} for a, b in zip(b2b, b2b[1:]))


def test_grant_sequences():
    gp = seq("grant_profiles")
    assert {(j.grant.kind, j.op) for j in gp} == {(k, o) for k in encoding.GRANT_KINDS for o in encoding.OPS}
    hs = seq("heavy_stalls")
    for j in hs:
        g = j.grant
        assert (g.kind == "random" and g.p <= 0.3) or (g.kind == "bursty" and g.off >= 16) or (
            g.kind == "banks" and g.core_rate >= 0.6)
    assert {j.grant.kind for j in hs} == {"random", "bursty", "banks"}


def test_unaligned_adjacent_placements():
    jobs = seq("unaligned_adjacent")
    mods = {(j.fmt, j.x_base % 4) for j in jobs}
    assert {("FP8", r) for r in range(4)} <= mods and {("FP16", 0), ("FP16", 2)} <= mods
    adjacent = [j for j in jobs if j.w_base == j.x_base + j.m * j.n * j.elem_bytes
                and j.z_base == j.w_base + j.n * j.k * j.elem_bytes]
    assert len(adjacent) >= 3
    mem = MemoryConfig()
    assert any(j.x_base == mem.base + j.x_base % 4 for j in jobs)  # far: at the start of memory
    assert any(j.buffers()["Z"][1] > mem.end - 4 for j in jobs)  # far: at its end


def test_dim_65535_fits_128k_and_says_when_not():
    jobs = seq("dim_65535")
    assert sorted((j.m, j.n, j.k) for j in jobs) == [(1, 1, 65535), (1, 65535, 1), (65535, 1, 1)]
    assert all(j.fmt == "FP8" and j.footprint_bytes() <= 128 * 1024 for j in jobs)
    with pytest.raises(ValueError, match="needs 131071 bytes"):
        generate("dim_65535", seed=1, mem=MemoryConfig(size=64 * 1024))
    with pytest.raises(ValueError, match="FP16"):
        generate("dim_65535", seed=1, fmt="FP16")
    big = generate("dim_65535", seed=1, fmt="FP16", mem=MemoryConfig(size=256 * 1024))
    assert all(j.fmt == "FP16" for j in big)


def test_thin_and_large_shapes():
    thin = seq("thin_shapes")
    assert any(j.m == 1 for j in thin) and any(j.n == 1 for j in thin) and any(j.k == 1 for j in thin)
    assert max(max(j.m, j.n, j.k) for j in thin) >= 1000
    large = seq("large_jobs")
    assert (128, 128, 128) in {(j.m, j.n, j.k) for j in large}
    assert sequence_cost(large) > 100_000
    assert len(generate("large_jobs", seed=1, size=64, count=5)) == 5


def test_default_sequences_are_cheap():
    """Every non-"large" sequence stays within ~a few seconds at 50k cycles/s (stall-free)."""
    for name in GENERATED:
        if name in ("large_jobs", "dim_65535"):
            continue
        assert sequence_cost(seq(name)) < 150_000, name


# --------------------------------------------------------------------------
# Data distributions
# --------------------------------------------------------------------------


def _classes(job):
    x, w, y = job.make_data()
    allbits = np.concatenate([a.ravel() for a in (x, w, y) if a is not None])
    return class_counts(allbits, job.fmt)


@pytest.mark.parametrize("fmt", ["FP16", "FP8", "FP8ALT"])
def test_distributions_produce_their_classes(fmt):
    mk = lambda d, op="GEMM": GemmJob(op, fmt, 24, 24, 24, B, B + 0x1000, B + 0x2000, data=d, data_seed=11)  # noqa
    c = _classes(mk("specials"))
    assert all(c[k] >= 30 for k in FP_CLASSES), c
    c = _classes(mk("normal"))
    n = sum(c.values())
    assert (c["+norm"] + c["-norm"]) / n > 0.9 and c["+norm"] > 0 and c["-norm"] > 0
    assert c["+inf"] == c["-inf"] == c["qnan"] == c["snan"] == 0
    c = _classes(mk("overflow"))
    assert c["+max"] > 0 and c["-max"] > 0 and c["qnan"] == c["snan"] == c["+inf"] == 0
    c = _classes(mk("underflow"))
    assert c["+sub"] > 0 and c["-sub"] > 0
    c = _classes(mk("small_ints"))
    assert c["+sub"] == c["-sub"] == c["+inf"] == c["qnan"] == c["snan"] == 0
    # values: small integers only

    for a in mk("small_ints").make_data():
        v = a.view(np.float16).astype(float) if fmt == "FP16" else fpdata.decode_table(encoding.FORMATS[fmt])[a]
        assert np.all(v == np.round(v)) and np.all(np.abs(v) <= 8)


@pytest.mark.parametrize("fmt", ["FP16", "FP8", "FP8ALT"])
def test_cancel_structure(fmt):

    j = GemmJob("GEMM", fmt, 9, 11, 10, B, B + 0x1000, B + 0x2000, data="cancel", data_seed=3)
    x, w, y = j.make_data()
    dec = (lambda a: a.view(np.float16).astype(float)) if fmt == "FP16" else (
        lambda a: fpdata.decode_table(encoding.FORMATS[fmt])[a])
    xv, wv, yv = dec(x), dec(w), dec(y)
    exact = yv == -(xv[:, :1] * wv[:1, :])
    assert 0.5 < exact.mean() < 1.0  # exact cancellation, a quarter one ulp off
    for n in range(1, 10, 2):
        assert np.array_equal(xv[:, n], xv[:, n + 1]) and np.array_equal(wv[n + 1], -wv[n])
    mm = j.replace(op="MATMUL")
    x2, w2, y2 = mm.make_data()
    assert y2 is None and np.array_equal(dec(w2)[1], -dec(w2)[0])


def test_results_really_overflow_underflow_cancel():
    pytest.importorskip("redmule_verif.model.ref")
    j = lambda d, op="GEMM": GemmJob(op, "FP16", 16, 16, 16, B, B + 0x1000, B + 0x2000, data=d, data_seed=5)  # noqa
    z = class_counts(j("overflow").expected(), "FP16")
    assert z["+inf"] + z["-inf"] > 100
    z = class_counts(j("underflow", "MULMAX").expected(), "FP16")
    assert z["+sub"] + z["-sub"] > 0
    # pairs of products cancel: exactly, or down to the rounding residue of the first product
    zc = j("cancel", "MATMUL").expected().view(np.float16).astype(float)
    assert np.all(np.abs(zc) <= 2.0**-4)
    zc = j("cancel", "GEMM").replace(n=15).expected().view(np.float16).astype(float)
    assert np.mean(zc == 0) > 0.3 and np.mean(np.abs(zc) <= 2.0**-4) > 0.5
    z = class_counts(j("normal").expected(), "FP16")
    assert z["+norm"] + z["-norm"] == 256


def test_overflow_cancel_edge_jobs():
    jobs = seq("overflow_cancel")
    edges = [j for j in jobs if j.x is not None]
    assert {(j.op, j.fmt) for j in edges} == {(o, f) for o in encoding.OPS for f in encoding.FORMATS}
    assert all((j.y is None) == (j.op == "MATMUL") for j in edges)
    assert not [j for j in generate("overflow_cancel", seed=1, edges=False) if j.x is not None]
    pytest.importorskip("redmule_verif.model.ref")
    for j in edges:
        if j.op == "GEMM":
            z = class_counts(j.expected(), j.fmt)
            assert (z["+max"], z["+inf"], z["-inf"]) == (1, 2, 1) if j.n == 2 else (z["-zero"], z["+zero"]) == (1, 1)


def test_class_weights_override():
    j = GemmJob("MINMAX", "FP8", 10, 10, 10, B, B + 0x100, B + 0x200, data="normal",
                class_weights={"snan": 1, "-zero": 1}, data_seed=1)
    c = _classes(j)
    assert set(k for k, v in c.items() if v) == {"snan", "-zero"}
    with pytest.raises(ValueError, match="structured"):
        j.replace(data="cancel")


def test_unsupported_format_layout_is_nominal_fp16():
    j = GemmJob("GEMM", 4, 3, 3, 3, B, B + 18, B + 36)
    assert j.fmt == "UNSUPPORTED4" and j.fmt_code == 4 and j.elem_bytes == 2 and j.is_noop
    assert j.reg_cfg == (1 << 10) | (4 << 7)
    assert all(a.dtype == np.uint16 and a.shape[0] == 3 for a in j.make_data())
    with pytest.raises(ValueError, match="element aligned"):
        j.replace(x_base=B + 1)


def test_register_values():
    j = GemmJob("MULMIN", "FP8ALT", 0x1234, 7, 0xABCD, B, B + 0x10000, B + 0x20000)
    assert j.reg_mk == (0xABCD << 16) | 0x1234 and j.reg_n == 7
    assert j.reg_cfg == (5 << 10) | (2 << 7) and j.op_code == 5 and j.fmt_code == 2


# --------------------------------------------------------------------------
# Randomiser and allocator
# --------------------------------------------------------------------------


def test_random_job_knobs():
    rng = random.Random(1)
    eng, mem = EngineConfig(), MemoryConfig()
    for _ in range(300):
        j = random_job(rng, eng, mem, m_mod_L=5, n_mod_H=0, k_mod_tile=15, max_elems=3000, fmt=["FP8"],
                       placement="adjacent", align={"X": 3})
        assert j.m % 12 == 5 and j.n % 4 == 0 and j.k % 16 == 15 and j.fmt == "FP8"
        assert j.x_base % 4 == 3 and j.w_base == j.x_base + j.m * j.n and j.z_base == j.w_base + j.n * j.k
        check_job(j, eng, mem)
    j = random_job(rng, eng, mem, m=70, n=(3, 3), k=0, op={"ADDMAX": 1}, grant="bursty", core=[6], data="cancel")
    assert (j.m, j.n, j.k, j.op, j.grant.kind, j.core, j.data) == (70, 3, 0, "ADDMAX", "bursty", 6, "cancel")
    j = random_job(rng, eng, mem, grant={"kind": "random", "p": 0.2, "seed": 5})
    assert j.grant == GrantProfile("random", p=0.2, seed=5)
    assert generate("random_jobs", seed=1, count=3, grant={"kind": "bursty", "off": 40})[2].grant.off == 40
    sizes = [random_job(rng, eng, mem) for _ in range(200)]
    assert all(s.m * s.n + s.n * s.k + s.m * s.k <= 8192 and s.est_cycles(eng) <= 20000 for s in sizes)
    assert len({(s.m, s.n, s.k) for s in sizes}) > 150
    with pytest.raises(ValueError, match="unknown knob"):
        random_job(rng, eng, mem, colour="red")
    with pytest.raises(ValueError, match="not legal"):
        random_job(rng, eng, mem, op=["GEMM", "FOO"])
    with pytest.raises(ValueError, match="mod 4"):
        random_job(rng, eng, mem, fmt="FP16", align={"X": 1})


def test_allocator_never_overlaps_and_reports_full():
    mem = MemoryConfig(base=0x4000, size=4096)
    al = Allocator(mem, random.Random(3))
    got = []
    for _ in range(200):
        try:
            a = al.alloc(random.Random(len(got)).randint(1, 64), step=2)
        except ValueError as e:
            assert "no free" in str(e)
            break
        got.append(a)
    ranges = sorted(al.used)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(ranges, ranges[1:]))
    assert all(mem.base <= s and e <= mem.end and s % 2 == 0 for s, e in ranges)
    al.new_group()
    assert al.free_bytes() == 4096
    assert al.alloc(4096, where="high") == mem.base
    with pytest.raises(ValueError, match="no free"):
        al.alloc(1)


def test_with_remainder():
    assert with_remainder(30, 5, 12, 1, 100) == 29
    assert with_remainder(1, 0, 12, 12, 100) == 12
    with pytest.raises(ValueError):
        with_remainder(3, 5, 12, 1, 4)


# --------------------------------------------------------------------------
# Bad input: clear errors
# --------------------------------------------------------------------------

_GOOD = dict(op="GEMM", fmt="FP16", m=2, n=2, k=2, x_base=B, w_base=B + 8, z_base=B + 16)


@pytest.mark.parametrize("bad, msg", [
    ({"op": "FMA"}, "op = 'FMA' is not legal"),
    ({"fmt": "BF16"}, "unknown format"),
    ({"fmt": 9}, "unknown format"),
    ({"m": -1}, r"m = -1 is out of range: legal 0..65535"),
    ({"k": 65536}, r"legal 0..65535"),
    ({"n": 2.0}, "must be an integer"),
    ({"n": True}, "must be an integer"),
    ({"x_base": B + 1}, "not element aligned"),
    ({"z_base": (1 << 32) - 2}, "runs past 2"),
    ({"core": 40}, "legal 0..31"),
    ({"data": "gaussian"}, "data = 'gaussian' is not legal"),
    ({"launch": "parallel"}, "launch = 'parallel'"),
    ({"class_weights": {"nan": 1}}, "unknown class"),
    ({"class_weights": {"qnan": 0}}, "sum to 0"),
    ({"class_weights": {"qnan": -1}}, "out of range"),
    ({"grant": {"kind": "sometimes"}}, "kind = 'sometimes'"),
    ({"grant": {"kind": "random", "p": 2}}, r"p = 2.0 is out of range: legal \[0.0, 1.0\]"),
    ({"grant": {"kind": "random", "p": 0}}, "never grants"),
    ({"grant": {"kind": "always", "colour": 1}}, "unknown key"),
    ({"grant": {"kind": "bursty", "on": 0}}, "on = 0"),
    ({"control": [{"kind": "reboot", "phase": "load"}]}, "kind = 'reboot'"),
    ({"control": [{"kind": "reset", "phase": "halfway"}]}, "phase = 'halfway'"),
    ({"control": [{"kind": "reset"}]}, "missing required"),
    ({"control": {"kind": "reset"}}, "must be a list"),
    ({"x": "3c00"}, "hex digits, expected 16"),
    ({"x": "zz" * 8}, "not a hex string"),
    ({"x": 3}, "hex string"),
    ({"op": "MATMUL", "y": "3c00" * 4}, "MATMUL does not read Y"),
    ({"colour": "red"}, "unknown key"),
])
def test_from_dict_rejects_bad_values(bad, msg):
    with pytest.raises(ValueError, match=msg):
        GemmJob.from_dict({**_GOOD, **bad})


def test_from_dict_missing_key_and_not_a_mapping():
    d = dict(_GOOD)
    del d["m"]
    with pytest.raises(ValueError, match="missing required key"):
        GemmJob.from_dict(d)
    with pytest.raises(ValueError, match="must be a mapping"):
        GemmJob.from_dict([1, 2])
    with pytest.raises(ValueError, match="job 1"):
        jobs_from_yaml(json.dumps([_GOOD, {**_GOOD, "m": "many"}]))


def test_explicit_array_checks():
    with pytest.raises(ValueError, match="dtype"):
        GemmJob(**_GOOD, x=np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        GemmJob(**_GOOD, w=np.zeros((2, 3), np.uint16))


def test_memory_and_engine_config():
    with pytest.raises(ValueError, match="multiple of 4"):
        MemoryConfig(size=1001)
    with pytest.raises(ValueError, match="word aligned"):
        MemoryConfig(base=2)
    with pytest.raises(ValueError, match="legal 4..16777216"):
        MemoryConfig(size=32 << 20)
    assert MemoryConfig(size=3 * 4096 + 4).size == 12292  # not a power of two: fine
    mem = MemoryConfig()
    big = GemmJob("GEMM", "FP16", 200, 200, 200, B, B + 80000, B + 160000)
    with pytest.raises(ValueError, match=r"does not fit memory.*131072 bytes.*footprint 240000 bytes"):
        mem.check_fits(big)
    with pytest.raises(ValueError, match="overlap"):
        check_job(GemmJob("GEMM", "FP16", 4, 4, 4, B, B + 16, B + 32))
    eng = EngineConfig.from_params({"L": 8, "H": 2, "P": 1, "OTHER": 5})
    assert (eng.L, eng.H, eng.P, eng.N_CORES, eng.tile_k, eng.dw) == (8, 2, 1, 8, 4, 96)
    assert EngineConfig().tile_k == 16 and EngineConfig().dw == 288
    with pytest.raises(ValueError, match="core 8 out of range"):
        check_job(GemmJob(**_GOOD, core=8), EngineConfig())


def test_job_list_group_rules():
    a = GemmJob(**_GOOD, core=1)
    b = GemmJob(**{**_GOOD, "x_base": B + 100, "w_base": B + 108, "z_base": B + 116}, core=2, launch="race")
    check_job_list([a, b])
    with pytest.raises(ValueError, match="live together"):
        check_job_list([a, a.replace(launch="queued")])
    with pytest.raises(ValueError, match="races"):
        check_job_list([a, b.replace(core=1)])
    check_job_list([a, a.replace(launch="serial")])  # serial: not live together


def test_generate_rejects_unknown_sequence_and_knob():
    with pytest.raises(ValueError, match="unknown sequence 'nope'"):
        generate("nope")
    with pytest.raises(ValueError, match="unknown knob"):
        generate("random_jobs", seed=1, cuont=3)
    with pytest.raises(ValueError, match="subsample"):
        generate("exhaustive_small", subsample=0)
    with pytest.raises(ValueError, match="missing required knob 'file'"):
        generate("directed")
    assert len(generate("random_jobs", seed=1, count="7")) == 7  # command-line strings


def test_seq_context_rng_is_path_derived():
    ctx = SeqContext(seed=9)
    assert ctx.rng("a").random() == SeqContext(seed=9).rng("a").random() != ctx.rng("b").random()


def test_format_job_is_one_line():
    s = format_job(full_job())
    assert "\n" not in s and "GEMM FP16 M=2 N=3 K=4" in s and "ctl=[soft_clear_keep@compute+17" in s
    assert hashlib.sha256(s.encode()).hexdigest() == hashlib.sha256(str(full_job()).encode()).hexdigest()
