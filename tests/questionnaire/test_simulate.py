"""simulate_fieldwork against the synthetic truth: error-free exports read back as the truth;
injected errors are each found; files do not depend on seed-free choices or row order."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.questionnaire import variables as V


@pytest.fixture(scope="module")
def world():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = ek.synthetic_registry(seed=3, n_counties=2, households_per_county=(800, 1000))
        plan = ek.SamplingPlan.county_exit_check(poor_villages=3, non_poor_villages=2)
        sample = ek.draw_sample(reg, plan, seed=11)
    return reg, sample


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    reg, sample = world
    out = tmp_path_factory.mktemp("clean")
    paths = ek.simulate_fieldwork(sample, reg, out, seed=1, error_rate=0.0, nonresponse=0.05)
    return paths, ek.read_responses(paths, sample=sample)


def test_error_free_exports_read_back_without_any_issue(clean):
    paths, r = clean
    assert [p.name for p in paths] == ["evalkit_household.csv", "evalkit_household-member.csv",
                                       "evalkit_village.csv"]
    assert r.issues.empty, r.issues.groupby("check").size()
    assert r.rejected.empty and r.summary().ok
    assert len(r.villages) == 8


def test_data_equal_the_truth(clean, world):
    reg, sample = world
    _, r = clean
    d = r.data.set_index("household_id")
    t = reg.truth.loc[d.index]
    status = d["registry_status"]
    # skip logic of the form, written out by hand (independent of the evaluator)
    hidden = {
        "housing_renovated": t["housing_appraisal"].isin(["A", "B"]),
        "car_value": t["neg_car"] == "no",
        **{c: status == "not_registered" for c in
           ("assist_visited", "assist_measures", "knows_card", "satisfaction", "sat_team", "sat_cadre")},
    }
    cols = [v.name for v in V.HOUSEHOLD_VARS if v.name in t.columns and v.kind != "calculate"]
    assert len(cols) == 33
    for c in cols:
        h = hidden.get(c, pd.Series(False, index=d.index))
        assert d.loc[h, c].isna().all(), c
        if pd.api.types.is_numeric_dtype(t[c]):
            np.testing.assert_allclose(d.loc[~h, c].astype(float), t.loc[~h, c].astype(float), rtol=0, atol=0,
                                       err_msg=c)
        else:
            assert (d.loc[~h, c].astype(str) == t.loc[~h, c].astype(str)).all(), c
    np.testing.assert_allclose(d["income_per_capita"], t["income_per_capita"], rtol=1e-12)
    # roster = registry members, ages in completed years at the survey date
    mem = reg.members[reg.members["household_id"].isin(d.index)].sort_values(["household_id", "person_id"])
    got = r.members.sort_values(["household_id", "member_index"])
    assert len(got) == len(mem)
    sd = pd.Timestamp(reg.meta["survey_date"])
    b = pd.to_datetime(mem["birth_date"])
    age = sd.year - b.dt.year - ((b.dt.month > sd.month) | ((b.dt.month == sd.month) & (b.dt.day > sd.day)))
    assert (got["age"].to_numpy() == age.to_numpy()).all()
    for c in ("name", "relation", "sex", "health", "disability", "labour"):
        assert (got[c].to_numpy() == mem[c].to_numpy()).all(), c
    school_age = ((age >= 6) & (age <= 15)).to_numpy()
    assert (got["schooling"].to_numpy()[school_age] == mem["schooling"].to_numpy()[school_age]).all()
    assert got["schooling"].isna().to_numpy()[~school_age].all()


def test_weights_and_nonresponse_from_the_sample(clean, world):
    reg, sample = world
    _, r = clean
    main = sample.households[sample.households["role"] == "main"]
    assert r.data["weight_final"].sum() == pytest.approx(main["weight"].sum(), rel=1e-12)
    # every active main household is either interviewed, replaced by an interviewed reserve, or listed
    accounted = set(r.data["household_id"]) | set(r.nonresponse["household_id"])
    assert set(main["household_id"].astype(str)) <= accounted
    nr = r.nonresponse
    assert set(nr["disposition"]) <= {"absent", "refused", "not_found"}
    reserves = r.data[r.data["role"] == "reserve"]
    assert set(reserves["replaces"]) <= set(nr["household_id"])
    assert r.design.data["weight_final"].sum() == pytest.approx(main["weight"].sum())


def test_deterministic_and_independent_of_row_order(world, tmp_path):
    reg, sample = world
    a = ek.simulate_fieldwork(sample, reg, tmp_path / "a", seed=5)
    shuffled = type(sample)(sample.households.sample(frac=1, random_state=2).reset_index(drop=True),
                            manifest=sample.manifest)
    b = ek.simulate_fieldwork(shuffled, reg, tmp_path / "b", seed=5)
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    c = ek.simulate_fieldwork(sample, reg, tmp_path / "c", seed=6)
    assert a[0].read_bytes() != c[0].read_bytes()


def test_injected_errors_are_all_found(world, tmp_path):
    reg, sample = world
    paths = ek.simulate_fieldwork(sample, reg, tmp_path, seed=2, error_rate=0.4, nonresponse=0.05)
    log = json.loads((tmp_path / "simulation_log.json").read_text())["errors"]
    assert sum(log.values()) > 50 and min(log.values()) >= 3
    r = ek.read_responses(paths, sample=sample)
    n = r.issues.groupby(["check", "column"]).size()
    assert n[("code", "two_assurances-food_ok")] == log["code_typo"]
    assert n[("constraint", "income-income_wage")] == log["out_of_range"]
    assert n[("required", "water-water_quality")] == log["missing_answer"]
    assert n[("unknown_household", "id-household_id")] == log["id_typo"]
    assert n[("duplicate_identical", "id-household_id")] == log["duplicate"]
    assert n[("duplicate_conflict", "id-household_id")] == 2 * log["conflict"]
    assert n[("short_interview", "end")] == log["short_interview"]
    assert n[("constraint", "roster-member-age")] == log["age_typo"]
    s = r.summary().counts.set_index("table")
    assert s["balanced"].all()
    assert s.at["household", "rejected"] == log["id_typo"] + log["duplicate"] + 2 * log["conflict"]


def test_cli_ingest_writes_the_workbook_and_fails_strict_on_errors(world, clean, tmp_path, capsys):
    import shutil

    from evalkit.cli import main

    reg, sample = world
    paths, r = clean
    sample.save(tmp_path / "sample")
    assert main(["ingest", *map(str, paths), "--sample", str(tmp_path / "sample"), "--out", str(tmp_path / "ok"),
                 "--strict"]) == 0
    data = pd.read_parquet(tmp_path / "ok" / "data.parquet")
    assert len(data) == len(r.data) and data["weight_final"].sum() == pytest.approx(r.data["weight_final"].sum())
    assert set(pd.ExcelFile(tmp_path / "ok" / "responses.xlsx").sheet_names) == {
        "data", "members", "issues", "rejected", "nonresponse", "reconciliation"}
    # one bad code in the export -> an error-level issue -> exit code 1 with --strict
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in paths:
        shutil.copy(p, bad / p.name)
    hh = pd.read_csv(bad / paths[0].name, dtype=str, keep_default_na=False)
    row = int(np.flatnonzero(hh["two_assurances-food_ok"] == "yes")[0])
    hh.loc[row, "two_assurances-food_ok"] = "是的"
    hh.to_csv(bad / paths[0].name, index=False)
    capsys.readouterr()
    assert main(["ingest", str(bad), "--sample", str(tmp_path / "sample"), "--out", str(tmp_path / "o2"),
                 "--strict"]) == 1
    printed = capsys.readouterr().out
    assert "balanced" in printed and "issues by check" in printed
    issues = pd.read_csv(tmp_path / "o2" / "issues.csv", encoding="utf-8-sig", dtype=str)
    assert issues[["file", "row", "column", "value", "check"]].values.tolist() == [
        ["evalkit_household.csv", str(row + 2), "two_assurances-food_ok", "是的", "code"]]


def test_real_sample_teams_avoidance_and_official_replacement(world, tmp_path):
    """With the sampling module's Sample: assign_teams (回避) and Sample.replace feed the checks."""
    reg, sample = world
    s = type(sample)(sample.households.copy(), manifest=sample.manifest)
    counties = sorted(s.households["county_code"].astype(str).unique())
    s.assign_teams([ek.Team("甲组", avoid_counties=[counties[0]]), ek.Team("乙组", avoid_counties=[counties[1]])])
    main = s.households[(s.households["role"] == "main")]
    # a cell with a reserve: replace its first main household officially
    cells = set(s.households.loc[s.households["role"] == "reserve", "cell"])
    gone = main[main["cell"].isin(cells)].sort_values("household_id").iloc[0]
    reserve = s.replace(gone["household_id"], "refused", time="2020-01-16T10:00:00+08:00")
    paths = ek.simulate_fieldwork(s, reg, tmp_path, seed=8, error_rate=0.0, nonresponse=0.0)
    r = ek.read_responses(paths, sample=s)
    assert r.issues.empty, r.issues
    assert reserve in set(r.data["household_id"]) and gone["household_id"] not in set(r.data["household_id"])
    nr = r.nonresponse.set_index("household_id")
    assert nr.at[gone["household_id"], "replaced_by"] == reserve
    assert r.data["weight_final"].sum() == pytest.approx(main["weight"].sum())
    # the team that must avoid county 0 interviews there: one error at that row
    hh = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    in_c0 = hh["id-household_id"].str[:6] == counties[0][:6]
    k = int(np.flatnonzero(in_c0 & (hh["id-disposition"] == "completed"))[0])
    hh.loc[k, "id-team"] = "甲组"
    hh.to_csv(paths[0], index=False)
    r2 = ek.read_responses(paths, sample=s)
    av = r2.issues[r2.issues["check"] == "avoidance"]
    assert av[["row", "column", "value", "severity"]].values.tolist() == [[k + 2, "id-team", "甲组", "error"]]
    assert set(r2.issues["check"]) == {"avoidance", "team_assignment"}
