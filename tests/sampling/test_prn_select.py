"""Permanent random numbers and unit selection: exact πᵢ checked against selection frequencies."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.sampling.pps import inclusion_probabilities, pareto_pi, pareto_theta
from evalkit.sampling.prn import hash_key, prn
from evalkit.sampling.select import select_in_groups


def test_prn_v1_golden_values_are_stable_across_machines_and_versions():
    # pinned: if pandas' SipHash or our key derivation ever changed, samples drawn with evalkit 0.1
    # (manifest "evalkit-prn/v1") would no longer verify
    assert hash_key(20250601, "stage2:village_code") == "aa855fd1d1b34dc5"
    u = prn(["520102001001", "520102001002", "x"], seed=20250601, salt="stage2:village_code", version=1)
    np.testing.assert_allclose(u, GOLDEN, rtol=0, atol=0)


GOLDEN = [0.9095553073318463, 0.555958098029194, 0.7791695761631401]

_M = (1 << 64) - 1
_G = 0x9E3779B97F4A7C15


def _mix(z):
    z &= _M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def _prn_v2_reference(uid: str, seed: int, salt: str) -> float:
    """PRN v2 written from docs/methodology/sampling.md §2 with Python integers, one id at a time."""
    import hashlib

    b = uid.encode("utf-8")
    h = _mix(((2 * _G) & _M) ^ len(b))
    for j in range(0, len(b), 8):
        w = int.from_bytes(b[j:j + 8].ljust(8, b"\0"), "little")
        h = (h + _mix(w ^ (((j // 8 + 1) * _G) & _M))) & _M
    d = hashlib.blake2b(f"evalkit-prn/v2/{seed}/{salt}".encode(), digest_size=16).digest()
    k1, k2 = int.from_bytes(d[:8], "little"), int.from_bytes(d[8:], "little")
    z = _mix(_mix(h ^ k1) ^ k2)
    return ((z >> 11) + 0.5) * 2.0 ** -53


def test_prn_v2_matches_a_scalar_reference_and_golden_values():
    rng = np.random.default_rng(11)
    ids = ["", "7", "520102001001", "5201020010010001", "x" * 8, "x" * 9, "南明区花果园村", "户-0012 ",
           *["".join(rng.choice(list("0123456789abcXYZ村户"), size=k)) for k in rng.integers(0, 40, 200)]]
    u = prn(ids, seed=20250601, salt="stage3:household_id")
    ref = [_prn_v2_reference(i, 20250601, "stage3:household_id") for i in ids]
    np.testing.assert_array_equal(u, ref)
    # Arrow-backed and categorical containers give the same numbers
    np.testing.assert_array_equal(prn(pd.Series(ids, dtype="string[pyarrow]"), 20250601, "stage3:household_id"), u)
    np.testing.assert_array_equal(prn(pd.Series(ids).astype("category"), 20250601, "stage3:household_id"), u)
    # pinned: a change here changes every sample drawn with PRN v2
    np.testing.assert_array_equal(prn(["520102001001", "520102001002", "x"], 20250601, "stage2:village_code"),
                                  GOLDEN_V2)


GOLDEN_V2 = [0.5714922476381155, 0.9773324597414843, 0.0875525399241473]


def test_prn_depends_on_id_not_row_order_and_changes_with_seed():
    ids = [f"h{i:05d}" for i in range(2000)]
    u = prn(ids, 7, "s")
    perm = np.random.default_rng(0).permutation(2000)
    np.testing.assert_array_equal(prn([ids[i] for i in perm], 7, "s"), u[perm])
    # ints and their strings give the same number; any dtype of the container gives the same number
    np.testing.assert_array_equal(prn([12, 13], 7, "s"), prn(["12", "13"], 7, "s"))
    np.testing.assert_array_equal(prn(pd.Series(ids[:5], dtype="category"), 7, "s"), u[:5])
    v = prn(ids, 8, "s")
    w = prn(ids, 7, "t")
    assert np.corrcoef(u, v)[0, 1] < 0.1 and np.corrcoef(u, w)[0, 1] < 0.1
    assert (u > 0).all() and (u < 1).all()
    # uniform: Kolmogorov–Smirnov against U(0,1)
    assert stats.kstest(prn([f"id{i}" for i in range(20000)], 3, "k"), "uniform").pvalue > 1e-3


def test_capped_inclusion_probabilities_hand_values():
    # sizes 1,1,2,16 with n=2: 16 gets λ=1.6 → certainty; the rest share 1 by size: 0.25,0.25,0.5
    lam = inclusion_probabilities(np.zeros(4, int), np.array([1, 1, 2, 16.0]), np.array([2]))
    np.testing.assert_allclose(lam, [0.25, 0.25, 0.5, 1.0])
    # two groups vectorised, second needs two rounds of capping: sizes 10,9,1,1,1 n=3
    lam = inclusion_probabilities(np.array([0, 0, 1, 1, 1, 1, 1]), np.array([1, 3, 10, 9, 1, 1, 1.0]),
                                  np.array([1, 3]))
    np.testing.assert_allclose(lam, [0.25, 0.75, 1, 1, 1 / 3, 1 / 3, 1 / 3])
    assert lam[2:].sum() == pytest.approx(3)


def test_pareto_exact_pi_matches_monte_carlo_and_theta_solves_target():
    lam = np.array([0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.6])   # sums to 2
    th0 = lam / (1 - lam)
    exact = pareto_pi(th0, 2)
    rng = np.random.default_rng(5)
    R = 200_000
    u = rng.random((R, 7))
    chosen = np.argsort((u / (1 - u)) / th0, axis=1)[:, :2]
    freq = np.bincount(chosen.ravel(), minlength=7) / R
    se = np.sqrt(exact * (1 - exact) / R)
    assert np.abs(freq - exact).max() < 4.5 * se.max()
    assert np.abs(exact - lam).max() > 3e-3            # plain Pareto is off by this much …
    th = pareto_theta(lam)
    np.testing.assert_allclose(pareto_pi(th, 2), lam, atol=1e-9)   # … the solved θ is exact


def _freq_test(method, size=None, n=4, N=12, R=20000, sort=None):
    """Replications as separate groups of one vectorised call: R independent draws at once."""
    rng = np.random.default_rng(2024)
    group = np.repeat(np.arange(R), N)
    u = rng.random(R * N)
    start = rng.random(R)
    sort = np.arange(N) if sort is None else sort
    sel = select_in_groups(method, group, np.full(R, n), u, size=None if size is None else np.tile(size, R),
                           sort_code=np.tile(sort, R), start=start, n_reserve=2)
    chosen = sel.selected.reshape(R, N)
    np.testing.assert_array_equal(chosen.sum(axis=1), n)            # fixed size met exactly every time
    np.testing.assert_array_equal(sel.reserve.reshape(R, N).sum(axis=1), min(2, N - n))
    counts = chosen.sum(axis=0)
    pi = sel.pi[:N]
    np.testing.assert_allclose(sel.pi.reshape(R, N), np.tile(pi, (R, 1)))
    expected = pi * R
    z = (counts - expected) / np.sqrt(expected * (1 - pi) + 1e-12)
    free = pi < 1
    assert np.abs(z[free]).max() < 4.0, (counts, expected)
    if method in ("srs", "pps"):
        # chi-square over units (systematic samples are perfectly dependent: z-scores only)
        assert stats.chi2.sf(float((z[free] ** 2).sum()), int(free.sum()) - 1) > 1e-3
    np.testing.assert_array_equal(counts[~free], R)
    return pi


SIZES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 40, 60.0])


@pytest.mark.parametrize("method", ["srs", "systematic", "pps", "pps_systematic"])
def test_selection_frequencies_agree_with_reported_pi(method):
    size = SIZES if method.startswith("pps") else None
    pi = _freq_test(method, size=size, sort=np.array([3, 1, 4, 0, 5, 9, 2, 6, 11, 8, 7, 10]))
    assert pi.sum() == pytest.approx(4)
    if method.startswith("pps"):
        assert (pi[-2:] == 1.0).all() and pi[-3] < 1     # two certainty units found by iterated capping
        np.testing.assert_allclose(pi, inclusion_probabilities(np.zeros(12, int), SIZES, np.array([4])))
    else:
        np.testing.assert_allclose(pi, 4 / 12)


def test_reserves_follow_rank_order_after_main_units():
    ids = [f"u{i}" for i in range(10)]
    u = prn(ids, 11, "t")
    sel = select_in_groups("srs", np.zeros(10, int), np.array([3]), u, n_reserve=3)
    order = np.argsort(u)
    assert set(np.flatnonzero(sel.selected)) == set(order[:3])
    assert list(np.flatnonzero(sel.reserve)[np.argsort(sel.rank[sel.reserve])]) == list(order[3:6])
    np.testing.assert_array_equal(np.sort(sel.rank[sel.rank > 0]), np.arange(1, 7))


def test_ordered_bits_sort_like_the_floats():
    """The uint64 ranking key of select._rank_within orders exactly as the float keys (−0.0 = +0.0,
    ±inf at the ends, NaN after everything)."""
    from evalkit.sampling.select import _ordered_bits

    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(size=5000) * 10.0 ** rng.integers(-300, 300, 5000),
                        [-np.inf, np.inf, -0.0, 0.0, 5e-324, -5e-324, 1.0, -1.0, np.nextafter(1.0, 2)]])
    bits = _ordered_bits(x)
    order = np.argsort(bits, kind="stable")
    assert (np.diff(x[order]) >= 0).all()
    assert bits[np.flatnonzero(x == 0)].tolist() == [bits[np.flatnonzero(x == 0)[0]]] * 2
    nan_bits = _ordered_bits(np.array([np.nan, np.inf]))
    assert nan_bits[0] > nan_bits[1]
    assert _ordered_bits(np.array([-0.0]))[0] == _ordered_bits(np.array([0.0]))[0]
