"""Invariances that must hold for any design (hypothesis, modest example counts)."""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evalkit as ek

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def designs(draw):
    """A random stratified cluster sample: ≥2 PSUs per stratum, 1–6 rows per PSU, 1–3 domains."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    H = draw(st.integers(1, 4))
    rows = []
    for h in range(H):
        for j in range(int(rng.integers(2, 5))):
            m = int(rng.integers(1, 7))
            x = rng.integers(1, 6, m)
            y = rng.integers(0, 2, m)
            rows.append(pd.DataFrame({"s": h, "p": j, "w": rng.uniform(0.5, 40, m).round(3),
                                      "x": x, "y": y, "yp": y * x, "inc": rng.gamma(2, 900, m),
                                      "d": rng.choice(["a", "b", "c"][: draw(st.integers(1, 3))], m)}))
    df = pd.concat(rows, ignore_index=True)
    # make sure every domain has rows in ≥ 2 PSUs so that SEs are not trivially zero
    return df


def _est(df, **kw):
    base = dict(weight="w", strata="s", psu="p", ci_method="wald")
    base.update(kw)
    return ek.estimate(df, **base)


@SETTINGS
@given(designs(), st.floats(0.01, 1000))
def test_weight_scaling_leaves_means_ratios_and_ses(df, c):
    a = _est(df, y="yp", denominator="x", by="d")
    b = _est(df.assign(w=df.w * c), y="yp", denominator="x", by="d")
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-9, atol=1e-15)
    a = _est(df, y="inc")
    b = _est(df.assign(w=df.w * c), y="inc")
    np.testing.assert_allclose(a[["estimate", "se", "deff"]], b[["estimate", "se", "deff"]], rtol=1e-9)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs(), st.integers(0, 10_000))
def test_row_order_never_changes_a_result(df, seed):
    perm = np.random.default_rng(seed).permutation(len(df))
    shuffled = df.iloc[perm].reset_index(drop=True)
    for kw in (dict(y="y", by="d", ci_method="logit"), dict(y="yp", denominator="x", by="d"),
               dict(y="inc", statistic="total"), dict(y="inc", by="d", variance="jackknife"),
               dict(y="y", variance="bootstrap", replicates=20, seed=3)):
        if kw.get("ci_method") == "logit" and set(df.y.unique()) - {0, 1}:
            continue
        a, b = _est(df, **kw), _est(shuffled, **kw)
        # sums run in a different order: equal up to rounding (a true 0 may come out 1e-13)
        scale = 1e-12 * (1 + a["estimate"].abs().max())
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10, atol=scale)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs())
def test_domain_estimate_equals_indicator_ratio(df):
    """Domain d: mean/ratio and SE equal the whole-sample ratio of y·1{d} over x·1{d}."""
    dom = _est(df, y="yp", denominator="x", by="d")
    domm = _est(df, y="inc", by="d")
    for _, row in dom.iterrows():
        ind = (df.d == row.d).astype(float)
        full = _est(df.assign(num=df.yp * ind, den=df.x * ind), y="num", denominator="den")
        np.testing.assert_allclose(row[["estimate", "se"]].astype(float),
                                   full[["estimate", "se"]].iloc[0].astype(float), rtol=1e-9, atol=1e-15)
        rm = domm[domm.d == row.d].iloc[0]
        fullm = _est(df.assign(num=df.inc * ind, den=ind), y="num", denominator="den")
        np.testing.assert_allclose(rm[["estimate", "se"]].astype(float),
                                   fullm[["estimate", "se"]].iloc[0].astype(float), rtol=1e-9, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.floats(0, 10), st.one_of(st.integers(1, 200), st.just(float("inf"))),
       st.integers(1, 5000),
       st.sampled_from(["wald", "logit", "korn-graubard", "wilson"]), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportion_bounds_stay_in_unit_interval(p, se, df, n, method, level):
    from evalkit.estimation.ci import proportion_ci
    lo, hi, fb = proportion_ci(p, se, df, n, method, level)
    assert 0 <= lo[0] <= hi[0] <= 1
    if 0 < p < 1 and se > 0:
        assert lo[0] <= p <= hi[0]
    else:
        assert fb[0]
