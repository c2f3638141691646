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
