"""``redmule-verif list``: the tests and the suites."""

from __future__ import annotations

from redmule_verif.tools.regress.suite import SuiteError, available_suites, known_tests, load_suite

NAME = "list"
HELP = "list the tests and suites"


def add_arguments(p) -> None:
    pass


def main(args) -> int:
    print("tests:")
    for name, doc in known_tests().items():
        print(f"  {name:<20} {doc[:100]}")
    print("suites:")
    for name, path in available_suites().items():
        try:
            s = load_suite(path, check_knobs=False)
            runs = sum(e.seeds if isinstance(e.seeds, int) else len(e.seeds) for e in s.entries)
            desc = s.description.splitlines()[0] if s.description else ""
            print(f"  {name:<20} {runs} runs, {len(s.entries)} entries  {desc}")
        except SuiteError as exc:
            print(f"  {name:<20} INVALID: {exc}")
    return 0
