"""Resident ID numbers (GB 11643-1999): check digit, validity, normalisation, masking."""
import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from evalkit.registry import idnumber


def _reference_check(first17: str) -> str:
    """Straight from the standard: Σ aᵢ·Wᵢ mod 11 → '10X98765432'."""
    w = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * wi for c, wi in zip(first17, w)) % 11]


def _reference_valid(s) -> bool:
    if not isinstance(s, str) or len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return False
    try:
        born = pd.Timestamp(year=int(s[6:10]), month=int(s[10:12]), day=int(s[12:14]))
    except ValueError:
        return False
    return born.year >= 1890 and _reference_check(s[:17]) == s[17]


def test_known_numbers():
    # the standard's worked example and a number ending in X
    assert idnumber.check_digit(pd.Series(["11010519491231002"])).iloc[0] == "X"
    assert idnumber.is_valid(pd.Series(["11010519491231002X", "11010519491231002x", "110105194912310021"])).tolist() == [True, False, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="0123456789X", min_size=16, max_size=19), min_size=1, max_size=40))
def test_vectorised_validity_equals_reference(values):
    s = pd.Series(values)
    assert idnumber.is_valid(s).tolist() == [_reference_valid(v) for v in values]


def test_dates_and_missing():
    base = ["520102200002290011", "520102190002290011", "520102188912310011", None, "５２０１０２", "中文中文中文"]
    fixed = [b[:17] + _reference_check(b[:17]) if b and b.isascii() and len(b) == 18 else b for b in base]
    # 2000-02-29 exists, 1900-02-29 does not, 1889 is too early; None and non-ASCII are invalid
    assert idnumber.is_valid(pd.Series(fixed)).tolist() == [True, False, False, False, False, False]


def test_normalise_15_digit_and_fullwidth():
    s = pd.Series(["110105491231002", " １１０１０５１９４９１２３１００２ｘ", "11010519491231002x"])
    assert idnumber.normalise(s).tolist() == ["11010519491231002X"] * 3


def test_mask():
    s = pd.Series(["11010519491231002X", "123", None])
    out = idnumber.mask(s)
    assert out.iloc[0] == "110105********002X" and out.iloc[1] == "***" and pd.isna(out.iloc[2])
    assert idnumber.mask_phone(pd.Series(["13812345678"])).iloc[0] == "138****5678"


def test_large_vector_matches_reference_on_a_sample():
    rng = np.random.default_rng(0)
    first = pd.Series([f"520102{y:04d}{m:02d}{d:02d}{q:03d}" for y, m, d, q in zip(
        rng.integers(1900, 2020, 2000), rng.integers(1, 13, 2000), rng.integers(1, 29, 2000), rng.integers(0, 1000, 2000))])
    ids = first + idnumber.check_digit(first)
    ids.iloc[::7] = ids.iloc[::7].str[:17] + "0"
    got = idnumber.is_valid(ids).tolist()
    assert got == [_reference_valid(v) for v in ids]
