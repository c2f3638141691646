"""Selection of units within groups (strata × parent units), vectorised over all groups at once.

Methods (methodology §3): ``all`` (take-all), ``srs`` (the n smallest permanent random numbers:
order sampling with equal probabilities is exactly simple random sampling without replacement),
``systematic`` (equal probabilities along a sort key, random start), ``pps`` (Pareto πps on permanent
random numbers with exact πᵢ), ``pps_systematic`` (πps systematic along a sort key).
Every method returns exact first-order inclusion probabilities and a rank (1 = first selected) so the
next units in rank order can serve as reserves (备选).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.sampling import pps as _pps

METHODS = ("all", "srs", "systematic", "pps", "pps_systematic")


@dataclass
class Selection:
    """Result per unit: exact inclusion probability, selected (main), reserve flag and rank in group."""

    pi: np.ndarray
    selected: np.ndarray
    reserve: np.ndarray
    rank: np.ndarray  # 1-based rank within group by the ranking key (main first), 0 if neither
    ties: bool = False  # exact ties of the ranking key within a group (then order came from ``tiebreak``)


def _ordered_bits(key: np.ndarray) -> np.ndarray:
    """uint64 whose unsigned order equals the float order of ``key`` (IEEE-754 trick)."""
    b = (np.asarray(key, dtype=np.float64) + 0.0).view(np.uint64)  # a fresh copy; -0.0 + 0.0 = +0.0
    flip = b >> np.uint64(63)                  # 1 for negatives
    flip *= np.uint64(0x7FFFFFFFFFFFFFFF)      # … all bits but the sign for negatives, 0 otherwise
    flip |= np.uint64(1 << 63)
    b ^= flip                                  # negatives: every bit flipped; others: sign bit set
    return b


def _rank_within(group: np.ndarray, key: np.ndarray, tiebreak: np.ndarray | None):
    """0-based rank of each row within its group by ascending ``key`` (ties by ``tiebreak``, default
    row order), and whether any finite key tied within a group.

    Fast path: one uint64 sort of (group in the high bits, the key's top bits below); if that packed
    key has any tie, the exact stable lexsort decides.
    """
    n = len(group)
    G = int(group.max()) + 1 if n else 1
    gbits = max(1, int(G - 1).bit_length())
    order = None
    if tiebreak is None and gbits <= 40 and n:
        packed = (group.astype(np.uint64) << np.uint64(64 - gbits)) | (_ordered_bits(key) >> np.uint64(gbits))
        order = np.argsort(packed, kind="quicksort")
        ps = packed[order]
        if np.any(ps[1:] == ps[:-1]):
            order = None
    if order is None:
        order = np.lexsort((key, group)) if tiebreak is None else np.lexsort((tiebreak, key, group))
    ks, gs = key[order], group[order]
    ties = bool(np.any((gs[1:] == gs[:-1]) & (ks[1:] == ks[:-1]) & np.isfinite(ks[1:])))
    g_sorted = gs
    first = np.r_[0, np.flatnonzero(np.diff(g_sorted)) + 1] if n else np.array([], np.int64)
    starts = np.zeros(n, np.int64)
    starts[first] = first
    starts = np.maximum.accumulate(starts) if n else starts
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - starts
    return rank, ties


def _systematic(group: np.ndarray, lam: np.ndarray, sort_code: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Systematic πps: along ``sort_code`` within each group, unit i is selected when an integer
    translate of the random start r_g falls in (C_{i−1}, C_i], C the cumulative λ (Madow 1949)."""
    order = np.lexsort((sort_code, group))
    g = group[order]
    c = np.cumsum(lam[order])
    first = np.r_[0, np.flatnonzero(np.diff(g)) + 1] if len(g) else np.array([], np.int64)
    base = np.zeros(len(g))
    if len(g):
        offs = np.r_[0.0, c[first[1:] - 1]]
        seg = np.zeros(len(g), np.int64)
        seg[first] = 1
        seg = np.cumsum(seg) - 1
        base = offs[seg]
    c_local = c - base
    c_prev = np.r_[0.0, c[:-1]] - base if len(g) else c_local
    c_prev[first] = 0.0
    r = start[g]
    hit = (np.floor(c_local - r) - np.floor(c_prev - r)) >= 1
    out = np.zeros(len(group), bool)
    out[order] = hit
    return out


def select_in_groups(method: str, group: np.ndarray, n_g: np.ndarray, u: np.ndarray, *,
                     size: np.ndarray | None = None, sort_code: np.ndarray | None = None,
                     start: np.ndarray | None = None, n_reserve: int = 0, tiebreak: np.ndarray | None = None,
                     exact_pi: bool = True) -> Selection:
    """Select ``n_g[g]`` units in each group ``g`` (0..G−1 per unit) by ``method``.

    ``u`` are the units' permanent random numbers, ``start`` the random start per group (systematic
    methods), ``sort_code`` integer sort order (systematic), ``size`` the size measure (pps).
    ``n_g`` must not exceed the group's unit count (the caller caps it: take-all).
    """
    group = np.asarray(group, np.int64)
    n = len(group)
    G = len(n_g)
    n_g = np.asarray(n_g, np.int64)
    N_g = np.bincount(group, minlength=G)
    if method == "all":
        pi = np.ones(n)
        key = u
        selected = np.ones(n, bool)
    elif method == "srs":
        pi = n_g[group] / np.maximum(N_g[group], 1)
        key = u
        selected = None
    elif method == "systematic":
        pi = n_g[group] / np.maximum(N_g[group], 1)
        selected = _systematic(group, pi, sort_code, start)
        key = u
    elif method in ("pps", "pps_systematic"):
        pi = _pps.inclusion_probabilities(group, size, n_g)
        if method == "pps_systematic":
            selected = _systematic(group, pi, sort_code, start)
            key = u
        else:
            theta = _pps.pareto_theta_grouped(group, pi, exact=exact_pi)
            with np.errstate(divide="ignore", invalid="ignore"):
                key = np.where(pi >= 1.0, -np.inf, np.where(pi <= 0, np.inf, (u / (1 - u)) / theta))
            selected = None
    else:  # pragma: no cover - validated by the plan
        raise ValueError(method)
    if selected is None:
        rank0, ties = _rank_within(group, key, tiebreak)
        selected = rank0 < n_g[group]
        # main units first, then the remaining ones in key order
        rank = rank0
    else:
        # main units ranked by key among themselves, then the others by key
        k2 = np.where(selected, 0, 1)
        rank, ties = _rank_within(group, k2 * 4.0 + np.clip(np.nan_to_num(key, posinf=2.0, neginf=-1.0), -1, 2),
                                  tiebreak)
    reserve = ~selected & (rank < n_g[group] + n_reserve) & (pi > 0)
    rank_out = np.where(selected | reserve, rank + 1, 0)
    return Selection(pi=pi, selected=selected, reserve=reserve, rank=rank_out, ties=ties)
