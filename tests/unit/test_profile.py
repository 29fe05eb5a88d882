"""redmule_verif.model.profile: conventions as data, each with its citation; bad files say what is wrong."""

import pytest

from redmule_verif.model import profile as P


def test_spec_is_the_default_and_has_no_conventions():
    assert P.load_profile(None) is P.SPEC and P.load_profile("spec") is P.SPEC
    assert not P.SPEC.soft_clear_before_job and P.SPEC.register_order is None and P.SPEC.queued_jobs


def test_published_profile_cites_every_convention():
    p = P.load_profile("published")
    assert p.soft_clear_before_job and p.register_order[-1] == "CFG" and not p.queued_jobs
    assert all(c.cite for c in p.conventions)
    assert P.Profile.from_json(p.to_json()) == p


@pytest.mark.parametrize("text, msg", [
    ("conventions: {nope: {value: 1, cite: x}}", "unknown convention"),
    ("conventions: {soft_clear_before_job: {value: true}}", "needs 'value' and 'cite'"),
    ("conventions: {soft_clear_before_job: {value: 3, cite: x}}", "must be a bool"),
    ("conventions: {register_order: {value: [CFG], cite: x}}", "must name each of"),
    ("- a list", "expected a mapping"),
])
def test_bad_profiles_are_refused_with_the_reason(tmp_path, text, msg):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(P.ProfileError, match=msg):
        P.load_profile(str(f))


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(P.ProfileError, match="published"):
        P.load_profile("no_such_profile")
