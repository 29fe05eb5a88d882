"""redmule_verif: UVM-style verification of the RedMulE FP16/FP8 matrix engine.

Subpackages: ``redmule_verif.sequences`` (job items, sequence library, suites)
and ``redmule_verif.coverage`` (covergroups, testplan).
"""

__version__ = "0.1.0"
