"""What the subcommands share: the program name, the knobs/--env parsers and the test-name check."""

from __future__ import annotations

import json

from redmule_verif.sim.dut import UsageError
from redmule_verif.tools.regress.suite import known_tests

PROG = "redmule-verif"


def parse_knobs(text) -> dict:
    if not text:
        return {}
    try:
        knobs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--knobs {text!r}: not JSON ({exc}); e.g. --knobs '{{\"count\": 4}}'") from None
    if not isinstance(knobs, dict):
        raise UsageError(f"--knobs {text!r}: must be a JSON object")
    return knobs


def parse_env(items) -> dict:
    env = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise UsageError(f"--env {item!r}: expected NAME=VALUE")
        env[k] = v
    return env


def check_test(name: str) -> None:
    tests = known_tests()
    if name not in tests:
        raise UsageError(f"unknown test {name!r}; tests: {', '.join(tests)} (see `{PROG} list`)")
