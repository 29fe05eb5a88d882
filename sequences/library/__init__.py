"""The sequence library: every sequence is a test of the same name.

``core`` holds the registry, the context a sequence draws from and the
sequences of the nightly; ``extra`` adds sequences the qualification wrote.
"""

from .core import DIRECTED_DIR, SEQUENCE_DOCS, SEQUENCES, SeqContext, generate, sequence, sequence_cost  # noqa: F401
from . import extra  # noqa: F401,E402  (registers its sequences)

__all__ = ["DIRECTED_DIR", "SEQUENCES", "SEQUENCE_DOCS", "SeqContext", "generate", "sequence", "sequence_cost"]
