"""draw_sample: fixed sizes, exact weights (Σ weights unbiased), row-order invariance, bad plans."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.errors import PlanError
from evalkit.registry.registry import Registry
from evalkit.sampling.plan import SamplingPlan, Stage

HH = {"poor": 2, "exited": 3, "exiting": 1, "not_registered": 3}


def small_plan(method="pps", reserves=2):
    return SamplingPlan.county_exit_check(poor_villages=2, non_poor_villages=1, households=HH,
                                          reserves=reserves, village_method=method)


def test_fixed_sizes_met_exactly_and_weights_are_inverse_pi(small_registry):
    s = ek.draw_sample(small_registry, small_plan(), seed=1)
    hh = s.households
    main = hh[hh.role == "main"]
    reg = small_registry.households
    # villages: per county 2 poor + 1 non-poor (every county has ≥ 2 of each)
    per = main.drop_duplicates("village_code").groupby(["county_code", "village_type"]).size()
    assert (per.xs("poor", level=1) == 2).all() and (per.xs("non_poor", level=1) == 1).all()
    # households: min(n, N) per village × status, exactly
    sel_v = main["village_code"].unique()
    pop = reg[reg.village_code.isin(sel_v)].groupby(["village_code", "registry_status"]).size()
    got = main.groupby(["village_code", "registry_status"]).size().reindex(pop.index, fill_value=0)
    want = pop.combine(pop.index.get_level_values(1).map(HH).to_series(index=pop.index), min)
    pd.testing.assert_series_equal(got, want, check_names=False)
    # reserves: up to 2 per cell, ranks continue after the main ones
    np.testing.assert_allclose(hh["weight"], 1 / hh["pi"])
    np.testing.assert_allclose(hh["pi"], hh["pi_1"] * hh["pi_2"] * hh["pi_3"])
    # stage-3 π exactly n/N within the village × status cell
    cellN = reg.groupby(["village_code", "registry_status"]).size()
    n_cell = main.groupby("cell").size()
    for _, r in main.head(30).iterrows():
        N = cellN[(r.village_code, r.registry_status)]
        assert r.pi_3 == pytest.approx(min(HH[r.registry_status], N) / N)
        assert r.fpc_3 == N
    for cell, grp in hh.groupby("cell"):
        ranks = sorted(grp["rank"])
        assert ranks == list(range(1, len(grp) + 1))
        assert (grp.loc[grp.role == "main", "rank"] <= n_cell[cell]).all()
        assert (grp.role == "reserve").sum() <= 2


def _inclusion_frequency(reg, plan, seeds):
    counts = pd.Series(0.0, index=reg.households["household_id"])
    pis = {}
    wsum = []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = ek.draw_sample(reg, plan, seed=seed)
        m = s.households[s.households.role == "main"]
        counts[m.household_id] += 1
        pis.update(dict(zip(m.household_id, m.pi)))
        wsum.append(m.weight.sum())
    return counts, pd.Series(pis), np.array(wsum)


def test_household_inclusion_frequencies_match_pi_and_weights_unbiased(make_reg):
    method = "pps"   # Pareto πps end to end; every method's frequencies: test_prn_select (20,000 draws)
    reg = make_reg(n_counties=1, villages_per_county=6, hh_range=(5, 14), seed=4)
    plan = SamplingPlan([
        Stage("village_code", method=method, strata=["village_type"], n={"poor": 2, "non_poor": 1}),
        Stage("household_id", method="srs", strata=["registry_status"], n={"*": 2}),
    ])
    R = 150
    counts, pis, wsum = _inclusion_frequency(reg, plan, range(R))
    N = len(reg.households)
    # every household can be drawn; π constant over draws for a household → compare frequencies
    assert len(pis) == N
    z = (counts - pis * R) / np.sqrt(pis * (1 - pis) * R + 1e-12)
    assert np.abs(z[pis < 1]).max() < 4.5
    # Σ weights unbiased for the number of households: mean within 4 SE of N
    assert abs(wsum.mean() - N) < 4 * wsum.std(ddof=1) / np.sqrt(R) + 1e-9
    # exact expectation: Σ over the population of π·(1/π) = N  ⇔  π are the true probabilities
    assert (counts / R * (1 / pis)).sum() == pytest.approx(N, rel=0.03)


def test_same_content_any_row_order_gives_same_sample_and_seed_changes_it(small_registry):
    plan = small_plan()
    a = ek.draw_sample(small_registry, plan, seed=99).households
    shuffled = small_registry.households.sample(frac=1.0, random_state=5)
    shuffled = shuffled[list(reversed(shuffled.columns))]
    b = ek.draw_sample(Registry(shuffled), plan, seed=99).households
    cols = [c for c in a.columns]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
    c = ek.draw_sample(small_registry, plan, seed=100).households
    assert set(c.household_id) != set(a.household_id)


def test_sample_hash_and_manifest(small_registry):
    s = ek.draw_sample(small_registry, small_plan(), seed=3)
    m = s.manifest
    assert m["seed"] == 3 and m["registry_fingerprint"] == small_registry.fingerprint
    assert m["plan"]["name"] == "county_exit_check" and m["evalkit_version"] == ek.__version__
    assert m["n_main"] == int((s.households.role == "main").sum())
    assert SamplingPlan.from_dict(m["plan"]) == small_plan()


def test_oversampling_a_suspect_flag_keeps_weights_unbiased(make_reg):
    reg = make_reg(n_counties=1, villages_per_county=3, hh_range=(30, 40), seed=8, suspect_rate=0.3)
    plan = SamplingPlan([Stage("household_id", method="srs", strata=["suspect"], n={True: 10, False: 5})])
    R = 20
    counts, pis, wsum = _inclusion_frequency(reg, plan, range(R))
    h = reg.households.set_index("household_id")
    n_s, n_o = int(h.suspect.sum()), int((~h.suspect).sum())
    drawn = h.loc[pis.index, "suspect"]
    np.testing.assert_allclose(pis[drawn.to_numpy()], 10 / n_s)
    np.testing.assert_allclose(pis[~drawn.to_numpy()], 5 / n_o)
    assert (counts[h.index[h.suspect]] > 0).sum() > 10
    np.testing.assert_allclose(wsum, n_s + n_o)          # SRS in strata: Σ weights exact every time


def test_allocation_across_strata_by_parent(make_reg):
    reg = make_reg(n_counties=2, villages_per_county=3, hh_range=(30, 60), seed=2)
    plan = SamplingPlan([Stage("village_code", method="all"),
                         Stage("household_id", strata=["registry_status"], n=20, allocation="proportional",
                               min_n=2)])
    s = ek.draw_sample(reg, plan, seed=1)
    main = s.households[s.households.role == "main"]
    per_v = main.groupby("village_code").size()
    assert (per_v == 20).all()                                # total per village preserved by rounding
    hh = reg.households
    for v in per_v.index[:3]:
        Nh = hh[hh.village_code == v].groupby("registry_status").size()
        nh = main[main.village_code == v].groupby("registry_status").size().reindex(Nh.index, fill_value=0)
        assert (nh >= np.minimum(2, Nh)).all()
        assert (np.abs(nh - 20 * Nh / Nh.sum()) < 2.01).all()


def test_bad_plans_give_clear_plan_errors(small_registry):
    with pytest.raises(PlanError, match="missing from the registry"):
        ek.draw_sample(small_registry, SamplingPlan([Stage("household_id", strata=["nope"], n=2)]), 1)
    with pytest.raises(PlanError, match="no value for strata"):
        ek.draw_sample(small_registry, SamplingPlan([Stage("household_id", strata=["registry_status"],
                                                           n={"poor": 2})]), 1)
    hh = small_registry.households.copy()
    hh["zero"] = 0.0
    plan = SamplingPlan([Stage("village_code", method="pps", n=2, size="zero"), Stage("household_id", n=2)])
    with pytest.raises(PlanError, match="size measure"):
        ek.draw_sample(Registry(hh), plan, 1)
    with pytest.raises(PlanError, match="last stage must select households"):
        SamplingPlan([Stage("village_code", n=2)])
    with pytest.raises(PlanError, match="unknown method"):
        Stage("village_code", method="cluster", n=2)
    hh2 = small_registry.households.copy()
    hh2.loc[0, "village_type"] = "non_poor" if hh2.loc[0, "village_type"] == "poor" else "poor"
    with pytest.raises(PlanError, match="varies within units"):
        ek.draw_sample(Registry(hh2), small_plan(), 1)


def test_n_larger_than_stratum_takes_all_with_a_warning(tiny_registry):
    plan = SamplingPlan([Stage("village_code", method="srs", n=50), Stage("household_id", n=1000)])
    with pytest.warns(UserWarning, match="taken whole"):
        s = ek.draw_sample(tiny_registry, plan, seed=1)
    assert len(s.households) == len(tiny_registry.households)
    assert (s.households.pi == 1).all() and s.manifest["warnings"]


def test_empty_strata_named_in_the_plan_are_reported(small_registry):
    plan = SamplingPlan([Stage("household_id", strata=["registry_status"], n={"*": 2, "exitd": 3})])
    with pytest.warns(UserWarning, match="no units in the frame"):
        s = ek.draw_sample(small_registry, plan, seed=1)
    assert any("exitd" in w for w in s.manifest["warnings"])


def test_duplicated_household_ids_are_a_plan_error(small_registry):
    hh = small_registry.households.copy()
    hh.loc[5, "household_id"] = hh.loc[4, "household_id"]            # same village: exact PRN tie
    plan = SamplingPlan([Stage("village_code", method="all"), Stage("household_id", method="all")])
    with pytest.raises(PlanError, match="not unique"):
        ek.draw_sample(Registry(hh), plan, seed=1)
    hh = small_registry.households.copy()
    hh.loc[len(hh) - 1, "household_id"] = hh.loc[0, "household_id"]  # another village
    with pytest.raises(PlanError, match="not unique"):
        ek.draw_sample(Registry(hh), plan, seed=1)


def test_units_in_two_parent_units_are_a_plan_error(small_registry):
    hh = small_registry.households.copy()
    v = hh["village_code"].iloc[0]
    other = hh.loc[hh["county_code"] != hh["county_code"].iloc[0], "county_code"].iloc[0]
    hh.loc[hh.index[:2], "county_code"] = other          # two rows of the village now in another county
    plan = SamplingPlan([Stage("county_code", method="all"), Stage("village_code", n=2),
                         Stage("household_id", n=2)])
    with pytest.raises(PlanError, match="stages must be nested") as err:
        ek.draw_sample(Registry(hh), plan, 1)
    assert v in str(err.value)


def test_systematic_sort_key_varying_within_units_is_row_order_invariant(small_registry):
    # villages ordered by household size, which varies between the households of a village: the
    # village's smallest value orders it, so the row order of the file cannot change the sample
    plan = SamplingPlan([Stage("county_code", method="all"),
                         Stage("village_code", method="pps_systematic", n=2, size="households",
                               sort=["hh_size"]),
                         Stage("household_id", n=2)])
    a = ek.draw_sample(small_registry, plan, seed=7)
    for rs in (1, 2, 3):
        shuffled = small_registry.households.sample(frac=1.0, random_state=rs)
        b = ek.draw_sample(Registry(shuffled), plan, seed=7)
        assert b.manifest["sample_hash"] == a.manifest["sample_hash"]


def test_fingerprint_on_a_second_thread_is_the_registry_fingerprint(small_registry, monkeypatch):
    from evalkit import threads

    monkeypatch.setattr(threads, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    reg = Registry(small_registry.households.copy())
    assert "fingerprint" not in vars(reg)
    s = ek.draw_sample(reg, small_plan(), seed=3)
    assert s.manifest["registry_fingerprint"] == Registry(small_registry.households.copy()).fingerprint

    class Broken(Registry):
        @property
        def fingerprint(self):
            raise MemoryError("no room to hash")

    with pytest.raises(MemoryError, match="no room to hash"):
        ek.draw_sample(Broken(small_registry.households.copy()), small_plan(), seed=3)


def test_reused_id_hashes_give_the_same_sample_and_fingerprint(tmp_path, monkeypatch):
    """read_registry keeps the household-id hashes its duplicate check made (large tables); the
    fingerprint and a final SRS stage reuse them. Drawing from the same content without them (a
    fresh Registry), with a changed id column, or by a plan whose final stage cannot use them must
    give exactly the same results."""
    from evalkit.registry.registry import Registry

    rng = np.random.default_rng(8)
    n = 60_000  # above the size at which duplicates are found through hashes
    village = np.sort(rng.integers(0, 120, n))
    county = village // 40
    vcode = np.array([f"52010{c + 1}{1 + v // 10:03d}{1 + v % 10:03d}" for c, v in zip(county, village)])
    df = pd.DataFrame({
        "household_id": [f"{v}{i:07d}" for i, v in enumerate(vcode)],
        "county_code": [f"52010{c + 1}000000" for c in county],
        "village_code": vcode,
        "village_type": np.where(village % 3 == 0, "non_poor", "poor"),
        "registry_status": rng.choice(["poor", "exited", "not_registered"], n),
        "hh_size": rng.integers(1, 7, n),
    }).sample(frac=1, random_state=1)
    df.to_parquet(tmp_path / "reg.parquet", index=False, row_group_size=7_000)  # several chunks
    reg = ek.read_registry(tmp_path / "reg.parquet")
    assert len(reg._known_hashes) == 1
    plain = Registry(reg.households, None, meta=reg.meta)  # same content, no hashes kept
    assert plain._known_hashes is None and plain.fingerprint == reg.fingerprint
    plans = [SamplingPlan([Stage("village_code", method="pps_systematic", n=4, size="households"),
                           Stage("household_id", method="srs", n=6, strata=["registry_status"], reserves=2)]),
             SamplingPlan([Stage("county_code", method="all"), Stage("village_code", method="srs", n=3),
                           Stage("household_id", method="all")]),
             SamplingPlan([Stage("village_code", method="srs", n=3),   # final PPS: ids gathered as before
                           Stage("household_id", method="pps", n=5, size="hh_size")]),
             SamplingPlan([Stage("household_id", method="srs", n=40, strata=["registry_status"])])]  # every row
    import evalkit.sampling.draw as draw_module

    used = []
    real = draw_module._known_unit_hashes
    monkeypatch.setattr(draw_module, "_known_unit_hashes", lambda *a: used.append(real(*a) is not None) or real(*a))
    for plan, fast in zip(plans, (True, True, False, True)):
        used.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = ek.draw_sample(reg, plan, seed=3)
            assert used == [fast]  # the path under test was (or was not) taken
            b = ek.draw_sample(plain, plan, seed=3)
        pd.testing.assert_frame_equal(a.households, b.households)
        assert a.manifest["sample_hash"] == b.manifest["sample_hash"]
        assert a.manifest["registry_fingerprint"] == b.manifest["registry_fingerprint"]
    # a changed id column is hashed afresh, never matched to the kept hashes
    changed = reg.households.assign(household_id=reg.households["household_id"].str.replace("5201", "5202"))
    assert reg._known_hashes.get(changed["household_id"]) is None
    assert Registry(changed, None).fingerprint != reg.fingerprint
