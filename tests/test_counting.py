"""evalkit.counting gives exactly what np.bincount gives, for every code dtype."""
import numpy as np
import pytest

from evalkit.counting import counts, sorted_codes, used


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.intp])
def test_counts_and_used_equal_bincount(dtype):
    rng = np.random.default_rng(4)
    n = 100 if dtype == np.int8 else 5000
    codes = rng.integers(0, n, 200_000).astype(dtype)
    codes[codes == 7] = 8                                    # code 7 unused
    w = rng.gamma(2.0, 3.0, len(codes))
    np.testing.assert_array_equal(counts(codes, n), np.bincount(codes, minlength=n))
    np.testing.assert_array_equal(counts(codes, n, weights=w), np.bincount(codes, weights=w, minlength=n))
    with_missing = codes.copy()
    with_missing[::11] = -1
    want = np.bincount(with_missing[with_missing >= 0], minlength=n) > 0
    np.testing.assert_array_equal(used(with_missing, n), want)
    assert not used(codes, n)[7] and used(codes, n)[8]


def test_empty_and_all_missing():
    assert counts(np.zeros(0, np.int16), 3).tolist() == [0, 0, 0]
    assert used(np.full(4, -1, np.int8), 2).tolist() == [False, False]


def test_registry_counts_distinct_categories_in_use_like_nunique():
    import pandas as pd

    from evalkit.registry.registry import Registry
    from evalkit.registry.validate import distinct

    s = pd.Series(["520102000000", None, "520103000000", "520102000000"], dtype="category")
    s = s.cat.add_categories(["520199000000"])                 # a category no row uses
    assert len(distinct(s)) == s.nunique() == 2
    assert len(distinct(s.astype(object))) == 2
    reg = Registry(pd.DataFrame({"household_id": ["a", "b", "c", "d"], "county_code": s, "hh_size": [1, 2, 3, 4]}))
    assert "2 counties" in repr(reg)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_sorted_codes_equal_pandas_factorize_sorted(dtype):
    import pandas as pd

    rng = np.random.default_rng(5)
    for keys in (rng.integers(0, 3000, 10_000),           # dense: scatter and cumulative sum
                 rng.integers(0, 2 ** 40, 1000),           # wide range: pandas
                 np.array([5, 5, 5]), np.array([0]), np.array([], dtype=np.int64)):
        if keys.max(initial=0) >= np.iinfo(dtype).max:
            continue
        keys = keys.astype(dtype)
        codes, uniques = sorted_codes(keys)
        want_codes, want_uniques = pd.factorize(keys, sort=True)
        np.testing.assert_array_equal(codes, want_codes)
        np.testing.assert_array_equal(uniques, want_uniques)
    neg = np.array([-3, 2, -3, 7])  # negative keys: pandas' result
    np.testing.assert_array_equal(sorted_codes(neg)[0], pd.factorize(neg, sort=True)[0])
