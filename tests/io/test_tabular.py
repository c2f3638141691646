"""evalkit.tabular.read_table: encodings and separators detected, text kept as text."""
import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.tabular import detect_encoding, detect_separator, read_table


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")])
@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_encodings_and_separators(tmp_path, encoding, expected, sep):
    p = tmp_path / "t.csv"
    text = sep.join(["户编号", "户主姓名", "村代码"]) + "\n" + sep.join(["0001", "张三", "520102001001"]) + "\n"
    p.write_bytes(text.encode(encoding))
    assert detect_encoding(p) == expected
    assert detect_separator(p, expected) == sep
    t = read_table(p)
    assert list(t.frame.columns) == ["户编号", "户主姓名", "村代码"]
    assert t.frame.iloc[0].tolist() == ["0001", "张三", "520102001001"]  # leading zeros kept
    assert t.encoding == expected


def test_undecodable_file_says_what_to_do(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"\xff\xfe\x00a,b\n\x81\x30\xff,1\n")
    with pytest.raises(EvalkitError, match="CSV UTF-8"):
        read_table(p)


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(EvalkitError, match="not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(EvalkitError, match="unsupported file type"):
        read_table(tmp_path / "x.json")


def test_empty_cells_are_missing_not_text(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,\n,NA\n", encoding="utf-8")
    f = read_table(p).frame
    assert pd.isna(f.loc[0, "b"]) and pd.isna(f.loc[1, "a"]) and f.loc[1, "b"] == "NA"


@pytest.mark.parametrize("seed,threads", [(0, False), (1, False), (2, True)])
def test_dictionary_columns_become_sorted_categoricals_equal_to_arrow_conversion(tmp_path, seed, threads,
                                                                                 monkeypatch):
    """categorical_from_dictionary against pyarrow's own to_pandas on the same file: several row
    groups with different dictionaries (values first seen in any order), missing values, an empty
    dictionary chunk, Chinese text; categories come out sorted and codes narrow."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import evalkit.threads
    from evalkit.tabular import _read_parquet, categorical_from_dictionary

    monkeypatch.setattr(evalkit.threads, "PARALLEL_ROWS", 0 if threads else 10 ** 12)
    monkeypatch.setattr(evalkit.threads, "available_cpus", lambda: 2)
    rng = np.random.default_rng(seed)
    pool = np.array(["未脱贫", "已脱贫", "poor", "exited", "520102001001", "520102001002", "Ω", ""], dtype=object)
    n = 5000
    vals = pool[rng.integers(0, len(pool), n)].astype(object)
    vals[rng.random(n) < 0.05] = None
    vals[:700] = "仅此一值"                                  # a first row group with a one-value dictionary
    big = np.array([f"5201{i:08d}" for i in rng.permutation(300)], dtype=object)[rng.integers(0, 300, n)]
    table = pa.table({"status": pa.array(vals, pa.string()), "village": pa.array(big, pa.string()),
                      "x": np.arange(n)})
    p = tmp_path / "t.parquet"
    pq.write_table(table, p, row_group_size=700)
    got = _read_parquet(p, ["status", "village"])
    ref = pq.read_table(p).to_pandas()
    assert list(got.columns) == ["status", "village", "x"]
    for col in ("status", "village"):
        s = got[col]
        assert isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.is_monotonic_increasing
        assert s.cat.codes.dtype == (np.int8 if col == "status" else np.int16)
        want = ref[col].astype(object).where(ref[col].notna(), None).tolist()
        assert s.astype(object).where(s.notna(), None).tolist() == want
    assert (got["x"].to_numpy() == np.arange(n)).all()
    # an all-missing column and a column read as one chunk
    empty = pa.chunked_array([pa.array([None, None], pa.string()).dictionary_encode()])
    c = categorical_from_dictionary(empty)
    assert len(c.categories) == 0 and c.isna().all()


def test_dictionary_read_keeps_a_stored_index_and_works_with_text_columns_only(tmp_path):
    from evalkit.tabular import _read_parquet

    df = pd.DataFrame({"a": ["x", "y", "x"], "b": [1, 2, 3]}, index=pd.Index(["r1", "r2", "r3"], name="rid"))
    df.to_parquet(tmp_path / "t.parquet")
    got = _read_parquet(tmp_path / "t.parquet", ["a"])
    assert got.index.tolist() == ["r1", "r2", "r3"] and got["a"].tolist() == ["x", "y", "x"]
    assert isinstance(got["a"].dtype, pd.CategoricalDtype) and got["b"].tolist() == [1, 2, 3]
    pd.DataFrame({"a": ["y", None, "x"]}).to_parquet(tmp_path / "t2.parquet")
    only = _read_parquet(tmp_path / "t2.parquet", ["a"])
    assert len(only) == 3 and only["a"].cat.categories.tolist() == ["x", "y"] and only["a"].isna().tolist() == [False, True, False]


def test_take_rows_equals_pandas_take_across_chunks():
    """take_rows gives exactly what Series.take gives (values, dtype, index, name) for a chunked
    Arrow column: sorted, unsorted, repeated and negative positions, missing values, empty chunks."""
    import numpy as np
    import pyarrow as pa

    from evalkit.tabular import _arrow_backed, take_rows

    rng = np.random.default_rng(3)
    values = [None if i % 17 == 0 else f"id{i:05d}" for i in range(1000)]
    cuts = [0, 0, 130, 131, 400, 400, 999, 1000]  # empty chunks included
    chunked = pa.chunked_array([pa.array(values[a:b], pa.large_string()) for a, b in zip(cuts[:-1], cuts[1:])])
    for dtype in ("str", pd.StringDtype("pyarrow"), pd.ArrowDtype(pa.large_string())):
        one = pd.Series(["x"], dtype=dtype)  # the pandas array type of this dtype
        s = pd.Series(_arrow_backed(one.array, chunked), index=pd.RangeIndex(1000) * 2 + 5, name="household_id")
        assert s.array._pa_array.num_chunks == 7 and s.dtype == one.dtype
        for pos in (np.sort(rng.choice(1000, 300, replace=False)),      # the draw's scope: sorted
                    rng.permutation(1000)[:250],                         # the sample's order
                    rng.integers(0, 1000, 400),                          # repeats
                    np.array([-1, -1000, 0, 999, 131, 130, 129]),        # negative and chunk edges
                    np.array([], dtype=np.int64)):
            got, want = take_rows(s, pos), s.take(pos)
            pd.testing.assert_series_equal(got, want)
            assert len(pos) == 0 or got.array._pa_array.num_chunks == 1
    with pytest.raises(IndexError):
        take_rows(s, np.array([1000]))
    plain = pd.Series(["a", "b", "c"], dtype=object)  # not Arrow-backed: pandas' take
    pd.testing.assert_series_equal(take_rows(plain, [2, 0]), plain.take([2, 0]))
