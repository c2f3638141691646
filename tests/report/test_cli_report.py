"""`evalkit report` on a saved results table: exit codes and what it writes."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from evalkit.cli import main


def test_cli_report_from_results_csv(tmp_path, results, capsys):
    csv = tmp_path / "results.csv"
    results.table.to_csv(csv, index=False, encoding="utf-8-sig")
    rc = main(["report", "--results", str(csv), "--out", str(tmp_path / "rep"), "--no-figures"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "assessment.xlsx" in out and "report.html" in out
    wb = load_workbook(tmp_path / "rep" / "assessment.xlsx")
    rows = list(wb["错退率"].iter_rows(values_only=True))
    head = rows[0]
    # codes stay text with their digits; numbers parsed back
    assert rows[2][head.index("县代码 (county code)")] == "520101000000"
    assert rows[3][head.index("估计值 (estimate)")] == pytest.approx(0.06)
    assert rows[3][head.index("判定 (decision)")] == "不达标"


def test_cli_report_errors(tmp_path, results, capsys):
    assert main(["report", "--out", str(tmp_path)]) == 1
    assert "--results" in capsys.readouterr().err
    bad = results.table.copy()
    bad["estimate"] = bad["estimate"].astype(object)
    bad.loc[2, "estimate"] = "六"
    csv = tmp_path / "bad.csv"
    bad.to_csv(csv, index=False)
    assert main(["report", "--results", str(csv), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "row 4" in err and "'estimate'" in err
    with pytest.raises(SystemExit) as exc:
        main(["report"])  # --out missing: usage error
    assert exc.value.code == 2


def test_cli_report_combined_table_picks_analysis(tmp_path, results):
    """`evalkit estimate` writes results.csv with an `analysis` column and decision reasons."""
    import pandas as pd

    t = results.table.assign(decision_reason="理由 reason")
    both = pd.concat([t.assign(analysis="county_exit"),
                      t[t["indicator"] == "satisfaction"].assign(analysis="two_rates", estimate=0.5)])
    csv = tmp_path / "results.csv"
    both.to_csv(csv, index=False, encoding="utf-8-sig")
    assert main(["report", "--results", str(csv), "--out", str(tmp_path / "a"), "--no-figures"]) == 0
    wb = load_workbook(tmp_path / "a" / "assessment.xlsx")
    assert wb.sheetnames[:4] == ["汇总", "错退率", "群众认可度", "群众满意度"]
    units = [r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)]
    assert units == ["全省 province", "甲县", "乙县", "丙县"]  # decision_reason is not a domain
    assert main(["report", "--results", str(csv), "--analysis", "two_rates", "--out", str(tmp_path / "b"),
                 "--no-figures"]) == 0
    rows = list(load_workbook(tmp_path / "b" / "assessment.xlsx")["群众满意度"].iter_rows(values_only=True))
    assert rows[1][rows[0].index("估计值 (estimate)")] == 0.5
    assert main(["report", "--results", str(csv), "--analysis", "nope", "--out", str(tmp_path / "c")]) == 1


def test_cli_report_year_gives_line_and_title(tmp_path, results):
    csv = tmp_path / "results.csv"
    results.table.to_csv(csv, index=False, encoding="utf-8-sig")
    assert main(["report", "--results", str(csv), "--year", "2019", "--province", "52",
                 "--out", str(tmp_path / "r"), "--no-figures"]) == 0
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    head = html[: html.index("</section>")]
    assert "<td>3218.0</td>" in head          # national line 2019 looked up from the table
    assert "2019 年第三方评估报告" in head
