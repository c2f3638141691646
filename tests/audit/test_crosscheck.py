"""cross_check: every ID normalisation, every rule, evidence, counts, export, sampler hook."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.audit.crosscheck import cross_check, read_department_list
from evalkit.errors import EvalkitError

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import C1, C2, TEXTBOOK_15, gb_id  # noqa: E402


def _flags(cc):
    return set(map(tuple, cc.flags[["kind", "person_id", "rule"]].astype(str).to_numpy()))


# ------------------------------------------------------------------ ID normalisation
@pytest.mark.parametrize("spelling,style", [
    (TEXTBOOK_15, "15-digit old ID"),
    ("11010519491231002x", "lower-case x"),
    ("１１０１０５１９４９１２３１００２Ｘ", "full-width digits and X"),
    (" 110105 19491231 002X ", "spaces"),
    ("11010519491231002X", "canonical"),
])
def test_each_id_spelling_matches_the_same_member(registry, spelling, style):
    cc = cross_check(registry, {"payroll": pd.DataFrame({"身份证号": [spelling], "工作单位": ["县财政局"]})})
    assert _flags(cc) == {("payroll", "P1", "payroll_member")}, style
    assert cc.flags["record_id_number"].tolist() == ["11010519491231002X"]
    assert cc.issues.empty


def test_bad_check_character_still_matches_and_is_reported(ids):
    from evalkit.registry.registry import Registry

    wrong = ids["P2"][:17] + ("1" if ids["P2"][17] != "1" else "2")
    hh = pd.DataFrame({"household_id": ["H1"], "county_code": [C1], "registry_status": ["poor"], "hh_size": [1]})
    reg = Registry(hh, pd.DataFrame({"person_id": ["P2"], "household_id": ["H1"], "name": ["李四"],
                                     "id_number": [wrong]}))
    cc = cross_check(reg, {"payroll": pd.DataFrame({"证件号码": [wrong], "单位名称": ["乡政府"]})})
    assert _flags(cc) == {("payroll", "P2", "payroll_member")}
    iss = cc.issues
    assert iss["check"].tolist() == ["payroll_id_bad_check"] and iss["row"].tolist() == [2]
    assert iss["value"].iloc[0] == wrong[:6] + "********" + wrong[-4:]  # masked, never the full ID
    assert iss["column"].iloc[0] == "证件号码"


def test_missing_and_malformed_ids_are_reported_not_dropped(registry, ids):
    lst = pd.DataFrame({"公民身份号码": [ids["P2"], None, "5201021985", "ABC"], "单位名称": list("abcd")})
    cc = cross_check(registry, {"财政供养": lst})
    assert _flags(cc) == {("payroll", "P2", "payroll_member")}
    got = cc.issues[["row", "check"]].sort_values("row").to_numpy().tolist()
    assert got == [[3, "payroll_id_missing"], [4, "payroll_id_unusable"], [5, "payroll_id_unusable"]]
    row = cc.lists.iloc[0]
    assert (row.records, row.id_ok, row.id_missing, row.id_unusable, row.matched_records) == (4, 1, 1, 2, 1)


def test_name_and_birth_date_fallback(registry):
    lst = pd.DataFrame({"姓名": ["李 四", "李四", "无此人"], "出生日期": ["1985年2月2日", "1985-02-03", "1985-02-02"],
                        "身份证号": [None, None, None], "单位名称": ["x", "y", "z"]})
    assert cross_check(registry, {"payroll": lst}).flags.empty  # off by default
    cc = cross_check(registry, {"payroll": lst}, match_name_birth=True)
    assert _flags(cc) == {("payroll", "P2", "payroll_member")}
    assert cc.flags["match_on"].tolist() == ["name_birth"] and cc.flags["row"].tolist() == [2]


def test_name_differs_is_shown(registry, ids):
    cc = cross_check(registry, {"payroll": pd.DataFrame({"身份证号": [ids["P2"]], "姓名": ["李肆"], "单位": ["x"]})})
    assert cc.flags["name_differs"].tolist() == [True]


# ------------------------------------------------------------------ rules
def test_vehicle_rules_threshold_status_and_unknown_value(registry, ids):
    cars = pd.DataFrame({
        "车主身份证号": [ids["P1"], ids["P2"], ids["P3"], ids["P4"], ids["P5"], ids["P6"]],
        "号牌号码": ["贵A1", "贵A2", "贵A3", "贵A4", "贵A5", "贵A6"],
        # P1 exactly at 30,000 (flags: ≥), P2 just below, P3 (exited) 8.5万, P4 not registered,
        # P5 value unknown, P6 unreadable value
        "车辆价值": ["30,000元", "29999", "8.5万", "500000", None, "很贵"],
    })
    cc = cross_check(registry, {"vehicles": cars})
    assert _flags(cc) == {("vehicles", "P1", "car_value_above"), ("vehicles", "P3", "car_value_above"),
                          ("vehicles", "P5", "car_value_unknown"), ("vehicles", "P6", "car_value_unknown")}
    assert cc.flags.set_index("person_id").loc["P3", "value"] == 85_000.0
    assert cc.issues["check"].tolist() == ["vehicles_value_unreadable"] and cc.issues["row"].tolist() == [7]
    # P2's cheap car and P4's non-registered car are matches, not flags
    assert len(cc.matches) == 6 and cc.matches["rule"].isna().sum() == 2
    # the amount is a parameter
    cc2 = cross_check(registry, {"vehicles": cars}, car_value=100_000, flag_unknown_value=False)
    assert _flags(cc2) == set()


def test_housing_business_payroll_dibao_deaths(registry, ids):
    lists = {
        "housing": pd.DataFrame({"产权人身份证号": [ids["P2"], ids["P4"]], "房屋坐落": ["市区 1 号", "市区 2 号"],
                                 "建筑面积": ["95.5", "80"]}),
        "business": pd.DataFrame({"法定代表人身份证号": [ids["P5"], ids["P3"]], "企业名称": ["甲公司", "乙公司"],
                                  "注册资本（万元）": ["50", "3"]}),
        "dibao": pd.DataFrame({"身份证号": [ids["P4"], ids["P1"]], "保障起始时间": ["2018/3/1", "20170701"]}),
        "deaths": pd.DataFrame({"死者身份证号": [ids["P6"], ids["P3"]], "死亡日期": ["2019-06-01", "2020-02-01"]}),
    }
    cc = cross_check(registry, lists, business_capital=100_000, as_of="2019-12-31")
    assert _flags(cc) == {
        ("housing", "P2", "urban_property"),          # P4 is not registered: no flag
        ("business", "P5", "business_owner"),         # 50万 ≥ 10万; P3's 3万 below
        ("dibao", "P4", "dibao_not_registered"),      # suspect of 漏评
        ("dibao", "P1", "dibao_overlap"),             # information only
        ("deaths", "P6", "deceased_listed"),          # P3 died after as_of
    }
    f = cc.flags.set_index("person_id")
    assert f.loc["P5", "registered_capital"] == 500_000.0
    assert f.loc["P1", "start_date"] == pd.Timestamp("2017-07-01")
    assert f.loc["P1", "suspect"] == np.False_ and f.loc["P4", "suspect"] == np.True_
    assert f.loc["P6", "concern"] == "record_update" and not f.loc["P6", "suspect"]
    # without as_of every death record flags
    assert ("deaths", "P3", "deceased_listed") in _flags(cross_check(registry, {"deaths": lists["deaths"]}))


def test_rules_can_be_switched_off(registry, ids):
    lists = {"dibao": pd.DataFrame({"身份证号": [ids["P4"], ids["P1"]]})}
    cc = cross_check(registry, lists, rules=["dibao_not_registered"])
    assert _flags(cc) == {("dibao", "P4", "dibao_not_registered")}
    with pytest.raises(EvalkitError, match="unknown rule"):
        cross_check(registry, lists, rules=["no_such_rule"])


# ------------------------------------------------------------------ evidence, households, summary
@pytest.fixture
def lists(ids):
    return {
        "vehicles": pd.DataFrame({"身份证号": [ids["P1"], ids["P5"]], "车牌号": ["贵A12345", "贵B1"],
                                  "价格": ["85000", "40000"]}),
        "payroll": pd.DataFrame({"身份证号": [ids["P2"], "11010119800101001X"], "工作单位": ["县教育局", "外省"]}),
        "dibao": pd.DataFrame({"身份证号": [ids["P4"]], "开始日期": ["2018-03-01"]}),
    }


def test_evidence_and_household_table(registry, lists):
    cc = cross_check(registry, lists)
    f = cc.flags.set_index("person_id")
    assert f.loc["P1", "source"] == "vehicles list" and f.loc["P1", "row"] == 2
    assert f.loc["P1", "plate"] == "贵A12345" and f.loc["P1", "value"] == 85_000.0
    assert f.loc["P1", "evidence"] == ("张三（户主）：车辆（公安交管）名单 vehicles list 第2行，车牌 贵A12345，价值 85,000 元"
                                       " → 家庭成员名下车辆价值达到30,000元")
    h = cc.households.set_index("household_id")
    assert list(h.index) == ["H1", "H3", "H4"]
    assert h.loc["H1", "n_flags"] == 2 and h.loc["H1", "n_members_flagged"] == 2
    assert h.loc["H1", "kinds"] == "vehicles,payroll" and bool(h.loc["H1", "vehicles"]) and bool(h.loc["H1", "payroll"])
    assert h.loc["H1", "concern"] == "wrong_inclusion" and h.loc["H3", "concern"] == "missed"
    assert h["suspect"].all()


def test_summary_by_county_and_province(registry, lists):
    cc = cross_check(registry, lists)
    s = cc.summary().set_index("county_code")
    assert s.loc[C1, ["households", "persons", "flagged_households", "suspect_households"]].tolist() == [3, 4, 2, 2]
    assert s.loc[C1, ["car_value_above", "payroll_member", "dibao_not_registered"]].tolist() == [1, 1, 1]
    assert s.loc[C2, ["households", "car_value_above", "payroll_member"]].tolist() == [2 - 1, 1, 0]
    assert s.loc[C1, "suspect_share"] == pytest.approx(2 / 3)
    p = cc.summary(by=None).iloc[0]
    assert (p.households, p.suspect_households, p.car_value_above) == (4, 3, 2)
    text = cc.describe()
    assert "甲县：3 户中，比对命中 2 户（车辆 1 户，财政供养 1 户，低保未建档 1 户），其中疑点户 2 户。" in text
    assert "乙县: 1 households flagged among 1 (1 car owners), 1 of them suspect." in cc.describe(lang="en")
    assert "CrossCheck" in repr(cc) and "<table" in cc._repr_html_()


def test_mark_adds_suspect_column_for_the_sampler(registry, lists):
    cc = cross_check(registry, {**lists, "dibao": pd.DataFrame({"身份证号": [registry.members.id_number[0]]})})
    marked = cc.mark(registry)
    assert isinstance(marked, ek.Registry)
    # H1: car + payroll (suspect); dibao overlap alone would not be; H4: car
    assert marked.households.set_index("household_id")["suspect"].to_dict() == {
        "H1": True, "H2": False, "H3": False, "H4": True}
    assert marked.households["suspect"].dtype == bool
    assert "suspect" not in registry.households  # the input is untouched
    assert marked.meta["cross_check"]["suspect_households"] == 2


def test_results_do_not_depend_on_row_order(registry, lists):
    a = cross_check(registry, lists)
    shuffled = {k: v.iloc[::-1].reset_index(drop=True) for k, v in lists.items()}
    b = cross_check(registry, shuffled)
    cols = ["household_id", "person_id", "kind", "rule", "plate", "value"]
    pd.testing.assert_frame_equal(a.flags[cols].reset_index(drop=True), b.flags[cols].reset_index(drop=True))
    pd.testing.assert_frame_equal(a.households.drop(columns="evidence"), b.households.drop(columns="evidence"))


def test_review_workbook_masks_ids(registry, lists, tmp_path):
    cc = cross_check(registry, lists)
    path = cc.to_excel(tmp_path / "review.xlsx")
    book = pd.read_excel(path, sheet_name=None, dtype=str)
    assert set(book) == {"说明 readme", "汇总 summary", "疑点户 households", "比对明细 flags", "名单概况 lists",
                         "名单问题 issues"}
    ids = book["比对明细 flags"]["record_id_number"].tolist()
    assert all("********" in v for v in ids) and "11010519491231002X" not in ids
    assert len(book["疑点户 households"]) == 3 and "核实结论 (属实/不属实)" in book["疑点户 households"].columns
    assert book["疑点户 households"]["concern"].tolist()[:2] == ["疑似错评", "疑似漏评"]


# ------------------------------------------------------------------ files and errors
def test_reads_a_gbk_csv_with_chinese_headers(registry, ids, tmp_path):
    p = tmp_path / "车辆.csv"
    pd.DataFrame({"序号": ["1", "2"], "车主姓名": ["张三", "某人"], "公民身份号码": [TEXTBOOK_15, gb_id("52999919800101001")],
                  "号牌号码": ["贵A9", "贵A8"], "车辆价值（万元）": ["12", "3"],
                  "初次登记日期": ["2017年5月1日", "2016/1/1"]}).to_csv(p, index=False, encoding="gbk")
    rec, iss = read_department_list(p, "车辆")
    assert list(rec["row"]) == [2, 3] and rec.attrs["source"] == "车辆.csv" and iss.empty
    assert rec["value"].tolist() == [120_000.0, 30_000.0]
    assert rec["registration_date"].tolist() == [pd.Timestamp("2017-05-01"), pd.Timestamp("2016-01-01")]
    cc = cross_check(registry, {"vehicles": p})
    assert _flags(cc) == {("vehicles", "P1", "car_value_above")}
    assert cc.flags["source"].tolist() == ["车辆.csv"] and cc.flags["row"].tolist() == [2]


def test_errors_name_the_problem(registry):
    with pytest.raises(EvalkitError, match="unknown department list kind"):
        cross_check(registry, {"boats": pd.DataFrame({"身份证号": []})})
    with pytest.raises(EvalkitError, match="no ID-number column.*车主"):
        cross_check(registry, {"vehicles": pd.DataFrame({"车主": ["张三"], "号牌": ["x"]})})
    with pytest.raises(EvalkitError, match="dict of department lists"):
        cross_check(registry, [])


def test_registry_without_members_uses_heads(registry, ids):
    from evalkit.registry.registry import Registry

    heads = Registry(registry.households)
    cc = cross_check(heads, {"payroll": pd.DataFrame({"身份证号": [TEXTBOOK_15, ids["P2"]], "单位": ["a", "b"]})})
    assert cc.flags["household_id"].tolist() == ["H1"] and cc.flags["person_id"].isna().all()


# ------------------------------------------------------------------ synthetic province with known answers
def test_synthetic_lists_are_found_exactly():
    from evalkit.audit.synthetic import department_lists

    reg = ek.synthetic_registry(seed=11, n_counties=2, households_per_county=(300, 360))
    syn = department_lists(reg, seed=4, per_rule=15, noise=30, with_names=4)
    cc = cross_check(reg, syn.lists, match_name_birth=True, as_of=syn.params["as_of"])
    got = cc.flags[["kind", "person_id", "rule", "match_on"]].astype(str)
    exp = syn.expected[["kind", "person_id", "rule", "match_on"]].astype(str)
    assert set(map(tuple, got.to_numpy())) == set(map(tuple, exp.to_numpy()))
    assert len(got) == len(exp)
    # every spelling style was exercised and found
    assert {"canonical", "fifteen", "fullwidth", "spaces", "no_id"} <= set(syn.expected["id_style"])
    # the planted malformed and missing IDs are all reported: 2 unusable + 4 missing per list
    counts = cc.issues.groupby("check").size()
    for kind in syn.lists:
        assert counts[f"{kind}_id_unusable"] == 2 and counts[f"{kind}_id_missing"] == 4
    # per rule 15 persons planted; households counted once per rule in the province summary
    p = cc.summary(by=None).iloc[0]
    exp_h = syn.expected.groupby("rule")["household_id"].nunique()
    for rule, n in exp_h.items():
        assert p[rule] == n


def test_a_person_listed_in_two_households_flags_both(registry, ids):
    from evalkit.registry.registry import Registry

    mem = registry.members.copy()
    mem.loc[mem["person_id"] == "P6", "id_number"] = ids["P2"]  # P2's ID also in H4 (phantom member)
    reg = Registry(registry.households, mem)
    cc = cross_check(reg, {"payroll": pd.DataFrame({"身份证号": [ids["P2"]], "单位": ["x"]})})
    assert sorted(cc.flags["household_id"]) == ["H1", "H4"] and len(cc.matches) == 2
    assert cc.lists.iloc[0].matched_records == 1 and cc.lists.iloc[0].matched_persons == 2
