"""End to end on the synthetic province with known truth (contracts §2):
the rules reproduce the hidden flags exactly; a census reproduces `true_rates()` exactly; the
composite poverty incidence agrees with the estimation engine's `linear_combination` (itself
checked against R `svycontrast`); and a small repeated-sampling run shows no bias and sane
coverage (the large run with its figures is benchmarks/bench_coverage.py)."""
import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.indicators import simulation as S
from evalkit.indicators.rates import ALL, county_exit_check
from evalkit.indicators.rules import RuleSet, classify_households


@pytest.fixture(scope="module")
def reg():
    return ek.synthetic_registry(seed=3, n_counties=2, households_per_county=(3000, 4000))


def test_rules_reproduce_the_hidden_truth_exactly(reg):
    ans = reg.truth.join(reg.households.set_index("household_id")["registry_status"])
    rules = RuleSet.default(reg.meta["year"], reg.meta["province_code"])
    assert rules.exit_standard.line == reg.meta["poverty_line"]
    c = classify_households(ans, reg.members, rules, survey_date=reg.meta["survey_date"])
    assert len(c) == len(reg.truth)
    for flag in ("two_assurances_three_guarantees", "meets_exit_standard", "is_eligible", "negative_hit",
                 "wrong_exit", "missed", "wrong_inclusion", "recognises"):
        got = c[flag].astype("boolean")
        assert got.notna().all(), flag
        np.testing.assert_array_equal(got.to_numpy(bool), reg.truth[flag].to_numpy(bool), err_msg=flag)
    # satisfaction is asked of registered households only: unanswered → NA, never 'satisfied'
    np.testing.assert_array_equal(c["satisfied"].fillna(False).to_numpy(bool), reg.truth["satisfied"].to_numpy(bool))
    np.testing.assert_allclose(c["income_per_capita"], reg.truth["income_per_capita"], rtol=1e-12)
    # every flag comes with its reason
    we = c[c["wrong_exit"].to_numpy(bool)]
    assert len(we) > 0 and (we["failed_items"] != "").all()


def test_census_reproduces_true_rates(reg):
    hh = reg.households.assign(stratum=reg.households["county_code"], w=1.0)
    resp = S.responses_from_truth(reg, hh, dict(weight="w", strata="stratum", psu="village_code"))
    t = county_exit_check(resp, reg, indicators=ALL).table
    tr = reg.true_rates()
    key_t = tr["indicator"] + "|" + tr["county_code"].fillna("P").astype(str)
    key_e = t["indicator"] + "|" + t["county_code"].astype("string").fillna("P").astype(str)
    truth = pd.Series(tr["value"].to_numpy(), index=key_t.to_numpy())
    np.testing.assert_allclose(t["estimate"].to_numpy(float), truth.reindex(key_e.to_numpy()).to_numpy(float),
                               rtol=1e-12, atol=1e-15)
    assert len(t) == 8 * 3


def test_poverty_incidence_matches_linear_combination(reg):
    from evalkit.estimation.combine import linear_combination
    from evalkit.indicators.rates import registry_totals

    smp = S.draw_simple_sample(reg, seed=11, villages_per_stratum=5)
    resp = S.responses_from_truth(reg, smp)
    res = county_exit_check(resp, reg)
    hh = res.households
    size = hh["hh_size"].to_numpy(float)
    st = hh["registry_status"].to_numpy(object)
    d = hh.assign(y_m=size * hh["missed"].to_numpy(bool), x_m=size * (st == "not_registered"),
                  y_e=size * hh["wrong_exit"].to_numpy(bool), x_e=size * np.isin(st, ["exited", "exiting"]))
    des = ek.SurveyDesign(d, **S.DESIGN_SPEC)
    tot = registry_totals(reg, ["county_code"])
    tot = tot[tot["_level"] == "domain"].set_index("county_code")
    N = tot["persons_all"]
    lc = linear_combination(des, [dict(y="y_m", denominator="x_m", coef=tot["persons_not_registered"] / N),
                                  dict(y="y_e", denominator="x_e", coef=tot["persons_exit"] / N)],
                            by="county_code", constant=tot["persons_poor"] / N).set_index("county_code")
    t = res.table[(res.table.indicator == "poverty_incidence") & res.table.county_code.notna()].set_index("county_code")
    events = res.extra[(res.extra.indicator.isin(["missed_rate", "wrong_exit_rate"])) & res.extra.county_code.notna()]
    for c in t.index:
        assert t.loc[c, "estimate"] == pytest.approx(lc.loc[c, "estimate"], rel=1e-12)
        if (events.loc[events.county_code == c, "n_events"] > 0).all():
            assert t.loc[c, "se"] == pytest.approx(lc.loc[c, "se"], rel=1e-9)
            assert t.loc[c, "df"] == lc.loc[c, "df"]
        else:  # zero-event component: our SE adds its exact-bound term, never less than the linearization
            assert t.loc[c, "se"] > lc.loc[c, "se"]


@pytest.mark.slow
def test_repeated_sampling_unbiased_with_sane_coverage(reg):
    reps = 20
    sim = S.coverage_simulation(reg, n_reps=reps, seed=7, villages_per_stratum=5)
    summ = S.summarise(sim).set_index(["indicator", "level"])
    prov = summ.xs("province", level="level")
    assert len(prov) == 8 and (prov["reps"] == reps).all()
    # unbiased: province mean estimate within 2 Monte Carlo SE of the truth, for every indicator
    assert (prov["max_abs_bias_z"].abs() < 2).all(), prov["max_abs_bias_z"]
    # coverage: with 20 replicates a 95 % interval covering < 17 times has probability < 2 %
    assert (prov["coverage"] >= 17 / 20).all(), prov["coverage"]
    county = summ.xs("county", level="level")
    assert (county["coverage"] >= 0.85).all(), county["coverage"]
    # SEs track the real sampling variability (empirical SD / mean SE near 1)
    assert ((prov["sd_over_se"] > 0.6) & (prov["sd_over_se"] < 1.5)).all(), prov["sd_over_se"]
