"""`ek.estimate`: design-based means, proportions, ratios and totals by domain, with CIs.

Every domain is estimated on the full design with domain indicators (never by subsetting
rows), as R ``svyby`` does; all domains come out of one vectorised pass. Formulas and the
conventions shared with R ``survey``: docs/methodology/estimation.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import DesignError
from evalkit.estimation import ci as _ci
from evalkit.estimation.design import SurveyDesign, _as_list

OUTPUT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "df", "n", "deff", "ci_exact_fallback"]
STATISTICS = ("mean", "total", "ratio")
VARIANCES = ("taylor", "jackknife", "bootstrap")


def estimate(data, y, *, denominator=None, weight=None, strata=None, psu=None, fpc=None, by=None,
             ci_method="logit", level=0.95, variance="taylor", lonely_psu=None, replicates=None,
             seed=None, statistic="mean", na_rm=False, deff="replace", mse=False) -> pd.DataFrame:
    """Estimate a mean/proportion (or ratio Σw·y/Σw·x, or total) with SE, t CI, df and deff.

    ``data`` is a DataFrame (then ``weight`` and the design columns are required) or a
    :class:`SurveyDesign`. Returns one row per domain of ``by`` (and per variable when ``y`` is
    a list): ``[variable?, *by, estimate, se, ci_low, ci_high, df, n, deff, ci_exact_fallback]``.
    ``df`` is the domain's #PSUs − #strata; ``n`` the domain's sample rows; ``deff`` the design
    effect against SRS with replacement (R ``deff="replace"``; ``deff="noreplace"`` = R
    ``deff=TRUE``); ``ci_exact_fallback`` marks CIs replaced by exact Clopper–Pearson on the
    df-adjusted n because p̂ ∈ {0, 1}. ``lonely_psu=None`` keeps the design's option ("fail").
    ``variance``: "taylor", "jackknife" (JKn / JK1 when unstratified) or "bootstrap"
    (Rao–Wu, ``replicates`` and ``seed``). ``statistic="total"`` gives Σw·y with a t CI.
    """
    if isinstance(data, SurveyDesign):
        design = data
        given = {k: v for k, v in dict(weight=weight, strata=strata, psu=psu, fpc=fpc).items()
                 if v is not None}
        if given:
            raise DesignError(f"data is a SurveyDesign; do not pass design columns {sorted(given)} "
                              "again (use SurveyDesign(df, **design.spec) to change them).")
    else:
        if weight is None:
            raise DesignError("weight= is required (the column of survey weights). 请指定权数列 weight=。")
        design = SurveyDesign(data, weight=weight, strata=strata, psu=psu, fpc=fpc,
                              lonely_psu=lonely_psu or "fail")
    return estimate_design(design, y, denominator=denominator, by=by, ci_method=ci_method,
                           level=level, variance=variance, lonely_psu=lonely_psu,
                           replicates=replicates, seed=seed, statistic=statistic, na_rm=na_rm,
                           deff=deff, mse=mse)


# ---------------------------------------------------------------------------- helpers
def domains(design: SurveyDesign, by) -> tuple[np.ndarray, int, pd.DataFrame]:
    """(row → domain code, number of domains, domain labels frame) for ``by`` columns."""
    by = _as_list(by)
    n = design.n
    if not by:
        return np.zeros(n, np.int64), 1, pd.DataFrame(index=range(1))
    cache = design.__dict__.setdefault("_domain_cache", {})
    key = tuple(by)
    if key in cache:
        return cache[key]
    df = design.data
    for c in by:
        if c not in df.columns:
            raise DesignError(f"by column '{c}' is not in the data. 分组变量 '{c}' 不存在。")
        if df[c].isna().any():
            rows = np.flatnonzero(df[c].isna().to_numpy())[:5]
            raise DesignError(
                f"by column '{c}' has {int(df[c].isna().sum())} missing values (data rows "
                f"{[int(r) + 2 for r in rows]}, header = row 1); every row must belong to a domain. Fill them "
                f"(e.g. 'unknown') first. 分组变量 '{c}' 有缺失值，请先填补。")
    if len(by) == 1:
        try:
            codes, uniq = pd.factorize(df[by[0]], sort=True)
        except TypeError:   # mixed types: order by text, keep the original values as labels
            codes, _ = pd.factorize(df[by[0]].astype(str), sort=True)
            first = np.zeros(int(codes.max()) + 1, np.int64)
            first[codes[::-1]] = np.arange(n)[::-1]
            uniq = df[by[0]].to_numpy()[first]
        dom = codes.astype(np.int64)
        labels = pd.DataFrame({by[0]: np.asarray(uniq)})
        if isinstance(df[by[0]].dtype, pd.CategoricalDtype):
            labels[by[0]] = pd.Categorical(labels[by[0]], dtype=df[by[0]].dtype)
    else:
        dom = df.groupby(by, sort=True, observed=True).ngroup().to_numpy().astype(np.int64)
        D = int(dom.max()) + 1
        first = np.zeros(D, np.int64)
        first[dom[::-1]] = np.arange(n)[::-1]
        labels = df[by].iloc[first].reset_index(drop=True)
    out = (dom, int(dom.max()) + 1 if n else 0, labels)
    cache[key] = out
    return out


def _numeric(design: SurveyDesign, col: str, role: str) -> np.ndarray:
    df = design.data
    if col not in df.columns:
        raise DesignError(f"column '{col}' ({role}) is not in the data. 数据中没有变量 '{col}'。")
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s):
        if s.dtype == object and s.map(lambda v: isinstance(v, (bool, np.bool_)) or v is None
                                       or (isinstance(v, float) and np.isnan(v))).all():
            return s.astype(float).to_numpy()
        raise DesignError(f"column '{col}' ({role}) must be numeric (0/1 for a proportion), "
                          f"got dtype {s.dtype}, e.g. {s.dropna().iloc[0]!r}. "
                          f"变量 '{col}' 必须是数值（比例用 0/1）。")
    return s.to_numpy(dtype=float)


def distinct_per_domain(unit: np.ndarray, dom: np.ndarray, D: int, n_units: int) -> np.ndarray:
    """Number of distinct ``unit`` values per domain (rows given)."""
    if unit.size == 0:
        return np.zeros(D)
    key = unit.astype(np.int64) * D + dom
    if n_units * D <= 50_000_000:
        pres = np.zeros(n_units * D, bool)   # 1 byte per cell
        pres[key] = True
        return pres.reshape(n_units, D).sum(axis=0).astype(float)
    uk = np.unique(key)
    return np.bincount(uk % D, minlength=D).astype(float)


def domain_df(design: SurveyDesign, dom: np.ndarray, D: int, rows: np.ndarray) -> np.ndarray:
    """Domain df: PSUs holding domain members − strata holding them (rows with weight ≠ 0)."""
    u, s, n_psu, n_str = design.psu_index
    keep = rows & (design.weights != 0)
    return (distinct_per_domain(u[keep], dom[keep], D, n_psu)
            - distinct_per_domain(s[keep], dom[keep], D, n_str))


# ---------------------------------------------------------------------------- core
def point_and_influence(design, yv, xv, dom, D, statistic, valid):
    """Domain estimates, per-row influence values z (weighted), deff residuals r, W, X.

    Mean/ratio: z_i = w_i (y_i − R_d x_i) / X̂_d (R svymean/svyratio); total: z_i = w_i y_i.
    ``xv=None`` means x ≡ 1 (a mean); ``valid=None`` means every row is valid.
    """
    w = design.weights
    if valid is not None:
        w = w * valid
        yv = np.where(valid, yv, 0.0)
        if xv is not None:
            xv = np.where(valid, xv, 0.0)
    wy = w * yv
    Y = np.bincount(dom, weights=wy, minlength=D)
    W = np.bincount(dom, weights=w, minlength=D)
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "total":
            est = Y
            z = wy
            r = yv - (Y / W)[dom]           # svyvar centres y within the domain
        else:
            X = W if xv is None else np.bincount(dom, weights=w * xv, minlength=D)
            est = Y / X
            inv = 1.0 / X
            r = (yv - est[dom]) if xv is None else (yv - est[dom] * xv)
            r *= inv[dom]
            if valid is not None:
                r = np.where(valid, r, 0.0)
            z = w * r
            # Σ w r = 0 in the domain by construction, so svyvar's centring of r is omitted
    X = Y if statistic == "total" else X
    return est, z, r, W, X


def estimate_design(design: SurveyDesign, y, denominator=None, by=None, ci_method="logit",
                    level=0.95, variance="taylor", lonely_psu=None, replicates=None, seed=None,
                    statistic="mean", na_rm=False, deff="replace", mse=False) -> pd.DataFrame:
    """The engine behind :func:`estimate` and :meth:`SurveyDesign.estimate`."""
    from evalkit.estimation import taylor

    if statistic not in STATISTICS:
        raise DesignError(f"statistic={statistic!r} must be one of {STATISTICS}.")
    if variance not in VARIANCES:
        raise DesignError(f"variance={variance!r} must be one of {VARIANCES}. 方差估计方法无效。")
    if deff not in ("replace", "noreplace", False, None):
        raise DesignError(f"deff={deff!r} must be 'replace', 'noreplace' or False.")
    lonely = lonely_psu or design.lonely_psu
    method = _ci.normalise_method(ci_method)
    _ci._check_level(level)
    ys = _as_list(y)
    if not ys:
        raise DesignError("y must name at least one column.")
    dens = _as_list(denominator)
    if statistic == "ratio" and not dens:
        raise DesignError("statistic='ratio' needs denominator=.")
    if dens and len(dens) not in (1, len(ys)):
        raise DesignError(f"denominator must be one column or one per y ({len(ys)}), got {dens}.")
    if dens and statistic == "total":
        raise DesignError("statistic='total' takes no denominator.")
    if len(dens) == 1:
        dens = dens * len(ys)
    dom, D, labels = domains(design, by)
    n_rows = design.n
    pieces = []
    for i, ycol in enumerate(ys):
        xcol = dens[i] if dens else None
        yv = _numeric(design, ycol, "y")
        xv = _numeric(design, xcol, "denominator") if xcol else None
        valid = ~np.isnan(yv) if xv is None else ~(np.isnan(yv) | np.isnan(xv))
        all_valid = bool(valid.all())
        if not all_valid and not na_rm:
            bad = np.flatnonzero(~valid)
            col = ycol if np.isnan(yv[bad[0]]) else xcol
            raise DesignError(
                f"column '{col}' has {bad.size} missing values (first at data rows "
                f"{[int(r) + 2 for r in bad[:5]]}, header = row 1). Pass na_rm=True to estimate over the "
                f"answered rows (treated as a domain, not dropped from the design). "
                f"变量 '{col}' 有缺失值；如需按已答样本估计请设 na_rm=True。")
        stat = "total" if statistic == "total" else ("ratio" if xcol else "mean")
        is_prop = (_is_proportion(yv, xv, stat) if all_valid
                   else _is_proportion(yv[valid], None if xv is None else xv[valid], stat))
        if stat != "total" and method != "wald" and not is_prop:
            what = (f"0 ≤ {ycol} ≤ {xcol} on every row" if xcol else f"'{ycol}' to be 0/1")
            raise DesignError(
                f"ci_method='{method}' is for proportions and needs {what}; '{ycol}' is not. "
                "Use ci_method='wald' for means of amounts. 该置信区间方法只适用于比例（0/1 变量），"
                "数值变量请用 ci_method='wald'。")
        vmask = None if all_valid else valid
        est, z, r, W, X = point_and_influence(design, yv, xv, dom, D, stat, vmask)
        if variance == "taylor":
            var = taylor.variance(design, z, dom, D, lonely, in_domain=vmask,
                                  cache_key=tuple(_as_list(by)))
        else:
            from evalkit.estimation import replicate
            var = replicate.variance(design, yv, np.ones(n_rows) if xv is None else xv, dom, D,
                                     stat, valid, kind=variance,
                                     replicates=replicates, seed=seed, lonely_psu=lonely,
                                     mse=mse, estimate=est)
        se = np.sqrt(np.maximum(var, 0.0))
        n, nobs, dfd = _domain_counts(design, by, dom, D, None if all_valid else valid)
        with np.errstate(divide="ignore", invalid="ignore"):
            if deff:
                wr2 = (z * r) if stat != "total" else (design.weights * r * r)
                if not all_valid:
                    wr2 = np.where(valid, wr2, 0.0)
                ss = np.bincount(dom, weights=wr2, minlength=D)
                vsrs = W * ss / (nobs - 1)
                if deff == "noreplace":
                    vsrs = vsrs * (W - nobs) / W
                de = var / vsrs
            else:
                de = np.full(D, np.nan)
        if stat != "total" and is_prop:
            lo, hi, fb = _ci.proportion_ci(est, se, dfd, n, method, level)
        else:
            lo, hi = _ci.t_ci(est, se, dfd, level)
            fb = np.zeros(D, bool)
        out = labels.copy()
        if isinstance(y, (list, tuple)):
            out.insert(0, "variable", ycol)
        out["estimate"] = est
        out["se"] = se
        out["ci_low"] = lo
        out["ci_high"] = hi
        out["df"] = dfd.astype(np.int64)
        out["n"] = n.astype(np.int64)
        out["deff"] = de
        out["ci_exact_fallback"] = fb
        pieces.append(out)
    res = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    res.attrs.update({"ci_method": method if statistic != "total" else "wald", "level": level,
                      "variance": variance, "statistic": statistic, "lonely_psu": lonely,
                      "df_rule": "domain PSUs − domain strata", "deff": deff or None})
    return res


def _domain_counts(design, by, dom, D, valid):
    """(rows, rows with weight ≠ 0, df) per domain; cached on the design when all rows count."""
    if valid is None:
        cache = design.__dict__.setdefault("_count_cache", {})
        key = tuple(_as_list(by))
        if key not in cache:
            cache[key] = _domain_counts(design, by, dom, D, np.ones(design.n, bool))
        return cache[key]
    n = np.bincount(dom[valid], minlength=D).astype(float)
    wpos = valid & (design.weights != 0)
    nobs = np.bincount(dom[wpos], minlength=D).astype(float)
    return n, nobs, domain_df(design, dom, D, valid)


def _is_proportion(y: np.ndarray, x, stat: str) -> bool:
    if stat == "mean":
        return bool(np.all((y == 0) | (y == 1)))
    if stat == "ratio":
        return bool(np.all((y >= 0) & (y <= x)))
    return False
