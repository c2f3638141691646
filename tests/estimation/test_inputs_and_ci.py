"""Bad input fails loudly (naming the column); CI helpers against independent formulas;
bootstrap in distribution; SurveyDesign API."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import evalkit as ek
from evalkit.errors import DesignError, EvalkitError
from evalkit.estimation.ci import proportion_ci, t_ci

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def synth():
    return pd.read_csv(REF / "synth.csv")


KW = dict(weight="w", strata="stratum", psu="psu")


# ---- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("kw,col", [(dict(weight="wt"), "wt"), (dict(strata="str"), "str"),
                                    (dict(psu="village"), "village"), (dict(fpc="N"), "N")])
def test_missing_design_column(synth, kw, col):
    with pytest.raises(DesignError, match=f"'{col}'"):
        ek.estimate(synth, "y", **{**KW, **kw})


def test_missing_y_or_by_column(synth):
    with pytest.raises(DesignError, match="'nope'"):
        ek.estimate(synth, "nope", **KW)
    with pytest.raises(DesignError, match="'county'"):
        ek.estimate(synth, "y", by="county", **KW)


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_bad_weights(synth, bad):
    d = synth.copy()
    d.loc[3, "w"] = bad
    with pytest.raises(DesignError, match="'w'.*row 5|'w'.*rows \\[5\\]"):
        ek.estimate(d, "y", **KW)


def test_non_numeric_y(synth):
    d = synth.assign(ys=np.where(synth.y == 1, "是", "否"))
    with pytest.raises(DesignError, match="'ys'.*numeric"):
        ek.estimate(d, "ys", **KW)


def test_non_binary_y_with_proportion_method(synth):
    with pytest.raises(DesignError, match="'inc'.*wald"):
        ek.estimate(synth, "inc", ci_method="logit", **KW)
    r = ek.estimate(synth, "inc", ci_method="wald", **KW)
    lo, hi = t_ci(r.estimate, r.se, r.df, 0.95)
    assert r.ci_low.iloc[0] == lo[0] and r.ci_high.iloc[0] == hi[0]
    # a ratio with 0 ≤ y ≤ x is a proportion (persons in flagged households / persons)
    ek.estimate(synth, "yp", denominator="x", ci_method="korn-graubard", **KW)
    with pytest.raises(DesignError, match="0 ≤ inc ≤ x"):
        ek.estimate(synth, "inc", denominator="x", ci_method="logit", **KW)


def test_fpc_smaller_than_sampled_psus(synth):
    d = synth.assign(N=2)   # stratum 2 has 3 sampled PSUs
    with pytest.raises(DesignError, match="'N'.*sampled"):
        ek.estimate(d, "y", fpc="N", **KW)


def test_fpc_varying_within_stratum(synth):
    d = synth.assign(N=np.where(synth.index == 0, 100, 50))
    with pytest.raises(DesignError, match="varies within"):
        ek.estimate(d, "y", fpc="N", **KW)


def test_missing_y_needs_na_rm_and_then_equals_the_answered_domain(synth):
    d = synth.copy()
    d.loc[[0, 7, 30], "inc"] = np.nan
    with pytest.raises(DesignError, match="'inc'.*3 missing.*\\[2, 9, 32\\]"):
        ek.estimate(d, "inc", ci_method="wald", **KW)
    r = ek.estimate(d, "inc", ci_method="wald", na_rm=True, **KW)
    dd = d.assign(answered=d.inc.notna().map({True: "yes", False: "no"}), inc=d.inc.fillna(0))
    dom = ek.estimate(dd, "inc", by="answered", ci_method="wald", **KW)
    yes = dom[dom.answered == "yes"].iloc[0]
    np.testing.assert_allclose(r[["estimate", "se"]].iloc[0].astype(float),
                               yes[["estimate", "se"]].astype(float), rtol=1e-13)
    assert r.n.iloc[0] == len(d) - 3


def test_missing_by_values(synth):
    d = synth.astype({"d": object})
    d.loc[4, "d"] = None
    with pytest.raises(DesignError, match="'d'.*missing.*\\[6\\]"):
        ek.estimate(d, "y", by="d", **KW)


def test_errors_are_evalkit_errors(synth):
    with pytest.raises(EvalkitError):
        ek.estimate(synth, "y", ci_method="bogus", **KW)
    with pytest.raises(EvalkitError):
        ek.estimate(synth, "y", variance="bogus", **KW)
    with pytest.raises(EvalkitError, match="seed"):
        ek.estimate(synth, "y", variance="bootstrap", **KW)


def test_second_stage_lonely_unit_fails_like_r():
    d = pd.DataFrame({"v": [1, 1, 2, 2, 2], "h": [1, 2, 1, 2, 3], "w": 1.0, "y": [1, 0, 1, 1, 0],
                      "f1": 10, "f2": [5, 5, 8, 8, 8]})
    d = pd.concat([d, pd.DataFrame({"v": [3], "h": [1], "w": [1.0], "y": [1], "f1": [10], "f2": [4]})])
    with pytest.raises(DesignError, match="stage 2"):
        ek.estimate(d, "y", weight="w", psu=["v", "h"], fpc=["f1", "f2"])
    # a census at stage 2 (f2 = 1 household in the village) is not lonely (R: f < 1e-7)
    d.loc[d.v == 3, "f2"] = 1
    r = ek.estimate(d, "y", weight="w", psu=["v", "h"], fpc=["f1", "f2"], ci_method="wald")
    assert np.isfinite(r.se.iloc[0])


# ---- output shape ---------------------------------------------------------------------
def test_output_columns_list_y_and_design_object(synth):
    des = ek.SurveyDesign(synth, **KW)
    r = ek.estimate(des, ["y", "rare"], by="d")
    assert list(r.columns) == ["variable", "d", "estimate", "se", "ci_low", "ci_high", "df", "n",
                               "deff", "ci_exact_fallback"]
    assert len(r) == 8 and r.variable.tolist() == ["y"] * 4 + ["rare"] * 4
    r1 = des.estimate("y", by="d")
    pd.testing.assert_frame_equal(r[r.variable == "y"].drop(columns="variable").reset_index(drop=True), r1)
    assert SurveyDesignRoundTrip(des)
    assert "df = 21" in repr(des) and "<table>" in des._repr_html_()
    with pytest.raises(DesignError, match="do not pass"):
        ek.estimate(des, "y", weight="w")
    tot = des.estimate("x", statistic="total", by="d")
    np.testing.assert_allclose(tot.estimate, synth.groupby("d").apply(lambda g: (g.w * g.x).sum()).to_numpy())


def SurveyDesignRoundTrip(des):
    again = ek.SurveyDesign(des.data, **des.spec)
    return again.spec == des.spec and again.degf == des.degf


# ---- CI helpers vs independent implementations -------------------------------------------
@pytest.mark.parametrize("x,n", [(0, 30), (1, 30), (7, 50), (50, 50), (3, 400)])
def test_kg_equals_clopper_pearson_for_srs(x, n):
    """With se² = p(1−p)/n and df = n−1, Korn–Graubard is Clopper–Pearson (statsmodels 'beta')."""
    p = x / n
    lo, hi, fb = proportion_ci(p, np.sqrt(p * (1 - p) / n), n - 1, n, "korn-graubard")
    elo, ehi = proportion_confint(x, n, alpha=0.05, method="beta")
    np.testing.assert_allclose([lo[0], hi[0]], [elo, ehi], rtol=1e-10, atol=1e-15)
    assert fb[0] == (x in (0, n))


@pytest.mark.parametrize("x,n", [(1, 30), (7, 50), (33, 400)])
def test_wilson_with_infinite_df_equals_textbook_wilson(x, n):
    p = x / n
    lo, hi, _ = proportion_ci(p, np.sqrt(p * (1 - p) / n), np.inf, n, "wilson")
    elo, ehi = proportion_confint(x, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose([lo[0], hi[0]], [elo, ehi], rtol=1e-12)


def test_wilson_uses_t_and_effective_n():
    p, se, df = 0.1, 0.03, 12
    neff = p * (1 - p) / se**2     # = 100
    q = stats.t.isf(0.025, df)
    centre = (p + q**2 / (2 * neff)) / (1 + q**2 / neff)
    half = q / (1 + q**2 / neff) * np.sqrt(p * (1 - p) / neff + q**2 / (4 * neff**2))
    lo, hi, _ = proportion_ci(p, se, df, 500, "wilson")
    np.testing.assert_allclose([lo[0], hi[0]], [centre - half, centre + half], rtol=1e-14)


def test_wald_is_clipped_and_logit_by_hand():
    lo, hi, fb = proportion_ci(0.01, 0.02, 10, 100, "wald")
    assert lo[0] == 0.0 and not fb[0]
    np.testing.assert_allclose(hi[0], 0.01 + stats.t.isf(0.025, 10) * 0.02, rtol=1e-14)
    lo, hi, _ = proportion_ci(0.2, 0.05, 30, 300, "logit", 0.9)
    s = 0.05 / (0.2 * 0.8)
    q = stats.t.isf(0.05, 30)
    np.testing.assert_allclose([lo[0], hi[0]], 1 / (1 + np.exp(-(np.log(0.25) + np.array([-q, q]) * s))),
                               rtol=1e-14)


def test_boundary_fallback_is_exact_cp_on_df_adjusted_n():
    n, df = 120, 9
    nadj = n * (stats.t.ppf(0.025, n - 1) / stats.t.ppf(0.025, df)) ** 2
    for method in ("wald", "logit", "korn-graubard", "wilson"):
        lo, hi, fb = proportion_ci([0.0, 1.0], [0.0, 0.0], df, n, method)
        assert fb.all()
        np.testing.assert_allclose([lo[0], hi[0]], [0, 1 - 0.025 ** (1 / nadj)], rtol=1e-12)
        np.testing.assert_allclose([lo[1], hi[1]], [0.025 ** (1 / nadj), 1], rtol=1e-12)


# ---- bootstrap: right in distribution, reproducible ------------------------------------------
def test_bootstrap_total_variance_matches_taylor_in_expectation(synth):
    """Rao–Wu (m_h = n_h − 1) reproduces the with-replacement variance of a total exactly in
    expectation; with B = 4000 the relative Monte-Carlo error of the variance is ≈ √(2/B) = 2.2 %."""
    des = ek.SurveyDesign(synth, **KW)
    tay = des.estimate("inc", statistic="total", by="d")
    boot = des.estimate("inc", statistic="total", by="d", variance="bootstrap", replicates=4000, seed=11)
    ratio = (boot.se / tay.se) ** 2
    assert np.all(np.abs(ratio - 1) < 0.12), ratio.tolist()
    # and R's subbootstrap (4000 replicates, another random stream) agrees in distribution
    t = pd.read_csv(REF / "reference_values.csv", keep_default_na=False)
    r_se = t[(t.case == "synth_subboot_by_total") & (t.quantity == "se")].set_index("domain")["value"]
    np.testing.assert_allclose(boot.se.to_numpy(), r_se.loc[boot.d].astype(float).to_numpy(), rtol=0.12)
    again = des.estimate("inc", statistic="total", by="d", variance="bootstrap", replicates=4000, seed=11)
    pd.testing.assert_frame_equal(boot, again)
    other = des.estimate("inc", statistic="total", by="d", variance="bootstrap", replicates=4000, seed=12)
    assert not np.allclose(other.se, boot.se, rtol=1e-6)


def test_mixed_type_codes_and_domains(synth):
    """Village codes that mix numbers and text still define PSUs and domains (no TypeError)."""
    d = synth.astype({"psu": object, "d": object})
    d.loc[d.psu == 1, "psu"] = "1a"
    d.loc[d.d == "A", "d"] = 7
    a = ek.estimate(d, "y", by="d", **KW)
    b = ek.estimate(synth, "y", by="d", **KW)
    got = a.assign(d=a.d.astype(str).replace({"7": "A"})).sort_values("d").reset_index(drop=True)
    np.testing.assert_allclose(got[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)
    assert got.df.tolist() == b.df.tolist()


def test_infinite_fpc_means_with_replacement(synth):
    """fpc = inf in a stratum (R: f = 1) equals no fpc there, without warnings."""
    import warnings
    d = synth.assign(N=np.where(synth.stratum <= 4, np.inf, 40.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ek.estimate(d, "inc", fpc="N", ci_method="wald", **KW)
    d2 = synth.assign(N=np.where(synth.stratum <= 4, 1e300, 40.0))
    b = ek.estimate(d2, "inc", fpc="N", ci_method="wald", **KW)
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)
