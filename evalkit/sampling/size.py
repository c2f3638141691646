"""Sample sizes (样本量) and allocation across strata (分配).

Formulas and references: docs/methodology/sampling.md §4 (Cochran 1977 §4.4; Korn & Graubard 1998;
Bankier 1988 for power allocation).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from evalkit.errors import PlanError

ALLOCATIONS = ("fixed", "proportional", "neyman", "equal", "power")


def _z(level: float) -> float:
    from scipy import stats

    if not 0 < level < 1:
        raise PlanError(f"level must be between 0 and 1 (置信水平应在 0 与 1 之间), got {level!r}.")
    return float(stats.norm.ppf(0.5 + level / 2))


def sample_size(p: float, margin: float, level: float = 0.95, deff: float = 1.0, N: int | None = None,
                response_rate: float = 1.0) -> int:
    """Households to draw so a proportion near ``p`` is estimated within ±``margin`` (Cochran).

    n0 = z² p(1−p)/margin² × deff; with a population N, n = n0 / (1 + (n0 − 1)/N) (Cochran 1977,
    eq. 4.2); then divided by the expected response rate and rounded up (methodology §4.1).
    """
    if not 0 <= p <= 1:
        raise PlanError(f"p must be a proportion in [0, 1] (预期比例), got {p!r}.")
    if margin <= 0:
        raise PlanError(f"margin must be > 0 (允许误差), got {margin!r}.")
    if deff <= 0:
        raise PlanError(f"deff must be > 0 (设计效应), got {deff!r}.")
    if not 0 < response_rate <= 1:
        raise PlanError(f"response_rate must be in (0, 1] (应答率), got {response_rate!r}.")
    n0 = _z(level) ** 2 * p * (1 - p) / margin ** 2 * deff
    n = n0
    if N is not None:
        if N < 1:
            raise PlanError(f"N must be a positive population size (总体规模), got {N!r}.")
        n = n0 / (1 + (n0 - 1) / N)
        n = min(n, N)
    n = n / response_rate
    return int(math.ceil(n - 1e-9))


# ------------------------------------------------------------------ threshold power
def _upper_bound(method: str, x: np.ndarray, n: np.ndarray, alpha: float) -> np.ndarray:
    """Upper end of a two-sided (1−alpha) interval for x successes out of n (vectorised)."""
    from scipy import stats

    x = np.asarray(x, float)
    n = np.asarray(n, float)
    if method in ("korn-graubard", "clopper-pearson", "beta", "exact"):
        with np.errstate(all="ignore"):
            ub = stats.beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1e-300))
        return np.where(x >= n, 1.0, ub)
    z = stats.norm.ppf(1 - alpha / 2)
    ph = x / n
    if method == "wald":
        return ph + z * np.sqrt(ph * (1 - ph) / n)
    if method == "wilson":
        centre = (ph + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n))
        return centre + half
    raise PlanError(f"ci_method {method!r} is not supported here; use 'korn-graubard', 'wilson' or 'wald'.")


def threshold_power(n_eff, p_expected: float, threshold: float, level: float = 0.95,
                    ci_method: str = "korn-graubard") -> np.ndarray:
    """Probability that the interval's upper end lies below ``threshold`` when the true rate is
    ``p_expected`` and the (effective) sample size is ``n_eff`` (vectorised over integer n_eff)."""
    from scipy import stats

    n = np.atleast_1d(np.asarray(n_eff, dtype=np.int64))
    alpha = 1 - level
    # largest x whose upper bound is < threshold: bounds increase in x, so bisect on x ∈ [-1, n]
    lo = np.full(n.shape, -1, dtype=np.int64)   # invariant: ub(lo) < t (x = -1 means none)
    hi = n.copy() + 1                             # invariant: ub(hi) >= t (x = n+1 sentinel)
    while True:
        active = hi - lo > 1
        if not active.any():
            break
        mid = (lo + hi) // 2
        ub = _upper_bound(ci_method, np.maximum(mid, 0), n, alpha)
        ok = (ub < threshold) & (mid >= 0)
        lo = np.where(active & ok, mid, lo)
        hi = np.where(active & ~ok & (mid >= 0), mid, hi)
        hi = np.where(active & (mid < 0), np.maximum(mid + 1, 0), hi)
    return stats.binom.cdf(lo, n, p_expected)


def sample_size_for_threshold(p_expected: float, threshold: float, power: float = 0.8, level: float = 0.95,
                              deff: float = 1.0, ci_method: str = "korn-graubard",
                              n_max: int = 1_000_000) -> int:
    """Households needed so that, if the true rate (e.g. 错退率) is ``p_expected``, the interval falls
    entirely below ``threshold`` (e.g. 2 %) with probability ``power``.

    Exact binomial calculation on the effective sample size n/deff (methodology §4.2): the smallest
    n_eff whose power reaches the target, times deff, rounded up. Exact-interval power is a saw-tooth
    in n, so the returned n is the first that reaches the target.
    """
    if not 0 <= p_expected < threshold <= 1:
        raise PlanError(
            f"需要 0 ≤ 预期率 < 阈值 / need 0 <= p_expected < threshold, got p_expected={p_expected!r}, "
            f"threshold={threshold!r}: an interval cannot be expected to fall below a threshold the rate exceeds.")
    if not 0 < power < 1:
        raise PlanError(f"power must be in (0, 1) (检验效能), got {power!r}.")
    if deff <= 0:
        raise PlanError(f"deff must be > 0 (设计效应), got {deff!r}.")
    from scipy import stats

    z = stats.norm.ppf(1 - (1 - level) / 2) + stats.norm.ppf(power)
    guess = z * z * max(p_expected * (1 - p_expected), threshold * (1 - threshold)) / (threshold - p_expected) ** 2
    hi = int(min(n_max, max(50, 4 * guess + 200)))
    while True:
        grid = np.arange(1, hi + 1)
        pw = threshold_power(grid, p_expected, threshold, level, ci_method)
        hit = np.flatnonzero(pw >= power)
        if hit.size:
            n_eff = int(grid[hit[0]])
            return int(math.ceil(n_eff * deff - 1e-9))
        if hi >= n_max:
            raise PlanError(f"no sample size up to {n_max:,} reaches power {power} (检验效能无法达到).")
        hi = min(n_max, hi * 4)


# ------------------------------------------------------------------ allocation
def _largest_remainder(group: np.ndarray, raw: np.ndarray, target: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """Round ``raw`` (≥0) to integers so each group sums to ``target[group]`` (Hamilton's method).

    Ties are broken by ``order_key`` (a stable stratum order), never by row order.
    """
    fl = np.floor(raw + 1e-9)
    rem = raw - fl
    deficit = target - np.bincount(group, weights=fl, minlength=len(target))
    order = np.lexsort((order_key, -rem, group))
    g_sorted = group[order]
    starts = np.searchsorted(g_sorted, np.arange(len(target)))
    rank = np.arange(len(order)) - starts[g_sorted]
    add = np.zeros(len(raw))
    add[order] = (rank < np.round(deficit[g_sorted])).astype(float)
    return (fl + add).astype(np.int64)


def allocate_grouped(group: np.ndarray, N_h: np.ndarray, total: np.ndarray, measure: np.ndarray,
                     min_n: np.ndarray, max_n: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """Allocate ``total[g]`` units among the strata rows of each group ``g`` in proportion to
    ``measure``, with n_h between ``min_n`` and ``min(max_n, N_h)``, integers summing to the total
    (when the bounds allow). Vectorised over all groups (methodology §4.3)."""
    group = np.asarray(group, np.int64)
    cap = np.minimum(np.asarray(N_h, float), np.asarray(max_n, float))
    floor_ = np.minimum(np.asarray(min_n, float), cap)
    measure = np.asarray(measure, float)
    total = np.asarray(total, float)
    G = len(total)
    fixed = np.zeros(len(group), bool)
    value = np.zeros(len(group))
    for _ in range(len(group) + 2):
        rest = total - np.bincount(group, weights=np.where(fixed, value, 0.0), minlength=G)
        m_free = np.bincount(group, weights=np.where(fixed, 0.0, measure), minlength=G)
        share = np.where(fixed, 0.0, measure) / np.where(m_free[group] > 0, m_free[group], 1.0)
        n_free = np.bincount(group, weights=(~fixed).astype(float), minlength=G)
        # groups whose free strata have zero measure share equally
        share = np.where((m_free[group] <= 0) & ~fixed, 1.0 / np.maximum(n_free[group], 1), share)
        raw = np.maximum(rest[group], 0.0) * share
        low = ~fixed & (raw < floor_ - 1e-12)
        high = ~fixed & (raw > cap + 1e-12)
        if not (low.any() or high.any()):
            break
        # fix the most violating side first per pass (standard iterative allocation)
        value = np.where(high, cap, np.where(low, floor_, value))
        fixed |= high | low
    raw = np.where(fixed, value, raw)
    target = np.bincount(group, weights=raw, minlength=G)
    target = np.round(target)
    out = _largest_remainder(group, raw, target, order_key)
    return np.minimum(out, cap.astype(np.int64))


def allocate(N_h, n: int, method: str = "proportional", rates=None, power: float = 0.5,
             min_n=0, max_n=None) -> pd.Series:
    """Allocate ``n`` units across strata with populations ``N_h`` (Series indexed by stratum).

    ``method``: proportional (n_h ∝ N_h), equal, neyman (n_h ∝ N_h·√(p_h(1−p_h)) with ``rates`` the
    expected proportions), power (n_h ∝ N_h^power, Bankier 1988). Integers summing to ``n`` by
    largest remainders; each n_h within [min_n, min(max_n, N_h)].
    """
    N_h = pd.Series(N_h, dtype=float)
    m = allocation_measure(method, N_h.to_numpy(), N_h.index, rates, power)
    k = len(N_h)
    min_arr = _per_stratum(min_n, N_h.index, 0)
    max_arr = _per_stratum(max_n, N_h.index, np.inf)
    out = allocate_grouped(np.zeros(k, np.int64), N_h.to_numpy(), np.array([float(n)]), m,
                           min_arr, max_arr, np.arange(k))
    return pd.Series(out, index=N_h.index, name="n")


def _per_stratum(value, index, default) -> np.ndarray:
    if value is None:
        return np.full(len(index), float(default))
    if isinstance(value, dict):
        return np.array([float(value.get(s, default)) for s in index])
    return np.full(len(index), float(value))


def allocation_measure(method: str, N_h: np.ndarray, strata, rates=None, power: float = 0.5) -> np.ndarray:
    """The quantity n_h is proportional to, for each allocation method (methodology §4.3)."""
    N_h = np.asarray(N_h, float)
    if method == "proportional":
        return N_h
    if method == "equal":
        return (N_h > 0).astype(float)
    if method == "power":
        return np.where(N_h > 0, N_h ** float(power), 0.0)
    if method == "neyman":
        if rates is None:
            raise PlanError("Neyman allocation needs expected rates per stratum (rates={stratum: p}) "
                            "/ 奈曼分配需要各层预期比例。")
        strata = list(strata)
        missing = [s for s in strata if s not in rates]
        if missing:
            raise PlanError(f"Neyman allocation: no expected rate for strata {missing[:5]} "
                            f"(缺少这些层的预期比例).")
        p = np.array([float(rates[s]) for s in strata])
        return N_h * np.sqrt(np.clip(p * (1 - p), 1e-12, None))
    raise PlanError(f"unknown allocation {method!r}; choose one of {', '.join(ALLOCATIONS)} (未知的分配方法).")
