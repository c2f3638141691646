"""Probability-proportional-to-size selection (按规模大小成比例抽样, πps).

* ``inclusion_probabilities``: λᵢ = n·xᵢ/Σx within each stratum, certainty units capped at 1 and the
  rest re-scaled, iterated until no unit exceeds 1 (methodology §3.3).
* Pareto order sampling (Rosén 1997) on permanent random numbers: rank Qᵢ = [uᵢ/(1−uᵢ)] / θᵢ and take
  the n smallest. With θᵢ = λᵢ/(1−λᵢ) the realised πᵢ differ slightly from λᵢ; ``pareto_theta`` solves
  for the θᵢ that make the *exact* πᵢ (Aires 1999 integral, computed by quadrature) equal λᵢ, so the
  reported πᵢ are exact to ~1e-9 (methodology §3.4).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from evalkit.errors import PlanError


def inclusion_probabilities(group: np.ndarray, size: np.ndarray, n_g: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """πps target probabilities within groups, with certainty units (πᵢ = 1) found iteratively.

    ``group`` holds 0..G−1 per unit, ``size`` the size measures (> 0), ``n_g`` the sample size per
    group (≤ units in the group). Vectorised over all groups.
    """
    group = np.asarray(group, np.int64)
    x = np.asarray(size, float)
    n_g = np.asarray(n_g, float)
    G = len(n_g)
    cert = np.zeros(len(x), bool)
    lam = np.zeros(len(x))
    for _ in range(max_iter):
        n_cert = np.bincount(group, weights=cert.astype(float), minlength=G)
        x_rest = np.bincount(group, weights=np.where(cert, 0.0, x), minlength=G)
        denom = np.where(x_rest > 0, x_rest, 1.0)
        lam = np.where(cert, 1.0, (n_g - n_cert)[group] * x / denom[group])
        new = ~cert & (lam >= 1.0 - 1e-12)
        if not new.any():
            break
        cert |= new
    return np.clip(lam, 0.0, 1.0)


# ------------------------------------------------------------------ Pareto πps, exact πᵢ
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def pareto_pi(theta: np.ndarray, n: int, step: float = 0.2) -> np.ndarray:
    """Exact inclusion probabilities of Pareto order sampling with shape parameters θᵢ (one stratum).

    πᵢ = ∫ P(Qᵢ ∈ dt) · P(at most n−1 other Qⱼ ≤ t), Qⱼ ~ Pareto with P(Qⱼ ≤ t) = tθⱼ/(1+tθⱼ)
    (Aires 1999). In v = log t each factor is a logistic function, so the trapezoid rule on a uniform
    grid converges geometrically; the Poisson-binomial count is built from prefix and suffix products.
    """
    theta = np.asarray(theta, float)
    N = len(theta)
    if n <= 0:
        return np.zeros(N)
    if n >= N:
        return np.ones(N)
    lt = np.log(theta)
    v = np.arange(-lt.max() - 40.0, -lt.min() + 40.0 + step, step)
    P = _sigmoid(v[None, :] + lt[:, None])            # (N, T): P(Q_j <= e^v)
    T = len(v)
    # prefix[j] = distribution of the count among units < j, truncated to 0..n-1 (mass above dropped)
    prefix = np.zeros((N + 1, T, n))
    prefix[0, :, 0] = 1.0
    for j in range(N):
        cur = prefix[j] * (1 - P[j])[:, None]
        cur[:, 1:] += prefix[j][:, :-1] * P[j][:, None]
        prefix[j + 1] = cur
    suffix = np.zeros((N + 1, T, n))
    suffix[N, :, 0] = 1.0
    for j in range(N - 1, -1, -1):
        cur = suffix[j + 1] * (1 - P[j])[:, None]
        cur[:, 1:] += suffix[j + 1][:, :-1] * P[j][:, None]
        suffix[j] = cur
    # P(count of others <= n-1) = sum_a prefix_i(a) * P(suffix_{i+1} <= n-1-a)
    suf_cdf = np.cumsum(suffix[1:], axis=2)              # (N, T, n): P(suffix <= k)
    at_most = np.einsum("itk,itk->it", prefix[:N], suf_cdf[:, :, ::-1])
    dens = P * (1 - P)                                    # dF_i/dv
    return np.clip((dens * at_most).sum(axis=1) * step, 0.0, 1.0)


def pareto_theta(lam: np.ndarray, tol: float = 1e-10, max_iter: int = 60) -> np.ndarray:
    """Shape parameters θᵢ for which Pareto order sampling has exact πᵢ = λᵢ (one stratum).

    Units with λ = 1 get θ = inf (always selected); the rest are solved by the fixed-point iteration
    θ ← θ·odds(λ)/odds(π(θ)) started from Bondesson, Traat & Lundqvist's (2006) adjustment.
    """
    lam = np.asarray(lam, float)
    theta = np.full(len(lam), np.inf)
    free = lam < 1.0
    lf = lam[free]
    n = int(round(lf.sum()))
    if free.sum() == 0 or n == 0:
        return theta
    if n >= free.sum():
        theta[free] = np.inf
        return theta
    odds = lf / (1 - lf)
    d = float((lf * (1 - lf)).sum())
    th = odds * np.exp(-lf * (1 - lf) * (lf - 0.5) / d ** 2)
    for _ in range(max_iter):
        pi = pareto_pi(th, n)
        err = np.abs(pi - lf).max()
        if err < tol:
            break
        pi = np.clip(pi, 1e-15, 1 - 1e-15)
        th = th * odds / (pi / (1 - pi))
    theta[free] = th
    return theta


def pareto_theta_grouped(group: np.ndarray, lam: np.ndarray, exact: bool = True) -> np.ndarray:
    """θᵢ per unit for every group: exact solution (loop over groups) or the closed-form adjustment."""
    group = np.asarray(group, np.int64)
    lam = np.asarray(lam, float)
    theta = np.full(len(lam), np.inf)
    free = (lam < 1.0) & (lam > 0)
    if not free.any():
        return theta
    G = int(group.max()) + 1
    d = np.bincount(group, weights=np.where(free, lam * (1 - lam), 0.0), minlength=G)
    odds = np.where(free, lam / np.where(free, 1 - lam, 1.0), np.inf)
    adj = np.where(free, np.exp(-lam * (1 - lam) * (lam - 0.5) / np.maximum(d[group], 1e-12) ** 2), 1.0)
    theta = np.where(free, odds * adj, np.where(lam >= 1.0, np.inf, 0.0))
    if not exact:
        return theta
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    bounds = np.flatnonzero(np.diff(g_sorted)) + 1
    for idx in np.split(order, bounds):
        sub = lam[idx]
        f = (sub < 1.0) & (sub > 0)
        if f.sum() < 2:
            continue
        theta[idx[f]] = _pareto_theta_cached(sub[f].tobytes())
    return theta


@lru_cache(maxsize=4096)
def _pareto_theta_cached(lam_bytes: bytes) -> np.ndarray:
    """θ depends on λ only (not on the seed): cache it across repeated draws."""
    out = pareto_theta(np.frombuffer(lam_bytes, dtype=float))
    out.setflags(write=False)
    return out


def check_sizes(size: np.ndarray, labels, what: str) -> None:
    """PlanError when a size measure is missing, negative or zero (such units could never be drawn)."""
    size = np.asarray(size, float)
    bad = ~np.isfinite(size) | (size <= 0)
    if bad.any():
        ex = ", ".join(str(x) for x in np.asarray(labels, dtype=object)[bad][:5])
        raise PlanError(
            f"规模指标缺失、为零或为负的单位无法按 PPS 抽中 / {int(bad.sum())} units have a missing, zero or "
            f"negative size measure for {what} (e.g. {ex}); fix the registry or choose another size measure "
            f"(size='households').")
