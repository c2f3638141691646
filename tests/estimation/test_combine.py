"""linear_combination vs R svycontrast(svyratio(..., covmat=TRUE)) per domain, plus identities."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.errors import DesignError
from evalkit.estimation.combine import linear_combination

REF = Path(__file__).parent / "reference"
NAME = "0.1+0.5*R1+2e-4*R2"


@pytest.fixture(scope="module")
def ref():
    t = pd.read_csv(REF / "reference_values.csv", dtype={"domain": str}, keep_default_na=False)
    return {(r.case, r.variable, r.domain, r.quantity): float(r.value) for r in t.itertuples()}


@pytest.fixture(scope="module")
def des():
    return ek.SurveyDesign(pd.read_csv(REF / "synth.csv"), weight="w", strata="stratum", psu="psu")


TERMS = [dict(y="yp", denominator="x", coef=0.5), dict(y="inc", denominator="x", coef=2e-4)]


def test_whole_sample_matches_svycontrast(des, ref):
    r = linear_combination(des, TERMS, constant=0.1)
    np.testing.assert_allclose(r["estimate"], ref[("combo", NAME, "", "estimate")], rtol=1e-10)
    np.testing.assert_allclose(r["se"], ref[("combo", NAME, "", "se")], rtol=1e-8)
    assert r["df"].iloc[0] == 21
    # components are the ratios themselves
    np.testing.assert_allclose(r["yp/x"], des.estimate("yp", denominator="x")["estimate"], rtol=1e-14)


def test_domains_match_svycontrast_on_subsets(des, ref):
    r = linear_combination(des, TERMS, by="d", constant=0.1)
    for _, row in r.iterrows():
        np.testing.assert_allclose(row["estimate"], ref[("combo", NAME, row.d, "estimate")], rtol=1e-10)
        np.testing.assert_allclose(row["se"], ref[("combo", NAME, row.d, "se")], rtol=1e-8)
        assert row["df"] == ref[("combo", NAME, row.d, "df")]
    from scipy import stats
    q = stats.t.isf(0.025, r["df"])
    np.testing.assert_allclose(r["ci_high"] - r["estimate"], q * r["se"], rtol=1e-12)


def test_mean_plus_ratio_matches_svycontrast(des, ref):
    r = linear_combination(des, [(0.3, "y"), (0.7, "yp", "x")])
    np.testing.assert_allclose(r["estimate"], ref[("combo2", "0.3*mean(y)+0.7*R(yp/x)", "", "estimate")], rtol=1e-12)
    np.testing.assert_allclose(r["se"], ref[("combo2", "0.3*mean(y)+0.7*R(yp/x)", "", "se")], rtol=1e-8)


def test_domain_specific_constants_equal_separate_fits(des):
    """b_{k,d} and a_d differ by domain: each domain equals the scalar fit with its own constants."""
    b1 = pd.Series({"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8})
    b2 = pd.DataFrame({"d": list("ABCD"), "value": [1e-4, 2e-4, 3e-4, 4e-4]})
    a = pd.Series({"A": 0.01, "B": 0.02, "C": 0.03, "D": 0.04})
    r = linear_combination(des, [dict(y="yp", denominator="x", coef=b1),
                                 dict(y="inc", denominator="x", coef=b2)], by="d", constant=a)
    for i, d in enumerate("ABCD"):
        one = linear_combination(des, [dict(y="yp", denominator="x", coef=b1[d]),
                                       dict(y="inc", denominator="x", coef=b2.value[i])],
                                 by="d", constant=a[d])
        row = one[one.d == d].iloc[0]
        got = r[r.d == d].iloc[0]
        np.testing.assert_allclose(got[["estimate", "se"]].astype(float),
                                   row[["estimate", "se"]].astype(float), rtol=1e-13)


def test_covariance_is_included(des):
    """R − R has SE 0 and 2R has twice R's SE (a variance sum would give √2·SE and 2·SE)."""
    r = linear_combination(des, [(1.0, "yp", "x"), (-1.0, "yp", "x")], by="d")
    assert np.all(np.abs(r["estimate"]) < 1e-15) and np.all(r["se"] < 1e-15)
    r2 = linear_combination(des, [(1.0, "yp", "x"), (1.0, "yp", "x")], by="d")
    one = des.estimate("yp", denominator="x", by="d")
    np.testing.assert_allclose(r2["se"], 2 * one["se"], rtol=1e-12)


def test_clip_and_errors(des):
    r = linear_combination(des, [(1.0, "y")], by="d", constant=-0.01, clip=True)
    assert (r["ci_low"] >= 0).all() and (r["ci_high"] <= 1).all()
    with pytest.raises(DesignError, match="no value for domain"):
        linear_combination(des, [dict(y="y", coef=pd.Series({"A": 1.0}))], by="d")
    with pytest.raises(DesignError, match="not in the data"):
        linear_combination(des, [(1.0, "nope")])


def test_jackknife_combination_matches_svycontrast_on_jkn(des, ref):
    r = linear_combination(des, TERMS, constant=0.1, variance="jackknife")
    np.testing.assert_allclose(r["estimate"], ref[("combo_jkn", NAME, "", "estimate")], rtol=1e-10)
    np.testing.assert_allclose(r["se"], ref[("combo_jkn", NAME, "", "se")], rtol=1e-8)


def test_replicate_combination_keeps_covariances(des):
    for kw in (dict(variance="jackknife"), dict(variance="bootstrap", replicates=300, seed=4)):
        r = linear_combination(des, [(1.0, "yp", "x"), (-1.0, "yp", "x")], by="d", **kw)
        assert np.all(r["se"] < 1e-12)
        r2 = linear_combination(des, [(2.0, "yp", "x")], by="d", **kw)
        one = des.estimate("yp", denominator="x", by="d", **kw)
        np.testing.assert_allclose(r2["se"], 2 * one["se"], rtol=1e-10)
