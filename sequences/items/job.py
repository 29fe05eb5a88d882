"""Transitional: the names ``redmule_verif.sequences.items.job`` used to define.

The job item was split (see ``redmule_verif.sequences.items``) and the spec's
tables moved to ``redmule_verif.model.encoding``; this module keeps the old
import path working until every importer has switched, then goes.
"""

from redmule_verif.model.encoding import (  # noqa: F401
    ALL_FORMAT_NAMES as FORMAT_NAMES,
    ALL_FORMATS,
    CONTROL_KINDS,
    CONTROL_PHASES,
    FORMATS,
    GRANT_KINDS,
    LAUNCHES,
    MAX_DIM,
    OP_NAMES,
    OPS,
)

from . import *  # noqa: F401,F403
from .checks import ADDR_LIMIT  # noqa: F401
