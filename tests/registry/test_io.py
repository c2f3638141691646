"""read_registry: every reader (CSV UTF-8 / UTF-8-BOM / GBK, XLSX, Parquet, SAV and DTA with
Chinese value labels), header and code mapping, admin-code normalisation, type coercion,
several files, fatal errors and issue locations. Fixtures are generated in tmp_path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.errors import RegistryError
from evalkit.registry import aliases, idnumber
from evalkit.registry import io as rio


def make_id(prefix6: str, birth8: str, seq3: str) -> str:
    first17 = pd.Series([prefix6 + birth8 + seq3])
    return first17[0] + idnumber.check_digit(first17)[0]


def raw_households() -> pd.DataFrame:
    """Three households as a county office exports them: Chinese headers and labels."""
    return pd.DataFrame({
        "户编号": ["5201020010010001", "5201020010010002", "5201020010020001"],
        "村代码": ["520102001001", "520102001001", "520102001002"],
        "县": ["南明区", "南明区", "南明区"],
        "村类型": ["贫困村", "贫困村", "非贫困村"],
        "贫困户属性": ["已脱贫", "未脱贫", "一般农户"],
        "脱贫年度": ["2018", None, None],
        "家庭人口数": ["3", "1", "4"],
        "人均纯收入（元）": ["4,000", "2500", "8000"],
        "主要致贫原因": ["因病", "缺劳力", None],
        "户主姓名": ["张三", "李四", "王五"],
        "户主身份证号": [make_id("520102", "19800101", "011"), make_id("520102", "19700202", "031"),
                     make_id("520102", "19900303", "051")],
        "备注": ["a", "b", "c"],  # unknown column: kept
    })


EXPECTED_STATUS = ["exited", "poor", "not_registered"]


def assert_canonical(reg, n=3):
    hh = reg.households
    assert len(hh) == n
    assert hh["registry_status"].tolist()[:3] == EXPECTED_STATUS
    assert hh["village_code"].tolist()[:3] == ["520102001001", "520102001001", "520102001002"]
    # higher levels derived from the village code
    assert hh["county_code"].tolist()[:3] == ["520102000000"] * 3
    assert hh["province_code"].iloc[0] == "520000000000"
    assert hh["hh_size"].dtype == "Int64" and hh["hh_size"].tolist()[:3] == [3, 1, 4]
    assert hh["income_per_capita"].tolist()[:3] == [4000.0, 2500.0, 8000.0]
    assert hh["exit_year"].tolist()[0] == 2018 and pd.isna(hh["exit_year"].iloc[1])
    assert hh["village_type"].tolist()[:3] == ["poor", "poor", "non_poor"]
    assert hh["poverty_cause"].tolist()[:2] == ["illness", "lack_labour"]
    assert "备注" in hh.columns  # unknown column kept
    assert len(reg.issues) == 0, reg.issues


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(tmp_path, encoding):
    p = tmp_path / f"hh_{encoding}.csv"
    raw_households().to_csv(p, index=False, encoding=encoding)
    reg = ek.read_registry(p, year=2019)
    assert_canonical(reg)
    src = reg.meta["sources"][0]
    assert src["encoding"] == ("gb18030" if encoding == "gbk" else "utf-8-sig")
    assert src["columns"]["户编号"] == "household_id" and src["rows"] == 3
    assert reg.meta["province_code"] == "52" and reg.meta["year"] == 2019
    # IDs and codes keep every digit (read as text)
    assert reg.households["household_id"].iloc[0] == "5201020010010001"


def test_xlsx_with_numeric_cells(tmp_path):
    df = raw_households()
    df["村代码"] = df["村代码"].astype("int64")  # Excel numbers
    df["家庭人口数"] = df["家庭人口数"].astype(int)
    p = tmp_path / "hh.xlsx"
    df.to_excel(p, index=False)
    assert_canonical(ek.read_registry(p))


def test_parquet_typed_and_short_codes(tmp_path):
    df = raw_households()
    df["村代码"] = [520102001001.0, 520102001001.0, 520102001002.0]  # floats, as pandas writes them
    df["县代码"] = [520102, 520102, 520102]                          # 6-digit county code (int)
    df["家庭人口数"] = [3, 1, 4]
    df["人均纯收入（元）"] = [4000.0, 2500.0, 8000.0]
    p = tmp_path / "hh.parquet"
    df.to_parquet(p, index=False)
    reg = ek.read_registry(p)
    assert_canonical(reg)
    assert reg.meta["derived_columns"] == ["city_code", "province_code", "township_code"]


def _labelled(df):
    """SPSS/Stata-style numeric codes with Chinese value labels."""
    out = pd.DataFrame({
        "household_id": df["户编号"],
        "village_code": df["村代码"].astype(float),
        "village_type": [1.0, 1.0, 2.0],
        "registry_status": [2.0, 1.0, 4.0],
        "exit_year": [2018.0, np.nan, np.nan],
        "hh_size": [3.0, 1.0, 4.0],
        "income_per_capita": [4000.0, 2500.0, 8000.0],
        "poverty_cause": [1.0, 8.0, np.nan],
        "note": ["a", "b", "c"],
    })
    labels = {
        "registry_status": {1.0: "未脱贫", 2.0: "已脱贫", 3.0: "拟脱贫", 4.0: "一般农户"},
        "village_type": {1.0: "贫困村", 2.0: "非贫困村"},
        "poverty_cause": {1.0: "因病", 8.0: "缺劳力"},
    }
    return out, labels


def _assert_labelled(reg):
    hh = reg.households
    assert hh["registry_status"].tolist() == EXPECTED_STATUS
    assert hh["village_code"].tolist() == ["520102001001", "520102001001", "520102001002"]
    assert hh["village_type"].tolist() == ["poor", "poor", "non_poor"]
    assert hh["poverty_cause"].tolist()[:2] == ["illness", "lack_labour"]
    assert hh["hh_size"].tolist() == [3, 1, 4] and hh["exit_year"].iloc[0] == 2018
    assert hh["household_id"].iloc[0] == "5201020010010001"
    assert "note" in hh.columns and len(reg.issues) == 0


def test_sav_with_chinese_value_labels(tmp_path):
    import pyreadstat

    df, labels = _labelled(raw_households())
    p = tmp_path / "hh.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels=labels)
    _assert_labelled(ek.read_registry(p))


def test_dta_with_chinese_value_labels(tmp_path):
    import pyreadstat

    df, labels = _labelled(raw_households())
    p = tmp_path / "hh.dta"
    pyreadstat.write_dta(df, str(p), variable_value_labels=labels)
    _assert_labelled(ek.read_registry(p))


def test_several_files_are_concatenated_with_their_own_row_numbers(tmp_path):
    a = raw_households()
    b = raw_households()
    b["户编号"] = ["5201030010010001", "5201030010010002", "5201030010010003"]
    b["村代码"] = ["520103001001"] * 3
    b.loc[1, "家庭人口数"] = "0"  # b.csv, spreadsheet row 3
    b = b.rename(columns={"户编号": "户码", "贫困户属性": "户类型"})  # another county's headers
    pa_, pb = tmp_path / "a.csv", tmp_path / "b.csv"
    a.to_csv(pa_, index=False, encoding="gbk")
    b.to_csv(pb, index=False)
    reg = ek.read_registry([pa_, pb])
    assert len(reg.households) == 6
    assert reg.households["county_code"].tolist() == ["520102000000"] * 3 + ["520103000000"] * 3
    iss = reg.issues[reg.issues["check"] == "hh_size_range"]
    assert iss[["file", "row", "household_id", "column", "value"]].values.tolist() == [
        ["b.csv", 3, "5201030010010002", "hh_size", "0"]]
    assert [s["file"] for s in reg.meta["sources"]] == ["a.csv", "b.csv"]


def test_missing_required_column_names_file_and_accepted_headers(tmp_path):
    df = raw_households().drop(columns=["贫困户属性"])
    p = tmp_path / "county.csv"
    df.to_csv(p, index=False)
    with pytest.raises(RegistryError) as exc:
        ek.read_registry(p)
    text = str(exc.value)
    assert "county.csv" in text and "registry_status" in text
    assert "贫困户属性" in text and "脱贫状态" in text  # accepted Chinese headers listed


def test_unknown_status_is_fatal_with_row_and_value(tmp_path):
    df = raw_households()
    df.loc[2, "贫困户属性"] = "已出列"
    p = tmp_path / "hh.csv"
    df.to_csv(p, index=False)
    with pytest.raises(RegistryError) as exc:
        ek.read_registry(p)
    text = str(exc.value)
    assert "hh.csv, row 4, column 'registry_status'" in text and "'已出列'" in text
    assert "registry_status_invalid" in text


def test_duplicate_household_ids_are_fatal(tmp_path):
    df = raw_households()
    df.loc[2, "户编号"] = df.loc[0, "户编号"]
    p = tmp_path / "hh.csv"
    df.to_csv(p, index=False)
    with pytest.raises(RegistryError, match=r"hh.csv, row 4, column 'household_id'"):
        ek.read_registry(p)


def test_non_numeric_size_is_fatal_with_original_text(tmp_path):
    df = raw_households()
    df.loc[1, "家庭人口数"] = "三"
    p = tmp_path / "hh.csv"
    df.to_csv(p, index=False)
    with pytest.raises(RegistryError) as exc:
        ek.read_registry(p)
    assert "hh.csv, row 3, column 'hh_size': value '三'" in str(exc.value)


def test_non_fatal_problems_keep_every_row(tmp_path):
    df = raw_households()
    df.loc[0, "人均纯收入（元）"] = "约四千"      # not a number -> NA + issue
    df.loc[1, "村类型"] = "半贫困村"              # unknown optional code -> NA + issue
    df.loc[2, "户主身份证号"] = "520102199003030512"  # wrong check digit
    p = tmp_path / "hh.csv"
    df.to_csv(p, index=False)
    reg = ek.read_registry(p)
    assert len(reg.households) == 3
    iss = reg.issues.set_index("check")
    assert iss.loc["type_invalid", ["row", "column", "value"]].tolist() == [2, "income_per_capita", "约四千"]
    assert iss.loc["code_invalid", ["row", "column", "value"]].tolist() == [3, "village_type", "半贫困村"]
    assert iss.loc["id_number_invalid", ["row", "column"]].tolist() == [4, "head_id_number"]
    assert iss.loc["id_number_invalid", "value"] == "520102********0512"
    assert pd.isna(reg.households["income_per_capita"].iloc[0])
    assert pd.isna(reg.households["village_type"].iloc[1])
    # the issue values are masked, the data keep the number for cross-checks
    assert reg.households["head_id_number"].iloc[2] == "520102199003030512"


def test_members_file_mapping_and_checks(tmp_path):
    hh = raw_households()
    hh.loc[2, "家庭人口数"] = "2"
    ph = tmp_path / "hh.csv"
    hh.to_csv(ph, index=False)
    ids = list(hh["户主身份证号"])
    mem = pd.DataFrame({
        "人员编号": ["p1", "p2", "p3", "p4", "p5", "p6", "p7"],
        "户编号": ["5201020010010001"] * 3 + ["5201020010010002", "5201020010020001",
                                            "5201020010020001", "9999"],
        "与户主关系": ["户主", "之妻", "之子", "户主", "本人", "之女", "户主"],
        "性别": ["男", "女", "男", "男", "男", "女", "女"],
        "出生日期": ["1980-01-01", "1982年5月6日", "2008/3/4", "19700202", "1990.03.03",
                 "2012-01-01", "1950-01-01"],
        "身份证号": [ids[0], None, None, ids[1], ids[2], None, None],
        "在校生状况": ["非在校生", "非在校生", "辍学", "非在校生", "非在校生", "小学", "非在校生"],
    })
    pm = tmp_path / "members.xlsx"
    mem.to_excel(pm, index=False)
    reg = ek.read_registry(ph, members=pm, year=2019)
    m = reg.members
    assert m["relation"].tolist() == ["head", "spouse", "child", "head", "head", "child", "head"]
    assert m["sex"].tolist()[:2] == ["male", "female"]
    assert m["birth_date"].tolist()[:5] == list(pd.to_datetime(
        ["1980-01-01", "1982-05-06", "2008-03-04", "1970-02-02", "1990-03-03"]))
    assert m["schooling"].tolist()[2] == "dropout"
    iss = reg.issues
    # p3: born 2008-03-04, 11 at 2019-12-31, dropped out -> members.xlsx row 4
    a = iss[iss["check"] == "age_schooling"]
    assert a[["file", "row", "household_id", "column"]].values.tolist() == [
        ["members.xlsx", 4, "5201020010010001", "schooling"]]
    # p7's household 9999 does not exist -> row 8
    o = iss[iss["check"] == "member_without_household"]
    assert o[["file", "row", "value"]].values.tolist() == [["members.xlsx", 8, "9999"]]
    # household 1 says 3 persons and lists 3; household 3 says 2 and lists 2: no mismatch
    assert "hh_size_mismatch" not in set(iss["check"])


def test_dataframe_input_and_fast_checks():
    df = raw_households()
    df.loc[2, "户主身份证号"] = "520102199003030512"
    reg = rio.read_registry(df, checks="fast")
    assert len(reg.issues) == 0 and "id_number" not in reg.meta["checks"]
    assert rio.read_registry(df).issues["check"].tolist() == ["id_number_invalid"]


# ---------------------------------------------------------------- mapping units
def test_header_aliases():
    rename, dups = aliases.map_headers(
        ["户编号", "人均纯收入（元）", " 家庭人口数 ", "县(市、区)代码", "脱贫年份", "户主身份证号",
         "身份证号", "未知列"], "households")
    assert rename == {"户编号": "household_id", "人均纯收入（元）": "income_per_capita",
                      " 家庭人口数 ": "hh_size", "县(市、区)代码": "county_code",
                      "脱贫年份": "exit_year", "户主身份证号": "head_id_number"}
    assert dups == [("身份证号", "head_id_number", "户主身份证号")]
    rename, _ = aliases.map_headers(["人编号", "户编号", "身份证号", "household_id"], "members")
    assert rename == {"人编号": "person_id", "身份证号": "id_number"}  # canonical name wins


def test_code_aliases():
    s = pd.Series(["已脱贫", "脱贫户", "已脱贫户", "未脱贫", "贫困户", "拟脱贫", "一般农户",
                   "非建档立卡户", " 已脱贫 ", None, "exited", "???"])
    codes, unknown = aliases.map_codes(s, "registry_status")
    assert codes.tolist()[:9] == ["exited"] * 3 + ["poor"] * 2 + ["exiting"] + ["not_registered"] * 2 + ["exited"]
    assert pd.isna(codes.iloc[9]) and codes.iloc[10] == "exited"
    assert unknown.tolist() == [False] * 11 + [True]
    rel, _ = aliases.map_codes(pd.Series(["户主", "之子", "之儿媳", "孙女", "妻"]), "relation")
    assert rel.tolist() == ["head", "child", "child_in_law", "grandchild", "spouse"]
    sch, _ = aliases.map_codes(pd.Series(["七年级", "三年级", "高中二年级", "失学辍学", "送教上门"]), "schooling")
    assert sch.tolist() == ["junior", "primary", "senior", "dropout", "home_schooling"]
    cause, _ = aliases.map_codes(pd.Series(["因病致贫", "缺劳动力", "交通条件落后"]), "poverty_cause")
    assert cause.tolist() == ["illness", "lack_labour", "poor_transport"]
    mon, unk = aliases.map_codes(pd.Series(["边缘户", "无", "突发严重困难户", "/"]), "monitoring")
    assert mon.tolist()[0] == "marginal" and pd.isna(mon.iloc[1]) and not unk.any()
    assert pd.isna(mon.iloc[3])
    dis, _ = aliases.map_codes(pd.Series(["无", "none", "一级残疾", "/"]), "disability")
    assert dis.tolist()[:3] == ["none", "none", "severe"] and pd.isna(dis.iloc[3])
    sex, _ = aliases.map_codes(pd.Series([1.0, 2.0, "男", "女"]), "sex")
    assert sex.tolist() == ["male", "female", "male", "female"]
    # already-canonical columns come back untouched
    canon = pd.Series(["poor", "exited"])
    assert aliases.map_codes(canon, "registry_status")[0] is canon


def test_admin_code_normalisation():
    s = pd.Series(["520102001001.0", " 520102001001 ", "520102", "52", "5.20102001001E+11",
                   "52010200100", None])
    assert rio.normalise_admin(s).tolist()[:6] == [
        "520102001001", "520102001001", "520102000000", "520000000000", "520102001001",
        "52010200100"]  # the 11-digit value is left for validation to report
    ints = pd.Series([520102001001, 520102, 5201020])
    assert rio.normalise_admin(ints).tolist() == ["520102001001", "520102000000", "5201020"]


def test_number_and_date_coercion():
    v, bad = rio._to_number(pd.Series(["3,500元", " 12 ", "x", None, "1e3", "无", "N/A", "/"]), integer=False)
    assert v.tolist()[:2] == [3500.0, 12.0] and bad.tolist() == [False, False, True] + [False] * 5
    assert v.iloc[4] == 1000.0 and v.iloc[5:].isna().all()  # 无, N/A, / mean "no value"
    y, bad = rio._to_number(pd.Series(["2018年", "2019-12", "2020", "2017.5"]), integer=True, year_like=True)
    assert y.tolist()[:3] == [2018, 2019, 2020] and bad.tolist() == [False, False, False, True]
    d, bad = rio._to_date(pd.Series(["1990-01-31", "1990/1/31", "19900131", "1990年1月31日",
                                     "1990-01-31 00:00:00", "32904", "1990.02", "明年", "1990-02-30"]))
    assert d.tolist()[:6] == [pd.Timestamp("1990-01-31")] * 6
    assert d.iloc[6] == pd.Timestamp("1990-02-01")
    assert bad.tolist() == [False] * 7 + [True, True]


def test_round_trip_of_the_synthetic_province_keeps_the_fingerprint(tmp_path):
    """A registry written with Registry.to_parquet reads back identical: same canonical
    content, same dtypes, hence the same fingerprint (samples stay verifiable)."""
    reg = ek.synthetic_registry(seed=1, n_counties=1, households_per_county=(1500, 2000))
    p = reg.to_parquet(tmp_path / "prov.parquet")
    back = ek.read_registry(p, members=tmp_path / "prov.members.parquet", year=reg.meta["year"],
                            reference_date=reg.meta.get("survey_date"))
    assert len(back.households) == len(reg.households)
    assert back.fingerprint == reg.fingerprint
    assert not back.issues["severity"].eq("error").any(), back.issues


def test_title_rows_above_header_and_blank_rows(tmp_path):
    """XX县建档立卡户信息表 in row 1, a note in row 2, the header in row 3, a blank row 5:
    issue rows still point at the spreadsheet rows a coordinator sees."""
    df = raw_households()
    df.loc[2, "家庭人口数"] = "0"
    p = tmp_path / "county.xlsx"
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["南明区建档立卡户信息表"])
    ws.append(["填报单位：南明区扶贫办"])
    ws.append(list(df.columns))
    ws.append(list(df.iloc[0].where(df.iloc[0].notna(), None)))
    ws.append([None] * len(df.columns))  # blank row 5
    for i in (1, 2):
        ws.append(list(df.iloc[i].where(df.iloc[i].notna(), None)))
    wb.save(p)
    reg = ek.read_registry(p)
    assert reg.households["household_id"].tolist() == df["户编号"].tolist()
    assert reg.meta["sources"][0]["header_row"] == 3
    assert reg.meta["sources"][0]["empty_rows_skipped"] == 1
    iss = reg.issues[reg.issues["check"] == "hh_size_range"]
    assert iss[["file", "row", "value"]].values.tolist() == [["county.xlsx", 7, "0"]]
    assert "empty_rows_skipped" in set(reg.issues["check"])


def test_hh_size_counted_from_members_when_absent(tmp_path):
    hh = raw_households().drop(columns=["家庭人口数"])
    mem = pd.DataFrame({"人员编号": ["a", "b", "c", "d"],
                        "户编号": ["5201020010010001", "5201020010010001", "5201020010010002",
                                "5201020010020001"]})
    reg = ek.read_registry(hh, members=mem)
    assert reg.households["hh_size"].tolist() == [2, 1, 1]
    assert "hh_size" in reg.meta["derived_columns"]
    with pytest.raises(RegistryError, match="hh_size"):
        ek.read_registry(hh)  # without members it is required


def test_folder_and_pattern_inputs(tmp_path):
    a = raw_households()
    b = raw_households()
    b["户编号"] = ["X1", "X2", "X3"]
    (tmp_path / "in").mkdir()
    a.to_csv(tmp_path / "in" / "county_1.csv", index=False)
    b.to_csv(tmp_path / "in" / "county_2.csv", index=False, encoding="gbk")
    by_dir = ek.read_registry(tmp_path / "in")
    by_glob = ek.read_registry(str(tmp_path / "in" / "county_*.csv"))
    assert by_dir.households["household_id"].tolist()[3:] == ["X1", "X2", "X3"]
    assert by_dir.fingerprint == by_glob.fingerprint
    with pytest.raises(RegistryError, match="no file matches"):
        ek.read_registry(str(tmp_path / "in" / "nothing_*.csv"))


def test_id_numbers_normalised_on_read():
    df = raw_households()
    good = df.loc[0, "户主身份证号"]
    df.loc[0, "户主身份证号"] = " " + good.translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " "
    reg = ek.read_registry(df)
    assert reg.households["head_id_number"].iloc[0] == good
    assert len(reg.issues) == 0


def test_admin_code_forms_agree_property():
    """Any 12-digit code written as int, float, '….0' text or padded text normalises to the
    same 12-digit string (hypothesis)."""
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=60, deadline=None)
    @given(st.integers(min_value=10 ** 11, max_value=10 ** 12 - 1))
    def prop(code):
        forms = [pd.Series([code]), pd.Series([float(code)]), pd.Series([f"{code}.0"]),
                 pd.Series([f" {code} "]), pd.Series([str(code)], dtype=object)]
        for f in forms:
            assert rio.normalise_admin(f).tolist() == [str(code)]

    prop()


def test_categorical_columns_from_parquet(tmp_path):
    """Parquet dictionary columns arrive as pandas categoricals: mapped through their
    categories; code and admin-code columns stay Categorical (with sorted text categories,
    like every other reader gives them), free-text columns become plain text."""
    df = raw_households()
    for c in ("贫困户属性", "村类型", "县"):
        df[c] = pd.Categorical(df[c])
    p = tmp_path / "hh.parquet"
    df.to_parquet(p, index=False)
    reg = ek.read_registry(p)
    assert_canonical(reg)
    hh = reg.households
    for c in ("registry_status", "village_type", "county_code", "village_code"):
        assert isinstance(hh[c].dtype, pd.CategoricalDtype), c
        cats = hh[c].cat.categories
        assert pd.api.types.is_string_dtype(cats.dtype) and cats.is_monotonic_increasing
    assert not isinstance(hh["county_name"].dtype, pd.CategoricalDtype)
    assert hh["county_name"].tolist() == ["南明区"] * 3


def test_text_columns_have_one_dtype():
    """string[pyarrow] (pd.NA) and object columns come back in the one text dtype, so
    comparisons give booleans, never NA."""
    df = raw_households()
    df["户编号"] = df["户编号"].astype(pd.StringDtype("pyarrow"))
    df["村代码"] = df["村代码"].astype(object)
    hh = ek.read_registry(df).households
    kinds = {str(hh[c].dtype) for c in ("household_id", "head_name")}
    kinds |= {str(hh[c].cat.categories.dtype) for c in ("village_code", "county_code", "registry_status")}
    assert len(kinds) == 1
    assert all(isinstance(hh[c].dtype, pd.CategoricalDtype) for c in ("village_code", "registry_status"))
    assert (hh["village_code"] == "520102001001").dtype == bool
    assert (hh["household_id"] == "5201020010010001").dtype == bool


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]"])
def test_identifier_strip_matches_python_strip(dtype):
    """The buffer pre-check of _strip_keys only decides which values go through str.strip:
    the result equals str.strip on every value (all of Python's whitespace, ASCII and not)."""
    spaces = [" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
              "\u2028", "\u202f", "\u205f", "\u3000"]
    rng = np.random.default_rng(4)
    body = ["5201020010010001", "户12", "x", "", "中文编号", "a\u3000b"]
    vals = [None]
    for _ in range(400):
        v = body[rng.integers(len(body))]
        if rng.random() < 0.4:
            v = spaces[rng.integers(len(spaces))] + v
        if rng.random() < 0.4:
            v = v + spaces[rng.integers(len(spaces))]
        vals.append(v)
    got = rio._strip_keys(pd.Series(vals, dtype=dtype))
    expected = [None if v is None or not v.strip() else v.strip() for v in vals]
    assert [None if pd.isna(x) else x for x in got.tolist()] == expected
    clean = pd.Series(["5201020010010001", "5201020010010002"], dtype=dtype)
    assert rio._strip_keys(clean) is clean  # nothing to strip: no copy


def test_identifiers_from_a_many_chunk_parquet_keep_their_chunks_and_draw_the_same_sample(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evalkit.registry.registry import Registry

    n = 5000
    ids = [f"52010200100{1 + i % 3}{i:04d}" for i in range(n)]
    ids[7] = "  " + ids[7] + " "                      # stripped, whatever the chunking
    table = pa.table({"household_id": ids,
                      "village_code": [f"52010200100{1 + i % 3}" for i in range(n)],
                      "village_type": ["poor"] * n, "registry_status": ["poor", "exited"] * (n // 2),
                      "hh_size": np.arange(n) % 6 + 1})
    p = tmp_path / "hh.parquet"
    pq.write_table(table, p, row_group_size=700)      # 8 row groups → several chunks on reading
    raw = pd.read_parquet(p)["household_id"]
    assert raw.array._pa_array.num_chunks > 1
    reg = ek.read_registry(p)
    hid = reg.households["household_id"]
    assert hid.array._pa_array.num_chunks > 1 and hid.dtype == raw.dtype  # no 240 MB join at 10 M rows
    want = [i.strip() for i in ids]
    assert hid.tolist() == want
    # the same registry with its identifiers in one chunk: the same fingerprint and the same sample
    one = reg.households.assign(household_id=pd.Series(
        pd.array(want, dtype=hid.dtype), index=reg.households.index))
    assert one["household_id"].array._pa_array.num_chunks == 1
    reg1 = Registry(one, None, meta=reg.meta)
    assert reg1.fingerprint == reg.fingerprint
    plan = ek.SamplingPlan([ek.Stage("village_code", method="srs", n=2),
                            ek.Stage("household_id", n=5, reserves=2)])
    s, s1 = ek.draw_sample(reg, plan, seed=1), ek.draw_sample(reg1, plan, seed=1)
    pd.testing.assert_frame_equal(s.households, s1.households)
    assert set(s.households["household_id"]) <= set(want) and len(s.households) == 14


@pytest.mark.parametrize("table", ["households", "members"])
def test_canonical_form_with_text_on_a_second_thread_equals_one_thread(monkeypatch, table):
    from evalkit import threads
    from evalkit.registry.synthetic import synthetic_registry

    reg = synthetic_registry(seed=5, n_counties=2, households_per_county=(500, 600))
    raw = (reg.households if table == "households" else reg.members).copy()
    raw = raw.astype({c: object for c in raw.columns if not pd.api.types.is_numeric_dtype(raw[c])})
    raw.loc[raw.index[::7], "household_id"] = "  " + raw["household_id"].iloc[::7].astype(str) + "\u3000"
    if table == "members":
        raw.loc[raw.index[::5], "id_number"] = raw["id_number"].iloc[::5].str.lower()
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    monkeypatch.setattr(threads, "PARALLEL_ROWS", 10 ** 12)
    one, issues_one = rio.canonicalise(raw, table)
    monkeypatch.setattr(threads, "PARALLEL_ROWS", 0)
    two, issues_two = rio.canonicalise(raw, table)
    pd.testing.assert_frame_equal(two, one)
    pd.testing.assert_frame_equal(issues_two, issues_one)
    assert not one["household_id"].str.contains(r"^\s|\s$", regex=True).any()


@pytest.mark.parametrize("fatal", [False, True])
def test_parquet_with_dictionary_columns_and_threads_reads_like_the_same_csv(tmp_path, monkeypatch, fatal):
    """End to end: the same export as CSV (text, one thread) and as Parquet (dictionary pages read
    into Categorical, columns and rules on two threads) gives the same registry and issues — or the
    same fatal error."""
    from evalkit import threads

    rng = np.random.default_rng(8)
    df = raw_households().iloc[rng.integers(0, 3, 3000)].reset_index(drop=True)
    df["户编号"] = [f"52010200{i:08d}" for i in range(len(df))]
    df.loc[5, "户编号"] = " " + df.loc[5, "户编号"] + " "                # stripped
    df.loc[7, "村类型"] = "半贫困村"                                      # invalid optional code: blanked
    df.loc[rng.random(len(df)) < 0.1, "村代码"] = " 520102001002"        # spaces in a dictionary value
    df.loc[13, "户主身份证号"] = df.loc[13, "户主身份证号"][:-1] + "0"     # check digit (error, kept)
    if fatal:
        df.loc[20:40, "村代码"] = "520102001"                            # a township code: fatal
    df = df.astype(object)
    csv, pq = tmp_path / "hh.csv", tmp_path / "hh.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq, index=False, row_group_size=400)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)

    def read(path, parallel_rows):
        monkeypatch.setattr(threads, "PARALLEL_ROWS", parallel_rows)
        try:
            return ek.read_registry(path, year=2019)
        except RegistryError as exc:
            return exc

    from_csv, from_pq = read(csv, 10 ** 12), read(pq, 0)
    if fatal:
        assert isinstance(from_csv, RegistryError) and isinstance(from_pq, RegistryError)
        assert str(from_pq).replace("hh.parquet", "F") == str(from_csv).replace("hh.csv", "F")
        return
    assert from_pq.fingerprint == from_csv.fingerprint
    assert {"code_invalid", "id_number_invalid"} <= set(from_csv.issues["check"])
    a = from_csv.issues.drop(columns="file").reset_index(drop=True)
    b = from_pq.issues.drop(columns="file").reset_index(drop=True)
    pd.testing.assert_frame_equal(b, a)


def test_header_map_and_command_parser_import_no_pandas():
    """The header maps (evalkit.registry.headers) are pure Python, and building the command-line
    parser imports no pandas (``evalkit --help`` and argument errors answer at once)."""
    import subprocess
    import sys

    code = ("import sys; from evalkit.registry.headers import dictionary_columns; "
            "from evalkit.cli import build_parser; build_parser(); "
            "print(dictionary_columns(['户编号', '村代码', '贫困户属性', '家庭人口数', 'county_code'])); "
            "print('pandas' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    cols, loaded = out.stdout.strip().splitlines()
    assert cols == "['村代码', '贫困户属性', 'county_code']" and loaded == "False False"
    from evalkit.registry import aliases, headers
    assert aliases.map_headers is headers.map_headers  # one definition, re-exported
