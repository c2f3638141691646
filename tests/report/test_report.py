"""ek.report writes the workbook, PNG+SVG figures and a self-contained Chinese HTML report
whose first section is the manifest."""
from __future__ import annotations

import base64
import re

import pandas as pd
from openpyxl import load_workbook

from evalkit.report.report import report


def test_report_writes_everything(tmp_path, results, sample, responses, registry):
    files = report(results, tmp_path / "out", sample=sample, responses=responses, registry=registry, line=3218)
    assert files.workbook.is_file() and files.html.is_file()
    assert set(files.figures) == {"forest_wrong_exit_rate", "forest_recognition_rate", "forest_satisfaction",
                                  "attitudes_by_type", "sample_composition", "registry_vs_sample", "income_exited"}
    for fmts in files.figures.values():
        assert set(fmts) == {"png", "svg"}
        assert fmts["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in fmts["svg"].read_bytes()[:2000]
    assert files.skipped == {}
    text = files.html.read_text(encoding="utf-8")
    # self-contained: no external resources, figures embedded
    assert not re.search(r"""(src|href)=["'](?!data:)""", text)
    assert text.count("data:image/svg+xml;base64,") == 7
    # the manifest comes first, before any result
    first = text.index("</section>")
    head = text[:first]
    assert "20250601" in head and "ab" * 32 in head and "0.1.0" in head and "3218" in head
    assert text.index("清单 Manifest") < text.index("总体判定")
    # decisions are shown in Chinese with their colour class
    assert '<td class="fail">不达标</td>' in text
    # embedded SVG decodes to the figure with the threshold line
    uri = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', text).group(1)
    assert b'id="threshold' in base64.b64decode(uri)
    assert "ReportFiles" in repr(files) and "assessment.xlsx" in repr(files)


def test_report_without_sample_skips_and_says_why(tmp_path, results):
    results.table = results.table[results.table["indicator"] == "wrong_exit_rate"]
    files = report(results, tmp_path)
    assert set(files.skipped) == {"attitudes_by_type", "sample_composition", "registry_vs_sample", "income_exited"}
    assert "skipped" in repr(files)
    assert list(files.figures) == ["forest_wrong_exit_rate"]
    files = report(results, tmp_path / "nofig", figures=False)
    assert files.figures == {} and "data:image" not in files.html.read_text(encoding="utf-8")


def test_report_suppress_population(tmp_path, results):
    results.table["population"] = 987654
    results.meta["population"] = pd.DataFrame({"county_code": ["520101000000"], "persons_all": [555777]})
    files = report(results, tmp_path / "open", figures=False)
    assert "基数人口" in load_workbook(files.workbook).sheetnames
    assert "987654" in files.html.read_text(encoding="utf-8")
    files = report(results, tmp_path / "secret", suppress_population=True, figures=False)
    text = files.html.read_text(encoding="utf-8")
    assert "987654" not in text and "123456" not in text and "555777" not in text
    wb = load_workbook(files.workbook)
    assert "基数人口" not in wb.sheetnames
    values = {v for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r}
    assert not values & {987654, 123456, 555777}
    assert "Base population counts are suppressed" in text


def test_public_api(tmp_path, results):
    import evalkit as ek

    files = ek.report(results, tmp_path, figures=False)
    assert files.html.name == "report.html"


def test_figures_are_byte_identical_on_rerun(tmp_path, results):
    results.table = results.table[results.table["indicator"] == "wrong_exit_rate"]
    a = report(results, tmp_path / "a")
    b = report(results, tmp_path / "b")
    for fmt in ("svg", "png"):
        assert a.figures["forest_wrong_exit_rate"][fmt].read_bytes() == b.figures["forest_wrong_exit_rate"][fmt].read_bytes()


def test_optional_figure_that_cannot_be_drawn_is_skipped_with_reason(tmp_path, results, responses):
    results.table = results.table[results.table["indicator"] == "wrong_exit_rate"]
    responses.data = responses.data[responses.data["registry_status"] == "not_registered"].drop(
        columns=["satisfaction", "recognition"])
    files = report(results, tmp_path, responses=responses, line=3218)
    assert "no surveyed household of status exited" in files.skipped["income_exited"]
    assert "satisfaction" in files.skipped["attitudes_by_type"]
    assert list(files.figures) == ["forest_wrong_exit_rate"]
