"""redmule_verif.flow.triage: root causes, buckets that separate causes, known issues, waivers."""

import pytest

from redmule_verif.flow import triage as T


def _rec(errors, outcomes=(), status="fail"):
    return {"status": status, "summary": {"errors_detail": errors, "job_outcomes": list(outcomes)}}


def _err(check, cycle, job=None, **attrs):
    return {"check": check, "cycle": cycle, "job": job, "attrs": attrs, "message": f"{check} ..."}


def _job(fam, fmt, status):
    return {"family": fam, "fmt": fmt, "status": status}


def test_root_cause_is_the_earliest_error_not_the_first_logged():
    rec = _rec([_err("Z_MISMATCH", 900, 1, pattern="large"), _err("STORE_OUTSIDE_Z", 400, 1, side="after")])
    assert T.root_cause(rec).check == "STORE_OUTSIDE_Z"
    assert T.root_signature(rec) == "STORE_OUTSIDE_Z side=after"


def test_ties_go_to_the_check_closest_to_the_port():
    rec = _rec([_err("HANG_NO_PROGRESS", 500, stream="X", phase="load"), _err("RQ-3", 500)])
    assert T.root_signature(rec) == "RQ-3"


def test_hang_buckets_separate_stream_phase_and_queue():
    a = T.root_signature(_rec([_err("HANG_OVER_BUDGET", 10, stream="W", phase="load", queued=1)]))
    b = T.root_signature(_rec([_err("HANG_OVER_BUDGET", 10, stream="Z", phase="store", queued=0)]))
    c = T.root_signature(_rec([_err("HANG_OVER_BUDGET", 99, stream="W", phase="load", queued=1, detail="other")]))
    assert a != b and a == c == "HANG_OVER_BUDGET stream=W phase=load queued=1"


def test_op_and_format_of_one_job_do_not_split_a_cause():
    """The same bug in runs of different ops and formats gives one bucket; its scope is reported apart."""
    r1 = _rec([_err("Z_MISMATCH", 50, 0, pattern="ulp1", where="all")],
              [dict(_job("fma", "FP16", "fail"), job=0), dict(_job("minmax", "FP8", "pass"), job=1)])
    r2 = _rec([_err("Z_MISMATCH", 70, 1, pattern="ulp1", where="all")],
              [dict(_job("minmax", "FP8ALT", "pass"), job=0), dict(_job("fma", "FP8", "fail"), job=1)])
    assert T.root_signature(r1) == T.root_signature(r2) == "Z_MISMATCH pattern=ulp1 where=all"
    sc = T.scope([r1, r2], "Z_MISMATCH")
    assert sc["ops"] == ["fma"] and sc["formats"] == ["FP16", "FP8"] and sc["ops_clean"] == ["minmax"]
    assert sc["formats_clean"] == ["FP8ALT"]


def test_unknown_scope_joins_the_one_compatible_bucket():
    known = "Z_MISMATCH pattern=nan ops=minmax formats=any"
    unknown = "Z_MISMATCH pattern=nan ops=? formats=?"
    other = "Z_MISMATCH pattern=ulp1 ops=fma formats=any"
    m = T.merge_buckets([known, unknown, other])
    assert m[unknown] == known and m[other] == other
    # two compatible buckets: ambiguous, stays on its own
    m2 = T.merge_buckets([known, "Z_MISMATCH pattern=nan ops=fma formats=any", unknown])
    assert m2[unknown] == unknown


def test_messages_without_structure_are_classified():
    rec = {"status": "fail", "first_errors": [
        "[uvm_test_top.env.scoreboard] Z MISMATCH in job #1 id=1 core=7 ADDMIN FP8ALT M=4 N=4 K=4: 3 of 16",
        "[uvm_test_top.env.watchdog] HANG over budget: 9 granting cycles used; the DUT stopped at cycle 4000: "
        "busy_o=1; stream=W phase=load queued=0",
        "[uvm.uvm_test_top.env.ctrl] REG read of STATUS by core 6 in cycle 57 returned 0x101, expected 0x1"]}
    evs = T.events_of(rec)
    assert [e.check for e in evs] == ["Z_MISMATCH", "HANG_OVER_BUDGET", "REG_STATUS"]
    assert evs[0].job == 1 and evs[0].attrs["op"] == "ADDMIN"
    assert evs[1].signature() == "HANG_OVER_BUDGET stream=W phase=load queued=0" and evs[2].cycle == 57


def test_crash_and_timeout_are_root_causes():
    assert T.root_signature({"status": "timeout"}).startswith("TIMEOUT")
    assert T.root_signature({"status": "error", "message": "Segmentation fault (core dumped) at 0x55d0"}).startswith(
        "CRASH hint=Segmentation fault")


def test_waived_checks_are_never_the_root_cause():
    rec = _rec([dict(_err("TIMING", 5, 0), waived="not cycle-matched"), _err("HANG_NO_PROGRESS", 90, stream="X", phase="load")])
    assert T.root_signature(rec) == "HANG_NO_PROGRESS stream=X phase=load"


def test_known_issues_file(tmp_path):
    f = tmp_path / "known.yaml"
    f.write_text("issues:\n- id: RM-1\n  title: store past Z\n  match: '^STORE_OUTSIDE_Z'\n  link: https://example.org/1\n")
    issues = T.load_known_issues(f)
    assert T.known_issue_of("STORE_OUTSIDE_Z side=after", issues).id == "RM-1"
    assert T.known_issue_of("HANG_NO_PROGRESS stream=X", issues) is None
    f.write_text("- id: A\n  match: '('\n")
    with pytest.raises(T.KnownIssuesError, match=r"entry 1: match '\(' is not a regular expression"):
        T.load_known_issues(f)
    f.write_text("- id: A\n  match: x\n- id: A\n  match: y\n")
    with pytest.raises(T.KnownIssuesError, match="appears twice"):
        T.load_known_issues(f)
    f.write_text("- title: no id\n")
    with pytest.raises(T.KnownIssuesError, match="needs at least 'id' and 'match'"):
        T.load_known_issues(f)


def test_waivers_need_a_known_check_and_a_reason():
    assert T.parse_waivers(["timing: not cycle matched"]) == {"TIMING": "not cycle matched"}
    with pytest.raises(ValueError, match="expected CHECK:REASON"):
        T.parse_waivers(["TIMING"])
    with pytest.raises(ValueError, match="unknown check 'NOPE'"):
        T.parse_waivers(["NOPE:because"])


def test_bucket_quality_counts_purity_and_separation():
    from redmule_verif.tools.qualify.buckets import quality

    q = quality({"a": ["X", "X", "Y"], "b": ["Z"], "c": ["Z", "Z"], "d": []})
    assert q["killed"] == 3 and q["distinct"] == 1 and q["shared"] == {"Z": ["b", "c"]}
    assert q["purity"] == {"a": 0.667, "b": 1.0, "c": 1.0}


def test_mismatch_pattern_names_the_kind_and_the_classes():
    from redmule_verif.env.checkers.scoreboard import _pattern

    assert _pattern(0x7C00, 0x7BFF, "FP16") == "ulp1:inf>max"             # overflow saturated
    assert _pattern(0x3C00, 0x3C01, "FP16") == _pattern(0xBC00, 0xBC01, "FP16") == "ulp1:norm>norm"
    assert _pattern(0x8000, 0x0000, "FP16") == "sign-of-zero:-zero>+zero"  # the sign of zeros is kept
    assert _pattern(0x0000, 0x8000, "FP16") == "sign-of-zero:+zero>-zero"
    assert _pattern(0x7E00, 0x3C00, "FP16").startswith("nan:")
