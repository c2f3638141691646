"""The provincial workbook: read it back with openpyxl and check the cells."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from evalkit.report import tables as T


def _rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _all_values(wb):
    return {v for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r}


def test_workbook_sheets_and_summary(tmp_path, results, sample, responses):
    path = T.write_workbook(results, tmp_path / "评估结果.xlsx", sample=sample, responses=responses)
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总", "错退率", "群众认可度", "群众满意度", "申诉追踪", "样本与应答", "方法说明"]
    rows = _rows(wb["汇总"])
    head = rows[0]
    assert head[:2] == ["县代码 (county code)", "单位 (unit)"]
    assert "错退率 估计值" in head and "错退率 判定" in head and "群众认可度 置信区间" in head
    assert head[-1] == "总体判定 (overall decision)"
    units = [r[1] for r in rows[1:]]
    assert units == ["全省 province", "甲县", "乙县", "丙县"]
    col = {h: i for i, h in enumerate(head)}
    # 乙县: wrong exit 6 % (3.5–9.5) fail; recognition 88 % inconclusive; overall fail
    yi = rows[3]
    assert yi[col["错退率 估计值"]] == pytest.approx(0.06)
    assert yi[col["错退率 置信区间"]] == "3.50%–9.50%"
    assert yi[col["错退率 判定"]] == "不达标"
    assert yi[col["群众认可度 判定"]] == "无法判定"
    assert yi[col["总体判定 (overall decision)"]] == "不达标"
    # satisfaction has no threshold: no decision column; 乙县 has no satisfaction row
    assert "群众满意度 判定" not in head
    assert yi[col["群众满意度 估计值"]] is None
    assert rows[1][col["总体判定 (overall decision)"]] is None  # province has no county verdict
    # number format and decision colour
    ws = wb["汇总"]
    assert ws.cell(2, col["错退率 估计值"] + 1).number_format == "0.00%"
    assert ws.cell(4, col["错退率 判定"] + 1).fill.fgColor.rgb.endswith("C62828")


def test_indicator_sheet_values(tmp_path, results):
    wb = load_workbook(T.write_workbook(results, tmp_path / "a.xlsx"))
    rows = _rows(wb["错退率"])
    head = rows[0]
    assert head[0] == "单位 (unit)"
    for h in ("估计值 (estimate)", "置信下限 (CI lower)", "置信上限 (CI upper)", "自由度 (degrees of freedom)",
              "调查户数 (households surveyed)", "调查人数 (persons surveyed)", "阈值 (threshold)", "判定 (decision)"):
        assert h in head
    c = {h: i for i, h in enumerate(head)}
    assert [r[0] for r in rows[1:]] == ["全省 province", "甲县", "乙县", "丙县"]
    bing = rows[4]
    assert bing[c["估计值 (estimate)"]] == 0.0 and bing[c["置信上限 (CI upper)"]] == pytest.approx(0.031)
    assert bing[c["判定 (decision)"]] == "无法判定"
    assert bing[c["阈值 (threshold)"]] == pytest.approx(0.02)
    assert bing[c["判定规则 (decision rule)"]].startswith("低于阈值为达标")
    assert bing[c["调查人数 (persons surveyed)"]] == 800
    # no sample: the sample sheet says so
    assert _rows(wb["样本与应答"])[1][0].startswith("未提供样本")


def test_appeal_trace_and_sample_sheet(tmp_path, results, sample, responses):
    wb = load_workbook(T.write_workbook(results, tmp_path / "a.xlsx", sample=sample, responses=responses))
    rows = _rows(wb["申诉追踪"])
    assert rows[0][0] == "户编号 (household ID)"
    assert rows[0][2:] == ["核查标记 (flag)", "判定依据 (rule)", "证据 (evidence)", "申诉状态 (appeal status)"]
    # table has wrong_exit_rate only (no missed_rate / derived): the missed household is not listed
    assert [r[0] for r in rows[1:]] == ["H001", "H002"]
    assert rows[1][2] == "错退 (wrong_exit)"
    assert rows[1][-1] == "初判 (initial)" and rows[2][-1] == "终判 (final)"
    rows = _rows(wb["样本与应答"])
    c = {h: i for i, h in enumerate(rows[0])}
    assert rows[0][:3] == ["县代码 (county code)", "县 (county)", "贫困户属性 (registry status)"]
    jia = next(r for r in rows[1:] if r[1] == "甲县" and r[2] == "已脱贫户")
    assert jia[c["完成访问 (completed)"]] == 2 and jia[c["拒访 (refused)"]] == 1
    assert jia[c["应答率 (response rate)"]] == pytest.approx(2 / 3)


def test_method_note_has_manifest(tmp_path, results, sample):
    wb = load_workbook(T.write_workbook(results, tmp_path / "a.xlsx", sample=sample))
    note = {r[0]: r[1] for r in _rows(wb["方法说明"])[1:]}
    assert note["抽样随机种子 (sampling seed)"] == "20250601"
    assert note["登记库指纹 (sha256) (registry fingerprint)"] == "ab" * 32
    assert "wrong_exit_rate: korn-graubard" in note["置信区间方法 (CI methods)"]
    assert note["置信水平 (confidence level)"] == "95%"


def test_suppress_population_hides_base_counts(tmp_path, results):
    results.table["population"] = 987654  # a base-population column some Results carry
    wb = load_workbook(T.write_workbook(results, tmp_path / "open.xlsx"))
    assert 987654 in _all_values(wb) and 123456 in _all_values(wb)  # meta population_persons
    wb = load_workbook(T.write_workbook(results, tmp_path / "secret.xlsx", suppress_population=True))
    values = _all_values(wb)
    assert 987654 not in values and 123456 not in values
    assert not any(isinstance(v, str) and "population (" in v.lower() for v in values)
    # rates and sample counts stay
    assert 0.06 in values and 800 in values


@pytest.mark.parametrize("name,expected", [("population", True), ("base_population", True), ("N", True),
                                           ("N_persons", True), ("registry_persons", True),
                                           ("n_persons", False), ("n_households", False), ("estimate", False)])
def test_is_population_count(name, expected):
    assert T.is_population_count(name) is expected


def test_rules_sheet_from_ruleset(tmp_path, results):
    import pandas as pd

    class Rules:
        def describe(self):
            return pd.DataFrame({"rule": ["income"], "description_zh": ["人均纯收入须高于收入线"],
                                 "description_en": ["income above the line"], "parameter": ["3,218 元"]})

    results.rules = Rules()
    wb = load_workbook(T.write_workbook(results, tmp_path / "a.xlsx"))
    rows = _rows(wb["判定规则"])
    assert rows[0] == ["判定依据 (rule)", "说明 (description (Chinese))", "说明（英文） (description (English))",
                       "参数 (parameter)"]
    assert rows[1] == ["income", "人均纯收入须高于收入线", "income above the line", "3,218 元"]
    note = {r[0] for r in _rows(wb["方法说明"])[1:]}
    assert not any(k.startswith("判定规则集") for k in note)  # not dumped as a dict string
