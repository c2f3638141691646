"""Taylor-linearisation variance for stratified multistage designs, all domains at once.

Given influence values z (one per row, already weighted) and each row's domain, returns the
variance of Σ z per domain exactly as R ``svyrecvar`` does for ``nest=TRUE`` designs —
stage terms, fpc, lonely-PSU options — but in one vectorised pass per stage (group sums with
``np.bincount``), never a Python loop over strata, PSUs or domains.
Formulas: docs/methodology/estimation.md §2.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import DesignError

#: dense (units × domains) tables are used up to this many cells per data row (and at least
#: DENSE_MIN_CELLS); beyond, only the (unit, domain) pairs holding rows are tabulated
DENSE_CELLS_PER_ROW = 4
DENSE_MIN_CELLS = 4096


def _unit_domain_totals(unit: np.ndarray, dom: np.ndarray, z: np.ndarray, U: int, D: int,
                        cache: dict | None = None):
    """Totals of z per (unit, domain) pair that has rows: (pair unit, pair domain, total).

    The pair index depends only on the design and the domains, so it is cached per ``by``.
    """
    if U == unit.size:  # one row per unit (e.g. households): the rows are the pairs
        return unit, dom, z
    if cache is not None and "pairs" in cache:
        codes, pu, pd_ = cache["pairs"]
    else:
        key = unit * D + dom
        codes, uniq = pd.factorize(key, sort=False)   # hash, O(n); order is irrelevant here
        pu, pd_ = uniq // D, uniq % D
        if cache is not None:
            cache["pairs"] = (codes, pu, pd_)
    t = np.bincount(codes, weights=z, minlength=pu.size)
    return pu, pd_, t


def _stage_ss(st, z, dom, D, lonely_g, adjust: bool, n_rows: int, cache=None) -> np.ndarray:
    """(G, D) sums over units of (unit total − group mean)², the core of svyrecvar's onestrat.

    Dense (units × domains) table when it is small (≤ 4 cells per row); otherwise only the
    (unit, domain) pairs that hold rows, with the absent pairs' m² added back exactly.
    """
    U, G = st.n_units, st.n_groups
    if U * D <= max(DENSE_CELLS_PER_ROW * n_rows, DENSE_MIN_CELLS):
        key = st.row_unit * D + dom if D > 1 else st.row_unit
        T = np.bincount(key, weights=z, minlength=U * D).reshape(U, D)
        starts = st.group_start
        m = np.add.reduceat(T, starts, axis=0) / st.n_g[:, None]
        if adjust:
            m[lonely_g] = 0.0   # lonely PSU deviates from the grand mean (0), not its own
        T -= m[st.unit_group]
        T *= T
        return np.add.reduceat(T, starts, axis=0)
    pu, pd_, pt = _unit_domain_totals(st.row_unit, dom, z, U, D, cache)
    pg = st.unit_group[pu]
    gkey = pg * D + pd_
    m = _group_domain_table(gkey, pt, G, D) / st.n_g[:, None]
    if adjust:
        m[lonely_g] = 0.0
    K = _group_domain_table(gkey, None, G, D)
    dev2 = (pt - m[pg, pd_]) ** 2
    return _group_domain_table(gkey, dev2, G, D) + (st.n_g[:, None] - K) * m ** 2


def _group_domain_table(keys: np.ndarray, vals, G: int, D: int) -> np.ndarray:
    """Dense (G, D) table of sums of vals by key = g*D + d."""
    size = G * D
    if size > 200_000_000:
        raise DesignError(f"{G} strata × {D} domains is too large to tabulate "
                          "(more than 2e8 cells); reduce the number of domains.")
    return np.bincount(keys, weights=vals, minlength=size).reshape(G, D)


def variance(design, z: np.ndarray, dom: np.ndarray, D: int, lonely_psu: str | None = None,
             in_domain: np.ndarray | None = None, cache_key=None) -> np.ndarray:
    """Variance of the domain totals of ``z`` (shape (D,)), R ``svyrecvar`` conventions.

    ``dom``: domain code per row in [0, D); rows outside every domain must have z = 0 and
    ``in_domain`` False (they still count as sampled units: domains are never subset).
    ``cache_key`` (e.g. the ``by`` columns) lets index structures be reused across calls.
    """
    lonely = lonely_psu or design.lonely_psu
    z = np.asarray(z, dtype=float)
    dom = np.asarray(dom, dtype=np.int64)
    V = np.zeros(D)
    for st in design.stages:
        G = st.n_groups
        lonely_g = (st.n_g == 1) & (st.f_g >= 1e-7)
        if lonely_g.any() and lonely == "fail":
            labels = design.lonely_groups()
            raise DesignError(
                f"{int(lonely_g.sum())} stratum/strata have only one sampled PSU at stage "
                f"{st.k + 1}: {labels[:10]}. Variance cannot be estimated there. Merge strata, or "
                "choose lonely_psu='adjust' | 'average' | 'remove' | 'certainty'. "
                "存在只有一个初级抽样单元的层，请合并层或指定 lonely_psu。")
        cache = None
        if cache_key is not None:
            cache = design.__dict__.setdefault("_pair_cache", {}).setdefault((cache_key, st.k, D), {})
        SS = _stage_ss(st, z, dom, D, lonely_g, lonely == "adjust", z.size, cache)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(st.n_g > 1, st.f_g * st.n_g / (st.n_g - 1), st.f_g)
        scale = np.where(st.f_g < 1e-7, 0.0, scale) * st.mult_g
        if lonely in ("remove", "certainty"):
            scale = np.where(lonely_g, 0.0, scale)
        contrib = SS * scale[:, None]  # (G, D)
        if lonely == "average" and lonely_g.any():
            # R onestage: sum over strata with >1 PSU, times #strata / #ok strata, counted
            # among the strata (under the same parent unit) that hold domain members.
            rows = np.flatnonzero(in_domain) if in_domain is not None else np.arange(z.size)
            pres = _group_domain_table(st.row_group[rows] * D + dom[rows], None, G, D) > 0
            contrib[lonely_g] = 0.0
            par_key = st.parent_g[:, None] * D + np.arange(D)[None, :]
            P = st.n_parents
            nstrat = np.bincount(par_key.ravel(), weights=pres.ravel().astype(float),
                                 minlength=P * D)
            nok = np.bincount(par_key.ravel(), weights=(pres & ~lonely_g[:, None]).ravel()
                              .astype(float), minlength=P * D)
            tot = np.bincount(par_key.ravel(), weights=contrib.ravel(), minlength=P * D)
            with np.errstate(divide="ignore", invalid="ignore"):
                adj = np.where(nstrat == 0, 0.0, tot * nstrat / nok)
            V += adj.reshape(P, D).sum(axis=0)
        else:
            V += contrib.sum(axis=0)
    return V
