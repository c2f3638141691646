"""Sample: design carried for estimation, replacement by reserves, nonresponse weights, save/load."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.errors import DesignError, PlanError
from evalkit.sampling.plan import SamplingPlan, Stage



def test_design_columns_follow_the_documented_rule(sample):
    hh = sample.households
    main = hh[hh.role == "main"]
    noncert = main[main.pi_2 < 1]
    # villages drawn with probability < 1 are the PSUs, stratified by county × village type, no fpc
    assert (noncert.design_psu == noncert.village_code).all()
    # (a county × type stratum with a single PSU is merged into the county's 合并层, see the test below)
    assert ((noncert.design_stratum == noncert.county_code + "|" + noncert.village_type)
            | (noncert.design_stratum == noncert.county_code + "|合并层")).all()
    assert np.isinf(noncert.design_fpc).all()
    cert = main[main.pi_2 == 1]
    # certainty villages: households are the PSUs within village × status cells, with exact fpc
    assert (cert.design_psu == cert.household_id).all()
    assert (cert.design_stratum == cert.cell).all()
    assert (cert.design_fpc == cert.fpc_3).all()


def test_design_variance_equals_stratified_srs_by_hand(make_reg):
    """Take-all villages + SRS in village × status cells = stratified SRS: the carried design must give
    V = Σ_h W_h² (1 − n_h/N_h) s_h² / n_h for a mean (Cochran eq. 5.6), computed here by hand."""
    pytest.importorskip("evalkit.estimation.design")
    reg = make_reg(n_counties=1, villages_per_county=3, hh_range=(20, 30), seed=9)
    plan = SamplingPlan([Stage("village_code", method="all"),
                         Stage("household_id", strata=["registry_status"], n={"*": 4})])
    s = ek.draw_sample(reg, plan, seed=2)
    d = s.active.copy()
    d["y"] = d["hh_size"].astype(float)
    design = ek.SurveyDesign(d, **s.design_spec)
    est = design.estimate("y", ci_method="wald")
    N = len(reg.households)
    v = 0.0
    for cell, g in d.groupby("cell"):
        Nh, nh = g.fpc_2.iloc[0], len(g)
        v += (Nh / N) ** 2 * (1 - nh / Nh) * g.y.var(ddof=1) / nh if nh > 1 else 0.0
    mean = (d.weight * d.y).sum() / d.weight.sum()
    assert est["estimate"].iloc[0] == pytest.approx(mean, rel=1e-12)
    assert d.weight.sum() == pytest.approx(N)
    assert est["se"].iloc[0] == pytest.approx(np.sqrt(v), rel=1e-9)


def test_sample_design_object(sample):
    pytest.importorskip("evalkit.estimation.design")
    design = sample.design
    assert design.n == int(sample.households.active.sum())
    assert design.weights.sum() == pytest.approx(sample.main.weight.sum())


def test_replace_activates_next_reserve_in_same_cell_and_keeps_weights(sample):
    hh = sample.households
    cell = hh[hh.role == "reserve"].cell.value_counts().index[0]
    mains = hh[(hh.cell == cell) & (hh.role == "main")].sort_values("rank")
    reserves = hh[(hh.cell == cell) & (hh.role == "reserve")].sort_values("rank")
    total = sample.active.weight.sum()
    got = sample.replace(mains.household_id.iloc[0], "外出", time="2026-11-22T00:00:00")
    assert got == reserves.household_id.iloc[0]
    got2 = sample.replace(mains.household_id.iloc[-1], "refused")
    assert got2 == reserves.household_id.iloc[1]
    assert sample.active.weight.sum() == pytest.approx(total)
    r = sample.replacements
    assert list(r.reason) == ["away", "refused"] and list(r.reason_label) == ["外出", "拒访"]
    assert not sample.households.set_index("household_id").loc[mains.household_id.iloc[0], "active"]
    with pytest.raises(PlanError, match="not active"):
        sample.replace(mains.household_id.iloc[0], "away")
    with pytest.raises(PlanError, match="reason"):
        sample.replace(mains.household_id.iloc[1], "bored")
    if len(reserves) == 2 and len(mains) > 2:
        with pytest.raises(PlanError, match="no reserve"):
            sample.replace(mains.household_id.iloc[1], "away")


def test_respondent_weights_within_cells_with_collapse(sample):
    hh = sample.households
    main = hh[hh.role == "main"]
    # drop one respondent in every cell of ≥ 2, and one whole cell
    size = main.cell.map(main.cell.value_counts())
    gone = main[size >= 2].groupby("cell").household_id.first()
    whole_cell = main.cell.value_counts().index[0]
    resp = main[~main.household_id.isin(gone) & (main.cell != whole_cell)]
    f = sample.respondent_frame(resp.household_id)
    assert len(f) == len(resp)
    assert f.weight_final.sum() == pytest.approx(main.weight.sum())      # total preserved
    empty_villages = set(main[~main.cell.isin(resp.cell)].village_code)
    for cell, g in f.groupby("cell"):
        m = main[main.cell == cell]
        if m.village_code.iloc[0] not in empty_villages:
            # ordinary cell: weight × Σ main weights / Σ respondent weights
            np.testing.assert_allclose(g.weight_final, g.weight * m.weight.sum() / g.weight.sum())
            assert (f.loc[f.cell == cell, "nonresponse_class"] == "cell").all()
    # an empty cell's mass goes to the respondents of the same village
    v = main[main.cell == whole_cell].village_code.iloc[0]
    fv = f[f.village_code == v]
    assert fv.weight_final.sum() == pytest.approx(main[main.village_code == v].weight.sum())
    assert (fv.nonresponse_class == "unit_2").all()
    with pytest.raises(DesignError, match="not in the sample"):
        sample.respondent_frame(["nope"])


def test_save_and_load_round_trip(sample, tmp_path):
    sample.replace(sample.main.household_id.iloc[0], "not_found", time="t")
    d = sample.save(tmp_path / "s")
    back = ek.load_sample(d)
    pd.testing.assert_frame_equal(back.households, sample.households)
    assert back.manifest == sample.manifest
    assert list(back.replacements.replaced_by) == list(sample.replacements.replaced_by)
    assert back.plan == sample.plan
    assert "主样本" in repr(back)
    # the file keeps min/max statistics for numeric columns only (text statistics cost more than the
    # rest of the write at 400 000 rows); the data are the same either way
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(d / "households.parquet").metadata.row_group(0)
    stats = {meta.column(i).path_in_schema: meta.column(i).is_stats_set for i in range(meta.num_columns)}
    assert stats["weight"] and stats["pi"] and not stats["household_id"] and not stats["design_stratum"]


def test_lonely_with_replacement_strata_are_collapsed_within_their_parent(small_registry, household_sizes):
    # one non-poor village per county (a lonely PSU) is merged with the county's poor-village stratum
    plan = SamplingPlan.county_exit_check(poor_villages=2, non_poor_villages=1, households=household_sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = ek.draw_sample(small_registry, plan, seed=5)
    main = s.main
    wr = main[np.isinf(main.design_fpc)]
    per = wr.groupby("design_stratum").design_psu.nunique()
    assert (per >= 2).all()
    collapsed = wr[wr.design_stratum.str.endswith("合并层")]
    assert set(collapsed.village_type) == {"poor", "non_poor"}
    assert (collapsed.design_stratum == collapsed.county_code + "|合并层").all()
    pytest.importorskip("evalkit.estimation.design")
    assert s.design.lonely_groups() == []


def test_parquet_options_name_columns_as_pyarrow_does():
    from evalkit.sampling.sample import _parquet_options

    frame = pd.DataFrame({"household_id": ["a"], "unit_1": ["v"], "unit_2": ["a"], 0: [1.5], "role": ["main"]})
    opts = _parquet_options(frame)
    assert opts["write_statistics"] == ["0"]                      # numbers only, names as text
    assert opts["use_dictionary"] == ["unit_1", "0", "role"]      # not the ids nor the last stage's units
