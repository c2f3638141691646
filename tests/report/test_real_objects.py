"""The report on the real pipeline's objects (Sample, Responses, Results): what it shows is
exactly what Results says — every estimate, interval and decision, cell by cell."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from openpyxl import load_workbook

from evalkit.report import figures as F
from evalkit.report import tables as T


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    import evalkit as ek

    warnings.simplefilter("ignore")
    reg = ek.synthetic_registry(seed=11, n_counties=2, households_per_county=(500, 700))
    sample = ek.draw_sample(reg, ek.SamplingPlan.county_exit_check(poor_villages=3, non_poor_villages=3),
                            seed=20250601)
    work = tmp_path_factory.mktemp("real")
    files = ek.simulate_fieldwork(sample, reg, out_dir=work / "exports", seed=2)
    resp = ek.read_responses(files, sample=sample)
    res = ek.county_exit_check(resp, reg, lonely_psu="adjust")
    return reg, sample, resp, res, work


def test_forest_plot_draws_every_row_with_its_decision_colour(real):
    reg, sample, resp, res, _ = real
    fig = F.forest_plot(res)
    inds = list(dict.fromkeys(res.table["indicator"]))
    assert len(fig.axes) == len(inds)
    for ax, ind in zip(fig.axes, inds):
        sub = res.table[res.table["indicator"] == ind]
        (coll,) = [a for a in ax.get_children() if a.get_gid() == "interval"]
        segs = coll.get_segments()
        assert len(segs) == len(sub)
        # drawn intervals are the table's, in percent (province first, then by county code)
        order = sub.assign(_p=sub["county_code"].isna()).sort_values(["_p", "county_code"], ascending=[False, True])
        np.testing.assert_allclose([s[0][0] for s in segs], order["ci_low"].to_numpy(float) * 100, rtol=1e-12)
        np.testing.assert_allclose([s[1][0] for s in segs], order["ci_high"].to_numpy(float) * 100, rtol=1e-12)
        assert [to_hex(c) for c in coll.get_colors()] == [F.DECISION_COLORS[F.decision_key(d)]
                                                         for d in order["decision"]]
        thr = [a for a in ax.get_children() if a.get_gid() == "threshold"]
        assert thr[0].get_xdata()[0] == pytest.approx(float(sub["threshold"].iloc[0]) * 100)


def test_workbook_cells_equal_results(real):
    reg, sample, resp, res, work = real
    wb = load_workbook(T.write_workbook(res, work / "a.xlsx", sample=sample, responses=resp))
    for ind in dict.fromkeys(res.table["indicator"]):
        sub = res.table[res.table["indicator"] == ind]
        label = sub["label"].iloc[0]
        rows = list(wb[label].iter_rows(values_only=True))
        c = {h: i for i, h in enumerate(rows[0])}
        got = {(r[c["县代码 (county code)"]] or ""): r for r in rows[1:]}
        for _, row in sub.iterrows():
            key = "" if pd.isna(row["county_code"]) else str(row["county_code"])
            cell = got[key]
            for col, head in (("estimate", "估计值 (estimate)"), ("ci_low", "置信下限 (CI lower)"),
                              ("ci_high", "置信上限 (CI upper)")):
                assert cell[c[head]] == pytest.approx(float(row[col]), rel=1e-12, abs=1e-15)
            assert cell[c["判定 (decision)"]] == T.DECISION_ZH[T._decision_key(row["decision"])]
    # overall county decisions are the verdicts
    summ = list(wb["汇总"].iter_rows(values_only=True))
    overall = {r[0]: r[-1] for r in summ[1:] if r[0]}
    want = {str(k): T.DECISION_ZH[v] for k, v in zip(res.verdicts["county_code"], res.verdicts["decision"])}
    assert overall == want
    # every interview is counted once in the sample sheet
    st = list(wb["样本与应答"].iter_rows(values_only=True))
    i = st[0].index("完成访问 (completed)")
    assert sum(r[i] for r in st[1:]) == len(resp.data)
