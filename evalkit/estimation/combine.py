"""Linear combinations of design-based means/ratios with known, domain-specific constants.

θ_d = a_d + Σ_k b_{k,d} · R_{k,d}, each R_k a ratio Σw·y_k / Σw·x_k (or a mean). Used for
综合贫困发生率 (poverty incidence = (registry poor + 漏评率 × non-registered + 错退率 × exited)
÷ rural population, registry counts known). The SE linearises the combination: the influence
values of the R_k are combined with their coefficients before the design variance, so the
covariances between the R_k (they share PSUs) are included. docs/methodology/estimation.md §5.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import DesignError
from evalkit.estimation import ci as _ci
from evalkit.estimation.design import SurveyDesign, _as_list


def _per_domain(value, labels: pd.DataFrame, by: list[str], what: str) -> np.ndarray:
    """Broadcast a scalar / Series / DataFrame of constants to the domains in ``labels``."""
    D = len(labels)
    if np.isscalar(value) or value is None:
        return np.full(D, 0.0 if value is None else float(value))
    if not by:
        raise DesignError(f"{what} is given per domain but by= is empty; give a number.")
    if isinstance(value, pd.DataFrame):
        missing = [c for c in by if c not in value.columns]
        if missing:
            raise DesignError(f"{what}: the DataFrame must hold the domain columns {by} "
                              f"(missing {missing}) and one value column.")
        vals = [c for c in value.columns if c not in by]
        if len(vals) != 1:
            raise DesignError(f"{what}: expected exactly one value column besides {by}, got {vals}.")
        value = value.set_index(by)[vals[0]]
    if not isinstance(value, pd.Series):
        raise DesignError(f"{what} must be a number, a Series indexed by the domain, or a "
                          "DataFrame with the domain columns.")
    if value.index.duplicated().any():
        raise DesignError(f"{what}: domain {value.index[value.index.duplicated()][0]!r} is "
                          "given twice.")
    key = pd.MultiIndex.from_frame(labels[by]) if len(by) > 1 else pd.Index(labels[by[0]])
    idx = value.index
    if len(by) == 1:
        # compare as strings when types differ (e.g. county codes read as int vs str)
        try:
            out = value.reindex(key)
        except TypeError:
            out = pd.Series(dtype=float)
        if out.isna().any() and not value.isna().any():
            s = pd.Series(value.to_numpy(), index=idx.astype(str))
            out = s.reindex(key.astype(str))
    else:
        out = value.reindex(key)
    if out.isna().any():
        miss = list(key[np.flatnonzero(out.isna().to_numpy())][:5])
        raise DesignError(f"{what} has no value for domain(s) {miss}. 缺少这些分组的常数。")
    return out.to_numpy(dtype=float)


def _parse_terms(terms):
    out = []
    for i, t in enumerate(terms):
        if isinstance(t, dict):
            y = t.get("y")
            x = t.get("denominator", t.get("x"))
            coef = t.get("coef", 1.0)
            name = t.get("name")
        elif isinstance(t, (tuple, list)) and len(t) in (2, 3):
            coef, y = t[0], t[1]
            x = t[2] if len(t) == 3 else None
            name = None
        else:
            raise DesignError(f"term {i}: give a dict(y=, denominator=, coef=) or a tuple "
                              "(coef, y[, denominator]).")
        if y is None:
            raise DesignError(f"term {i} has no y column.")
        out.append((y, x, coef, name or (f"{y}/{x}" if x else str(y))))
    return out


def linear_combination(design, terms, by=None, constant=0.0, level=0.95, clip=False,
                       lonely_psu=None, na_rm=False, variance="taylor", replicates=None,
                       seed=None, mse=False) -> pd.DataFrame:
    """Estimate θ_d = a_d + Σ_k b_{k,d}·R_{k,d} per domain with a linearised SE and t CI.

    ``terms``: list of ``dict(y=, denominator=None, coef=, name=None)`` or tuples
    ``(coef, y[, denominator])``; ``coef`` and ``constant`` are numbers, Series indexed by the
    domain (MultiIndex for several ``by`` columns) or DataFrames with the ``by`` columns and one
    value column. Returns ``[*by, estimate, se, ci_low, ci_high, df, n, <term names>…]`` (the
    last columns hold each R_k). ``clip=True`` clips the CI to [0, 1] (rates).
    ``variance="jackknife" | "bootstrap"`` forms θ replicate by replicate (same replicates for
    every term, so covariances are kept) instead of linearising.
    """
    from evalkit.estimation import taylor
    from evalkit.estimation.estimate import _numeric, domain_df, domains, point_and_influence

    if not isinstance(design, SurveyDesign):
        raise DesignError("linear_combination needs a SurveyDesign (e.g. responses.design).")
    _ci._check_level(level)
    parsed = _parse_terms(terms)
    if not parsed:
        raise DesignError("terms is empty.")
    if variance not in ("taylor", "jackknife", "bootstrap"):
        raise DesignError(f"variance={variance!r} must be 'taylor', 'jackknife' or 'bootstrap'.")
    lonely = lonely_psu or design.lonely_psu
    rep_theta = None
    by = _as_list(by)
    dom, D, labels = domains(design, by)
    a = _per_domain(constant, labels, by, "constant")
    theta = a.copy()
    z_all = np.zeros(design.n)
    valid_any = np.zeros(design.n, bool)
    comps = {}
    for y, x, coef, name in parsed:
        b = _per_domain(coef, labels, by, f"coef of {name}")
        yv = _numeric(design, y, "y")
        xv = _numeric(design, x, "denominator") if x else np.ones(design.n)
        valid = ~(np.isnan(yv) | np.isnan(xv))
        if not valid.all() and not na_rm:
            bad = np.flatnonzero(~valid)
            raise DesignError(f"term {name}: {bad.size} missing values (first at data rows "
                              f"{[int(r) + 2 for r in bad[:5]]}); pass na_rm=True. 有缺失值。")
        est, z, _, _, _ = point_and_influence(design, yv, xv, dom, D, "ratio" if x else "mean", valid)
        theta = theta + b * est
        if variance != "taylor":
            from evalkit.estimation import replicate
            th, rscales, scale = replicate.replicate_estimates(
                design, yv, xv, dom, D, "ratio", valid, variance, replicates, seed, lonely)
            rep_theta = (a[None, :] if rep_theta is None else rep_theta) + b[None, :] * th
        z_all = z_all + b[dom] * z
        valid_any |= valid
        comps[name] = est
    if variance == "taylor":
        var = taylor.variance(design, z_all, dom, D, lonely, in_domain=valid_any,
                              cache_key=tuple(by))
    else:
        from evalkit.estimation import replicate
        var = replicate.replicate_variance(rep_theta, rscales, scale, mse, theta)
    se = np.sqrt(np.maximum(var, 0.0))
    dfd = domain_df(design, dom, D, valid_any)
    lo, hi = _ci.t_ci(theta, se, dfd, level)
    if clip:
        lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    out = labels.copy()
    out["estimate"] = theta
    out["se"] = se
    out["ci_low"] = lo
    out["ci_high"] = hi
    out["df"] = dfd.astype(np.int64)
    out["n"] = np.bincount(dom[valid_any], minlength=D).astype(np.int64)
    for name, est in comps.items():
        out[name] = est
    out.attrs.update({"level": level, "ci_method": "wald (t)", "variance": variance,
                      "clip": clip})
    return out
