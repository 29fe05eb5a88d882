"""Regression suites: YAML files of test x seeds x knobs, validated before anything runs.

A *suite* is data (``sequences/suites/NAME.yaml``)::

    description: what it is for          # optional
    seed: 1                              # optional base seed (default: --seed, else today's date)
    timeout: 300                         # optional default wall-clock limit per run (s)
    tests:                               # or the list alone at the top level
      - test: random_jobs                # a test of redmule_verif.env.testcases (a library sequence)
        seeds: 4                         # N seeds derived from the base seed, or a list of seeds
        knobs: {count: 6}                # optional, passed to the sequence
        timeout: 120                     # optional, this entry's limit
        env: {REDMULE_HANG_CYCLES: 5000} # optional, extra environment of the run

Test names come from :mod:`redmule_verif.env.testlist` only.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import yaml

from redmule_verif.env.testlist import EXTRA_TEST_DOCS, EXTRA_TESTS, all_tests
from redmule_verif.sequences.library import SEQUENCE_DOCS, generate
from redmule_verif.sim.paths import SUITES_DIR

SUITE_KEYS = {"description", "seed", "timeout", "tests", "env"}
ENTRY_KEYS = {"test", "seeds", "knobs", "timeout", "env"}


class SuiteError(ValueError):
    """A suite file is malformed: the message names the file, the entry and the problem."""


@dataclasses.dataclass
class SuiteEntry:
    test: str
    seeds: int | list
    knobs: dict
    timeout: float | None
    env: dict


@dataclasses.dataclass
class Suite:
    name: str
    path: pathlib.Path
    description: str
    seed: int | None
    timeout: float | None
    entries: list


def available_suites() -> dict[str, pathlib.Path]:
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*.yaml"))} if SUITES_DIR.is_dir() else {}


def known_tests() -> dict[str, str]:
    """Test name -> first line of its doc (every library sequence is a test of that name, plus the extra tests)."""
    docs = {**SEQUENCE_DOCS, **EXTRA_TEST_DOCS}
    return {n: (docs.get(n) or "").strip().split("\n")[0] for n in all_tests()}


def find_suite(name_or_path) -> pathlib.Path:
    p = pathlib.Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in str(name_or_path):
        if not p.exists():
            raise SuiteError(f"suite file {p} does not exist")
        return p
    suites = available_suites()
    if str(name_or_path) not in suites:
        raise SuiteError(f"unknown suite {name_or_path!r}; suites: {', '.join(suites) or '(none)'} "
                         f"(in {SUITES_DIR}), or give a path to a .yaml file")
    return suites[str(name_or_path)]


def _check_env(where, env) -> dict:
    if env is None:
        return {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and k for k in env):
        raise SuiteError(f"{where}: 'env' must be a mapping NAME: value")
    bad = [v for v in env.values() if not isinstance(v, (str, int, float, bool))]
    if bad:
        raise SuiteError(f"{where}: 'env' values must be strings or numbers, got {bad[0]!r}")
    return {k: str(int(v) if isinstance(v, bool) else v) for k, v in env.items()}


def _check_timeout(where, t):
    if t is None:
        return None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
        raise SuiteError(f"{where}: 'timeout' must be a positive number of seconds, got {t!r}")
    return float(t)


def parse_suite(data, name="<suite>", path=None, tests=None, check_knobs=True, eng=None, mem=None) -> Suite:
    """Validate a suite's data (what the YAML file holds); raises SuiteError listing every problem.

    ``tests``: the known test names (default: the sequence library). With
    ``check_knobs`` every entry's knobs are tried on its sequence (a dry
    generation with seed 0 on ``eng``/``mem``), so a misspelt knob fails here,
    not an hour into the regression.
    """
    src = str(path or name)
    tests = set(tests if tests is not None else known_tests())
    if isinstance(data, list):
        data = {"tests": data}
    if not isinstance(data, dict):
        raise SuiteError(f"{src}: a suite is a list of entries {{test, seeds, knobs, timeout}} "
                         f"or a mapping with 'tests'")
    extra = set(data) - SUITE_KEYS
    if extra:
        raise SuiteError(f"{src}: unknown key(s) {sorted(extra)} (known: {sorted(SUITE_KEYS)})")
    errors: list[str] = []
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        errors.append(f"'seed' must be a non-negative integer, got {seed!r}")
    try:
        timeout = _check_timeout("suite", data.get("timeout"))
    except SuiteError as e:
        errors.append(str(e))
        timeout = None
    try:
        suite_env = _check_env("suite", data.get("env"))
    except SuiteError as e:
        errors.append(str(e))
        suite_env = {}
    raw = data.get("tests")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{src}: needs a non-empty list of entries ('tests')")
    entries = []
    for i, e in enumerate(raw):
        where = f"entry {i + 1}"
        if not isinstance(e, dict):
            errors.append(f"{where}: must be a mapping {{test, seeds, knobs, timeout}}, got {e!r}")
            continue
        where = f"entry {i + 1} ({e.get('test')})"
        extra = set(e) - ENTRY_KEYS
        if extra:
            errors.append(f"{where}: unknown key(s) {sorted(extra)} (known: {sorted(ENTRY_KEYS)})")
        test = e.get("test")
        if not isinstance(test, str) or test not in tests:
            errors.append(f"{where}: unknown test {test!r} (tests: {', '.join(sorted(tests))})")
            continue
        seeds = e.get("seeds", 1)
        if isinstance(seeds, bool) or not (
                (isinstance(seeds, int) and seeds >= 1)
                or (isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool)
                                                              and s >= 0 for s in seeds))):
            errors.append(f"{where}: 'seeds' must be a count >= 1 or a list of non-negative seeds, got {seeds!r}")
            continue
        knobs = e.get("knobs") or {}
        if not isinstance(knobs, dict):
            errors.append(f"{where}: 'knobs' must be a mapping, got {knobs!r}")
            continue
        try:
            t = _check_timeout(where, e.get("timeout"))
            env = {**suite_env, **_check_env(where, e.get("env"))}
        except SuiteError as exc:
            errors.append(str(exc))
            continue
        if check_knobs:
            problem = check_knobs_of(test, knobs, eng, mem)
            if problem:
                errors.append(f"{where}: {problem}")
                continue
        entries.append(SuiteEntry(test, seeds, dict(knobs), t, env))
    if errors:
        raise SuiteError(f"{src}: {len(errors)} problem(s):\n  " + "\n  ".join(errors))
    return Suite(name, pathlib.Path(path) if path else None, str(data.get("description") or "").strip(),
                 seed, timeout, entries)


def check_knobs_of(test: str, knobs: dict, eng=None, mem=None) -> str | None:
    """None when ``test`` accepts ``knobs`` (tried by a dry generation), else the problem."""
    if test in EXTRA_TESTS:  # not a library sequence: it reads its own knobs
        unknown = sorted(set(knobs) - set(EXTRA_TESTS[test]))
        return f"unknown knob(s) {', '.join(unknown)} for test {test!r}" if unknown else None
    try:
        generate(test, 0, eng, mem, **knobs)
    except Exception as exc:  # noqa: BLE001 - any failure of the generator is the knobs' problem
        return f"knobs {knobs} rejected by sequence {test!r}: {type(exc).__name__}: {exc}"
    return None


def load_suite(name_or_path, tests=None, check_knobs=True, eng=None, mem=None) -> Suite:
    path = find_suite(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from None
    return parse_suite(data, path.stem, path, tests, check_knobs, eng, mem)
