"""Seeds: one seed per test run, one independent stream per component.

Every component draws from its own generator, seeded with sha256(run seed,
full hierarchical path). Adding a component therefore shifts no one else's
stimulus, and the same seed gives the same stimulus in any process (Python's
salted ``hash`` is never used). No module keeps a global generator.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive(seed: int, path: str) -> int:
    """A 64-bit seed for the component at ``path`` (e.g. 'uvm_test_top.env.mem.responder')."""
    digest = hashlib.sha256(f"{int(seed)}:{path}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def py_rng(seed: int, path: str) -> random.Random:
    """A private ``random.Random`` stream for ``path``."""
    return random.Random(derive(seed, path))


def np_rng(seed: int, path: str) -> np.random.Generator:
    """A private numpy ``Generator`` stream for ``path``."""
    return np.random.default_rng(derive(seed, path))
