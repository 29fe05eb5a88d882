"""Vectorised FP-class classification of raw bit patterns (FP16, FP8 E5M2, FP8ALT E4M3).

The twelve classes are disjoint: every code is in exactly one of them.

==========  ==============================================================
class       codes
==========  ==============================================================
+zero/-zero exponent 0, mantissa 0
+sub/-sub   exponent 0, mantissa != 0 (subnormal)
+norm/-norm exponent 1 .. max-1, except the largest finite value
+max/-max   the largest finite magnitude (FP16 0x7BFF, E5M2 0x7B, E4M3 0x77)
+inf/-inf   exponent all ones, mantissa 0
qnan        exponent all ones, mantissa MSB 1 (either sign)
snan        exponent all ones, mantissa MSB 0, mantissa != 0 (either sign)
==========  ==============================================================

All three formats are IEEE-like (FP8ALT is the IEEE-like E4M3 of the spec,
bias 7, max 240, Inf 0x78, not OCP e4m3fn). Classification works on a
lookup table per format (256 or 65536 entries), so a matrix of any size is
classified with one ``take`` and one ``bincount``.
"""

from __future__ import annotations

import numpy as np

from redmule_verif.model.encoding import LAYOUTS, fmt_code, fmt_name

__all__ = ["CLASSES", "fp_class", "classify", "class_counts", "classes_present", "class_mask"]

CLASSES = ("+zero", "-zero", "+sub", "-sub", "+norm", "-norm", "+max", "-max", "+inf", "-inf", "qnan", "snan")
_IDX = {c: i for i, c in enumerate(CLASSES)}


def fp_class(code: int, fmt) -> str:
    """Class name of one raw code in a format (scalar reference implementation)."""
    lay = LAYOUTS[fmt_code(fmt)]
    e_bits, m_bits, width = lay.exp_bits, lay.man_bits, lay.width
    code = int(code)
    if not 0 <= code < (1 << width):
        raise ValueError(f"code {code:#x} does not fit {width}-bit format {fmt_name(fmt)}")
    sign = "-" if code >> (width - 1) else "+"
    exp = (code >> m_bits) & ((1 << e_bits) - 1)
    man = code & ((1 << m_bits) - 1)
    e_max = (1 << e_bits) - 1
    if exp == e_max:
        if man == 0:
            return sign + "inf"
        return "qnan" if man >> (m_bits - 1) else "snan"
    if exp == 0:
        return sign + ("zero" if man == 0 else "sub")
    if exp == e_max - 1 and man == (1 << m_bits) - 1:
        return sign + "max"
    return sign + "norm"


_TABLES: dict[str, np.ndarray] = {}


def _table(fmt: str) -> np.ndarray:
    """Class index of every code of a format (built once per format, with array operations only)."""
    t = _TABLES.get(fmt)
    if t is None:
        e_bits, m_bits, _ = LAYOUTS[fmt_code(fmt)].fields
        code = np.arange(1 << (1 + e_bits + m_bits), dtype=np.int64)
        sign = code >> (e_bits + m_bits)
        exp = (code >> m_bits) & ((1 << e_bits) - 1)
        man = code & ((1 << m_bits) - 1)
        e_max, m_max = (1 << e_bits) - 1, (1 << m_bits) - 1
        kinds = ("zero", "sub", "norm", "max", "inf")  # the signed classes
        kind = np.select([(exp == 0) & (man == 0), exp == 0, (exp == e_max - 1) & (man == m_max), exp == e_max],
                         [kinds.index("zero"), kinds.index("sub"), kinds.index("max"), kinds.index("inf")],
                         kinds.index("norm"))
        plus = np.array([_IDX["+" + k] for k in kinds], dtype=np.uint8)
        minus = np.array([_IDX["-" + k] for k in kinds], dtype=np.uint8)
        t = np.where(sign == 1, minus[kind], plus[kind])
        nan = (exp == e_max) & (man != 0)
        t[nan] = np.where((man[nan] >> (m_bits - 1)) & 1 == 1, _IDX["qnan"], _IDX["snan"])
        t.setflags(write=False)
        _TABLES[fmt] = t
    return t


def classify(bits, fmt) -> np.ndarray:
    """Class index (into CLASSES) of every element of an array of raw codes."""
    fmt = fmt_name(fmt)
    table = _table(fmt)
    a = np.asarray(bits)
    if a.dtype.kind not in "ui":
        raise TypeError(f"raw {fmt} bit patterns must be an integer array, got dtype {a.dtype}")
    # an unsigned array no wider than the format holds only codes of the format: no need to look
    narrow = a.dtype.kind == "u" and (1 << 8 * a.dtype.itemsize) <= table.size
    if a.size and not narrow and (a.min() < 0 or a.max() >= table.size):
        raise ValueError(f"values outside the {table.size.bit_length() - 1}-bit codes of {fmt} "
                         f"(min {a.min()}, max {a.max()}): wrong format for this array?")
    return table[a.astype(np.intp, copy=False)]


def class_counts(bits, fmt) -> dict[str, int]:
    counts = np.bincount(classify(bits, fmt).ravel(), minlength=len(CLASSES))
    return {c: int(n) for c, n in zip(CLASSES, counts)}


def classes_present(bits, fmt) -> list[str]:
    """Names of the classes that occur in the array (in CLASSES order)."""
    counts = np.bincount(classify(bits, fmt).ravel(), minlength=len(CLASSES))
    return [c for c, n in zip(CLASSES, counts) if n]


def class_mask(cls_idx: np.ndarray, *names: str) -> np.ndarray:
    """Boolean mask of elements whose class (from classify) is one of ``names``."""
    lut = np.zeros(len(CLASSES), dtype=bool)
    for n in names:
        lut[_IDX[n]] = True
    return lut[cls_idx]
