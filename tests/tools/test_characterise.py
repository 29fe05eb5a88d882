"""redmule_verif.tools.characterise: a shrunk failure rerun under variations says what it needs."""

import pathlib

from redmule_verif.sequences.items import GemmJob, dump_jobs
from redmule_verif.tools.characterise.characterise import Characteriser, Variant, convert_format, place

B = 0x1000_0000
HERE = pathlib.Path(__file__).resolve().parent


def test_summary_line_reads_each_variation():
    jobs = [GemmJob("GEMM", "FP8", 2, 2, 2, B, B + 64, B + 128, core=2)]
    vs = [Variant("always-grant", "", "pass"), Variant("after-job", "", "fail", "Z_MISMATCH", True),
          Variant("soft-clear", "", "fail", "Z_MISMATCH", True),
          Variant("format-FP16", "", "pass"), Variant("format-FP8ALT", "", "fail", "Z_MISMATCH", True),
          Variant("core", "", "fail", "HANG_NO_PROGRESS", False)]
    line = Characteriser.summarise(vs, jobs, 0)
    assert line == ("needs grant stalls; after another job: still fails; independent of SOFT_CLEAR; "
                    "fails in FP8 and FP8ALT, not in FP16; independent of the core: fails differently "
                    "(HANG_NO_PROGRESS)")


def test_format_conversion_is_exact_upward_and_rounds_once_downward():
    import numpy as np

    j = GemmJob("GEMM", "FP8", 1, 1, 1, B, B + 64, B + 128, x=np.array([[0x3C]], np.uint8),
                w=np.array([[0x80]], np.uint8), y=np.array([[0x7F]], np.uint8))
    j16 = convert_format(j, "FP16")
    assert j16.fmt == "FP16" and int(j16.x[0, 0]) == 0x3C00 and int(j16.w[0, 0]) == 0x8000 and int(j16.y[0, 0]) == 0x7E00
    assert int(convert_format(j16, "FP8").x[0, 0]) == 0x3C


def test_place_keeps_offsets_and_separates_buffers():
    jobs = place([GemmJob("GEMM", "FP16", 3, 5, 7, B + 4, B + 0x1002, B + 0x2006),
                  GemmJob("GEMM", "FP8", 2, 2, 2, B + 1, B + 2, B + 3)], B)
    spans = sorted((a, a + n) for j in jobs for a, n in ((j.x_base, j.m * j.n * j.elem_bytes),
                                                           (j.w_base, j.n * j.k * j.elem_bytes),
                                                           (j.z_base, j.m * j.k * j.elem_bytes)))
    assert all(e <= s for (_, e), (s, _) in zip(spans, spans[1:]))
    assert jobs[0].x_base % 64 == 4 and jobs[0].w_base % 64 == 2 and jobs[0].z_base % 64 == 6


def test_characterise_injected_minmax_bug(tmp_path, build_root):
    """The min/max signed-zero bug of test_shrink: the characterisation says it needs neither stalls,
    nor a core, nor the absence of a SOFT_CLEAR."""
    import sys

    sys.path.insert(0, str(HERE))
    from test_shrink import _buggy_rtl, _jobs

    from redmule_verif.sim.build import build
    from redmule_verif.sim.runner import env_config

    rtl = _buggy_rtl(tmp_path / "rtl")
    sim = build(env_config([rtl], parameters={"L": 4, "H": 2, "P": 1}, mem_words=4096), build_root)
    src = dump_jobs(_jobs(), tmp_path / "orig.yaml")
    bucket = {"signature": "Z_MISMATCH pattern=sign-of-zero", "first": {"test": "directed", "seed": 1,
                                                                       "knobs": {"file": str(src)}}}
    res = Characteriser(None, sim, tmp_path / "ch", budget_runs=9, log=None)(bucket)
    assert res["cause"].startswith("Z_MISMATCH") and pathlib.Path(res["job_file"]).exists(), res
    assert "independent of the core" in res["line"] and "independent of SOFT_CLEAR" in res["line"], res
    assert all(v["status"] in ("pass", "fail") for v in res["variants"]), res["variants"]
