"""quality_report: one planted problem per check on a hand-made registry, found exactly;
completeness by hand; income outliers against fences computed here with numpy."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.registry.registry import Registry

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import gb_id  # noqa: E402

C1, C2 = "520102000000", "520103000000"
INCOMES = [3000, 3200, 3400, 3500, 3600, 3800, 4000, 4100, 4300, 4500, 60_000]  # last: planted outlier


@pytest.fixture
def reg():
    n = len(INCOMES)
    hid = [f"H{i:02d}" for i in range(n)]
    hh = pd.DataFrame({
        "household_id": hid, "province_code": "520000000000", "county_code": C1, "county_name": "甲县",
        "village_code": C1[:6] + "001001", "registry_status": "poor", "hh_size": 1,
        "registration_year": 2016, "exit_year": pd.array([pd.NA] * n, dtype="Int64"),
        "income_per_capita": np.array(INCOMES, dtype=float),
        "income_wage": np.array(INCOMES, dtype=float), "income_business": 0.0, "income_property": 0.0,
        "income_transfer": 0.0, "head_name": [f"户主{i}" for i in range(n)],
    })
    # H01: exited in 2015 but registered in 2016 (exit before registration)
    hh.loc[1, ["registry_status", "exit_year"]] = ["exited", 2015]
    # H02: components (3400) ≠ per-capita × size (3400 × 2 = 6800) — and size 2 with one member
    hh.loc[2, "hh_size"] = 2
    # H03, H04: head names missing (completeness)
    hh.loc[[3, 4], "head_name"] = [None, " "]
    ids = [gb_id(f"52010219800101{i:03d}") for i in range(n)]
    ids[6] = ids[5]  # the same person in H05 and H06 (split/phantom household)
    mem = pd.DataFrame({"person_id": [f"P{i:02d}" for i in range(n)], "household_id": hid,
                        "relation": "head", "id_number": ids,
                        "birth_date": pd.to_datetime(["1980-01-01"] * n), "schooling": "not_student"})
    # H07: add a 10-year-old recorded as not in school (age vs schooling); size becomes 2
    kid = pd.DataFrame({"person_id": ["P07b"], "household_id": ["H07"], "relation": ["child"],
                        "id_number": [gb_id("52010220090601001")], "birth_date": pd.to_datetime(["2009-06-01"]),
                        "schooling": ["not_student"]})
    hh.loc[7, "hh_size"] = 2
    hh.loc[7, "income_wage"] = INCOMES[7] * 2
    return Registry(hh, pd.concat([mem, kid], ignore_index=True),
                    meta={"year": 2019, "survey_date": "2020-01-15"})


def test_each_planted_problem_is_found_exactly(reg):
    q = reg.quality_report(outlier_min_group=5)
    got = set(map(tuple, q.issues[["check", "household_id"]].astype(str).to_numpy()))
    assert got == {
        ("exit_before_registration", "H01"),
        ("income_components", "H02"),
        ("hh_size_mismatch", "H02"),
        ("person_in_two_households", "H05"), ("person_in_two_households", "H06"),
        ("age_schooling", "H07"),
        ("income_outlier_high", "H10"),
    }
    t = q.table.set_index("check")
    assert t.loc["person_in_two_households", "issues"] == 2 and t.loc["person_in_two_households", "households"] == 2
    assert t.loc["exit_before_registration", "severity"] == "error"
    assert t.loc["income_outlier_high", "share_households"] == pytest.approx(1 / 11)
    assert list(q.table["severity"]) == sorted(q.table["severity"], key={"error": 0, "warning": 1, "info": 2}.get)
    # the registry's own reading is unchanged and the report is a readable object
    assert "QualityReport" in repr(q) and "<table" in q._repr_html_()


def test_income_outlier_fences_match_a_hand_computation(reg):
    from evalkit.audit.quality import income_outliers

    lx = np.log(np.array(INCOMES, dtype=float))
    # only the poor households form the group (H01 is exited: its own group of one, too small)
    poor = np.array([i != 1 for i in range(len(INCOMES))])
    q1, q3 = np.percentile(lx[poor], [25, 75])
    hi = q3 + 3 * (q3 - q1)
    lo = q1 - 3 * (q3 - q1)
    expected = {f"H{i:02d}" for i in range(len(INCOMES)) if poor[i] and (lx[i] > hi or lx[i] < lo)}
    assert expected == {"H10"}
    out = income_outliers(reg.households, k=3.0, min_group=5)
    assert set(out["household_id"]) == expected
    assert f"{np.exp(hi):,.0f}" in out["message"].iloc[0]
    # a larger k moves the fence beyond the planted value; groups below min_group are not judged
    k_big = (lx[10] - q3) / (q3 - q1) + 0.01
    assert income_outliers(reg.households, k=k_big, min_group=5).empty
    assert income_outliers(reg.households, k=3.0, min_group=11).empty


def test_completeness_by_hand(reg):
    from evalkit.audit.quality import completeness

    c = completeness(reg).set_index(["table", "column"])
    assert c.loc[("households", "head_name"), ["rows", "missing"]].tolist() == [11, 2]   # None and blank
    # exit_year applies to exited households only: 1 row, present
    assert c.loc[("households", "exit_year"), ["rows", "missing"]].tolist() == [1, 0]
    # canonical columns absent from the table count as entirely missing
    assert c.loc[("households", "phone"), ["rows", "missing", "share_missing"]].tolist() == [11, 11, 1.0]
    assert c.loc[("members", "name"), "missing"] == 12
    assert c.loc[("households", "head_name"), "label"] == "户主姓名"


def test_workbook_has_a_sheet_per_check_and_the_figure_renders(reg, tmp_path):
    q = reg.quality_report(outlier_min_group=5)
    book = pd.read_excel(q.to_excel(tmp_path / "quality.xlsx"), sheet_name=None)
    assert {"汇总 summary", "完整性 completeness", "分县 by county"} <= set(book)
    for check in q.table["check"]:
        assert len(book[check[:31]]) == int(q.table.set_index("check").loc[check, "issues"])
    by = q.by_county()
    assert by["issues"].sum() == len(q.issues) and set(by["county_households"]) == {11}
    fig = q.figure(tmp_path / "quality.png")
    assert (tmp_path / "quality.png").stat().st_size > 20_000 and len(fig.axes) == 4


def test_registry_read_from_files_keeps_file_and_row(reg, tmp_path):
    import evalkit as ek

    hh = reg.households.copy()
    hh["exit_year"] = hh["exit_year"].astype("Int64")
    hh.to_csv(tmp_path / "户表.csv", index=False, encoding="utf-8-sig")
    reg.members.assign(birth_date=reg.members["birth_date"].dt.strftime("%Y-%m-%d")).to_csv(
        tmp_path / "人员表.csv", index=False, encoding="utf-8-sig")
    read = ek.read_registry(tmp_path / "户表.csv", members=tmp_path / "人员表.csv", year=2019,
                            reference_date="2020-01-15")
    q = read.quality_report(outlier_min_group=5)
    e = q.issues.set_index("check").loc["exit_before_registration"]
    # H01 is the second data row of 户表.csv: spreadsheet row 3 (header = row 1)
    assert (e["file"], int(e["row"]), e["household_id"]) == ("户表.csv", 3, "H01")
    o = q.issues.set_index("check").loc["income_outlier_high"]
    assert (o["file"], int(o["row"]), o["household_id"]) == ("户表.csv", 12, "H10")
    got = set(map(tuple, q.issues[["check", "household_id"]].astype(str).to_numpy()))
    assert {("exit_before_registration", "H01"), ("income_components", "H02"), ("hh_size_mismatch", "H02"),
            ("age_schooling", "H07"), ("income_outlier_high", "H10")} <= got
