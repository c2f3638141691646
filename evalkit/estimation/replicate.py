"""Replicate-weight variance: delete-one-PSU jackknife (JKn / JK1) and Rao–Wu bootstrap.

Conventions are R ``as.svrepdesign(type="JKn"|"JK1"|"subbootstrap")`` + ``svrVar``: first-stage
fpc enters the jackknife scale, replicates are centred at their mean (``mse=False``, R's
default) or at the full-sample estimate (``mse=True``). Replicate estimates for every domain
come from PSU × domain totals, never from re-weighting the rows per replicate.
Formulas: docs/methodology/estimation.md §3.
"""
from __future__ import annotations

import numpy as np

from evalkit.errors import DesignError

DEFAULT_BOOTSTRAP_REPLICATES = 200


def _psu_domain_totals(u, dom, vals, P, D):
    size = P * D
    if size > 50_000_000:
        raise DesignError(f"{P} PSUs × {D} domains is too large for replicate variance; "
                          "use variance='taylor' or fewer domains.")
    return np.bincount(u * D + dom, weights=vals, minlength=size).reshape(P, D)


def psu_structure(design):
    """(row→PSU, PSU→stratum, PSUs per stratum, stage-1 fpc factor (N−n)/N per stratum)."""
    u, s, P, H = design.psu_index
    psu_str = np.zeros(P, np.int64)
    psu_str[u] = s
    n_h = np.bincount(psu_str, minlength=H).astype(float)
    st0 = design.stages[0]
    f_h = st0.f_g if design.fpc else np.ones(H)
    return u, psu_str, n_h, f_h


def _jackknife(design, TY, TX, total, lonely, CNT):
    """Replicate estimates (R, D), rscales (R,), scale for JKn (JK1 when unstratified)."""
    u, psu_str, n_h, f_h = psu_structure(design)
    H = n_h.size
    lonely_h = n_h == 1
    if lonely_h.any() and lonely == "fail":
        raise DesignError(f"jackknife: {int(lonely_h.sum())} stratum/strata have only one PSU: "
                          f"{design.lonely_groups()[:10]}; choose lonely_psu. 存在单一 PSU 层。")
    Y = TY.sum(axis=0)
    SY = np.zeros((H, TY.shape[1]))
    np.add.at(SY, psu_str, TY)
    keep = ~lonely_h[psu_str]
    nh = n_h[psu_str][keep][:, None]
    hs = psu_str[keep]
    num = Y[None, :] + (SY[hs] - nh * TY[keep]) / (nh - 1)
    if not total:
        X = TX.sum(axis=0)
        SX = np.zeros_like(SY)
        np.add.at(SX, psu_str, TX)
        den = X[None, :] + (SX[hs] - nh * TX[keep]) / (nh - 1)
    # domain absent from a replicate ⇔ its rows all sit in the deleted PSU (exact, in counts:
    # the subtraction above leaves ±1e-16 instead of 0, R's direct sums give 0 → NaN → dropped)
    C = CNT.sum(axis=0)
    present = (C[None, :] - CNT[keep]) > 0
    rscales = (f_h[hs] * (n_h[hs] - 1) / n_h[hs])
    scale = 1.0
    extra_num, extra_den, extra_rs = [], [], []
    if lonely_h.any():
        if lonely == "adjust":
            # R jknweights: one replicate per lonely stratum, that PSU dropped and every other
            # PSU weighted by H/(H−1); rscale (H−1)/H
            for h in np.flatnonzero(lonely_h):
                inh = psu_str == h
                extra_num.append((Y - TY[inh].sum(axis=0)) * H / (H - 1))
                if not total:
                    extra_den.append((X - TX[inh].sum(axis=0)) * H / (H - 1))
                extra_rs.append((H - 1) / H)
                present = np.vstack([present, (C - CNT[inh].sum(axis=0))[None, :] > 0])
        elif lonely == "average":
            scale = psu_str.size / max(int(keep.sum()), 1)
    if extra_num:
        num = np.vstack([num, np.array(extra_num)])
        if not total:
            den = np.vstack([den, np.array(extra_den)])
        rscales = np.concatenate([rscales, extra_rs])
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = num if total else np.where(present, num / den, np.nan)
    return theta, rscales, scale


def _bootstrap(design, TY, TX, total, lonely, B, seed, CNT):
    """Rao–Wu rescaling bootstrap (R type="subbootstrap"): n_h − 1 PSUs drawn with replacement."""
    if seed is None:
        raise DesignError("variance='bootstrap' needs seed= (an integer) so results can be "
                          "reproduced. 自助法方差需要指定随机种子 seed=。")
    u, psu_str, n_h, f_h = psu_structure(design)
    P = psu_str.size
    lonely_h = n_h == 1
    if lonely_h.any() and lonely == "fail":
        raise DesignError(f"bootstrap: strata with one PSU: {design.lonely_groups()[:10]}; "
                          "choose lonely_psu (they then contribute no variance).")
    rng = np.random.default_rng(seed)
    offset = np.zeros(n_h.size, np.int64)
    offset[1:] = np.cumsum(n_h)[:-1].astype(np.int64)   # PSU codes are contiguous per stratum
    ok = np.flatnonzero(~lonely_h)
    draw_stratum = np.repeat(ok, (n_h[ok] - 1).astype(np.int64))
    m = draw_stratum.size
    idx = offset[draw_stratum][None, :] + np.floor(
        rng.random((B, m)) * n_h[draw_stratum][None, :]).astype(np.int64)
    counts = np.bincount((np.arange(B)[:, None] * P + idx).ravel(), minlength=B * P).reshape(B, P)
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(lonely_h, 1.0, n_h / (n_h - 1))[psu_str]
    mult = np.where(lonely_h[psu_str][None, :], 1.0, counts * fac[None, :])
    num = mult @ TY
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = num if total else np.where((mult > 0).astype(float) @ CNT > 0,
                                           num / (mult @ TX), np.nan)
    return theta, np.ones(B), 1.0 / (B - 1)


def replicate_estimates(design, yv, xv, dom, D, stat, valid, kind="jackknife", replicates=None,
                        seed=None, lonely_psu="fail"):
    """Replicate estimates θ_r,d (R × D), their rscales (R,) and the overall scale.

    The same replicates (same seed for the bootstrap) for every variable of a design, so
    combinations of several estimates can be formed replicate by replicate.
    """
    u, s, P, H = design.psu_index
    w = design.weights * valid
    total = stat == "total"
    TY = _psu_domain_totals(u, dom, w * np.where(valid, yv, 0.0), P, D)
    TX = None if total else _psu_domain_totals(u, dom, w * np.where(valid, xv, 0.0), P, D)
    counted = (w != 0) & (total | (np.where(valid, xv, 0.0) != 0))
    CNT = _psu_domain_totals(u, dom, counted.astype(float), P, D)
    if kind == "jackknife":
        return _jackknife(design, TY, TX, total, lonely_psu, CNT)
    if kind == "bootstrap":
        B = int(replicates or DEFAULT_BOOTSTRAP_REPLICATES)
        if B < 2:
            raise DesignError("replicates must be at least 2 for the bootstrap.")
        return _bootstrap(design, TY, TX, total, lonely_psu, B, seed, CNT)
    raise DesignError(f"unknown replicate variance {kind!r}")


def replicate_variance(theta, rscales, scale, mse=False, estimate=None):
    """R ``svrVar``: scale · Σ_r c_r (θ_r − θ̄)², θ̄ = mean of usable replicates (or θ̂)."""
    ok = np.isfinite(theta) & (rscales[:, None] > 0)     # R drops replicates giving NA
    if mse:
        centre = np.asarray(estimate, float)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(ok, theta, 0.0).sum(axis=0) / ok.sum(axis=0)
    dev = np.where(np.isfinite(theta), theta - centre[None, :], 0.0)
    return scale * (rscales[:, None] * dev ** 2).sum(axis=0)


def variance(design, yv, xv, dom, D, stat, valid, kind="jackknife", replicates=None, seed=None,
             lonely_psu="fail", mse=False, estimate=None):
    """Replicate variance of the domain estimates (shape (D,)), R svrVar conventions."""
    theta, rscales, scale = replicate_estimates(design, yv, xv, dom, D, stat, valid, kind,
                                                replicates, seed, lonely_psu)
    return replicate_variance(theta, rscales, scale, mse, estimate)
