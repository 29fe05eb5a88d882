"""Exhaustive FP8 <-> FP16 casts of redmule_verif.model.ref against an exact rational oracle."""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_ref_oracle import check_from_fp16, check_to_fp16  # noqa: E402

from redmule_verif.model import ref  # noqa: E402


@pytest.mark.parametrize("fmt", ["FP8", "FP8ALT"])
def test_from_fp16_exhaustive(fmt):
    check_from_fp16(ref, fmt)


@pytest.mark.parametrize("fmt", ["FP8", "FP8ALT"])
def test_to_fp16_exhaustive(fmt):
    check_to_fp16(ref, fmt)


@pytest.mark.parametrize("fmt", ["FP8", "FP8ALT"])
def test_round_trip_fp8_fp16_fp8(fmt):
    codes = np.arange(256, dtype=np.uint8)
    back = ref.from_fp16(ref.to_fp16(codes, fmt), fmt)
    nan = ref.CANONICAL_NAN[ref.fmt_code(fmt)]
    inf = 0x7C if fmt == "FP8" else 0x78
    is_nan = (codes & 0x7F) > inf
    assert np.array_equal(back[~is_nan], codes[~is_nan])
    assert (back[is_nan] == nan).all()


def test_fp16_casts_are_identity():
    codes = np.arange(1 << 16, dtype=np.uint16)
    assert np.array_equal(ref.to_fp16(codes, "FP16"), codes)
    assert np.array_equal(ref.from_fp16(codes, 1), codes)


def test_cast_codes_and_names():
    c = np.array([0x3C00], np.uint16)
    assert ref.from_fp16(c, 0)[0] == ref.from_fp16(c, "FP8")[0] == 0x3C
    assert ref.from_fp16(c, 2)[0] == ref.from_fp16(c, "fp8alt")[0] == 0x38
    with pytest.raises(ValueError, match="bfloat16"):
        ref.from_fp16(c, 3)
