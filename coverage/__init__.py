"""redmule_verif.coverage: functional covergroups and the testplan.

This folder is the subpackage ``redmule_verif.coverage``. If it is ever imported
as a top-level ``coverage`` (Python started in the repository root with the
working directory on sys.path), it steps aside so that ``import coverage`` still
gives coverage.py.
"""

if __name__ == "coverage":  # shadowing coverage.py: hand the name back
    import importlib
    import os
    import sys

    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    _saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _root]
    del sys.modules["coverage"]
    try:
        _real = importlib.import_module("coverage")
    finally:
        sys.path[:] = _saved
    sys.modules["coverage"] = _real
    globals().update({k: v for k, v in vars(_real).items() if not k.startswith("__")})

if __name__ != "coverage":  # the real subpackage: its public API
    import pathlib

    #: the directed job file of the closure witnesses (``witnesses`` writes it, ``directed`` replays it)
    WITNESS_FILE = pathlib.Path(__file__).with_name("closure_witnesses.yaml")

    from .covergroup import (  # noqa: F401
        SCHEMA,
        CoverageDB,
        CoverageError,
        Covergroup,
        Coverpoint,
        Cross,
        Many,
        format_report,
        split_ref,
    )
    from .fpclass import CLASSES, class_counts, classes_present, classify, fp_class  # noqa: F401
    from .redmule_cov import RedmuleCoverage, zero_job_reasons  # noqa: F401
