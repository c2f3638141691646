"""Hand-made inputs for the questionnaire tests: one valid interview, a Sample stand-in.

Imported by the tests as ``qn_helpers`` (tests use importlib mode, so conftest is not importable)."""
from __future__ import annotations

import pandas as pd

from evalkit.questionnaire import variables as V

GROUP = {v.name: v.group for v in V.HOUSEHOLD_VARS}


def valid_row(household_id="520101001001", **over) -> dict:
    """A completed interview that passes every check of household.xlsx (values by hand)."""
    row = dict(household_id=household_id, enumerator="张三", team="T1",
               start="2020-01-15T09:00:00.000+08:00", end="2020-01-15T09:40:00.000+08:00",
               hh_type="poor", disposition="completed", consent="yes", hh_size="2",
               income_wage="10000", income_business="-500", income_property="0", income_dibao="1200",
               income_pension="0", income_subsidy="300", income_other_transfer="0",
               food_ok="yes", food_protein="yes", clothing_ok="yes", medical_insured="yes",
               medical_access="yes", housing_appraisal="A", water_quantity="yes", water_quality="yes",
               water_access="yes", water_reliability="yes", neg_payroll="no", neg_cadre="no",
               neg_car="no", neg_property="no", neg_business="no", assist_visited="yes",
               assist_measures="industry finance", knows_card="yes", knows_procedure="yes",
               satisfaction="satisfied", sat_team="satisfied", sat_cadre="very_satisfied",
               recognition="recognise", sat_identification="yes", car_value=None, housing_renovated=None, replaces=None)
    row.update(over)
    return row


def members_of(household_id, key=None, n=2):
    rows = [dict(name="户主", relation="head", sex="male", age="40", health="healthy", disability="none",
                 labour="able", work_away="no"),
            dict(name="配偶", relation="spouse", sex="female", age="38", health="chronic", disability="none",
                 labour="weak", work_away="yes"),
            dict(name="孩子", relation="child", sex="male", age="10", health="healthy", disability="none",
                 labour="none", schooling="primary")][:n]
    for i, r in enumerate(rows, 1):
        if key is None:
            r["household_id"] = household_id
            r["member_index"] = str(i)
        else:
            r["PARENT_KEY"] = key
            r["KEY"] = f"{key}/roster/member[{i}]"
    return rows


def central(df: pd.DataFrame) -> pd.DataFrame:
    """Household columns as ODK Central writes them (group-question)."""
    return df.rename(columns={c: f"{GROUP[c]}-{c}" for c in df.columns
                              if c in GROUP and c not in ("start", "end")})


class StandInSample:
    """Honours docs/contracts.md §5 for what ingestion uses (until evalkit.sampling lands)."""

    def __init__(self, households, replacements=None, teams=None, team_roster=None):
        self.households = households
        self.replacements = replacements if replacements is not None else pd.DataFrame(
            columns=["household_id", "replaced_by", "reason", "time"])
        self.teams = teams
        self.team_roster = team_roster


def stand_in_households(cells=(("520101001001", "poor", 3, 2),)):
    """``cells``: (village_code, registry_status, n_main, n_reserve); weight 10 per main."""
    rows = []
    for vil, status, n_main, n_res in cells:
        for k in range(n_main + n_res):
            rows.append(dict(household_id=f"{vil}{k + 1:04d}", village_code=vil, county_code=vil[:6] + "000000",
                             registry_status=status, cell=f"{vil}|{status}", rank=k + 1,
                             role="main" if k < n_main else "reserve", active=k < n_main,
                             weight=10.0 if k < n_main else float("nan"), hh_size=2))
    return pd.DataFrame(rows)


