"""Sample sizes against Cochran's textbook values and against simulation; allocation by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import evalkit as ek
from evalkit.errors import PlanError
from evalkit.sampling.size import allocate, threshold_power


def test_cochran_textbook_values():
    # Cochran (1977) §4.4: n0 = z²pq/d²; p = 0.5, d = 0.05, 95 % → n0 = 384.15 → 385
    assert ek.sample_size(0.5, 0.05) == 385
    # finite population N = 1000: n = n0 / (1 + (n0 − 1)/N) = 277.7 → 278
    assert ek.sample_size(0.5, 0.05, N=1000) == 278
    # p = 0.3, d = 0.03, 99 %: 2.5758² × 0.21 / 0.0009 = 1548.1 → 1549
    assert ek.sample_size(0.3, 0.03, level=0.99) == 1549
    # design effect 2 and 90 % response: 384.15 × 2 / 0.9 = 853.7 → 854
    assert ek.sample_size(0.5, 0.05, deff=2.0, response_rate=0.9) == 854
    with pytest.raises(PlanError):
        ek.sample_size(1.5, 0.05)


def test_threshold_power_matches_simulation_and_hand_duality():
    p, t = 0.005, 0.02
    n = ek.sample_size_for_threshold(p, t, power=0.8)
    pw = threshold_power(n, p, t)[0]
    assert pw >= 0.8
    # saw-tooth power: the first n reaching the target; n − 1 … n − 5 all fall short
    assert (threshold_power(np.arange(n - 5, n), p, t) < 0.8).all()
    # simulation: Clopper–Pearson (Korn–Graubard with deff 1) upper limit below 2 %
    rng = np.random.default_rng(42)
    x = rng.binomial(n, p, size=20000)
    upper = stats.beta.ppf(0.975, x + 1, n - x)
    sim = (upper < t).mean()
    assert abs(sim - pw) < 4 * np.sqrt(pw * (1 - pw) / 20000)
    # with a design effect the required n scales by deff (on the effective sample size)
    assert ek.sample_size_for_threshold(p, t, deff=2.0) == int(np.ceil(n * 2.0))
    # brute force, independent of the bisection: power(n) = Σ_x P(X = x) · 1[upper_CP(x, n) < t]
    def brute(m):
        xs = np.arange(m + 1)
        ub = np.where(xs < m, stats.beta.ppf(0.975, xs + 1, np.maximum(m - xs, 1)), 1.0)
        return stats.binom.pmf(xs, m, p)[ub < t].sum()
    assert brute(n) == pytest.approx(pw, abs=1e-12) and brute(n) >= 0.8 > brute(n - 1)
    # Wilson (upper limit ≈ 3.84/n at zero counts, wider than exact 3.69/n): checked the same way
    nw = ek.sample_size_for_threshold(p, t, ci_method="wilson")
    zq = stats.norm.ppf(0.975)
    def wilson_ub(xs, m):
        ph = xs / m
        return (ph + zq**2 / (2 * m) + zq * np.sqrt(ph * (1 - ph) / m + zq**2 / (4 * m * m))) / (1 + zq**2 / m)
    xs = np.arange(nw + 1)
    assert stats.binom.pmf(xs, nw, p)[wilson_ub(xs, nw) < t].sum() >= 0.8
    with pytest.raises(PlanError, match="threshold"):
        ek.sample_size_for_threshold(0.03, 0.02)


def test_allocation_by_hand():
    N = pd.Series({"a": 600, "b": 300, "c": 100})
    assert allocate(N, 10).to_dict() == {"a": 6, "b": 3, "c": 1}
    assert allocate(N, 9, method="equal").to_dict() == {"a": 3, "b": 3, "c": 3}
    # Neyman: N_h·√(p(1−p)) = 600·0.3, 300·0.4, 100·0.5 → 180:120:50 of 35 → 18, 12, 5
    out = allocate(N, 35, method="neyman", rates={"a": 0.1, "b": 0.2, "c": 0.5})
    assert out.to_dict() == {"a": 18, "b": 12, "c": 5}
    # power 0.5: √600:√300:√100 = 24.49:17.32:10 of 10 → 4.71, 3.33, 1.92 → 5, 3, 2
    assert allocate(N, 10, method="power", power=0.5).to_dict() == {"a": 5, "b": 3, "c": 2}
    # minimum 3 per stratum: c gets 3, the rest 7 split 2:1 → 4.67, 2.33 → 5, 2 … then b raised to 3
    out = allocate(N, 10, min_n=3)
    assert out.sum() == 10 and out["c"] == 3 and out["b"] >= 3
    # cap at the stratum size (take-all) and redistribute
    out = allocate(pd.Series({"a": 100, "b": 2}), 20, method="equal")
    assert out.to_dict() == {"a": 18, "b": 2}
    # largest remainder preserves the total
    out = allocate(pd.Series({"a": 10, "b": 10, "c": 10}), 5)
    assert out.to_dict() == {"a": 2, "b": 2, "c": 1}      # ties broken by stratum order, not row order
