"""Rates on a tiny hand-made design, checked against the textbook formulas written out here
(ratio estimator, with-replacement Taylor variance Σ_h n_h/(n_h−1) Σ_i (z_hi − z̄_h)², t CI with
df = #PSU − #strata, Korn–Graubard beta interval); docs/methodology/indicators.md §3–§4."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.indicators import decisions as D
from evalkit.indicators.rates import county_exit_check, two_rates_one_degree
from evalkit.indicators.rules import RuleSet

LINE = 3218.0
RULES = RuleSet.default(2019, "52")

#            id     stratum psu   w   status            size  kind
HOUSEHOLDS = [
    ("h01", "X", "a1", 10, "exited", 4, "ok"),
    ("h02", "X", "a1", 10, "exited", 3, "poor_income"),       # wrong exit
    ("h03", "X", "a1", 20, "not_registered", 5, "ok"),
    ("h04", "X", "a2", 10, "exited", 2, "ok"),
    ("h05", "X", "a2", 20, "not_registered", 4, "poor_income"),  # missed
    ("h06", "X", "a2", 5, "poor", 3, "poor_income"),
    ("h07", "X", "a3", 12, "exited", 5, "ok"),
    ("h08", "X", "a3", 25, "not_registered", 3, "ok"),
    ("h09", "X", "a3", 5, "poor", 2, "payroll"),              # wrong inclusion
    ("h10", "Y", "b1", 8, "exited", 3, "dropout"),             # wrong exit (education)
    ("h11", "Y", "b1", 15, "not_registered", 6, "ok"),
    ("h12", "Y", "b1", 8, "exiting", 2, "ok"),
    ("h13", "Y", "b2", 8, "exited", 4, "ok"),
    ("h14", "Y", "b2", 15, "not_registered", 2, "ok"),
    ("h15", "Y", "b2", 6, "poor", 5, "poor_income"),
]
RECOGNITION = ["recognise", "basically", "not_recognise", "recognise", "unsure", "recognise", "recognise",
               "recognise", "basically", "recognise", "recognise", "not_recognise", "recognise", "recognise",
               "recognise"]


def _answers():
    rows, mem = [], []
    for (hid, stratum, psu, w, status, size, kind), rec in zip(HOUSEHOLDS, RECOGNITION):
        wage = 1500.0 * size if kind == "poor_income" else 9000.0 * size
        rows.append(dict(household_id=hid, county_code=stratum, county_name=f"{stratum}县", stratum=stratum,
                         psu=psu, w=float(w), registry_status=status, hh_size=size, income_wage=wage,
                         income_business=0.0, income_property=0.0, income_dibao=0.0, income_pension=0.0,
                         income_subsidy=0.0, income_other_transfer=0.0, food_ok="yes", clothing_ok="yes",
                         medical_insured="yes", medical_access="yes", housing_appraisal="A",
                         housing_renovated="no", water_quantity="yes", water_quality="yes", water_access="yes",
                         water_reliability="yes", neg_payroll="yes" if kind == "payroll" else "no",
                         neg_cadre="no", neg_car="no", car_value=np.nan, neg_property="no", neg_business="no",
                         satisfaction="satisfied" if hid < "h08" else "neutral", recognition=rec))
        for i in range(size):
            sch = "dropout" if (kind == "dropout" and i == size - 1) else "not_student"
            mem.append(dict(household_id=hid, member_index=i + 1, age=10 if sch == "dropout" else 40,
                            schooling=sch, labour="able"))
    return pd.DataFrame(rows), pd.DataFrame(mem)


def responses():
    from evalkit.estimation.design import SurveyDesign

    data, mem = _answers()
    return SimpleNamespace(data=data, members=mem, design=SurveyDesign(data, weight="w", strata="stratum", psu="psu"))


def registry():
    #          county status          persons
    rows = [("X", "poor", 300), ("X", "not_registered", 2000), ("X", "exited", 650), ("X", "exiting", 50),
            ("Y", "poor", 200), ("Y", "not_registered", 1500), ("Y", "exited", 500)]
    hh = pd.DataFrame(rows, columns=["county_code", "registry_status", "hh_size"])
    hh["household_id"] = [f"r{i}" for i in range(len(hh))]
    hh["county_name"] = hh["county_code"] + "县"
    return SimpleNamespace(households=hh, meta={"year": 2019, "province_code": "52"}, fingerprint="test")


# --------------------------------------------------------------------- hand formulas
def wr_variance(z, strata, psu):
    """Σ_h n_h/(n_h−1) Σ_i (z_hi − z̄_h)² with z_hi the PSU totals (with-replacement, no fpc)."""
    f = pd.DataFrame({"z": z, "h": strata, "i": psu}).groupby(["h", "i"])["z"].sum().reset_index()
    v = 0.0
    for _, g in f.groupby("h"):
        n = len(g)
        v += n / (n - 1) * ((g["z"] - g["z"].mean()) ** 2).sum()
    return v


def hand_ratio(y, x, w, strata, psu, dom=None):
    dom = np.ones(len(y), bool) if dom is None else dom
    y, x = y * dom, x * dom
    X = (w * x).sum()
    R = (w * y).sum() / X
    z = w * (y - R * x) / X
    return R, np.sqrt(wr_variance(z, strata, psu))


def kg(p, se, n, df, level=0.95):
    a = (1 - level) / 2
    neff = p * (1 - p) / se ** 2 * (stats.t.ppf(a, n - 1) / stats.t.ppf(a, df)) ** 2
    return stats.beta.ppf(a, neff * p, neff * (1 - p) + 1), stats.beta.ppf(1 - a, neff * p + 1, neff * (1 - p))


@pytest.fixture(scope="module")
def tiny():
    data, _ = _answers()
    w = data["w"].to_numpy(float)
    size = data["hh_size"].to_numpy(float)
    st = data["registry_status"].to_numpy()
    hid = data["household_id"].to_numpy()
    return data, w, size, st, hid


def test_wrong_exit_rate_matches_hand_computation(tiny):
    data, w, size, st, hid = tiny
    res = two_rates_one_degree(responses(), RULES)
    t = res.table.set_index("indicator")
    exit_pop = np.isin(st, ["exited", "exiting"])
    flag = np.isin(hid, ["h02", "h10"])
    R, se = hand_ratio(size * flag, size * 1.0, w, data["stratum"], data["psu"], exit_pop)
    # by hand: Σw·size over exited = 10·4+10·3+10·2+12·5+8·3+8·2+8·4 = 222; flagged 10·3+8·3 = 54
    assert R == pytest.approx(54 / 222, rel=1e-14)
    row = t.loc["wrong_exit_rate"]
    assert row["estimate"] == pytest.approx(R, rel=1e-12)
    assert row["se"] == pytest.approx(se, rel=1e-10)
    assert row["df"] == 3 and row["n_households"] == 7 and row["n_persons"] == 23
    lo, hi = kg(R, se, 7, 3)
    assert row["ci_method"] == "korn-graubard"
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    ea = t.loc["exit_accuracy"]
    assert ea["estimate"] == pytest.approx(1 - R) and ea["ci_low"] == pytest.approx(1 - hi)


def test_identification_accuracy_and_parts(tiny):
    data, w, size, st, hid = tiny
    t = two_rates_one_degree(responses(), RULES).table.set_index("indicator")
    in_scope = np.isin(st, ["poor", "not_registered"])
    err = np.isin(hid, ["h05", "h09"])
    R, se = hand_ratio(size * err, size * 1.0, w, data["stratum"], data["psu"], in_scope)
    assert t.loc["identification_accuracy", "estimate"] == pytest.approx(1 - R, rel=1e-12)
    assert t.loc["identification_accuracy", "se"] == pytest.approx(se, rel=1e-10)
    Rm, sem = hand_ratio(size * (hid == "h05"), size * 1.0, w, data["stratum"], data["psu"], st == "not_registered")
    assert t.loc["missed_rate", "estimate"] == pytest.approx(Rm, rel=1e-12)
    assert t.loc["missed_rate", "se"] == pytest.approx(sem, rel=1e-10)
    Rw, _ = hand_ratio(size * (hid == "h09"), size * 1.0, w, data["stratum"], data["psu"], st == "poor")
    assert t.loc["wrong_inclusion_rate", "estimate"] == pytest.approx(Rw, rel=1e-12)  # 5·2/(5·3+5·2+6·5)


def test_satisfaction_is_a_household_rate(tiny):
    data, w, size, st, hid = tiny
    t = two_rates_one_degree(responses(), RULES).table.set_index("indicator")
    reg = np.isin(st, ["poor", "exited", "exiting"])
    sat = hid < "h08"
    R, se = hand_ratio(sat * 1.0, np.ones(len(w)), w, data["stratum"], data["psu"], reg)
    row = t.loc["satisfaction"]
    assert row["estimate"] == pytest.approx(R, rel=1e-12) and row["se"] == pytest.approx(se, rel=1e-10)
    assert row["n_households"] == reg.sum() and row["ci_method"] == "logit"
    q = stats.t.ppf(0.975, 3)
    lg = np.log(R / (1 - R))
    s = se / (R * (1 - R))
    assert row["ci_low"] == pytest.approx(1 / (1 + np.exp(-(lg - q * s))), rel=1e-9)


def test_county_exit_check_poverty_incidence_hand(tiny):
    data, w, size, st, hid = tiny
    res = county_exit_check(responses(), registry(), RULES)
    t = res.table
    strata, psu = data["stratum"], data["psu"]
    for county, P, Nnr, Nex in (("X", 300, 2000, 700), ("Y", 200, 1500, 500)):
        N = P + Nnr + Nex
        c = (data["county_code"] == county).to_numpy()
        nr, ex = (st == "not_registered") & c, np.isin(st, ["exited", "exiting"]) & c
        fm, fe = np.isin(hid, ["h05"]), np.isin(hid, ["h02", "h10"])
        rm = (w * size * fm * nr).sum() / (w * size * nr).sum()
        re = (w * size * fe * ex).sum() / (w * size * ex).sum()
        z = (Nnr / N * w * size * (fm - rm) * nr / (w * size * nr).sum()
             + Nex / N * w * size * (fe - re) * ex / (w * size * ex).sum())
        var = wr_variance(z, strata, psu)
        row = t[(t.indicator == "poverty_incidence") & (t.county_code == county)].iloc[0]
        assert row["estimate"] == pytest.approx((P + rm * Nnr + re * Nex) / N, rel=1e-12)
        if county == "X":  # both rates have events: pure linearization, df = 3 PSUs − 1 stratum
            assert row["se"] == pytest.approx(np.sqrt(var), rel=1e-9)
            assert row["df"] == 2
            # interval: Korn–Graubard on π = (PI − P/N)/c, c = (N_nr + N_ex)/N, the share of wrongly
            # classified persons among non-registered + exited persons; n = 7 such households in X
            c_ = (Nnr + Nex) / N
            pi_ = (row["estimate"] - P / N) / c_
            lo, hi = kg(pi_, row["se"] / c_, 7, 2)
            assert row["ci_method"] == "korn-graubard"
            assert row["ci_low"] == pytest.approx(P / N + c_ * lo, rel=1e-9)
            assert row["ci_high"] == pytest.approx(P / N + c_ * hi, rel=1e-9)
        else:  # no missed household sampled in Y: zero-event term ((N_nr/N)·upper/t)² added
            mrow = t[(t.indicator == "missed_rate") & (t.county_code == "Y")].iloc[0]
            assert mrow["estimate"] == 0 and mrow["ci_high"] > 0
            q = stats.t.ppf(0.975, 1)
            extra = (Nnr / N * mrow["ci_high"] / q) ** 2
            assert row["se"] == pytest.approx(np.sqrt(var + extra), rel=1e-9)


def test_zero_event_county_gets_exact_upper_bound(tiny):
    data, w, size, st, hid = tiny
    res = county_exit_check(responses(), registry(), RULES)
    t = res.table
    prov = t[(t.indicator == "missed_rate") & t.county_code.isna()].iloc[0]
    y = t[(t.indicator == "missed_rate") & (t.county_code == "Y")].iloc[0]
    # province design effect of the household-level rate, then the exact bound on n_eff
    p, se, n_prov = prov["estimate"], prov["se"], prov["n_households"]
    deff = se ** 2 / (p * (1 - p) / n_prov)
    n = y["n_households"] / max(1.0, deff)
    n_adj = min(n, n * (stats.t.ppf(0.025, n - 1) / stats.t.ppf(0.025, y["df"])) ** 2)
    assert y["n_households"] == 2 and y["df"] == 1
    assert y["ci_low"] == 0.0
    assert y["ci_high"] == pytest.approx(1 - 0.025 ** (1 / n_adj), rel=1e-9)


def test_thresholds_and_verdicts(tiny):
    res = county_exit_check(responses(), registry(), RULES)
    t = res.table
    assert set(t["indicator"]) == {"poverty_incidence", "wrong_exit_rate", "missed_rate", "recognition_rate"}
    pi = t[t.indicator == "poverty_incidence"]
    assert (pi["threshold"] == 0.03).all() and (pi["threshold_rule"] == "<").all()
    rr = t[t.indicator == "recognition_rate"]
    assert (rr["threshold"] == 0.90).all() and (rr["threshold_rule"] == ">=").all()
    expect = D.decide(t["estimate"], t["ci_low"], t["ci_high"], t["threshold"], t["threshold_rule"])
    assert list(t["decision"]) == list(expect)
    v = res.verdicts.set_index("county_code")
    for c in ("X", "Y"):
        decs = t.loc[t.county_code == c, "decision"].tolist()
        assert v.loc[c, "decision"] == D.overall(decs)
    assert list(res.table.columns[:5]) == ["indicator", "label", "label_en", "county_code", "county_name"]
    # a central province gets the 2 % poverty-incidence threshold
    res_c = county_exit_check(responses(), registry(), RuleSet.default(2019, "34"))
    assert (res_c.table.query("indicator == 'poverty_incidence'")["threshold"] == 0.02).all()


def test_decide_rules():
    est = [0.01, 0.01, 0.03, 0.03, 0.019, 0.95, 0.92, 0.85, 0.89, np.nan]
    lo = [0.005, 0.005, 0.021, 0.02, 0.01, 0.91, 0.88, 0.80, 0.86, np.nan]
    hi = [0.019, 0.02, 0.04, 0.04, 0.025, 0.98, 0.95, 0.899, 0.91, np.nan]
    thr = [0.02] * 5 + [0.90] * 4 + [0.02]
    rule = ["<"] * 5 + [">="] * 4 + ["<"]
    got = list(D.decide(est, lo, hi, thr, rule))
    assert got == ["pass",          # CI entirely below 2 %
                   "inconclusive",  # upper bound equals the threshold: not entirely below
                   "fail",          # estimate ≥ 2 % and CI excludes 2 %
                   "inconclusive",  # lower bound equals the threshold
                   "inconclusive",  # estimate below, CI straddles
                   "pass", "inconclusive", "fail", "inconclusive", "inconclusive"]
    assert D.decide([0.5], [0.4], [0.6], [np.nan], [None])[0] is None
    assert D.overall(["pass", "pass", "pass", "pass"]) == "pass"
    assert D.overall(["pass", "inconclusive", "pass", "pass"]) == "inconclusive"
    assert D.overall(["pass", "inconclusive", "fail", "pass"]) == "fail"
    r = D.reasons([0.01], [0.005], [0.019], [0.02], ["<"], ["pass"])[0]
    assert "1.00%" in r and "1.90%" in r and "2.00%" in r and "pass" in r


def test_row_order_does_not_matter():
    from evalkit.estimation.design import SurveyDesign

    a = county_exit_check(responses(), registry(), RULES).table
    data, mem = _answers()
    perm = np.random.default_rng(5).permutation(len(data))
    d2 = data.iloc[perm].reset_index(drop=True)
    resp2 = SimpleNamespace(data=d2, members=mem.iloc[::-1], design=SurveyDesign(d2, weight="w", strata="stratum", psu="psu"))
    b = county_exit_check(resp2, registry(), RULES).table
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
