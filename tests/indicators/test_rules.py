"""Classification rules on hand-made households; every expected flag worked out by hand
from docs/contracts.md §3 (line 2019 = 3,218 元)."""
import numpy as np
import pandas as pd
import pytest

from evalkit.errors import RuleError
from evalkit.indicators import lines
from evalkit.indicators.rules import MultidimensionalScore, RuleSet, classify_households

LINE = 3218.0


def hh(household_id, status="exited", size=2, wage=10000.0, **kw):
    """A household meeting every item, income 10,000/size per capita, unless overridden."""
    row = dict(household_id=household_id, registry_status=status, hh_size=size,
               income_wage=wage, income_business=0.0, income_property=0.0, income_dibao=0.0,
               income_pension=0.0, income_subsidy=0.0, income_other_transfer=0.0,
               food_ok="yes", food_protein="no", clothing_ok="yes", medical_insured="yes",
               medical_access="yes", housing_appraisal="A", housing_renovated="no",
               water_quantity="yes", water_quality="yes", water_access="yes", water_reliability="yes",
               neg_payroll="no", neg_cadre="no", neg_car="no", car_value=np.nan, neg_property="no",
               neg_business="no", satisfaction="satisfied", recognition="recognise")
    row.update(kw)
    return row


def roster(household_id, *people):
    return [dict(household_id=household_id, member_index=i + 1, age=a, schooling=s, labour=l)
            for i, (a, s, l) in enumerate(people)]


ADULTS = (("40", "not_student", "able"), ("38", "not_student", "able"))


def classify(rows, members, rules=None):
    d = pd.DataFrame(rows)
    m = pd.DataFrame(members)
    return classify_households(d, m, rules or RuleSet.default(2019, "52")).set_index("household_id")


def test_lines_table_and_errors():
    assert lines.poverty_line(2019) == 3218.0
    assert lines.poverty_line(2011) == 2536.0
    assert lines.poverty_line(2018, "53") == 3500.0  # Yunnan provincial exit standard
    assert lines.poverty_line(2018, "530102000000") == 3500.0  # 12-digit codes accepted
    assert lines.poverty_line(2018, "52") == 2995.0  # Guizhou: national line
    assert lines.poverty_line(2018, "53", kind="national") == 2995.0
    assert lines.poverty_line(2024, "53", kind="monitoring") == 8700.0
    std = lines.exit_standard(2018, "53")
    assert std.income_activity_required and std.verified == "no"
    assert "未核实" in repr(std)
    with pytest.raises(RuleError, match="line="):
        lines.poverty_line(2022, "52")
    with pytest.raises(RuleError):
        lines.poverty_line(2019, "52", kind="monitoring")
    assert lines.poverty_line(2022, "52", line=6000) == 6000.0
    t = lines.line_table()
    assert {"verified", "source"} <= set(t.columns)
    assert set(t.loc[t.kind == "national", "year"]) == set(range(2011, 2021))


def test_thresholds_by_region():
    w = lines.thresholds(2019, "52").set_index("indicator")
    c = lines.thresholds(2019, "34").set_index("indicator")
    assert w.loc["poverty_incidence", "threshold"] == 0.03
    assert c.loc["poverty_incidence", "threshold"] == 0.02
    assert w.loc["recognition_rate", "rule"] == ">="
    assert w.loc["recognition_rate", "threshold"] == 0.90
    assert w.loc["wrong_exit_rate", "threshold"] == 0.02 and w.loc["missed_rate", "rule"] == "<"
    with pytest.raises(RuleError):
        lines.thresholds(2019, "11")  # Beijing is not assessed


def test_borderline_income_equal_to_line_does_not_exit():
    # per-capita income exactly = line: the standard says *above* the line -> not met
    rows = [hh("eq", size=2, wage=2 * LINE), hh("above", size=2, wage=2 * LINE + 2)]
    r = classify(rows, roster("eq", *ADULTS) + roster("above", *ADULTS))
    assert r.loc["eq", "income_per_capita"] == LINE
    assert not r.loc["eq", "income_above_line"] and not r.loc["eq", "meets_exit_standard"]
    assert r.loc["eq", "wrong_exit"] and r.loc["eq", "failed_items"] == "收入未超过标准"
    assert r.loc["above", "meets_exit_standard"] and not r.loc["above", "wrong_exit"]


def test_school_age_child_out_of_school():
    kids = dict(
        dropout=("10", "dropout", "none"),     # aged 10, dropped out -> fails
        age16=("16", "not_student", "able"),   # 16 is past compulsory age -> ok
        age6=("6", "not_student", "none"),      # 6, not in school -> fails (6–15 inclusive)
        home=("12", "home_schooling", "none"),  # 送教上门 -> ok
        unable=("9", "unable", "none"),         # health exemption -> ok
        unknown=("11", None, "none"),           # status missing -> undetermined
    )
    rows, mem = [], []
    for k, child in kids.items():
        rows.append(hh(k, size=3, wage=30000))
        mem += roster(k, *ADULTS, child)
    r = classify(rows, mem)
    assert list(r["education_ok"].astype(object)) == [False, True, False, True, True, pd.NA]
    assert r.loc["dropout", "wrong_exit"] and r.loc["dropout", "failed_items"] == "义务教育未保障"
    assert r.loc["dropout", "out_of_school"] == "3号(10岁,dropout)"
    # income well above the line, education unknown: exit standard undetermined (NA), not guessed
    assert pd.isna(r.loc["unknown", "meets_exit_standard"]) and "义务教育" in r.loc["unknown", "missing_items"]


def test_unsafe_house_renovated_this_year_is_safe():
    rows = [hh("c_renov", housing_appraisal="C", housing_renovated="yes"),
            hh("d_not", housing_appraisal="D", housing_renovated="no"),
            hh("none_renov", housing_appraisal="not_appraised", housing_renovated="yes"),
            hh("b", housing_appraisal="B")]
    r = classify(rows, sum((roster(x["household_id"], *ADULTS) for x in rows), []))
    assert list(r["housing_ok"]) == [True, False, True, True]
    assert list(r["wrong_exit"]) == [False, True, False, False]


def test_missed_wrong_inclusion_negative_list():
    rows = [
        hh("nr_poor", status="not_registered", wage=2000),                 # eligible, no negatives -> missed
        hh("nr_poor_car", status="not_registered", wage=2000, neg_car="yes", car_value=50000),  # excluded
        hh("nr_cheap_car", status="not_registered", wage=2000, neg_car="yes", car_value=29999),  # car < 30k -> missed
        hh("nr_water", status="not_registered", wage=50000, water_quality="no"),  # rich but 2A3G fails -> missed
        hh("nr_ok", status="not_registered", wage=50000),
        hh("poor_payroll", status="poor", wage=2000, neg_payroll="yes"),   # wrong inclusion
        hh("poor_rich", status="poor", wage=4 * LINE + 2),                 # > 2 x line -> wrong inclusion
        hh("poor_2x", status="poor", wage=4 * LINE),                       # = 2 x line -> not
        hh("poor_ok", status="poor", wage=2000),
    ]
    r = classify(rows, sum((roster(x["household_id"], *ADULTS) for x in rows), []))
    assert list(r["missed"]) == [True, False, True, True, False, False, False, False, False]
    assert list(r["wrong_inclusion"]) == [False] * 5 + [True, True, False, False]
    assert r.loc["nr_poor_car", "negative_items"] == "拥有3万元以上车辆或机械"
    assert not r.loc["nr_cheap_car", "negative_hit"]
    # wrong_exit is only ever true for exited/exiting households
    assert not r["wrong_exit"].any()


def test_satisfaction_coding_and_configurable():
    rows = [hh(str(i), satisfaction=s, recognition=c) for i, (s, c) in enumerate(
        [("very_satisfied", "recognise"), ("satisfied", "basically"), ("neutral", "unsure"),
         ("dissatisfied", "not_recognise"), (None, None)])]
    mem = sum((roster(str(i), *ADULTS) for i in range(5)), [])
    r = classify(rows, mem)
    assert list(r["satisfied"].astype(object)) == [True, True, False, False, pd.NA]
    assert list(r["recognises"].astype(object)) == [True, True, False, False, pd.NA]
    loose = RuleSet.default(2019, "52", satisfaction_positive=("very_satisfied", "satisfied", "neutral"))
    r2 = classify(rows, mem, loose)
    assert list(r2["satisfied"].astype(object)) == [True, True, True, False, pd.NA]


def test_yunnan_2018_income_activity_rule():
    rules = RuleSet.default(2018, "53")
    assert rules.exit_standard.line == 3500.0
    rows = [
        hh("transfer_only", wage=0, income_dibao=8000.0),                  # labour, no activity -> fails
        hh("elderly_transfer", wage=0, income_pension=8000.0),             # no labour -> ok
        hh("wage", wage=8000),                                             # 4000 > 3500 and wage -> ok
        hh("between", wage=6800),                                          # 3400: above 2995 but below 3500
    ]
    mem = (roster("transfer_only", *ADULTS) + roster("elderly_transfer", ("75", "not_student", "unable"),
                                                     ("72", "not_student", "none"))
           + roster("wage", *ADULTS) + roster("between", *ADULTS))
    r = classify(rows, mem, rules)
    assert list(r["meets_exit_standard"]) == [False, True, True, False]
    assert r.loc["transfer_only", "failed_items"] == "有劳动力但无增收项目"
    # the national rule in 2018 would accept 'between' and 'transfer_only'
    r_nat = classify(rows, mem, RuleSet.default(2018, "52"))
    assert list(r_nat["meets_exit_standard"]) == [True, True, True, True]


def test_missing_answers_use_three_valued_logic():
    rows = [hh("low_income_no_house", wage=1000, housing_appraisal=None, housing_renovated=None),
            hh("high_income_no_house", wage=30000, housing_appraisal=None, housing_renovated=None),
            hh("no_income", wage=np.nan)]
    r = classify(rows, sum((roster(x["household_id"], *ADULTS) for x in rows), []))
    assert r.loc["low_income_no_house", "meets_exit_standard"] == False  # noqa: E712 income decides
    assert r.loc["low_income_no_house", "wrong_exit"] == True  # noqa: E712
    assert pd.isna(r.loc["high_income_no_house", "wrong_exit"])
    assert pd.isna(r.loc["no_income", "income_per_capita"]) and "收入" in r.loc["no_income", "missing_items"]
    assert len(r) == 3  # nothing dropped


def test_household_without_roster_is_flagged_not_dropped():
    rows = [hh("a"), hh("b")]
    r = classify(rows, roster("a", *ADULTS))
    assert r.loc["a", "education_ok"] and pd.isna(r.loc["b", "education_ok"])
    assert "roster" in r.loc["b", "missing_items"]


def test_ages_from_birth_date_at_survey_date():
    rows = [hh("x", size=3, wage=30000)]
    mem = pd.DataFrame([dict(household_id="x", person_id="p1", birth_date="1980-01-01", schooling="not_student", labour="able"),
                        dict(household_id="x", person_id="p2", birth_date="2013-11-23", schooling="dropout", labour="none")])
    # on 2019-11-22 the child is 5 (birthday tomorrow): not yet of compulsory age
    r = classify_households(pd.DataFrame(rows), mem, RuleSet.default(2019), survey_date="2019-11-22")
    assert bool(r["education_ok"].iloc[0])
    r = classify_households(pd.DataFrame(rows), mem, RuleSet.default(2019), survey_date="2019-11-23")
    assert not bool(r["education_ok"].iloc[0])
    with pytest.raises(RuleError, match="survey_date"):
        classify_households(pd.DataFrame(rows), mem, RuleSet.default(2019))


def test_four_looks_score():
    rules = RuleSet.default(2019, "52", score=MultidimensionalScore.four_looks())
    rows = [hh("all"), hh("no_house", housing_appraisal="D"), hh("weak", housing_appraisal="D"),
            hh("kid", size=3, wage=30000, food_ok="no")]
    mem = (roster("all", *ADULTS) + roster("no_house", *ADULTS)
           + roster("weak", ("60", "not_student", "weak"), ("58", "not_student", "unable"))
           + roster("kid", *ADULTS, ("9", "dropout", "none")))
    r = classify(rows, mem, rules)
    # all: 20+30+30+20 = 100; no_house: 80 (at risk, 80 is not "above 80"); weak: 30+15+20 = 65; kid: 20+30 = 50
    assert list(r["score"]) == [100.0, 80.0, 65.0, 50.0]
    assert list(r["score_class"]) == ["stable", "at_risk", "at_risk", "poor"]
    # score-based eligibility is optional
    rules2 = RuleSet.default(2019, "52", score=MultidimensionalScore.four_looks(eligibility=True))
    rows2 = [hh("nr", status="not_registered", wage=50000, housing_appraisal="D", food_ok="no")]
    r2 = classify(rows2, roster("nr", *ADULTS), rules2)
    assert r2.loc["nr", "score"] == 50.0 and r2.loc["nr", "missed"]


def test_ruleset_roundtrip_and_describe():
    rules = RuleSet.default(2019, "52", score=MultidimensionalScore.four_looks())
    d = rules.to_dict()
    assert d["resolved_line"] == LINE
    import json
    back = RuleSet.from_dict(json.loads(json.dumps(d)))
    assert back == rules
    desc = rules.describe()
    assert {"rule", "description_zh", "description_en", "parameter"} == set(desc.columns)
    assert "3,218" in desc.set_index("rule").loc["income", "parameter"]
    assert "3,218" in repr(rules)
    assert "<table" in rules._repr_html_() and "错评负面清单" in rules._repr_html_()
    with pytest.raises(RuleError):
        RuleSet.from_dict({"nonsense": 1})
    with pytest.raises(RuleError):
        classify_households(pd.DataFrame([hh("a")]), None, RuleSet.default(2023, "52"))


def test_result_independent_of_row_order():
    rows = [hh(str(i), status=s, wage=w) for i, (s, w) in enumerate(
        [("exited", 3000), ("poor", 20000), ("not_registered", 1000), ("exited", 9000)])]
    mem = sum((roster(str(i), *ADULTS, ("8", "primary" if i % 2 else "dropout", "none")) for i in range(4)), [])
    a = classify(rows, mem)
    b = classify(rows[::-1], mem[::-1]).loc[a.index]
    pd.testing.assert_frame_equal(a, b)
