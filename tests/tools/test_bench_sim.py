"""The bare C++ harness of `make bench-sim` (verif/bench_harness.cpp) runs a job and computes what the env checks.

A small FP16 GEMM (12 x 16 x 16) runs once on the bare Verilator harness with
the data and reference Z written by redmule_verif.tools.bench.bench_sim: it must complete
with the cycle count of spec section 7 and a Z equal to ref.gemm_op bit for
bit; the same run against a corrupted reference must report the mismatch (so
the check cannot pass vacuously). No timing is asserted.
"""

import pytest

from redmule_verif.tools.bench import bench_sim

from redmule_verif.model import ref


@pytest.fixture(scope="module")
def bare_sim(build_root):
    return bench_sim.build_bare(build_root)


def test_bare_harness_runs_a_job_and_z_matches(bare_sim, tmp_path):
    job = bench_sim.bench_job(12, 16, 16, "random", seed=3)
    data = bench_sim.write_job_files(job, tmp_path / "data")
    rec = bench_sim.run_bare(bare_sim, job, data, timeout=120)
    assert rec["status"] == "pass", rec
    assert rec["z_check"] == "pass" and rec["z_mismatches"] == 0, rec
    assert rec["loads"] > 0 and rec["stores"] == 12, rec  # one store per row of Z (K = 16 fits one beat)
    always = bench_sim.run_bare(bare_sim, bench_sim.bench_job(12, 16, 16, "always", seed=3), data, timeout=120)
    assert always["z_check"] == "pass", always
    exp = ref.expected_cycles(12, 16, 16)
    assert 0.5 * exp <= always["cycles"] <= 1.5 * exp, always  # the job really ran, not a no-op
    assert rec["cycles"] >= always["cycles"], (rec, always)     # a random grant only stretches it


def test_bare_harness_reports_a_wrong_z(bare_sim, tmp_path):
    job = bench_sim.bench_job(12, 16, 16, "always", seed=3)
    data = bench_sim.write_job_files(job, tmp_path / "data")
    z = bytearray((data / "z_ref.bin").read_bytes())
    z[6] ^= 0x01  # element 3, low byte
    (data / "z_ref.bin").write_bytes(bytes(z))
    rec = bench_sim.run_bare(bare_sim, job, data, timeout=120)
    assert rec["status"] == "fail" and rec["z_check"] == "fail", rec
    assert rec["z_mismatches"] == 1 and rec["first_mismatch"] == 3, rec
