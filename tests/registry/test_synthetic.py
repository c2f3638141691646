"""Synthetic demo province: structure, hidden truth, exact rates, fingerprint invariance."""
import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.registry import idnumber, schema
from evalkit.registry.registry import Registry
from evalkit.registry.truth import _age, true_rates, truth_flags


@pytest.fixture(scope="module")
def reg():
    return ek.synthetic_registry(seed=3, n_counties=4, households_per_county=(900, 1300))


def test_same_seed_same_registry_other_seed_differs(reg):
    again = ek.synthetic_registry(seed=3, n_counties=4, households_per_county=(900, 1300))
    other = ek.synthetic_registry(seed=4, n_counties=4, households_per_county=(900, 1300))
    assert again.fingerprint == reg.fingerprint
    assert other.fingerprint != reg.fingerprint


def test_codes_and_nesting(reg):
    hh = reg.households
    assert set(hh["registry_status"]) <= set(schema.REGISTRY_STATUS)
    assert set(hh["village_type"]) <= set(schema.VILLAGE_TYPE)
    assert set(hh["poverty_cause"].dropna()) <= set(schema.POVERTY_CAUSE)
    assert set(hh["monitoring"].dropna()) <= set(schema.MONITORING)
    for col in schema.ADMIN_CODE_COLUMNS:
        assert hh[col].str.fullmatch(r"\d{12}").all(), col
    assert (hh["village_code"].str[:6] == hh["county_code"].str[:6]).all()
    assert (hh["village_code"].str[:9] == hh["township_code"].str[:9]).all()
    assert hh["household_id"].is_unique
    # exit year exactly for exited households, never before registration
    exited = hh["registry_status"] == "exited"
    assert hh.loc[exited, "exit_year"].notna().all() and hh.loc[~exited, "exit_year"].isna().all()
    assert (hh.loc[exited, "exit_year"] > hh.loc[exited, "registration_year"]).all()
    assert hh["county_code"].nunique() == 4


def test_members_consistent(reg):
    hh, m = reg.households, reg.members
    counts = m.groupby("household_id").size().reindex(hh["household_id"]).to_numpy()
    assert (counts == hh["hh_size"].to_numpy()).all()
    assert m["person_id"].is_unique
    assert idnumber.is_valid(m["id_number"]).all()
    assert m["id_number"].is_unique
    # the birth date in the ID number is the member's birth date; sex digit odd = male
    assert (idnumber.birth_date(m["id_number"]) == pd.to_datetime(m["birth_date"])).all()
    odd = m["id_number"].str[16].astype(int) % 2 == 1
    assert ((m["sex"] == "male") == odd).all()
    assert (m.groupby("household_id")["relation"].apply(lambda r: (r == "head").sum()) == 1).all()
    heads = m[m["relation"] == "head"].set_index("household_id")["id_number"]
    assert (hh.set_index("household_id")["head_id_number"] == heads.reindex(hh["household_id"])).all()


def test_truth_hidden_and_complete(reg):
    assert reg.truth.index.equals(pd.Index(reg.households["household_id"]))
    for col in ("wrong_exit", "missed", "wrong_inclusion", "satisfied", "is_eligible"):
        assert col in reg.truth.columns and col not in reg.households.columns
    # satisfaction is asked of registered households only
    nonreg = reg.households.set_index("household_id")["registry_status"] == "not_registered"
    assert reg.truth.loc[nonreg.to_numpy(), "satisfaction"].isna().all()
    assert reg.truth.loc[~nonreg.to_numpy(), "satisfaction"].notna().all()
    # true flags are what the contract rules give on the true answers
    status = reg.households.set_index("household_id")["registry_status"]
    again = truth_flags(reg.truth, reg.members, status, reg.meta["poverty_line"], reg.meta["survey_date"])
    for col in ("wrong_exit", "missed", "wrong_inclusion", "satisfied", "recognises"):
        assert (again[col] == reg.truth[col]).all(), col


def test_seeded_error_rates_vary_by_county():
    reg = ek.synthetic_registry(seed=0, n_counties=10, households_per_county=(3000, 4000))
    tr = reg.true_rates()
    county = tr[tr["level"] == "county"].pivot(index="county_code", columns="indicator", values="value")
    assert county["wrong_exit_rate"].between(0, 0.06).all()
    assert county["missed_rate"].between(0, 0.05).all()
    assert county["wrong_exit_rate"].max() > 0.02 > county["wrong_exit_rate"].min()
    # some counties pass and some fail the western poverty-incidence threshold (3 %)
    assert (county["poverty_incidence"] < 0.03).any() and (county["poverty_incidence"] > 0.03).any()


def _tiny():
    hh = pd.DataFrame({
        "household_id": ["h1", "h2", "h3", "h4", "h5", "h6"],
        "county_code": ["520101000000"] * 3 + ["520102000000"] * 3,
        "county_name": ["甲县"] * 3 + ["乙县"] * 3,
        "registry_status": ["poor", "exited", "not_registered", "exiting", "not_registered", "poor"],
        "hh_size": [4, 3, 5, 2, 6, 1],
    })
    truth = pd.DataFrame({
        "wrong_inclusion": [True, False, False, False, False, False],
        "missed": [False, False, True, False, False, False],
        "wrong_exit": [False, True, False, False, False, False],
        "satisfied": [True, False, False, True, False, True],
        "recognises": [True, True, False, True, True, False],
    }, index=pd.Index(hh["household_id"]))
    return Registry(hh, truth=truth)


def test_true_rates_hand_computation():
    r = true_rates(_tiny()).set_index(["level", "indicator", "county_code"])["value"]
    prov = lambda ind: r[("province", ind, None)] if ("province", ind, None) in r else r.xs(("province", ind), level=[0, 1]).iloc[0]
    # persons: poor 4+1=5, non-registered 5+6=11, exit (exited+exiting) 3+2=5, all 21
    assert prov("wrong_inclusion_rate") == pytest.approx(4 / 5)
    assert prov("missed_rate") == pytest.approx(5 / 11)
    assert prov("identification_accuracy") == pytest.approx(1 - (4 + 5) / 16)
    assert prov("wrong_exit_rate") == pytest.approx(3 / 5)
    assert prov("exit_accuracy") == pytest.approx(2 / 5)
    # households: registered h1 h2 h4 h6 -> satisfied h1 h4 h6 = 3/4; recognition 4/6
    assert prov("satisfaction") == pytest.approx(3 / 4)
    assert prov("recognition_rate") == pytest.approx(4 / 6)
    assert prov("poverty_incidence") == pytest.approx((5 + 5 + 3) / 21)
    c1 = r.xs(("county", "520101000000"), level=[0, 2])
    assert c1["wrong_exit_rate"] == pytest.approx(1.0)
    assert c1["poverty_incidence"] == pytest.approx((4 + 5 + 3) / 12)
    c2 = r.xs(("county", "520102000000"), level=[0, 2])
    assert c2["wrong_exit_rate"] == pytest.approx(0.0)
    assert c2["poverty_incidence"] == pytest.approx(1 / 9)


def _answers(**over):
    base = dict(hh_size=2, income_wage=8000.0, income_business=0.0, income_property=0.0,
                income_dibao=0.0, income_pension=0.0, income_subsidy=0.0, income_other_transfer=0.0,
                food_ok="yes", clothing_ok="yes", medical_insured="yes", medical_access="yes",
                housing_appraisal="A", housing_renovated="no", water_quantity="yes", water_quality="yes",
                water_access="yes", water_reliability="yes", neg_payroll="no", neg_cadre="no", neg_car="no",
                car_value=np.nan, neg_property="no", neg_business="no", satisfaction="satisfied",
                recognition="unsure")
    base.update(over)
    return base


def test_truth_flags_by_hand():
    line = 3000.0
    rows = {
        "ok": _answers(),                                             # 4000/person, all met
        "at_line": _answers(income_wage=6000.0),                      # exactly the line: not above
        "renovated": _answers(housing_appraisal="D", housing_renovated="yes"),
        "unsafe": _answers(housing_appraisal="C"),
        "car_small": _answers(income_wage=4000.0, neg_car="yes", car_value=29999.0),
        "car_big": _answers(income_wage=4000.0, neg_car="yes", car_value=30000.0),
        "rich_poor": _answers(income_wage=12001.0),                  # 6000.5 > 2 × line
        "kid": _answers(),
    }
    a = pd.DataFrame.from_dict(rows, orient="index")
    status = pd.Series({"ok": "exited", "at_line": "exited", "renovated": "exiting", "unsafe": "exited",
                        "car_small": "not_registered", "car_big": "not_registered",
                        "rich_poor": "poor", "kid": "exited"})
    members = pd.DataFrame({"household_id": ["kid", "kid"], "schooling": ["not_student", "dropout"],
                            "birth_date": pd.to_datetime(["1980-05-01", "2010-05-01"])})
    f = truth_flags(a, members, status, line, "2020-01-15")
    assert f.loc["ok", "meets_exit_standard"] and not f.loc["ok", "wrong_exit"]
    assert f.loc["at_line", "wrong_exit"]
    assert not f.loc["renovated", "wrong_exit"]
    assert f.loc["unsafe", "wrong_exit"]
    assert f.loc["car_small", "missed"] and not f.loc["car_small", "negative_hit"]
    assert f.loc["car_big", "negative_hit"] and not f.loc["car_big", "missed"]
    assert f.loc["rich_poor", "wrong_inclusion"]
    assert f.loc["kid", "wrong_exit"]  # a 9-year-old dropped out
    assert f["satisfied"].all() and not f["recognises"].any()


def test_age_is_completed_years():
    b = pd.Series(pd.to_datetime(["2005-01-15", "2005-01-16", "2004-02-29"]))
    assert _age(b, "2020-01-15").tolist() == [15, 14, 15]


def test_fingerprint_ignores_row_and_column_order(reg):
    hh = reg.households.sample(frac=1.0, random_state=1)
    hh = hh[list(reversed(hh.columns))]
    mm = reg.members.sample(frac=1.0, random_state=2)
    assert Registry(hh, mm).fingerprint == Registry(reg.households, reg.members).fingerprint
    changed = reg.households.copy()
    changed.loc[0, "hh_size"] = changed.loc[0, "hh_size"] + 1
    assert Registry(changed, reg.members).fingerprint != reg.fingerprint


def test_summary_counts(reg):
    s = reg.summary()
    assert s["households"].sum() == len(reg.households)
    assert s["persons"].sum() == reg.households["hh_size"].sum()
    assert {"county_name", "registry_status_label"} <= set(s.columns)
    assert set(s["registry_status_label"]) <= {v[0] for v in schema.REGISTRY_STATUS.values()}


def test_to_parquet_roundtrip(reg, tmp_path):
    path = reg.to_parquet(tmp_path / "reg.parquet")
    back = pd.read_parquet(path)
    assert len(back) == len(reg.households)
    assert (tmp_path / "reg.members.parquet").exists()


def test_parquet_keeps_year_and_province(reg, tmp_path):
    path = reg.to_parquet(tmp_path / "reg.parquet")
    back = ek.read_registry(path, members=tmp_path / "reg.members.parquet")
    assert back.meta["year"] == reg.meta["year"] == 2019
    assert back.meta["province_code"] == "52"
    assert back.meta["poverty_line"] == reg.meta["poverty_line"]
    assert back.fingerprint == reg.fingerprint
    # an explicit year wins over the stored one
    assert ek.read_registry(path, year=2018, checks="fast").meta["year"] == 2018
