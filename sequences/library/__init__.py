"""The sequence library: every sequence is a test of the same name.

``core`` holds the registry, the context a sequence draws from and the job
builder; ``nightly`` the sequences of the nightly; ``extra`` the sequences the
qualification wrote. Importing this package registers them all, in that order.
"""

from redmule_verif.sim.paths import DIRECTED_DIR  # noqa: F401 (where the directed job files are)

from . import nightly  # noqa: F401 (registers its sequences first: the order of SEQUENCES)
from . import extra  # noqa: F401,I001 (then these)
from .core import SEQUENCE_DOCS, SEQUENCES, SeqContext, generate, sequence, sequence_cost  # noqa: F401

__all__ = ["DIRECTED_DIR", "SEQUENCES", "SEQUENCE_DOCS", "SeqContext", "generate", "sequence", "sequence_cost"]
