"""Results: appeal trace (explain), recomputation after appeals, Excel/HTML output — on the
tiny hand-made design of test_rates.py, with expected numbers worked out by hand."""
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import RuleError
from evalkit.indicators.rates import county_exit_check, two_rates_one_degree

_spec = importlib.util.spec_from_file_location("_ind_tiny", Path(__file__).with_name("test_rates.py"))
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)


@pytest.fixture(scope="module")
def res():
    return county_exit_check(T.responses(), T.registry(), T.RULES)


def test_explain_lists_every_flagged_household_with_rule_and_answers(res):
    ex = res.explain("wrong_exit_rate")
    assert list(ex["household_id"]) == ["h02", "h10"]
    assert (ex["flag"] == "wrong_exit").all()
    h02 = ex.set_index("household_id").loc["h02"]
    assert "收入未超过标准" in h02["rule_zh"] and "1,500" in h02["evidence"] and "3,218" in h02["evidence"]
    h10 = ex.set_index("household_id").loc["h10"]
    assert "义务教育未保障" in h10["rule_zh"] and "10岁" in h10["evidence"]
    assert (ex["appeal_status"] == "initial").all()
    assert "w" in ex.columns and h10["w"] == 8.0  # the design weight travels with the evidence
    # domain selection by code or by name
    assert list(res.explain("wrong_exit_rate", domain="Y")["household_id"]) == ["h10"]
    assert list(res.explain("wrong_exit_rate", domain={"county_name": "X县"})["household_id"]) == ["h02"]
    assert list(res.explain("missed_rate")["household_id"]) == ["h05"]
    assert res.explain("missed_rate", domain="Y").empty
    with pytest.raises(RuleError):
        res.explain("no_such_indicator")


def test_two_rates_explain_wrong_inclusion():
    r = two_rates_one_degree(T.responses(), T.RULES)
    ex = r.explain("identification_accuracy")
    assert sorted(ex["household_id"]) == ["h05", "h09"]
    h09 = ex.set_index("household_id").loc["h09"]
    assert h09["flag"] == "wrong_inclusion" and "财政供养" in h09["rule_zh"]


def test_with_appeals_recomputes_and_tracks_status(res, tiny_hand=None):
    data, _ = T._answers()
    w, size = data["w"].to_numpy(float), data["hh_size"].to_numpy(float)
    st, hid = data["registry_status"].to_numpy(), data["household_id"].to_numpy()
    ex = np.isin(st, ["exited", "exiting"]) & (data["county_code"] == "X").to_numpy()
    # contested only: nothing changes yet, status 'contested'
    r1 = res.with_appeals([{"household_id": "h02", "outcome": "申诉中"}])
    pd.testing.assert_frame_equal(r1.table, res.table)
    assert r1.appeals.set_index("household_id").loc["h02", "status"] == "contested"
    assert r1.explain("wrong_exit_rate").set_index("household_id").loc["h02", "appeal_status"] == "contested"
    # overturned: h02 is no longer a wrong exit → county X wrong-exit rate is 0 by hand
    r2 = r1.with_appeals(pd.DataFrame([{"household_id": "h02", "outcome": "overturned", "note": "复核收入含未申报工资"}]))
    t = r2.table
    x = t[(t.indicator == "wrong_exit_rate") & (t.county_code == "X")].iloc[0]
    assert x["estimate"] == 0.0
    before = res.table[(res.table.indicator == "wrong_exit_rate") & (res.table.county_code == "X")].iloc[0]
    assert before["estimate"] == pytest.approx((10 * 3) / (w * size * ex).sum())
    a = r2.appeals.set_index("household_id").loc["h02"]
    assert a["status"] == "final" and a["outcome"] == "overturned" and a["initial_value"] and not a["current_value"]
    assert "h02" not in set(r2.explain("wrong_exit_rate")["household_id"])
    # poverty incidence of X now only has the missed household
    pi = t[(t.indicator == "poverty_incidence") & (t.county_code == "X")].iloc[0]
    nr = (st == "not_registered") & (data["county_code"] == "X").to_numpy()
    rm = (w * size * (hid == "h05") * nr).sum() / (w * size * nr).sum()
    assert pi["estimate"] == pytest.approx((300 + rm * 2000) / 3000, rel=1e-12)
    # confirmed finding: final, value unchanged; applying again does not compound
    r3 = r2.with_appeals([{"household_id": "h10", "outcome": "维持原判"}])
    assert r3.appeals.set_index("household_id").loc["h10", "status"] == "final"
    pd.testing.assert_frame_equal(r3.table, r2.table)
    r4 = r3.with_appeals([{"household_id": "h02", "outcome": "overturned"}])
    pd.testing.assert_frame_equal(r4.table, r3.table)
    assert len(r4.appeals) == 2
    with pytest.raises(RuleError, match="h99"):
        res.with_appeals([{"household_id": "h99", "outcome": "overturned"}])
    with pytest.raises(RuleError, match="no appealable"):
        res.with_appeals([{"household_id": "h01", "outcome": "overturned"}])
    with pytest.raises(RuleError, match="row 2"):
        res.with_appeals([{"household_id": "h02", "outcome": "maybe"}])


def test_to_excel_and_html(res, tmp_path):
    from openpyxl import load_workbook

    path = res.to_excel(tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert {"指标 indicators", "县判定 verdicts", "核查户 flagged", "申诉 appeals", "规则 rules", "说明 meta"} <= set(wb.sheetnames)
    assert "人口 population" not in wb.sheetnames  # registry counts are confidential by default
    ws = wb["指标 indicators"]
    head = [c.value for c in ws[1]]
    j = head.index("判定 decision")
    k = head.index("估计值 estimate")
    for row in ws.iter_rows(min_row=2):
        d = row[j].value
        if d == "fail":
            assert row[j].fill.fgColor.rgb.upper().endswith("C62828")
        assert row[k].number_format == "0.00%"
    est = [r[k].value for r in ws.iter_rows(min_row=2)]
    assert est == pytest.approx(list(res.table["estimate"]), rel=1e-12)
    flagged = pd.read_excel(path, sheet_name="核查户 flagged")
    assert set(flagged["household_id"]) == {"h02", "h05", "h10"}
    assert "人口 population" in load_workbook(res.to_excel(tmp_path / "p.xlsx", show_population=True)).sheetnames
    h = res._repr_html_()
    assert "background:#" in h and "综合贫困发生率" in h and "county verdicts" in h
    assert "错退率" in repr(res)
    csv = pd.read_csv(res.to_csv(tmp_path / "r.csv"))
    assert "decision_reason" in csv.columns and len(csv) == len(res.table)


def test_table_columns_follow_contract(res):
    cols = list(res.table.columns)
    assert cols == ["indicator", "label", "label_en", "county_code", "county_name", "estimate", "se", "ci_low",
                    "ci_high", "level", "ci_method", "df", "n_households", "n_persons", "threshold",
                    "threshold_rule", "decision"]
    assert res.meta["line"] == 3218.0 and res.meta["year"] == 2019
    assert set(res.verdicts.columns) >= {"county_code", "county_name", "decision", "reason"}


def test_public_api_and_plot(res):
    import evalkit as ek

    assert ek.poverty_line(2019) == 3218.0
    assert ek.RuleSet.default(2019, "52").exit_standard.line == 3218.0
    assert ek.Results is type(res)
    assert ek.county_exit_check is county_exit_check and ek.two_rates_one_degree is two_rates_one_degree
    fig = res.plot()
    gids = {a.get_gid() for ax in fig.axes for a in ax.get_children()}
    assert {"interval", "threshold"} <= gids
