"""Confidence intervals for design-based estimates (Student t with design df).

Public helpers other modules call: :func:`proportion_ci` (wald, logit, korn-graubard,
wilson — bounds always in [0, 1], exact Clopper–Pearson on the effective n at p̂ ∈ {0, 1})
and :func:`t_ci` (estimate ± t·se). Formulas: docs/methodology/estimation.md §4.
"""
from __future__ import annotations

import numpy as np
from scipy import special, stats

from evalkit.errors import DesignError

PROPORTION_METHODS = ("logit", "korn-graubard", "wilson", "wald")
ALIASES = {"beta": "korn-graubard", "kg": "korn-graubard", "korn_graubard": "korn-graubard",
           "clopper-pearson": "korn-graubard", "t": "wald", "mean": "wald"}
METHODS = PROPORTION_METHODS


def normalise_method(method: str) -> str:
    """Canonical CI method name (accepts R's names: 'beta' → 'korn-graubard', 'mean' → 'wald')."""
    m = ALIASES.get(str(method).lower(), str(method).lower())
    if m not in METHODS:
        raise DesignError(f"ci_method={method!r} is not one of {METHODS} (or R's 'beta'). "
                          "置信区间方法无效。")
    return m


def _check_level(level):
    if not (0 < float(level) < 1):
        raise DesignError(f"level={level!r} must be between 0 and 1 (e.g. 0.95). 置信水平应在 0 与 1 之间。")


def t_quantile(df, level=0.95):
    """Two-sided Student t quantile t_{1-α/2, df} (normal when df is infinite; NaN when df ≤ 0)."""
    df = np.asarray(df, dtype=float)
    a = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        q = np.where(np.isinf(df), stats.norm.isf(a), stats.t.isf(a, np.where(df > 0, df, np.nan)))
    return q


def t_ci(estimate, se, df, level=0.95):
    """estimate ± t_{df}·se (arrays); no clipping."""
    _check_level(level)
    q = t_quantile(df, level)
    est = np.asarray(estimate, float)
    se = np.asarray(se, float)
    return est - q * se, est + q * se


def clopper_pearson(x, n, level=0.95):
    """Exact binomial interval for x successes in n (real-valued x, n allowed)."""
    a = (1 - level) / 2
    x = np.asarray(x, float)
    n = np.asarray(n, float)
    tiny = 1e-10   # shape parameters below this underflow in the beta quantile: bound is 0 / 1
    x, n = np.broadcast_arrays(x, n)
    lo = np.zeros(x.shape)
    hi = np.ones(x.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = x > tiny
        lo[m] = stats.beta.ppf(a, x[m], n[m] - x[m] + 1)
        m = (n - x) > tiny
        hi[m] = stats.beta.ppf(1 - a, x[m] + 1, n[m] - x[m])
    bad = ~np.isfinite(x) | ~np.isfinite(n)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def effective_n_factor(df, n, level=0.95):
    """Korn–Graubard df adjustment (t_{n−1}/t_{df})² applied to an effective sample size."""
    a = (1 - level) / 2
    n = np.asarray(n, float)
    df = np.asarray(df, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.where(n > 1, stats.t.ppf(a, np.where(n > 1, n - 1, np.nan)), np.nan)
        den = np.where(np.isinf(df), stats.norm.ppf(a),
                       stats.t.ppf(a, np.where(df > 0, df, np.nan)))
        return (num / den) ** 2


def proportion_ci(p, se, df, n, method="logit", level=0.95):
    """CI for proportions p̂ with design SE, df and sample count n (arrays or scalars).

    Returns ``(low, high, exact_fallback)``: bounds in [0, 1]; ``exact_fallback`` is True
    where p̂ ∈ {0, 1} or se = 0, so the method is undefined and the exact Clopper–Pearson
    interval on the df-adjusted sample count n·(t_{n−1}/t_{df})² is returned instead.
    """
    _check_level(level)
    method = normalise_method(method)
    p = np.atleast_1d(np.asarray(p, float))
    se = np.broadcast_to(np.asarray(se, float), p.shape)
    df = np.broadcast_to(np.asarray(df, float), p.shape)
    n = np.broadcast_to(np.asarray(n, float), p.shape)
    a = (1 - level) / 2
    q = t_quantile(df, level)
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    regular = (p > 0) & (p < 1) & (se > 0) & np.isfinite(se)
    boundary = np.isfinite(p) & ~regular
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == "wald":
            lo = p - q * se
            hi = p + q * se
        elif method == "logit":
            lg = special.logit(p)
            s = se / (p * (1 - p))
            lo = special.expit(lg - q * s)
            hi = special.expit(lg + q * s)
        elif method == "korn-graubard":
            neff = p * (1 - p) / se ** 2 * effective_n_factor(df, n, level)
            x1, x2 = neff * p, neff * (1 - p)
            # R qbeta(a, 0, b) = 0 and qbeta(1 − a, a, 0) = 1 (shape underflow at tiny p̂)
            t = 1e-10
            lo = np.where(x1 > t, stats.beta.ppf(a, np.where(x1 > t, x1, 1), x2 + 1), 0.0)
            hi = np.where(x2 > t, stats.beta.ppf(1 - a, x1 + 1, np.where(x2 > t, x2, 1)), 1.0)
            # huge shapes (se → 0) defeat the beta quantile: use its normal limit
            z = stats.norm.isf(a)
            sd = np.sqrt(p * (1 - p) / neff)
            huge = regular & (np.isnan(lo) | np.isnan(hi) | (neff > 1e12))
            lo = np.where(huge, p - z * sd, lo)
            hi = np.where(huge, p + z * sd, hi)
        elif method == "wilson":
            neff = p * (1 - p) / se ** 2
            # k = t²/n_eff; centre (p̂ + k/2)/(1 + k), half-width √k·√(p̂(1−p̂) + k/4)/(1 + k)
            k = np.minimum(q ** 2 / neff, 1e300)   # n_eff → 0 gives the limit [0, 1]
            centre = (p + k / 2) / (1 + k)
            half = np.sqrt(k) * np.sqrt(p * (1 - p) + k / 4) / (1 + k)
            lo = centre - half
            hi = centre + half
        # every method's interval contains p̂; enforce it against rounding at se → 0
        lo = np.where(regular, np.minimum(lo, p), np.nan)
        hi = np.where(regular, np.maximum(hi, p), np.nan)
        # boundary: exact CP on the df-adjusted nominal count (se = 0 gives no effective n)
        n_adj = np.minimum(n, n * effective_n_factor(df, n, level))
        n_adj = np.where(np.isfinite(n_adj), n_adj, n)
        cl, ch = clopper_pearson(p * n_adj, n_adj, level)
        ok_df = df > 0
        lo = np.where(boundary & ok_df, cl, lo)
        hi = np.where(boundary & ok_df, ch, hi)
    lo = np.clip(lo, 0.0, 1.0)
    hi = np.clip(hi, 0.0, 1.0)
    return lo, hi, boundary & (df > 0)
