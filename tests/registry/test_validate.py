"""Every validation rule of evalkit.registry.validate, one bad input each, asserting the
reported file, spreadsheet row (header = row 1), column, check and severity; expected
values are worked out by hand in the comments."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit import threads
from evalkit.errors import RegistryError
from evalkit.registry import idnumber
from evalkit.registry import validate as V


def make_id(prefix6: str, birth8: str, seq3: str = "123") -> str:
    first17 = pd.Series([prefix6 + birth8 + seq3])
    return first17[0] + idnumber.check_digit(first17)[0]


def households(n: int = 4) -> pd.DataFrame:
    """A clean canonical household table (no rule fires on it)."""
    return pd.DataFrame({
        "household_id": [f"H{i}" for i in range(1, n + 1)],
        "province_code": ["520000000000"] * n,
        "county_code": ["520102000000"] * n,
        "township_code": ["520102001000"] * n,
        "village_code": ["520102001001", "520102001001", "520102001002", "520102001002"][:n],
        "village_type": ["poor", "poor", "non_poor", "non_poor"][:n],
        "registry_status": ["exited", "poor", "not_registered", "exiting"][:n],
        "registration_year": pd.array([2014, 2015, pd.NA, 2016][:n], dtype="Int64"),
        "exit_year": pd.array([2017, pd.NA, pd.NA, pd.NA][:n], dtype="Int64"),
        "hh_size": pd.array([2, 1, 3, 1][:n], dtype="Int64"),
        "income_per_capita": [4000.0, 2000.0, 9000.0, 3000.0][:n],
        "income_wage": [8000.0, 2000.0, 27000.0, np.nan][:n],
        "head_id_number": [make_id("520102", "19800101", f"{2 * i - 1:03d}")  # odd: male
                           for i in range(1, n + 1)],
    })


def members() -> pd.DataFrame:
    """Members of households() consistent with it: H1 has 2, H2 1, H3 3, H4 1."""
    hh = households()
    ids = list(hh["head_id_number"])
    return pd.DataFrame({
        "person_id": ["P11", "P12", "P21", "P31", "P32", "P33", "P41"],
        "household_id": ["H1", "H1", "H2", "H3", "H3", "H3", "H4"],
        "relation": ["head", "spouse", "head", "head", "child", "child", "head"],
        "sex": ["male", "female", "male", "male", "female", "male", "male"],
        "birth_date": pd.to_datetime(["1980-01-01", "1982-05-05", "1980-01-01", "1980-01-01",
                                      "2010-06-01", "2001-02-03", "1980-01-01"]),
        "id_number": [ids[0], make_id("520102", "19820505", "002"), ids[1], ids[2],
                      make_id("520102", "20100601", "022"), make_id("520102", "20010203", "013"),
                      ids[3]],
        "schooling": ["not_student", "not_student", "not_student", "not_student", "primary",
                      "not_student", "not_student"],
    })


def test_clean_tables_have_no_issues():
    assert len(V.validate(households(), members(), "hh.csv", year=2019)) == 0


def one(issues: pd.DataFrame, check: str) -> pd.DataFrame:
    got = issues[issues["check"] == check]
    assert len(got) > 0, f"no {check} issue in\n{issues}"
    return got


# ---------------------------------------------------------------- provenance
def test_source_locates_rows_across_files():
    src = V.Source(("a.csv", "b.csv"), (3, 2))
    files, rows = src.locate(np.array([0, 2, 3, 4]))
    assert list(files) == ["a.csv", "a.csv", "b.csv", "b.csv"]
    assert list(rows) == [2, 4, 2, 3]  # header is row 1 in each file


def test_issue_rows_point_at_the_right_file_for_concatenated_tables():
    hh = households()
    hh.loc[3, "hh_size"] = 0  # position 3 = second row of b.csv -> spreadsheet row 3
    src = {"households": V.Source(("a.csv", "b.csv"), (2, 2))}
    got = one(V.check_hh_size(hh, None, src), "hh_size_range")
    assert got[["file", "row", "household_id", "column", "value", "severity"]].values.tolist() == [
        ["b.csv", 3, "H4", "hh_size", "0", "error"]]


def test_generated_data_have_na_file_and_row():
    hh = households()
    hh.loc[0, "hh_size"] = 0
    got = V.check_hh_size(hh)
    assert got["file"].isna().all() and got["row"].isna().all()


# ---------------------------------------------------------------- household rules
def test_household_id_missing_and_duplicate_are_fatal():
    hh = households()
    hh.loc[1, "household_id"] = None
    hh.loc[3, "household_id"] = "H1"
    got = V.check_household_id(hh, None, "hh.csv")
    miss = one(got, "household_id_missing")
    assert miss[["row", "column"]].values.tolist() == [[3, "household_id"]]
    dup = one(got, "duplicate_household_id")
    assert dup["row"].tolist() == [2, 5] and (dup["value"] == "H1").all()
    assert "2" in dup["message"].iloc[0]  # appears 2 times
    assert {"household_id_missing", "duplicate_household_id"} <= set(V.FATAL_CHECKS)


def test_registry_status_invalid_is_fatal_and_lists_accepted_values():
    hh = households()
    hh["registry_status"] = hh["registry_status"].astype(object)
    hh.loc[2, "registry_status"] = "已出列"
    hh.loc[3, "registry_status"] = None
    got = one(V.check_registry_status(hh, None, "hh.csv"), "registry_status_invalid")
    assert got[["row", "column", "value"]].values.tolist() == [[4, "registry_status", "已出列"],
                                                              [5, "registry_status", None]]
    assert "已脱贫" in got["message"].iloc[0]
    with pytest.raises(RegistryError) as exc:
        V.raise_fatal(got, "hh.csv")
    text = str(exc.value)
    assert "hh.csv, row 4, column 'registry_status'" in text and "已出列" in text


def test_fatal_message_lists_at_most_20_rows():
    hh = pd.concat([households()] * 10, ignore_index=True)
    hh["household_id"] = [f"H{i}" for i in range(40)]
    hh["registry_status"] = "??"
    issues = V.check_registry_status(hh, None, "big.csv")
    with pytest.raises(RegistryError) as exc:
        V.raise_fatal(issues, "big.csv")
    text = str(exc.value)
    assert "row 21," in text and "row 22," not in text and "and 20 more" in text


def test_optional_code_outside_list_is_an_error_issue():
    hh = households()
    hh.loc[1, "village_type"] = "半贫困村"
    mem = members()
    mem.loc[4, "schooling"] = "在家"
    got = V.check_codes(hh, mem, {"households": "hh.csv", "members": V.Source.single("m.csv", 7)})
    assert got[["file", "row", "column", "value", "severity"]].values.tolist() == [
        ["hh.csv", 3, "village_type", "半贫困村", "error"],
        ["m.csv", 6, "schooling", "在家", "error"]]
    assert "code_invalid" not in V.FATAL_CHECKS


def test_admin_code_format_and_level_structure():
    hh = households()
    hh.loc[0, "village_code"] = "52010200100"     # 11 digits
    hh.loc[1, "village_code"] = "520102001000"    # a township code in the village column
    hh.loc[2, "county_code"] = "520102001000"     # a township code in the county column
    hh.loc[3, "province_code"] = None             # required level missing
    got = one(V.check_admin_codes(hh, None, "hh.csv"), "admin_code_invalid")
    assert sorted(got[["row", "column"]].values.tolist()) == [
        [2, "village_code"], [3, "village_code"], [4, "county_code"], [5, "province_code"]]
    assert "admin_code_invalid" in V.FATAL_CHECKS


def test_optional_admin_level_may_be_empty():
    hh = households()
    hh.loc[0, "township_code"] = None
    assert len(V.check_admin_codes(hh)) == 0


def test_village_not_nested_in_county():
    hh = households()
    hh.loc[2, "county_code"] = "520103000000"
    hh.loc[2, "township_code"] = "520103001000"
    got = one(V.check_admin_nesting(hh, None, "hh.csv"), "admin_not_nested")
    # row 4: township 520103001 is inside county 520103 but village 520102001002 is not
    # inside township 520103001000
    assert got[["row", "column", "severity"]].values.tolist() == [[4, "village_code", "error"]]
    hh = households()
    hh.loc[1, "village_code"] = "520103001001"
    hh = hh.drop(columns="township_code")
    got = one(V.check_admin_nesting(hh, None, "hh.csv"), "admin_not_nested")
    assert got[["row", "column"]].values.tolist() == [[3, "village_code"]]
    assert "520102000000" in got["message"].iloc[0]


def test_village_type_inconsistent_within_village():
    hh = households()
    hh.loc[1, "village_type"] = "non_poor"  # village 520102001001 now poor and non-poor
    got = one(V.check_village_consistency(hh, None, "hh.csv"), "village_type_inconsistent")
    assert got["row"].tolist() == [2, 3] and (got["column"] == "village_type").all()


def test_hh_size_missing_fatal_and_range():
    hh = households()
    hh.loc[0, "hh_size"] = pd.NA
    hh.loc[1, "hh_size"] = 0
    hh.loc[2, "hh_size"] = 25
    got = V.check_hh_size(hh, None, "hh.csv")
    assert one(got, "hh_size_missing")["row"].tolist() == [2]
    rng = one(got, "hh_size_range")
    assert rng[["row", "severity"]].values.tolist() == [[3, "error"], [4, "warning"]]
    assert "hh_size_missing" in V.FATAL_CHECKS


def test_exit_year_rules():
    hh = households()
    hh.loc[0, "exit_year"] = pd.NA             # exited without exit year -> error
    hh.loc[1, "exit_year"] = 2018              # poor with exit year -> warning
    hh.loc[3, "exit_year"] = 2015              # exiting, before registration 2016 -> error
    hh.loc[2, "registry_status"] = "exited"    # exited in 2021 > evaluation year 2019
    hh.loc[2, "exit_year"] = 2021
    got = V.check_exit_year(hh, None, "hh.csv", year=2019)
    assert one(got, "exit_year_missing")[["row", "severity"]].values.tolist() == [[2, "error"]]
    assert one(got, "exit_year_unexpected")[["row", "severity"]].values.tolist() == [[3, "warning"]]
    before = one(got, "exit_before_registration")
    assert before[["row", "value"]].values.tolist() == [[5, "2015"]] and "2016" in before["message"].iloc[0]
    assert one(got, "exit_year_range")["row"].tolist() == [4]


def test_income_components_vs_total():
    hh = households()
    # row 2 (H1): 4000 × 2 = 8000 vs 8000 -> fine
    # row 3 (H2): 2000 × 1 = 2000; wage 1960: diff 40 > max(1% × 2000 = 20, 1 × 1) -> flagged
    # row 4 (H3): 9000 × 3 = 27000; wage 26800 + property 0: diff 200 < 270 -> fine
    # row 5 (H4): no component at all -> not compared
    hh.loc[1, "income_wage"] = 1960.0
    hh.loc[2, "income_wage"] = 26800.0
    hh["income_property"] = [np.nan, np.nan, 0.0, np.nan]
    got = one(V.check_income(hh, None, "hh.csv"), "income_components")
    assert got[["row", "column", "severity"]].values.tolist() == [[3, "income_per_capita", "warning"]]
    assert "2000" in got["message"].iloc[0] and "1960" in got["message"].iloc[0]
    hh.loc[3, "income_per_capita"] = -5.0
    assert one(V.check_income(hh, None, "hh.csv"), "income_negative")["row"].tolist() == [5]


def test_monitoring_vs_status():
    hh = households()
    hh["monitoring"] = [None, "unstable_exited", None, "marginal"]  # H2 poor, H4 exiting
    got = one(V.check_monitoring(hh, None, "hh.csv"), "monitoring_status")
    assert got["row"].tolist() == [3, 5]


# ---------------------------------------------------------------- ID numbers and persons
def test_id_number_checksum_reported_and_masked():
    hh = households()
    good = hh.loc[1, "head_id_number"]
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    hh.loc[1, "head_id_number"] = wrong
    mem = members()
    mem.loc[5, "id_number"] = "52010220010230"  # too short
    got = one(V.check_id_number(hh, mem, {"households": "hh.csv", "members": "m.csv"}), "id_number_invalid")
    assert got[["file", "row", "column"]].values.tolist() == [["hh.csv", 3, "head_id_number"],
                                                            ["m.csv", 7, "id_number"]]
    assert got["value"].iloc[0] == wrong[:6] + "********" + wrong[-4:]  # masked, not printed
    assert wrong not in " ".join(got["message"])


def test_same_person_in_two_households():
    hh = households()
    mem = members()
    mem.loc[2, "id_number"] = mem.loc[1, "id_number"]  # P21 (H2) has P12's (H1) ID
    mem.loc[5, "id_number"] = mem.loc[4, "id_number"]  # P33 twice in H3
    got = V.check_duplicate_persons(hh, mem, {"households": "hh.csv", "members": "m.csv"})
    across = one(got, "person_in_two_households")
    # P12 (m.csv row 3), P21 (row 4); H2's head ID is still that of P21's original ID
    assert across[["file", "row", "household_id", "severity"]].values.tolist() == [
        ["m.csv", 3, "H1", "error"], ["m.csv", 4, "H2", "error"]]
    assert "H1、H2" in across["message"].iloc[0]
    within = one(got, "duplicate_person_in_household")
    assert within[["row", "household_id", "severity"]].values.tolist() == [[6, "H3", "warning"],
                                                                           [7, "H3", "warning"]]


def test_same_head_in_two_households_without_members():
    hh = households()
    hh.loc[3, "head_id_number"] = hh.loc[0, "head_id_number"]
    got = one(V.check_duplicate_persons(hh, None, "hh.csv"), "person_in_two_households")
    assert got[["row", "column"]].values.tolist() == [[2, "head_id_number"], [5, "head_id_number"]]


def test_person_id_missing_or_duplicate_is_fatal():
    mem = members()
    mem.loc[1, "person_id"] = None
    mem.loc[6, "person_id"] = "P11"
    got = V.check_person_id(households(), mem, {"members": "m.csv"})
    assert one(got, "person_id_missing")["row"].tolist() == [3]
    assert one(got, "duplicate_person_id")["row"].tolist() == [2, 8]


def test_member_without_household():
    mem = members()
    mem.loc[6, "household_id"] = "H9"
    got = one(V.check_member_household(households(), mem, {"members": "m.csv"}), "member_without_household")
    assert got[["file", "row", "household_id", "column"]].values.tolist() == [["m.csv", 8, "H9", "household_id"]]


def test_hh_size_vs_member_count():
    hh = households()
    hh.loc[2, "hh_size"] = 5  # H3 lists 3 members
    got = one(V.check_member_count(hh, members(), "hh.csv"), "hh_size_mismatch")
    assert got[["row", "household_id", "value"]].values.tolist() == [[4, "H3", "5"]]
    assert "3" in got["message"].iloc[0]


def test_head_count():
    mem = members()
    mem.loc[4, "relation"] = "head"  # H3 now has two heads
    got = one(V.check_head_count(households(), mem, "hh.csv"), "head_count")
    assert got[["row", "household_id"]].values.tolist() == [[4, "H3"]]


def test_age_vs_schooling_boundaries():
    ref = "2019-12-31"
    births = ["2013-12-31", "2014-01-01", "2004-01-01", "2003-12-31", "2010-06-01", "2010-06-01"]
    school = ["not_student", "not_student", "dropout", "dropout", "home_schooling", "dropout"]
    mem = pd.DataFrame({"person_id": list("abcdef"), "household_id": "H1",
                        "birth_date": pd.to_datetime(births), "schooling": school})
    # ages at 2019-12-31: 6, 5, 15, 16, 9, 9 -> flagged: 6 (a), 15 (c), 9 dropout (f)
    np.testing.assert_array_equal(V.ages(mem, ref), [6, 5, 15, 16, 9, 9])
    got = one(V.check_age_schooling(None, mem, {"members": "m.csv"}, reference_date=ref), "age_schooling")
    assert got[["row", "column", "severity"]].values.tolist() == [
        [2, "schooling", "warning"], [4, "schooling", "warning"], [7, "schooling", "warning"]]
    # the year gives the same reference date (31 December)
    assert len(V.check_age_schooling(None, mem, None, year=2019)) == 3


def test_age_from_id_number_when_birth_date_missing_and_implausible_birth():
    mem = pd.DataFrame({"person_id": ["a", "b"], "household_id": "H1",
                        "id_number": [make_id("520102", "20100601"), make_id("520102", "20250101")],
                        "schooling": ["dropout", "preschool"]})
    got = V.check_age_schooling(None, mem, "m.csv", reference_date="2019-12-31")
    got = V.check_age_schooling(None, mem, {"members": "m.csv"}, reference_date="2019-12-31")
    assert one(got, "age_schooling")["row"].tolist() == [2]
    assert one(got, "birth_date_invalid")[["row", "column", "severity"]].values.tolist() == [
        [3, "id_number", "error"]]


def test_birth_date_and_sex_agree_with_id_number():
    mem = members()
    mem.loc[1, "birth_date"] = pd.Timestamp("1982-05-06")  # ID says 1982-05-05
    mem.loc[3, "sex"] = "female"  # ID sequence 005: odd -> male
    got = V.check_id_consistency(households(), mem, {"members": "m.csv"})
    assert one(got, "id_birth_mismatch")["row"].tolist() == [3]
    assert one(got, "id_sex_mismatch")["row"].tolist() == [5]


# ---------------------------------------------------------------- running rules
def test_validate_selects_checks_and_is_row_order_invariant():
    hh = households()
    hh.loc[1, "hh_size"] = 0
    hh.loc[2, "village_type"] = "poor"
    mem = members()
    mem.loc[4, "schooling"] = "dropout"
    full = V.validate(hh, mem, None, year=2019)
    fast = V.validate(hh, mem, None, checks="fast", year=2019)
    assert "age_schooling" in set(full["check"]) and "age_schooling" not in set(fast["check"])
    perm = np.random.default_rng(3).permutation(len(hh))
    shuffled = V.validate(hh.iloc[perm].reset_index(drop=True), mem.sample(frac=1, random_state=1)
                          .reset_index(drop=True), None, year=2019)
    key = ["household_id", "column", "check", "value"]
    assert (full[key].astype(str).sort_values(key).values.tolist()
            == shuffled[key].astype(str).sort_values(key).values.tolist())
    with pytest.raises(ValueError):
        V.select_checks(["no_such_rule"])


def test_duplicated_all_matches_pandas_on_large_inputs():
    rng = np.random.default_rng(0)
    n = 60_000  # above the threshold of the sort-based path
    ids = pd.Series(np.char.add("H", (10**9 + rng.permutation(n)).astype(str)))
    ids[[5, 70, 59_999]] = ids[17]
    expected = ids.duplicated(keep=False).to_numpy()
    np.testing.assert_array_equal(V.duplicated_all(ids), expected)
    assert V.duplicated_all(ids).sum() == 4
    ints = pd.Series(rng.integers(0, 10**6, n))
    np.testing.assert_array_equal(V.duplicated_all(ints), ints.duplicated(keep=False).to_numpy())
    var = pd.Series([f"x{i}" for i in rng.integers(0, 50_000, n)])  # variable width: hash path off
    np.testing.assert_array_equal(V.duplicated_all(var), var.duplicated(keep=False).to_numpy())


def test_admin_ints():
    s = pd.Series(["520102001001", "52010200100", None, "+52010200100", "052010200100", "5201020010a1"])
    np.testing.assert_array_equal(V.admin_ints(s), [520102001001, -1, -1, -1, -1, -1])
    np.testing.assert_array_equal(V.admin_ints(pd.Series([520102001001, 5201])), [520102001001, -1])


def test_birth_limit_with_year_only_allows_fieldwork_in_the_next_year():
    mem = pd.DataFrame({"person_id": ["a", "b"], "household_id": "H1",
                        "birth_date": pd.to_datetime(["2020-01-05", "2021-01-02"])})
    got = one(V.check_age_schooling(None, mem, {"members": "m.csv"}, year=2019), "birth_date_invalid")
    assert got["row"].tolist() == [3]  # born after 2020-12-31


def test_isin_against_a_large_set_matches_pandas():
    ids = pd.Series([f"H{i}" for i in range(500)] + [None])
    ref = pd.Series([f"H{i}" for i in range(0, 1000, 2)])
    np.testing.assert_array_equal(V.isin(ids, ref), ids.isin(ref).to_numpy(bool))
    assert V.isin(ids, ref).sum() == 250


def test_member_rules_same_on_object_dtype_tables():
    hh, mem = households(), members()
    hh.loc[2, "hh_size"] = 5
    mem.loc[6, "household_id"] = "H9"
    arrow = V.validate(hh, mem, None, checks=["member_household", "member_count", "head_count"])
    obj = V.validate(hh.astype({"household_id": object}), mem.astype({"household_id": object}), None,
                     checks=["member_household", "member_count", "head_count"])
    assert arrow[["household_id", "check"]].values.tolist() == obj[["household_id", "check"]].values.tolist()
    # H3 lists 3 members but says 5; H4 lost its only member to "H9" (0 listed, and no head
    # is not reported because H4 has no members at all)
    assert sorted(map(tuple, arrow[["household_id", "check"]].values.tolist())) == [
        ("H3", "hh_size_mismatch"), ("H4", "hh_size_mismatch"), ("H9", "member_without_household")]


def test_duplicate_persons_fast_path_equals_exact_path(monkeypatch):
    """The 64-bit pre-filter must not change the findings: compare with the plain path on
    a random registry where IDs repeat within and across households, heads are listed
    again as members, and some members' households are unknown."""
    rng = np.random.default_rng(7)
    n_hh, n_mem = 300, 1200
    first17 = pd.Series([f"52010219{50 + i % 50:02d}0101{i % 1000:03d}" for i in range(1100)])
    pool = list(first17 + idnumber.check_digit(first17))
    hh = pd.DataFrame({"household_id": [f"H{i}" for i in range(n_hh)],
                       "head_id_number": rng.choice(pool[:400], n_hh)})
    hid = rng.choice(hh["household_id"].to_numpy(), n_mem).astype(object)
    hid[:5] = "H_unknown"
    mem = pd.DataFrame({"person_id": [f"P{i}" for i in range(n_mem)], "household_id": hid,
                        "id_number": rng.choice(pool, n_mem)})
    mem.loc[:n_hh - 1, "household_id"] = hh["household_id"].to_numpy()  # heads again as members
    mem.loc[:n_hh - 1, "id_number"] = hh["head_id_number"].to_numpy()
    src = {"households": "hh.csv", "members": "m.csv"}
    fast = V.check_duplicate_persons(hh, mem, src)
    monkeypatch.setattr(V, "_hash64", lambda s: None)
    exact = V.check_duplicate_persons(hh, mem, src)
    assert len(fast) > 50 and set(fast["check"]) == {"person_in_two_households",
                                                     "duplicate_person_in_household"}
    key = ["file", "row", "check", "message"]
    pd.testing.assert_frame_equal(fast[key].sort_values(key).reset_index(drop=True),
                                  exact[key].sort_values(key).reset_index(drop=True))


# ----------------------------------------------------------------------------- parallel rules
def _corrupted_synthetic():
    from evalkit.registry.synthetic import synthetic_registry

    reg = synthetic_registry(seed=3, n_counties=2, households_per_county=(600, 800))
    hh = reg.households.copy()
    hh["household_id"] = hh["household_id"].astype(object)
    hh.loc[5, "household_id"] = hh.loc[6, "household_id"]                 # duplicate id (fatal)
    for col in ("village_type", "village_code", "county_code", "registry_status"):
        hh[col] = hh[col].astype(object)
    hh.loc[10, "village_type"] = "non_poor" if hh.loc[10, "village_type"] == "poor" else "poor"
    hh.loc[20, "village_code"] = "5201999"                               # malformed admin code
    hh.loc[30, "registry_status"] = "已脱贫?"                             # not a status (fatal)
    hh["hh_size"] = hh["hh_size"].astype("Int64")
    hh.loc[40, "hh_size"] = 99                                           # implausible size
    mem = reg.members.copy()
    mem["id_number"] = mem["id_number"].astype(object)
    mem.loc[3, "id_number"] = mem.loc[3, "id_number"][:-1] + ("0" if mem.loc[3, "id_number"][-1] != "0" else "1")
    mem.loc[7, "household_id"] = "NO-SUCH-HOUSEHOLD"
    return hh, mem


def test_rules_on_two_threads_give_the_same_issue_table_as_one_after_another(monkeypatch):
    hh, mem = _corrupted_synthetic()
    monkeypatch.setattr(threads, "PARALLEL_ROWS", 10 ** 12)
    serial = V.validate(hh, mem, year=2019)
    monkeypatch.setattr(threads, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    parallel = V.validate(hh, mem, year=2019)
    assert {"duplicate_household_id", "registry_status_invalid", "admin_code_invalid", "hh_size_range",
            "village_type_inconsistent", "member_without_household", "id_number_invalid"} <= set(serial["check"])
    pd.testing.assert_frame_equal(parallel, serial)


def test_an_error_inside_a_rule_surfaces_from_the_threads(monkeypatch):
    hh, mem = _corrupted_synthetic()
    monkeypatch.setattr(threads, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("rule failed")
    monkeypatch.setitem(V.CHECKS, "hh_size", broken)
    with pytest.raises(ZeroDivisionError, match="rule failed"):
        V.validate(hh, mem, year=2019)


def test_shared_cache_computes_each_value_once_under_threads():
    import threading
    import time

    calls = []
    s = pd.Series(["520102001001"] * 1000, dtype="string[pyarrow]")

    def slow(col):
        calls.append(1)
        time.sleep(0.05)
        return len(col)

    results = []
    with V.caching():
        threads = [threading.Thread(target=lambda: results.append(V._cached("probe", s, slow)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [1000] * 4 and len(calls) == 1


def _nesting_frame(rng, n=3000):
    counties = np.array(["520102000000", "520103000000", "520111000000", "520112000000"])
    county = counties[rng.integers(0, 4, n)]
    town = pd.Series(county).str[:6] + pd.Series(rng.integers(1, 4, n)).map("{:03d}".format) + "000"
    village = town.str[:9] + pd.Series(rng.integers(1, 6, n)).map("{:03d}".format)
    hh = pd.DataFrame({"province_code": "520000000000", "county_code": county,
                       "township_code": town, "village_code": village})
    return hh


@pytest.mark.parametrize("case", ["clean", "errors", "missing", "orphan_prefix", "bad_code"])
def test_nesting_on_categorical_codes_matches_row_by_row(case):
    """The category-level nesting check (one gather of small codes per row) against the row-by-row
    prefix comparison on the same values held as plain text."""
    rng = np.random.default_rng(11)
    hh = _nesting_frame(rng)
    if case in ("errors", "missing", "orphan_prefix", "bad_code"):
        rows = rng.choice(len(hh), 40, replace=False)
        hh.loc[rows[:20], "county_code"] = "520103000000"           # villages now in the wrong county
        hh.loc[rows[20:], "township_code"] = "520111009000"
    if case == "missing":
        hh.loc[rng.choice(len(hh), 30, replace=False), "county_code"] = None
        hh.loc[rng.choice(len(hh), 30, replace=False), "village_code"] = None
    if case == "orphan_prefix":                                        # a prefix no county category has
        hh.loc[rng.choice(len(hh), 15, replace=False), "village_code"] = "520199001001"
    if case == "bad_code":                                             # not a 12-digit code: fallback path
        hh.loc[rng.choice(len(hh), 5, replace=False), "village_code"] = "52019900"
    text = hh.astype("string")
    cat = text.apply(lambda s: s.astype("category"))
    if case != "bad_code":
        assert V._not_nested_categorical(cat["village_code"], cat["county_code"],
                                         lambda x: V._admin_ints_uncached(x) // 10 ** 6) is not None
    want = V.check_admin_nesting(text, None, "hh.csv")
    got = V.check_admin_nesting(cat, None, "hh.csv")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert (len(want) > 0) == (case != "clean")


def test_village_type_consistency_on_categorical_codes_matches_text():
    rng = np.random.default_rng(5)
    hh = _nesting_frame(rng, n=2000)
    vt = hh.groupby("village_code")["village_code"].transform(lambda v: "poor" if hash(v.iloc[0]) % 2 else "non_poor")
    hh["village_type"] = vt
    rows = rng.choice(len(hh), 25, replace=False)
    hh.loc[rows[:10], "village_type"] = np.where(hh.loc[rows[:10], "village_type"] == "poor", "non_poor", "poor")
    hh.loc[rows[10:15], "village_type"] = None              # missing type: never inconsistent
    hh.loc[rows[15:20], "village_type"] = "贫困村?"          # not a type: not counted
    hh.loc[rows[20:], "village_code"] = None                 # missing village
    text = hh.astype("string")
    cat = text.apply(lambda s: s.astype("category"))
    want = V.check_village_consistency(text, None, "hh.csv")
    got = V.check_village_consistency(cat, None, "hh.csv")
    assert len(want) >= 10
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
