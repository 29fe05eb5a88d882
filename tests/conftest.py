"""Shared pytest options and fixtures for the framework's own tests."""

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption(
        "--ref-vectors",
        type=int,
        default=100_000,
        help="random vectors per FP16 operation in the reference-model tests",
    )


@pytest.fixture(scope="session")
def ref_vectors(request):
    return request.config.getoption("--ref-vectors")


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def build_root():
    """Build cache shared by every test (and by parallel xdist workers)."""
    root = pathlib.Path(os.environ.get("REDMULE_VERIF_BUILD_ROOT", REPO / "build" / "cache"))
    root.mkdir(parents=True, exist_ok=True)
    return root
