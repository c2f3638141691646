"""Figures draw what the data say: intervals, threshold lines, colours per decision, shares.

Inputs are the hand-made objects of conftest.py; expected numbers are worked out by hand
in the comments."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from matplotlib.colors import to_hex

from evalkit.errors import ReportError
from evalkit.report import figures as F


def _no_missing_glyphs(fig):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
        fig.savefig(io.BytesIO(), format="svg")
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_forest_plot_intervals_threshold_and_colours(results):
    fig = F.forest_plot(results, indicators=["wrong_exit_rate", "recognition_rate", "satisfaction"])
    axes = [ax for ax in fig.axes]
    assert len(axes) == 3
    # wrong_exit_rate: 4 rows (province first, then 甲乙丙 by code)
    (coll,) = _by_gid(axes[0], "interval")
    segs = coll.get_segments()
    assert len(segs) == 4
    lows = [s[0][0] for s in segs]
    highs = [s[1][0] for s in segs]
    np.testing.assert_allclose(lows, [0.6, 0.1, 3.5, 0.0])
    np.testing.assert_allclose(highs, [1.9, 1.2, 9.5, 3.1])
    colours = [to_hex(c) for c in coll.get_colors()]
    assert colours == [F.DECISION_COLORS[k] for k in ("pass", "pass", "fail", "inconclusive")]
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == [F.PROVINCE_LABEL, "甲县", "乙县", "丙县"]
    (thr,) = _by_gid(axes[0], "threshold")
    assert thr.get_xdata()[0] == pytest.approx(2.0)
    # recognition: threshold at 90 %, colours pass / pass / inconclusive / fail
    (coll,) = _by_gid(axes[1], "interval")
    assert [to_hex(c) for c in coll.get_colors()] == [F.DECISION_COLORS[k] for k in
                                                      ("pass", "pass", "inconclusive", "fail")]
    assert _by_gid(axes[1], "threshold")[0].get_xdata()[0] == pytest.approx(90.0)
    # satisfaction: no threshold line, grey intervals
    assert _by_gid(axes[2], "threshold") == []
    (coll,) = _by_gid(axes[2], "interval")
    assert len(coll.get_segments()) == 2
    assert {to_hex(c) for c in coll.get_colors()} == {F.DECISION_COLORS["none"]}
    # estimates drawn at the point estimates
    (pts,) = _by_gid(axes[0], "estimate")
    np.testing.assert_allclose(pts.get_offsets()[:, 0], [1.2, 0.4, 6.0, 0.0])
    _no_missing_glyphs(fig)


def test_forest_plot_sort_by_estimate_and_unknown_indicator(results):
    fig = F.forest_plot(results, indicators="wrong_exit_rate", sort_by="estimate")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [F.PROVINCE_LABEL, "丙县", "甲县", "乙县"]  # 0 % < 0.4 % < 6 %
    with pytest.raises(ReportError):
        F.forest_plot(results, indicators=["nope"])


def test_attitudes_by_type_weighted_shares(responses):
    fig = F.attitudes_by_type(responses)
    sat_ax, rec_ax = fig.axes[0], fig.axes[1]
    # satisfaction is asked of registered households only: one bar (exited).
    # exited answers (equal weights): very_satisfied, dissatisfied, satisfied, neutral, satisfied
    widths = {code: [p.get_width() for p in sat_ax.patches if p.get_gid() == f"share_{code}"]
              for code in ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")}
    assert widths == {"very_satisfied": [20.0], "satisfied": [40.0], "neutral": [20.0],
                      "dissatisfied": [20.0], "very_dissatisfied": [0.0]}
    # recognition: exited (top) 3 recognise + 2 basically; not_registered 3/1/1/1 of 6
    rec = {code: [round(p.get_width(), 6) for p in rec_ax.patches if p.get_gid() == f"share_{code}"]
           for code in ("recognise", "basically", "not_recognise", "unsure")}
    assert rec["recognise"] == [60.0, 50.0]
    assert rec["basically"] == [40.0, round(100 / 6, 6)]
    assert rec["not_recognise"] == [0.0, round(100 / 6, 6)]
    assert [t.get_text() for t in rec_ax.get_yticklabels()] == ["已脱贫户\n(n=5)", "非建档立卡户\n(n=6)"]
    _no_missing_glyphs(fig)


def test_weighted_shares_use_weights():
    import pandas as pd

    s = F._weighted_shares(pd.Series(["a", "a", "b"]), pd.Series(["x", "y", "x"]),
                           np.array([1.0, 3.0, 2.0]), ["a", "b"], ["x", "y"])
    np.testing.assert_allclose(s.to_numpy(), [[0.25, 0.75], [1.0, 0.0]])


def test_fieldwork_status_counts_and_response_rates(sample, responses):
    st = F.fieldwork_status(sample, responses).set_index(["county_name", "registry_status"])
    # 甲县 exited: main H001 (refused) + H002; reserve R001 used and completed; R002 not used
    row = st.loc[("甲县", "exited")]
    assert (row["main"], row["reserves_used"], row["completed"], row["refused"], row["approached"]) == (2, 1, 2, 1, 3)
    assert row["response_rate"] == pytest.approx(2 / 3)
    row = st.loc[("乙县", "exited")]
    assert (row["completed"], row["absent"], row["response_rate"]) == (1, 1, 0.5)
    assert st["completed"].sum() == 11 and st["approached"].sum() == 13
    assert (st.drop(index=[("甲县", "exited"), ("乙县", "exited")])["response_rate"] == 1.0).all()


def test_sample_composition_bars(sample, responses):
    fig = F.sample_composition(sample, responses)
    ax = fig.axes[0]
    done = [p.get_width() for p in ax.patches if p.get_gid() == "count_completed"]
    assert sum(done) == 11 and len(done) == 6
    rates = sorted(t.get_text().strip() for t in ax.texts if t.get_gid() == "response_rate")
    assert rates == sorted(["66.7%", "100.0%", "50.0%", "100.0%", "100.0%", "100.0%"])
    _no_missing_glyphs(fig)
    fig2 = F.sample_composition(sample)  # no responses: main vs reserves used
    mains = [p.get_width() for p in fig2.axes[0].patches if p.get_gid() == "count_main"]
    assert mains == [2] * 6


def test_registry_vs_sample_weighted_shares_reproduce_registry(sample, registry):
    tab = F.registry_vs_sample_table(sample, registry).set_index("registry_status")
    # registry 25/75; sample 6/6 main households; weights 10 and 30 -> 60/240 = 25 %
    np.testing.assert_allclose(tab.loc[["exited", "not_registered"], "registry_share"], [0.25, 0.75])
    np.testing.assert_allclose(tab.loc[["exited", "not_registered"], "sample_share"], [0.5, 0.5])
    np.testing.assert_allclose(tab.loc[["exited", "not_registered"], "weighted_share"], [0.25, 0.75])
    fig = F.registry_vs_sample(sample, registry)
    heights = [p.get_height() for p in fig.axes[0].patches if p.get_gid() == "weighted_share"]
    np.testing.assert_allclose(sorted(heights), [25.0, 75.0])
    _no_missing_glyphs(fig)


def test_income_around_line(responses):
    # exited incomes 2500, 5200, 12000, 2000, 15000 (equal weights); line 3218 -> 2 of 5 at/below
    assert F.share_at_or_below(responses, 3218) == pytest.approx(0.4)
    fig = F.income_around_line(responses, line=3218, bins=30)
    ax = fig.axes[0]
    (line,) = _by_gid(ax, "poverty_line")
    assert line.get_xdata()[0] == 3218
    bars = [p for p in ax.patches]
    assert len(bars) == 30
    assert sum(p.get_height() for p in bars) == 5  # 15000 > 3 × line is kept in the last bin
    assert bars[-1].get_height() == 2  # 12000 and 15000 clipped into the edge bin
    (txt,) = _by_gid(ax, "share_below")
    assert "40.0%" in txt.get_text() and "n = 5" in txt.get_text()
    _no_missing_glyphs(fig)


def test_bad_inputs_raise_report_error():
    with pytest.raises(ReportError):
        F.forest_plot(object())
    with pytest.raises(ReportError):
        F.attitudes_by_type(object())


def test_unit_labels_for_two_domain_columns(results):
    t = results.table[results.table["indicator"] == "wrong_exit_rate"].copy()
    t["registry_status"] = [None, "exited", "exiting", "exited"]
    labels = F.unit_labels(t).tolist()
    assert labels == [F.PROVINCE_LABEL, "甲县 已脱贫户", "乙县 拟脱贫户", "丙县 已脱贫户"]


def test_unknown_disposition_counts_as_other_not_dropped(sample, responses):
    """A sampled household with no record at all ('not_visited' from ingestion) stays in
    the base of the response rate, as a non-interview of unknown reason."""
    import copy

    r = copy.copy(responses)
    nr = responses.nonresponse.copy()
    nr.loc[nr["household_id"].astype(str) == "H001", "disposition"] = "not_visited"
    r.nonresponse = nr
    row = F.fieldwork_status(sample, r).set_index(["county_name", "registry_status"]).loc[("甲县", "exited")]
    assert (row["refused"], row["other"], row["approached"]) == (0, 1, 3)
    assert row["response_rate"] == pytest.approx(2 / 3)
