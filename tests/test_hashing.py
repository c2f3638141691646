"""evalkit.hashing against an independent pure-Python implementation written from the spec
(docs/methodology/registry.md §4), equality across in-memory representations, golden values,
and the contract of Registry.fingerprint built on it."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import evalkit as ek
from evalkit import hashing
from evalkit.hashing import MISSING, hash_column, row_hashes
from evalkit.registry.registry import Registry

# ------------------------------------------------------------------ reference (from the spec)
M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def ref_mix(z: int) -> int:
    z &= M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def ref_seed(tag: int) -> int:
    return (tag * GAMMA) & M64


REF_MISSING = ref_mix(ref_seed(1))


def ref_text(value) -> int:
    if value is None:
        return REF_MISSING
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    h = ref_mix(ref_seed(2) ^ len(data))
    for j in range(0, (len(data) + 7) // 8):
        word = int.from_bytes(data[8 * j: 8 * j + 8], "little")  # short last word: zero-padded
        h = (h + ref_mix(word ^ (((j + 1) * GAMMA) & M64))) & M64
    return h


def ref_int(v) -> int:
    return REF_MISSING if v is None else ref_mix(ref_seed(3) ^ (v & M64))


def ref_float(v) -> int:
    if v is None or v != v:
        return REF_MISSING
    bits = int.from_bytes(np.float64(v + 0.0).astype("<f8").tobytes(), "little")
    return ref_mix(ref_seed(4) ^ bits)


def ref_bool(v) -> int:
    return REF_MISSING if v is None else ref_mix(ref_seed(5) ^ int(v))


def ref_datetime(ns) -> int:
    return REF_MISSING if ns is None else ref_mix(ref_seed(6) ^ (ns & M64))


def ref_row(hashes) -> int:
    r = ref_seed(8)
    for h in hashes:
        r = ((r ^ int(h)) * GAMMA) & M64
    return r


def expected(values, ref=ref_text) -> np.ndarray:
    return np.array([ref(v) for v in values], dtype=np.uint64)


# ------------------------------------------------------------------ data
ALPHABET = "abcxyz0123456789 _-中文贵州省南明区已脱贫户ÿé\x00"


def random_strings(n: int, seed: int = 1, null_rate: float = 0.1, max_len: int = 40):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < null_rate:
            out.append(None)
        else:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_len))))
    return out


STRINGS = random_strings(3000) + ["", "a", "a\x00", "abcdefgh", "abcdefghi", "贵州省", "x" * 40]


def as_arrow(values, typ):
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, type=typ)))


REPRESENTATIONS = {
    "str (pyarrow)": lambda v: pd.Series(v, dtype="str"),
    "string[pyarrow]": lambda v: pd.Series(v, dtype="string[pyarrow]"),
    "string[python]": lambda v: pd.Series(v, dtype="string[python]"),
    "object": lambda v: pd.Series(v, dtype=object),
    "category": lambda v: pd.Series(v, dtype="category"),
    "arrow string": lambda v: as_arrow(v, pa.string()),
    "arrow large_string": lambda v: as_arrow(v, pa.large_string()),
}


# ------------------------------------------------------------------ text
@pytest.mark.parametrize("rep", REPRESENTATIONS)
def test_text_matches_the_reference(rep):
    """Random text (Chinese, NUL bytes, lengths 0–40 across word boundaries, nulls)."""
    got = hash_column(REPRESENTATIONS[rep](STRINGS))
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, expected(STRINGS))


def test_every_length_across_word_boundaries():
    values = ["".join(chr(0x61 + (i * 7 + k) % 26) for k in range(n)) for i in range(3)
              for n in range(41)]
    np.testing.assert_array_equal(hash_column(pd.Series(values)), expected(values))


def test_length_is_part_of_the_hash():
    h = hash_column(pd.Series(["a", "a\x00", "a\x00\x00", "", "\x00"]))
    assert len(set(h.tolist())) == 5


def test_chunked_and_sliced_arrow_arrays():
    values = random_strings(2500, seed=2)
    chunked = pa.chunked_array([pa.array(values[:700]), pa.array(values[650:1900]).slice(50),
                                pa.array(values[1900:2100]), pa.array(values[2100:])])
    np.testing.assert_array_equal(hash_column(pd.Series(pd.arrays.ArrowExtensionArray(chunked))),
                                  expected(values))
    for typ in (pa.string(), pa.large_string()):
        sliced = pa.array(values, type=typ).slice(13, 2000)
        got = hash_column(pd.Series(pd.arrays.ArrowExtensionArray(sliced)))
        np.testing.assert_array_equal(got, expected(values[13:2013]))


@pytest.mark.parametrize("width", [1, 3, 7, 8, 9, 12, 16, 18])
def test_fixed_width_columns_and_runs(width):
    """All values of one byte length (zero-copy strided path), unsorted and sorted into runs
    (hashed once per run), also sliced so the values start at an odd byte offset."""
    rng = random.Random(width)
    shuffled = ["".join(rng.choice("0123456789") for _ in range(width)) for _ in range(3000)]
    distinct = sorted(set(rng.choice(shuffled) for _ in range(30)))
    runs = [v for v in distinct for _ in range(rng.randint(50, 300))]
    for values in (shuffled, runs):
        np.testing.assert_array_equal(hash_column(pd.Series(values)), expected(values))
        arr = pa.array(values, type=pa.large_string()).slice(3)
        np.testing.assert_array_equal(hash_column(pd.Series(pd.arrays.ArrowExtensionArray(arr))),
                                      expected(values[3:]))


def test_long_values_and_small_blocks(monkeypatch):
    """A few very long values among short ones (flat word stream), blocks split by bytes, and
    several blocks handled by several threads: the same hashes."""
    values = random_strings(6000, seed=3, max_len=12)
    values[10] = "长" * 2000
    values[4000] = "z" * 333
    values[-1] = "y" * 5000
    want = expected(values)
    np.testing.assert_array_equal(hash_column(pd.Series(values)), want)
    monkeypatch.setattr(hashing, "_ROWS", 512)
    monkeypatch.setattr(hashing, "_BYTES", 1000)
    monkeypatch.setattr(hashing, "_threads", lambda n: 3)
    np.testing.assert_array_equal(hash_column(pd.Series(values)), want)
    np.testing.assert_array_equal(hash_column(pd.Series(values, dtype="category")), want)


def test_categorical_equals_plain_text():
    values = ["520102001001", "520102001002", None, "520102001001", "贫困村"] * 400
    plain = hash_column(pd.Series(values))
    cat = pd.Series(values, dtype="category")
    np.testing.assert_array_equal(hash_column(cat), plain)
    # unused and reordered categories change nothing
    cat2 = cat.cat.set_categories(["贫困村", "x", "520102001002", "520102001001"])
    np.testing.assert_array_equal(hash_column(cat2), plain)
    np.testing.assert_array_equal(hash_column(pd.Series(values, dtype=object)), plain)


# ------------------------------------------------------------------ other kinds
def test_missing_values_hash_to_one_constant():
    assert MISSING == REF_MISSING
    for s in (pd.Series([None, np.nan, pd.NA], dtype=object), pd.Series([None], dtype="str"),
              pd.Series([pd.NA], dtype="Int64"), pd.Series([np.nan]), pd.Series([pd.NaT]),
              pd.Series([None, None], dtype="category"), pd.Series([pd.NA], dtype="boolean")):
        assert set(hash_column(s).tolist()) == {MISSING}, s.dtype


def test_integers_whatever_the_dtype():
    small = [3, 1, 20, 0, -5, 7]
    wide = [0, 2**40, -(2**62), 17, 2**63 - 1]
    for values in (small, wide):
        want = expected(values, ref_int)
        for dtype in ("int64", "Int64", object):
            np.testing.assert_array_equal(hash_column(pd.Series(values, dtype=dtype)), want)
        np.testing.assert_array_equal(
            hash_column(pd.Series(values, dtype=pd.ArrowDtype(pa.int64()))), want)
    np.testing.assert_array_equal(hash_column(pd.Series([1, 2], dtype="int32")),
                                  hash_column(pd.Series([1, 2], dtype="UInt8")))
    with_na = pd.Series([4, None, 2], dtype="Int64")
    np.testing.assert_array_equal(hash_column(with_na), expected([4, None, 2], ref_int))


def test_floats():
    values = [0.0, -0.0, 1.5, -2.25, 1e300, None, float("nan")]
    want = expected(values, ref_float)
    np.testing.assert_array_equal(hash_column(pd.Series(values, dtype="float64")), want)
    np.testing.assert_array_equal(hash_column(pd.Series(values, dtype="Float64")), want)
    h = hash_column(pd.Series([0.0, -0.0]))
    assert h[0] == h[1]
    assert hash_column(pd.Series([1.0]))[0] != hash_column(pd.Series([1]))[0]  # kinds differ


def test_bools():
    values = [True, False, None, True]
    want = expected(values, ref_bool)
    np.testing.assert_array_equal(hash_column(pd.Series(values, dtype="boolean")), want)
    np.testing.assert_array_equal(hash_column(pd.Series([True, False, True])),
                                  expected([True, False, True], ref_bool))


def test_datetimes_in_any_unit_and_zone():
    stamps = pd.to_datetime(["1990-01-31 00:00:00", "2019-12-31 23:59:59", None,
                             "1969-07-20 20:17:40"])
    ns = [None if pd.isna(t) else t.value for t in stamps]
    want = expected(ns, ref_datetime)
    for unit in ("s", "ms", "us", "ns"):
        np.testing.assert_array_equal(hash_column(pd.Series(stamps.as_unit(unit))), want)
    shanghai = pd.Series(stamps.tz_localize("UTC").tz_convert("Asia/Shanghai"))
    np.testing.assert_array_equal(hash_column(shanghai), want)


def test_golden_values():
    """Hard-coded so that any change of the algorithm is noticed (and documented)."""
    assert hash_column(pd.Series(["", "a", "5201020010010001", "贵州省", None])).tolist() == [
        0x6E789E6AA1B965F4, 0xBA619EDA476F93F3, 0xA1B0A54478E64388, 0xF3BBE1A35B1E010A,
        0xE220A8397B1DCDAF]
    assert hash_column(pd.Series([0, 1, -1])).tolist() == [
        0x06C45D188009454F, 0x382FF84CB27281E9, 0x8F33834013B31F7C]
    assert MISSING == 0xE220A8397B1DCDAF


# ------------------------------------------------------------------ rows
def test_row_hashes_follow_the_column_order():
    frame = pd.DataFrame({"a": ["x", "y", None], "b": [1, 2, 3], "c": ["y", "x", "z"]})
    want = [ref_row([ref_text(a), ref_int(b), ref_text(c)])
            for a, b, c in zip(["x", "y", None], [1, 2, 3], ["y", "x", "z"])]
    assert row_hashes(frame, ["a", "b", "c"]).tolist() == want
    swapped = frame.assign(a=frame["c"], c=frame["a"])
    assert (row_hashes(swapped, ["a", "b", "c"]) != row_hashes(frame, ["a", "b", "c"])).all()


# ------------------------------------------------------------------ Registry.fingerprint
@pytest.fixture(scope="module")
def reg():
    return ek.synthetic_registry(seed=5, n_counties=2, households_per_county=(400, 600))


def test_fingerprint_ignores_row_and_column_order(reg):
    hh = reg.households.sample(frac=1.0, random_state=3)
    hh = hh[list(reversed(hh.columns))]
    mm = reg.members.sample(frac=1.0, random_state=4)
    assert Registry(hh, mm).fingerprint == reg.fingerprint


def test_fingerprint_changes_with_one_cell(reg):
    for col, new in (("hh_size", 99), ("village_code", "529999999999"), ("head_name", "某某"),
                     ("income_per_capita", 0.5)):
        changed = reg.households.copy()
        changed.loc[7, col] = new
        assert Registry(changed, reg.members).fingerprint != reg.fingerprint, col
    mm = reg.members.copy()
    mm.loc[3, "birth_date"] = pd.Timestamp("1901-01-01")
    assert Registry(reg.households, mm).fingerprint != reg.fingerprint


def test_fingerprint_whatever_the_representation(reg):
    """Text as object, python strings or Categorical; Int64 as int64; other datetime unit."""
    hh = reg.households.copy()
    for col in ("province_code", "county_code", "village_code", "registry_status"):
        hh[col] = hh[col].astype("category")
    hh["head_name"] = hh["head_name"].astype(object)
    hh["household_id"] = hh["household_id"].astype("string[python]")
    hh["hh_size"] = hh["hh_size"].astype("int64")
    mm = reg.members.copy()
    mm["birth_date"] = mm["birth_date"].astype("datetime64[ns]")
    assert Registry(hh, mm).fingerprint == reg.fingerprint


def test_fingerprint_survives_a_parquet_round_trip(reg, tmp_path):
    path = reg.to_parquet(tmp_path / "prov.parquet")
    members = tmp_path / "prov.members.parquet"
    codes = ["province_code", "county_code", "village_code", "registry_status", "village_type"]
    hh = pq.read_table(path, read_dictionary=codes).to_pandas()
    assert isinstance(hh["county_code"].dtype, pd.CategoricalDtype)
    assert Registry(hh, pd.read_parquet(members)).fingerprint == reg.fingerprint
    back = ek.read_registry(path, members=members, year=reg.meta["year"],
                            reference_date=reg.meta.get("survey_date"))
    assert back.fingerprint == reg.fingerprint


def test_fingerprint_golden_value():
    hh = pd.DataFrame({"household_id": ["5201020010010001", "5201020010010002"],
                       "village_code": ["520102001001", "520102001001"],
                       "registry_status": ["exited", "poor"],
                       "hh_size": pd.array([3, 1], dtype="Int64")})
    assert Registry(hh).fingerprint == (
        "a45a467033935bc6634edc26cd7f2ff8796249cea25fc1c2668dfe6788b6d2b4")
