"""read_responses: every validation rule with one bad input (file/row/column asserted),
encodings, SPSS/Stata labels, repeat groups, duplicates, sample linking, reconciliation."""
import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ResponseError
from evalkit.questionnaire.ingest import canonical_name, read_responses

from qn_helpers import StandInSample, central, members_of, stand_in_households, valid_row


def one_issue(resp, check):
    hit = resp.issues[resp.issues["check"] == check]
    assert len(hit) == 1, resp.issues
    return hit.iloc[0]


def test_valid_interview_reads_clean_and_typed(write_csv):
    hh = central(pd.DataFrame([valid_row()]))
    hh["KEY"] = "uuid:1"
    mem = pd.DataFrame(members_of(None, key="uuid:1", n=2))
    mem.columns = [c if c.isupper() else f"roster-member-{c}" for c in mem.columns]
    r = read_responses([write_csv(hh), write_csv(mem, "hh-member.csv")])
    assert r.issues.empty, r.issues
    d = r.data.iloc[0]
    assert d["household_id"] == "520101001001" and d["hh_size"] == 2
    # per-capita income recomputed from the parts: (10000 - 500 + 0 + 1200 + 0 + 300 + 0) / 2
    assert d["income_total"] == 11000 and d["income_per_capita"] == 5500 and d["income_transfer"] == 1500
    assert d["start"] == pd.Timestamp("2020-01-15 09:00") and d["assist_measures"] == "industry finance"
    assert list(r.members["member_index"]) == [1, 2] and list(r.members["age"]) == [40, 38]
    assert r.members["schooling"].isna().all()       # not asked of adults
    assert (r.data["source_file"].iloc[0], r.data["source_row"].iloc[0]) == ("hh.csv", 2)
    s = r.summary()
    assert s.ok and s.counts.set_index("table").loc["household", ["rows_read", "accepted"]].tolist() == [1, 1]


RULES = [
    ({"hh_size": "2.5"}, "roster-hh_size", "type", "2.5"),                         # integer
    ({"income_wage": "一万"}, "income-income_wage", "type", "一万"),               # decimal
    ({"food_ok": "maybe"}, "two_assurances-food_ok", "code", "maybe"),              # select_one code
    ({"assist_measures": "industry wings"}, "assistance-assist_measures", "code", "industry wings"),
    ({"start": "yesterday"}, "start", "type", "yesterday"),                          # datetime
    ({"hh_size": "25"}, "roster-hh_size", "constraint", "25"),                       # constraint range
    ({"assist_measures": "none industry"}, "assistance-assist_measures", "constraint", "none industry"),
    ({"income_business": "-2000000"}, "income-income_business", "constraint", "-2000000"),
    ({"water_quality": None}, "water-water_quality", "required", None),              # required when relevant
    ({"neg_car": "yes"}, "negative_list-car_value", "required", None),               # required by skip logic
    ({"car_value": "50000"}, "negative_list-car_value", "not_relevant", "50000"),    # answered when not relevant
    ({"housing_renovated": "yes"}, "three_guarantees-housing_renovated", "not_relevant", "yes"),  # grade A house
]


@pytest.fixture(scope="module")
def one_bad_each(tmp_path_factory):
    """Row 2 is valid; row k + 3 carries exactly the k-th bad answer of RULES (one read for all)."""
    rows = [valid_row("H0000")] + [valid_row(f"H{k + 1:04d}", **over) for k, (over, *_) in enumerate(RULES)]
    p = tmp_path_factory.mktemp("rules") / "hh.csv"
    central(pd.DataFrame(rows)).to_csv(p, index=False)
    return read_responses(p, qc=False)


@pytest.mark.parametrize("k", range(len(RULES)))
def test_each_validation_rule_names_file_row_column(one_bad_each, k):
    over, column, check, value = RULES[k]
    r, hid = one_bad_each, f"H{k + 1:04d}"
    mine = r.issues[r.issues["household_id"] == hid]
    assert len(mine) == 1, mine[["row", "column", "check", "value"]]     # exactly this one finding
    i = mine.iloc[0]
    assert (i["file"], i["row"], i["column"], i["check"]) == ("hh.csv", k + 3, column, check)
    assert (pd.isna(value) and pd.isna(i["value"])) or i["value"] == value
    assert " / " in i["message"] and i["severity"] in ("error", "warning")
    # the bad answer never reaches the data; the interview itself is kept
    assert hid in set(r.data["household_id"]) and r.summary().ok
    assert pd.isna(r.data.set_index("household_id").at[hid, column.split("-")[-1]])


def test_valid_row_has_no_issue(one_bad_each):
    assert not (one_bad_each.issues["household_id"] == "H0000").any()
    assert len(one_bad_each.data) == len(RULES) + 1


def test_member_rules_use_the_household_context(write_csv):
    hh = pd.DataFrame([valid_row("H0001")])
    mem = pd.DataFrame(members_of("H0001", n=3))
    mem.loc[2, "schooling"] = "flying"      # bad code, row 4
    mem.loc[0, "age"] = "130"               # constraint, row 2
    mem.loc[1, "schooling"] = "primary"     # age 38: not relevant, row 3
    r = read_responses([write_csv(hh), write_csv(mem, "roster.xlsx".replace("xlsx", "csv"))], qc=False)
    got = {(i.check, i.row, i.column) for i in r.issues.itertuples()}
    assert {("code", 4, "schooling"), ("constraint", 2, "age"), ("not_relevant", 3, "schooling")} <= got
    assert all(r.issues["file"] == "roster.csv")


def test_gbk_csv_with_chinese_labels_as_answers(tmp_path):
    row = valid_row(food_ok="是", satisfaction="满意", recognition="基本认可", hh_type="未脱贫户",
                    enumerator="李四")
    p = tmp_path / "gbk.csv"
    pd.DataFrame([row]).to_csv(p, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")
    r = read_responses(p, qc=False)
    d = r.data.iloc[0]
    assert r.issues.empty, r.issues
    assert (d["food_ok"], d["satisfaction"], d["recognition"], d["hh_type"], d["enumerator"]) == \
        ("yes", "satisfied", "basically", "poor", "李四")


def test_utf8_bom_and_chinese_headers(tmp_path):
    from evalkit.questionnaire import variables as V
    row = valid_row()
    zh = {v.name: v.zh for v in V.HOUSEHOLD_VARS}
    df = pd.DataFrame([row]).rename(columns={"food_ok": zh["food_ok"], "hh_size": zh["hh_size"]})
    p = tmp_path / "bom.csv"
    df.to_csv(p, index=False, encoding="utf-8-sig")
    r = read_responses(p, qc=False)
    assert r.issues.empty and r.data.at[0, "food_ok"] == "yes" and r.data.at[0, "hh_size"] == 2


def test_spss_file_with_chinese_value_labels(tmp_path):
    import pyreadstat
    row = valid_row()
    df = pd.DataFrame([row, valid_row("520101001002", satisfaction="neutral")])
    codes = {"yes": 1, "no": 2}
    for c in ("food_ok", "clothing_ok", "consent"):
        df[c] = df[c].map(codes).astype(float)
    sat = {"very_satisfied": 1, "satisfied": 2, "neutral": 3}
    df["satisfaction"] = df["satisfaction"].map(sat).astype(float)
    df["hh_size"] = df["hh_size"].astype(float)
    df["income_wage"] = df["income_wage"].astype(float)
    p = tmp_path / "survey.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={
        "food_ok": {1.0: "是", 2.0: "否"}, "clothing_ok": {1.0: "是", 2.0: "否"}, "consent": {1.0: "是", 2.0: "否"},
        "satisfaction": {1.0: "非常满意", 2.0: "满意", 3.0: "一般"}})
    r = read_responses(p, qc=False)
    assert r.issues.empty, r.issues
    assert list(r.data["satisfaction"]) == ["satisfied", "neutral"]
    assert list(r.data["food_ok"]) == ["yes", "yes"] and list(r.data["hh_size"]) == [2, 2]
    assert list(r.data["source_row"]) == [1, 2]          # case numbers in SPSS


def test_stata_file(tmp_path):
    df = pd.DataFrame([valid_row(), valid_row("520101001002", hh_size="x")])
    df = df.drop(columns=["start", "end"]).dropna(axis=1, how="all")
    p = tmp_path / "survey.dta"
    df.to_stata(p, write_index=False, version=118)
    r = read_responses(p, qc=False)
    i = one_issue(r, "type")
    assert (i["file"], i["row"], i["column"]) == ("survey.dta", 2, "hh_size")


def test_kobo_xlsx_with_repeat_sheet_and_select_multiple_dummies(tmp_path):
    rows = [valid_row("H1"), valid_row("H2", hh_size="3")]
    main = pd.DataFrame(rows).drop(columns=["assist_measures"])
    main.columns = [f"grp_{c}/{c}" if c not in ("start", "end") else c for c in main.columns]
    main["assistance/assist_measures/industry"] = ["1", "0"]
    main["assistance/assist_measures/finance"] = ["1", "1"]
    main["_index"] = ["1", "2"]
    main["_uuid"] = ["u1", "u2"]
    mem = pd.DataFrame(members_of(None, key="x", n=2) + members_of(None, key="x", n=3)).drop(
        columns=["PARENT_KEY", "KEY"])
    mem.columns = [f"roster/member/{c}" for c in mem.columns]
    mem["_parent_index"] = ["1", "1", "2", "2", "2"]
    mem["_parent_table_name"] = "survey"
    mem["_index"] = ["1", "2", "3", "4", "5"]
    p = tmp_path / "kobo.xlsx"
    with pd.ExcelWriter(p) as xw:
        main.to_excel(xw, sheet_name="survey", index=False)
        mem.to_excel(xw, sheet_name="member", index=False)
    r = read_responses(p, qc=False)
    assert r.issues.empty, r.issues
    assert list(r.data["assist_measures"]) == ["industry finance", "finance"]
    assert r.members.groupby("household_id").size().to_dict() == {"H1": 2, "H2": 3}
    assert list(r.members["member_index"]) == [1, 2, 1, 2, 3]
    assert set(r.members["source_file"]) == {"kobo.xlsx[member]"}


def test_central_geopoint_columns(write_csv):
    hh = central(pd.DataFrame([valid_row()]))
    hh["id-gps-Latitude"], hh["id-gps-Longitude"], hh["id-gps-Altitude"] = "26.58", "106.71", "1100"
    hh["KEY"], hh["SubmissionDate"], hh["meta-instanceID"] = "uuid:1", "2020-01-16", "uuid:1"
    r = read_responses(write_csv(hh), qc=False)
    assert r.issues.empty, r.issues
    assert (r.data.at[0, "gps_lat"], r.data.at[0, "gps_lon"]) == (26.58, 106.71)


def test_canonical_names():
    sm = {"assist_measures": {"industry"}}
    assert canonical_name("grp_income/income_wage", sm) == ("income_wage", "field")
    assert canonical_name("income-income_wage", sm) == ("income_wage", "field")
    assert canonical_name("id-gps-Latitude", sm) == ("gps_lat", "geo")
    assert canonical_name("_gps_longitude", sm) == ("gps_lon", "geo")
    assert canonical_name("assistance/assist_measures/industry", sm) == ("assist_measures/industry", "dummy")
    assert canonical_name("meta-instanceID", sm) == ("instanceID", "meta")
    assert canonical_name("PARENT_KEY", sm)[1] == "meta"


def test_unknown_column_is_reported_not_silently_dropped(write_csv):
    df = pd.DataFrame([valid_row()]).assign(favourite_colour="blue")
    r = read_responses(write_csv(df), qc=False)
    i = one_issue(r, "unknown_column")
    assert i["column"] == "favourite_colour" and i["severity"] == "info"


def test_unreadable_table_kind_is_a_response_error(write_csv):
    with pytest.raises(ResponseError, match="household_id"):
        read_responses(write_csv(pd.DataFrame({"a": [1]})))


# ---------------------------------------------------------------- duplicates and attempts
def test_duplicates_identical_kept_once_conflicting_both_flagged(write_csv):
    rows = [valid_row("A"), valid_row("A"),                         # identical: keep one
            valid_row("B"), valid_row("B", income_wage="9999"),     # conflicting: both flagged
            valid_row("C", disposition="absent", consent=None), valid_row("C")]   # revisit: completed wins
    df = pd.DataFrame(rows)
    df = df.assign(**{c: None for c in df.columns if c not in ("household_id", "enumerator", "team", "start", "end",
                                                                 "hh_type", "disposition", "consent")}) \
        .where(df["disposition"] == "absent", df)
    r = read_responses(write_csv(df), qc=False)
    assert sorted(r.data["household_id"]) == ["A", "C"]
    conf = r.issues[r.issues["check"] == "duplicate_conflict"]
    assert sorted(conf["row"]) == [4, 5] and all(conf["severity"] == "error")
    assert "hh.csv row 4" in conf.iloc[0]["message"] and "hh.csv row 5" in conf.iloc[0]["message"]
    rej = r.rejected.set_index("row")["reason"].to_dict()
    assert rej == {3: "duplicate_identical", 4: "duplicate_conflict", 5: "duplicate_conflict",
                   6: "superseded_attempt"}
    assert r.summary().ok


def test_duplicate_choice_does_not_depend_on_row_order(write_csv, tmp_path):
    df = central(pd.DataFrame([valid_row("A"), valid_row("A"), valid_row("B")]))
    df["KEY"] = ["uuid:2", "uuid:1", "uuid:3"]
    a = read_responses(write_csv(df, "a.csv"), qc=False)
    b = read_responses(write_csv(df.iloc[::-1], "a.csv"), qc=False)
    assert list(a.rejected["key"]) == list(b.rejected["key"]) == ["uuid:2"]
    pd.testing.assert_frame_equal(a.data.drop(columns="source_row"), b.data.drop(columns="source_row"))


# ---------------------------------------------------------------- sample linking
def test_unknown_household_and_nonresponse_list(write_csv):
    shh = stand_in_households([("520101001001", "poor", 3, 1)])
    s = StandInSample(shh)
    rows = [valid_row("5201010010010001"), valid_row("5201010010019999"),
            valid_row("5201010010010002", disposition="refused", consent=None)]
    df = pd.DataFrame(rows)
    r = read_responses(write_csv(df.where(~df["disposition"].eq("refused"), df.assign(
        **{c: None for c in df.columns if c not in ("household_id", "enumerator", "team", "start", "end",
                                                    "hh_type", "disposition")})).where(
        df["disposition"].eq("refused") | True)), sample=s, qc=False)
    i = one_issue(r, "unknown_household")
    assert (i["row"], i["column"], i["value"]) == (3, "household_id", "5201010010019999")
    assert r.rejected.set_index("row").at[3, "reason"] == "not_in_sample"
    nr = r.nonresponse.set_index("household_id")
    assert nr["disposition"].to_dict() == {"5201010010010002": "refused", "5201010010010003": "not_visited"}
    assert nr.at["5201010010010002", "row"] == 4
    assert r.summary(by="county_code").response[["sampled", "completed"]].iloc[0].tolist() == [3, 1]
    rr = r.response_rates()
    assert rr[["sampled", "completed"]].iloc[0].tolist() == [3, 1] and rr["response_rate"].iloc[0] == pytest.approx(1 / 3)
    # the sample's design columns are joined; weight_final = 10 * 30 / 10 (one respondent carries its cell)
    assert r.data.at[0, "registry_status"] == "poor" and r.data.at[0, "weight_final"] == pytest.approx(30.0)
    assert r.summary().ok


def test_replacement_rules(write_csv):
    shh = stand_in_households([("520101001001", "poor", 2, 3), ("520101001002", "poor", 1, 1)])
    s = StandInSample(shh)
    v1, v2 = "520101001001", "520101001002"
    rows = [valid_row(f"{v1}0001"),
            valid_row(f"{v1}0002", disposition="refused", consent=None),
            valid_row(f"{v1}0004", replaces=f"{v1}0002"),      # out of order: rank-3 reserve 0003 skipped
            valid_row(f"{v2}0001"),
            valid_row(f"{v2}0002", replaces=f"{v1}0002")]     # different cell: rejected
    df = pd.DataFrame(rows)
    r = read_responses(write_csv(df), sample=s, qc=False)
    rule = r.issues[r.issues["check"] == "replacement_rule"]
    assert list(rule["row"]) == [6] and rule.iloc[0]["column"] == "replaces"
    order = one_issue(r, "replacement_order")
    assert order["row"] == 4 and order["severity"] == "warning"
    assert sorted(r.data["household_id"]) == [f"{v1}0001", f"{v1}0004", f"{v2}0001"]
    assert r.rejected.set_index("row").at[6, "reason"] == "reserve_not_activated"
    nr = r.nonresponse.set_index("household_id")
    assert nr.at[f"{v1}0002", "replaced_by"] == f"{v1}0004"
    # the reserve carries its cell's weight: 2 respondents for 2 × 10
    assert r.data.set_index("household_id")["weight_final"].to_dict() == pytest.approx(
        {f"{v1}0001": 10.0, f"{v1}0004": 10.0, f"{v2}0001": 10.0})
    assert r.summary().ok


def test_avoidance_and_team_assignment(write_csv):
    shh = stand_in_households([("520101001001", "poor", 2, 0)])
    roster = pd.DataFrame({"team": ["T1", "T2"], "members": [["张三"], ["李四"]],
                           "avoid_counties": [["520101000000"], []], "avoid_provinces": [[], []]})
    teams = pd.DataFrame({"village_code": ["520101001001"], "team": ["T2"]})
    s = StandInSample(shh, teams=teams, team_roster=roster)
    rows = [valid_row("5201010010010001", team="T1"), valid_row("5201010010010002", team="T2")]
    r = read_responses(write_csv(pd.DataFrame(rows)), sample=s, qc=False)
    i = one_issue(r, "avoidance")
    assert (i["row"], i["column"], i["value"], i["severity"]) == (2, "team", "T1", "error")
    j = one_issue(r, "team_assignment")
    assert j["row"] == 2


# ---------------------------------------------------------------- reconciliation
def test_reconciliation_on_a_corrupted_export(tmp_path):
    rng = np.random.default_rng(5)
    shh = stand_in_households([("520101001001", "poor", 30, 5)])
    s = StandInSample(shh)
    rows = [valid_row(f"520101001001{k:04d}") for k in range(1, 31)]
    df = central(pd.DataFrame(rows))
    df["KEY"] = [f"uuid:{k}" for k in range(30)]
    df = pd.concat([df, df.iloc[[3, 4]]], ignore_index=True)                     # 2 identical duplicates
    df.loc[len(df)] = df.iloc[5].copy()
    df.loc[len(df) - 1, "income-income_wage"], df.loc[len(df) - 1, "KEY"] = "1", "uuid:x"  # conflict
    df.loc[7, "id-household_id"] = None                                          # no ID
    df.loc[8, "id-household_id"] = "999"                                         # not in sample
    df.loc[9, "two_assurances-food_ok"] = "??"                                   # bad code (kept, NA)
    mem = pd.DataFrame([m for k in range(30) for m in members_of(None, key=f"uuid:{k}", n=2)])
    mem.loc[len(mem)] = {**mem.iloc[0].to_dict(), "PARENT_KEY": "uuid:gone", "KEY": "uuid:gone/member[1]"}
    mem = mem.sample(frac=1, random_state=1)                                     # order must not matter
    text = df.to_csv(index=False)
    cut = text.splitlines()
    (tmp_path / "hh.csv").write_text("\n".join(cut) + "\n", encoding="utf-8")
    mem.to_csv(tmp_path / "hh-member.csv", index=False)
    r = read_responses(tmp_path, sample=s, qc=False)
    c = r.summary().counts.set_index("table")
    assert c.at["household", "rows_read"] == 33
    assert c.at["household", "rows_read"] == c.at["household", "accepted"] + c.at["household", "rejected"] \
        + c.at["household", "non_interview"]
    assert c.at["household", "accepted"] == 30 - 2 - 1    # rows 7,8 and household 5 (conflict) out
    assert c.at["member", "rows_read"] == 61 == c.at["member", "accepted"] + c.at["member", "rejected"]
    assert c["balanced"].all()
    # every input row is somewhere: data ∪ rejected ∪ nonresponse records = all (file,row)
    seen = set(zip(r.data["source_file"], r.data["source_row"])) | set(zip(r.rejected["file"], r.rejected["row"]))
    assert {("hh.csv", k) for k in range(2, 35)} <= seen | set(zip(r.nonresponse["file"], r.nonresponse["row"]))
    assert r.data.set_index("household_id").loc["5201010010010010", "food_ok"] is None or \
        pd.isna(r.data.set_index("household_id").loc["5201010010010010", "food_ok"])


def test_village_questionnaire_is_validated_with_its_own_form(write_csv):
    v = dict(village_code="520101001001", respondent_role="secretary", enumerator="王五", team="T1",
             road_hardened="yes", bus_access="yes", power_grid="yes", broadband="no", piped_water="yes",
             clinic="yes", village_doctor="yes", collective_income="52000", n_households="210",
             n_persons="800", n_registered_households="60", n_poor_households="12", n_exited_households="40",
             work_team="yes", work_team_size="3", first_secretary="yes")
    bad = {**v, "village_code": "520101001002", "n_poor_households": "70", "work_team": "no"}
    big = {**v, "village_code": "520101001003", "n_households": "30000", "n_persons": "90000"}
    vil = pd.DataFrame([v, bad, big])
    vil.columns = [f"grp-{c}" for c in vil.columns]
    r = read_responses([write_csv(pd.DataFrame([valid_row()])), write_csv(vil, "village.csv")], qc=False)
    got = r.issues[["file", "row", "column", "check", "value"]].values.tolist()
    # 70 poor > 60 registered, so also poor + exited (110) > 60; team size answered without a team
    assert got == [["village.csv", 3, "grp-n_exited_households", "constraint", "40"],
                   ["village.csv", 3, "grp-n_poor_households", "constraint", "70"],
                   ["village.csv", 3, "grp-work_team_size", "not_relevant", "3"],
                   # 30000 households breaks its own range only: n_persons >= n_households still holds
                   ["village.csv", 4, "grp-n_households", "constraint", "30000"]]
    assert len(r.villages) == 3 and r.villages["n_households"].tolist()[:2] == [210, 210]
    assert r.summary().counts.set_index("table").at["village", "rows_read"] == 3


def test_household_type_mismatch_and_no_id_numbers_in_responses(write_csv):
    shh = stand_in_households([("520101001001", "poor", 2, 0)])
    shh["head_id_number"] = "520101199001011234"
    s = StandInSample(shh)
    rows = [valid_row("5201010010010001"), valid_row("5201010010010002", hh_type="exited")]
    r = read_responses(write_csv(pd.DataFrame(rows)), sample=s, qc=False)
    i = one_issue(r, "hh_type_mismatch")
    assert (i["row"], i["column"], i["value"], i["severity"]) == (3, "hh_type", "exited", "warning")
    assert set(r.data["registry_status"]) == {"poor"}          # the sample's status is the one used
    assert "head_id_number" not in r.data.columns


def test_row_level_rules_gps_orphans_and_missing_id(write_csv):
    hh = central(pd.DataFrame([valid_row("H0001"), valid_row("H0002"), valid_row(None)]))
    hh["KEY"] = ["uuid:1", "uuid:2", "uuid:3"]
    hh["id-gps-Latitude"], hh["id-gps-Longitude"] = ["26.5", "95.0", "26.5"], ["106.7", "106.7", "106.7"]
    mem = pd.DataFrame(members_of(None, key="uuid:1") + members_of(None, key="uuid:9", n=1))
    r = read_responses([write_csv(hh), write_csv(mem, "hh-member.csv")], qc=False)
    gps = one_issue(r, "type")
    assert (gps["file"], gps["row"], gps["column"], gps["value"]) == ("hh.csv", 3, "id-gps-Latitude", "95.0")
    orphan = one_issue(r, "orphan_member")
    assert (orphan["file"], orphan["row"], orphan["column"], orphan["value"]) == \
        ("hh-member.csv", 4, "PARENT_KEY", "uuid:9")
    rej = r.rejected.set_index(["file", "row"])["reason"]
    assert rej.to_dict() == {("hh-member.csv", 4): "orphan_member", ("hh.csv", 4): "missing_household_id"}
    assert r.summary().ok
