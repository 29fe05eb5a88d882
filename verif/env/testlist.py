"""Every test name of the environment, without importing cocotb.

The library's sequences are tests of the same name; a few tests are not
library sequences (they drive the DUT differently). Tools (testplan checks,
regression suites, the closure loop) take the names from here.
"""

from __future__ import annotations

from redmule_verif.sequences.library import SEQUENCES

#: tests that are not library sequences -> the knobs they read
EXTRA_TESTS = {"reg_access": ("rounds",), "ctrl_cross": ("rounds", "gap")}
EXTRA_TEST_DOCS = {"reg_access": "every row of the register table (spec section 3), checked by the control model",
                   "ctrl_cross": "both contexts held in every state and acted on (control-path crosses)"}


#: tests whose stimulus is the spec's own conventions (contexts held queued behind a running job, TRIGGER
#: and SOFT_CLEAR under every select, partial byte enables): a profile that excludes those does not run them
SPEC_CONVENTION_TESTS = ("ctrl_cross",)


def runs_under(test: str, profile) -> bool:
    """Whether ``test`` is legal stimulus under ``profile`` (a model.profile.Profile)."""
    return test not in SPEC_CONVENTION_TESTS or not profile.conventions


def all_tests() -> list[str]:
    return sorted(SEQUENCES) + sorted(EXTRA_TESTS)
