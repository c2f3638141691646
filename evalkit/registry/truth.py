"""Hidden truth of a synthetic registry: true flags per household and exact population rates.

This is a deliberately separate, minimal implementation of the default rules of
docs/contracts.md §3 (DOMAIN.md §0). The indicator module implements the same rules as
configurable data; the two are compared in the tests, and simulations check estimates
against :func:`true_rates`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.questionnaire.variables import INCOME_PARTS, WATER_ITEMS

CAR_VALUE_LIMIT = 30_000.0
FAR_ABOVE_FACTOR = 2.0
EXIT_STATUSES = ("exited", "exiting")
REGISTERED = ("poor", "exited", "exiting")


def _yes(s: pd.Series) -> np.ndarray:
    return (s == "yes").to_numpy()


def truth_flags(answers: pd.DataFrame, members: pd.DataFrame | None, status: pd.Series,
                line: float, survey_date) -> pd.DataFrame:
    """True flags (contract §3) from true answers (indexed by household_id), the true roster
    and the registry status (aligned on the same index)."""
    idx = answers.index
    income_pc = answers[list(INCOME_PARTS)].sum(axis=1).to_numpy() / answers["hh_size"].to_numpy()
    food = _yes(answers["food_ok"]) & _yes(answers["clothing_ok"])
    medical = _yes(answers["medical_insured"]) & _yes(answers["medical_access"])
    housing = answers["housing_appraisal"].isin(["A", "B"]).to_numpy() | _yes(answers["housing_renovated"])
    water = np.logical_and.reduce([_yes(answers[c]) for c in WATER_ITEMS])
    education = np.ones(len(idx), dtype=bool)
    if members is not None and len(members):
        age = _age(members["birth_date"], survey_date)
        bad = (age >= 6) & (age <= 15) & members["schooling"].isin(["dropout", "not_student"]).to_numpy()
        bad_hh = pd.Index(members.loc[bad, "household_id"].unique())
        education = ~idx.isin(bad_hh)
    ok_2a3g = food & medical & housing & water & education
    meets_exit = (income_pc > line) & ok_2a3g
    car = _yes(answers["neg_car"]) & (answers["car_value"].fillna(0).to_numpy() >= CAR_VALUE_LIMIT)
    negative = (_yes(answers["neg_payroll"]) | _yes(answers["neg_cadre"]) | car
                | _yes(answers["neg_property"]) | _yes(answers["neg_business"]))
    st = status.reindex(idx).to_numpy()
    eligible = ~meets_exit
    out = pd.DataFrame({
        "income_per_capita": income_pc,
        "two_assurances_three_guarantees": ok_2a3g,
        "is_eligible": eligible,
        "meets_exit_standard": meets_exit,
        "negative_hit": negative,
        "wrong_exit": np.isin(st, EXIT_STATUSES) & ~meets_exit,
        "missed": (st == "not_registered") & eligible & ~negative,
        "wrong_inclusion": (st == "poor") & (negative | (income_pc > FAR_ABOVE_FACTOR * line)),
        "satisfied": answers["satisfaction"].isin(["very_satisfied", "satisfied"]).to_numpy(),
        "recognises": answers["recognition"].isin(["recognise", "basically"]).to_numpy(),
    }, index=idx)
    return out


def _age(birth_date: pd.Series, survey_date) -> np.ndarray:
    """Completed years of age at ``survey_date`` (vectorised)."""
    b = pd.to_datetime(birth_date)
    d = pd.Timestamp(survey_date)
    age = d.year - b.dt.year
    before_birthday = (b.dt.month > d.month) | ((b.dt.month == d.month) & (b.dt.day > d.day))
    return (age - before_birthday.astype(int)).to_numpy()


def true_rates(registry) -> pd.DataFrame:
    """Exact population values of every indicator code (DOMAIN.md §0) by county and overall.

    Columns: indicator, level ('province' | 'county'), county_code, county_name, value,
    numerator, denominator (persons for person rates, households for household rates).
    """
    hh = registry.households.set_index("household_id")
    t = registry.truth.reindex(hh.index)
    size = hh["hh_size"].astype(float)
    status = hh["registry_status"]
    frame = pd.DataFrame({
        "county_code": hh["county_code"],
        "persons": size,
        "households": 1.0,
        "poor_p": size * (status == "poor"),
        "nonreg_p": size * (status == "not_registered"),
        "exit_p": size * status.isin(EXIT_STATUSES),
        "reg_h": status.isin(REGISTERED).astype(float),
        "wrong_incl_p": size * t["wrong_inclusion"],
        "missed_p": size * t["missed"],
        "wrong_exit_p": size * t["wrong_exit"],
        "satisfied_h": (status.isin(REGISTERED) & t["satisfied"]).astype(float),
        "recognises_h": t["recognises"].astype(float),
    })
    names = hh.groupby("county_code")["county_name"].first() if "county_name" in hh else None
    rows = []
    groups = [("province", None, frame.sum(numeric_only=True))]
    for code, sums in frame.groupby("county_code").sum(numeric_only=True).iterrows():
        groups.append(("county", code, sums))
    for level, code, s in groups:
        def add(ind, num, den):
            rows.append({"indicator": ind, "level": level, "county_code": code,
                         "county_name": None if code is None or names is None else names.get(code),
                         "value": num / den if den > 0 else np.nan,
                         "numerator": num, "denominator": den})
        in_scope = s["poor_p"] + s["nonreg_p"]
        add("wrong_inclusion_rate", s["wrong_incl_p"], s["poor_p"])
        add("missed_rate", s["missed_p"], s["nonreg_p"])
        add("identification_accuracy", in_scope - s["wrong_incl_p"] - s["missed_p"], in_scope)
        add("wrong_exit_rate", s["wrong_exit_p"], s["exit_p"])
        add("exit_accuracy", s["exit_p"] - s["wrong_exit_p"], s["exit_p"])
        add("satisfaction", s["satisfied_h"], s["reg_h"])
        add("recognition_rate", s["recognises_h"], s["households"])
        add("poverty_incidence", s["poor_p"] + s["missed_p"] + s["wrong_exit_p"], s["persons"])
    return pd.DataFrame(rows)
