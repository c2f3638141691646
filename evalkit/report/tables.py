"""The provincial assessment workbook (省级评估结果工作簿, xlsx).

Sheets: 汇总 (indicator × county with decisions), one sheet per indicator (estimates, CIs,
df, counts, thresholds), 申诉追踪 (appeal trace), 样本与应答 (sample and response by
stratum), 方法说明 (method note and manifest). Headers are Chinese with the English name in brackets,
so the sheet reads well for a county official and an analyst alike. ``suppress_population=True`` removes every base-population
count (DOMAIN.md §8: the base population of poverty incidence is not published) from all
sheets — rates and sample counts remain. Headers read ``估计值 (estimate)``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import ReportError
from evalkit.registry import schema
from evalkit.report.figures import (DECISION_COLORS, PROVINCE_LABEL, domain_columns, fieldwork_status,
                                    is_population_count, result_table, unit_labels)

DECISION_ZH = {"pass": "达标", "fail": "不达标", "inconclusive": "无法判定", "none": "—"}
RULE_ZH = {"<": "低于阈值为达标 (< threshold)", ">=": "不低于阈值为达标 (≥ threshold)"}

# Chinese (English) headers of the columns the workbook writes.
HEADERS = {
    "unit": ("单位", "unit"),
    "indicator": ("指标代码", "indicator"),
    "label": ("指标", "indicator name"),
    "label_en": ("指标（英文）", "indicator (English)"),
    "estimate": ("估计值", "estimate"),
    "se": ("标准误", "standard error"),
    "ci_low": ("置信下限", "CI lower"),
    "ci_high": ("置信上限", "CI upper"),
    "ci": ("置信区间", "confidence interval"),
    "level": ("置信水平", "confidence level"),
    "ci_method": ("区间方法", "CI method"),
    "df": ("自由度", "degrees of freedom"),
    "n_households": ("调查户数", "households surveyed"),
    "n_persons": ("调查人数", "persons surveyed"),
    "threshold": ("阈值", "threshold"),
    "threshold_rule": ("判定规则", "decision rule"),
    "decision": ("判定", "decision"),
    "deff": ("设计效应", "design effect"),
    "numerator": ("分子（加权）", "numerator (weighted)"),
    "denominator": ("分母（加权）", "denominator (weighted)"),
    "household_id": ("户编号", "household ID"),
    "rule": ("判定依据", "rule"),
    "description_zh": ("说明", "description (Chinese)"),
    "description_en": ("说明（英文）", "description (English)"),
    "parameter": ("参数", "parameter"),
    "decision_reason": ("判定理由", "decision reason"),
    "reason": ("原因", "reason"),
    "status": ("状态", "status"),
    "flag": ("核查标记", "flag"),
    "rule_zh": ("判定依据", "rule"),
    "rule_en": ("判定依据（英文）", "rule (English)"),
    "appeal_status": ("申诉状态", "appeal status"),
    "appeal_outcome": ("申诉结果", "appeal outcome"),
    "outcome": ("申诉结果", "appeal outcome"),
    "initial_value": ("初判", "initial finding"),
    "current_value": ("现判", "current finding"),
    "note": ("备注", "note"),
    "weight_final": ("最终权数", "final weight"),
    "weight": ("权数", "weight"),
    "evidence": ("证据", "evidence"),
    "main": ("主样本户数", "main households"),
    "reserves_used": ("启用候补户数", "reserves used"),
    "completed": ("完成访问", "completed"),
    "refused": ("拒访", "refused"),
    "absent": ("外出/无人在家", "absent"),
    "not_found": ("查无此户", "not found"),
    "other": ("其他原因未访", "other non-interview"),
    "replaced": ("已由备选户替换", "replaced by a reserve"),
    "approached": ("接触户数", "households approached"),
    "response_rate": ("应答率", "response rate"),
    "registry_status": ("贫困户属性", "registry status"),
    "overall": ("总体判定", "overall decision"),
    "n_pass": ("达标项数", "indicators passed"),
    "n_fail": ("不达标项数", "indicators failed"),
    "n_inconclusive": ("无法判定项数", "indicators inconclusive"),
    "persons_poor": ("未脱贫人口", "registered poor persons"),
    "persons_not_registered": ("非建档立卡人口", "non-registered persons"),
    "persons_exit": ("脱贫（含拟脱贫）人口", "exited and exiting persons"),
    "persons_all": ("乡村总人口", "all rural persons"),
}
PERCENT_COLUMNS = {"estimate", "se", "ci_low", "ci_high", "threshold", "response_rate", "level"}
APPEAL_STATUS_ZH = {"initial": "初判", "contested": "申诉中", "final": "终判", "confirmed": "维持",
                    "overturned": "改判"}

FLAG_ZH = {"wrong_exit": "错退", "missed": "漏评", "wrong_inclusion": "错评"}

META_ZH = {"line": "收入线（元/人·年）", "level": "置信水平", "rules": "判定规则集"}


def rules_frame(results) -> pd.DataFrame | None:
    """The classification rules applied (RuleSet.describe()): rule, Chinese and English text, parameter."""
    rules = getattr(results, "rules", None)
    describe = getattr(rules, "describe", None)
    if callable(describe):
        frame = describe()
        if isinstance(frame, pd.DataFrame):
            return frame
    return None


def population_frame(results) -> pd.DataFrame | None:
    """Registry person totals used as known constants (e.g. of the poverty incidence), if the
    Results carries them (``meta['population']``); never written when suppressed."""
    pop = (getattr(results, "meta", {}) or {}).get("population")
    return pop.copy() if isinstance(pop, pd.DataFrame) else None


def _header(col: str) -> str:
    """Chinese header with the English name in brackets, e.g. ``估计值 (estimate)``."""
    if col in HEADERS:
        zh, en = HEADERS[col]
        return f"{zh} ({en})"
    from evalkit.registry import schema

    zh = schema.label(col, "zh")
    en = schema.label(col, "en")
    return f"{zh} ({en})" if zh != col else col


def _decision_key(d) -> str:
    if d is None or d is pd.NA or (isinstance(d, float) and np.isnan(d)):
        return "none"
    return str(d) if str(d) in DECISION_ZH else "none"


def _drop_population(df: pd.DataFrame, suppress: bool) -> pd.DataFrame:
    if not suppress or df is None:
        return df
    return df[[c for c in df.columns if not is_population_count(c)]]


# ----------------------------------------------------------------------------- sheet frames
def summary_frame(results) -> pd.DataFrame:
    """Indicator × unit: for each indicator its estimate, CI text and decision (Chinese)."""
    table = result_table(results).copy()
    table["_unit"] = unit_labels(table)
    dom = [c for c in domain_columns(table) if c != "_unit"]
    code_col = next((c for c in dom if not c.endswith("_name")), None)
    units = table.drop_duplicates("_unit")[["_unit"] + ([code_col] if code_col else [])]
    is_prov = units["_unit"].eq(PROVINCE_LABEL)
    units = pd.concat([units[is_prov], units[~is_prov].sort_values(code_col or "_unit")])
    out = pd.DataFrame({"unit": units["_unit"].to_numpy()})
    if code_col:
        out.insert(0, code_col, units[code_col].to_numpy())
    for ind in dict.fromkeys(table["indicator"]):
        sub = table[table["indicator"] == ind].set_index("_unit")
        sub = sub[~sub.index.duplicated()]
        label = sub["label"].dropna().iloc[0] if "label" in sub and sub["label"].notna().any() else ind
        est = sub["estimate"].reindex(out["unit"])
        ci = (sub["ci_low"].map(lambda v: f"{v * 100:.2f}%") + "–" + sub["ci_high"].map(lambda v: f"{v * 100:.2f}%"))
        dec = sub["decision"].map(lambda d: DECISION_ZH[_decision_key(d)]) if "decision" in sub else None
        out[f"{label}|estimate"] = est.to_numpy()
        out[f"{label}|ci"] = ci.reindex(out["unit"]).to_numpy()
        if dec is not None and sub["decision"].notna().any():
            out[f"{label}|decision"] = dec.reindex(out["unit"]).to_numpy()
    verdicts = getattr(results, "verdicts", None)
    if isinstance(verdicts, pd.DataFrame) and len(verdicts) and "decision" in verdicts.columns:
        key = code_col if code_col and code_col in verdicts.columns else None
        if key:
            overall = verdicts.set_index(key)["decision"].map(lambda d: DECISION_ZH[_decision_key(d)])
            out["overall"] = out[key].map(overall)
    return out


def indicator_frame(results, indicator: str, suppress_population: bool = False) -> pd.DataFrame:
    """All rows of one indicator, province first, with every number needed to check it."""
    table = result_table(results)
    sub = table[table["indicator"] == indicator].copy()
    sub.insert(0, "unit", unit_labels(sub))
    is_prov = sub["unit"].eq(PROVINCE_LABEL)
    dom = domain_columns(table)
    order = np.lexsort((sub[dom].astype("string").fillna("").agg("|".join, axis=1).to_numpy() if dom
                        else np.zeros(len(sub)), ~is_prov.to_numpy()))
    sub = sub.iloc[order]
    sub = sub.drop(columns=[c for c in ("indicator", "label", "label_en") if c in sub.columns])
    if "decision" in sub:
        sub["decision"] = sub["decision"].map(lambda d: DECISION_ZH[_decision_key(d)])
    if "threshold_rule" in sub:
        sub["threshold_rule"] = sub["threshold_rule"].map(lambda r: RULE_ZH.get(r, "") if isinstance(r, str) else "")
    return _drop_population(sub.reset_index(drop=True), suppress_population)


# appealable flag -> (its own indicator, indicators derived from it)
APPEAL_SOURCES = {
    "wrong_exit_rate": ("wrong_exit_rate", "exit_accuracy", "poverty_incidence"),
    "missed_rate": ("missed_rate", "identification_accuracy", "poverty_incidence"),
    "wrong_inclusion_rate": ("wrong_inclusion_rate", "identification_accuracy"),
}


def appeal_frame(results) -> pd.DataFrame | None:
    """The appeal trace (申诉举证): every household flagged 错退/漏评/错评 with the rule and the
    answers that flagged it and its status (initial → contested → final), from
    ``Results.explain(indicator)``; falls back to ``Results.appeals`` when there is no trace."""
    table = result_table(results)
    present = set(table["indicator"])
    explain = getattr(results, "explain", None)
    frames = []
    if callable(explain):
        from evalkit.errors import EvalkitError

        for ind, sources in APPEAL_SOURCES.items():
            if present.isdisjoint(sources):
                continue
            try:
                frame = explain(ind)
            except (EvalkitError, TypeError, KeyError):
                continue
            if isinstance(frame, pd.DataFrame) and len(frame):
                frames.append(frame)
    if frames:
        out = pd.concat(frames, ignore_index=True)
        keys = [c for c in ("household_id", "flag") if c in out.columns]
        return out.drop_duplicates(keys).reset_index(drop=True) if keys else out
    appeals = getattr(results, "appeals", None)
    if isinstance(appeals, pd.DataFrame) and len(appeals):
        return appeals.copy()
    return None


def method_frame(results, sample=None, suppress_population: bool = False) -> pd.DataFrame:
    """Key–value rows of the method note: manifest, design, variance, intervals, rules."""
    meta = dict(getattr(results, "meta", {}) or {})
    manifest = dict(getattr(sample, "manifest", {}) or {}) if sample is not None else {}
    table = result_table(results)
    rows = []

    def add(zh, en, value):
        rows.append({"项目 (item)": f"{zh} ({en})", "内容 (value)": value})

    import evalkit

    sample_meta = next((meta[k] for k in ("sample_manifest", "sample") if isinstance(meta.get(k), dict)), {})
    seed = manifest.get("seed", sample_meta.get("seed", meta.get("seed")))
    fp = manifest.get("registry_fingerprint", sample_meta.get("registry_fingerprint", meta.get("registry_fingerprint")))
    add("评估年度", "evaluation year", meta.get("year", ""))
    add("省份代码", "province code", meta.get("province_code", ""))
    add("抽样随机种子", "sampling seed", "" if seed is None else str(seed))
    add("登记库指纹 (sha256)", "registry fingerprint", fp or "")
    add("evalkit 版本", "evalkit version", manifest.get("evalkit_version", meta.get("evalkit_version", evalkit.__version__)))
    add("方差估计", "variance estimation",
        "泰勒线性化，分层多阶段设计，按村（初级抽样单位）计算；自由度 = PSU 数 − 层数。"
        " Taylor linearisation for the stratified multistage design (villages as PSUs); df = #PSUs − #strata.")
    methods = ", ".join(f"{i}: {m}" for i, m in table.drop_duplicates("indicator")[["indicator", "ci_method"]]
                        .itertuples(index=False)) if "ci_method" in table else ""
    add("置信区间方法", "CI methods", methods)
    levels = table["level"].dropna().unique() if "level" in table else []
    add("置信水平", "confidence level", ", ".join(f"{v * 100:g}%" for v in levels))
    add("判定规则", "decision rule",
        "整个置信区间位于阈值达标一侧为“达标”；点估计在不达标一侧且区间不含阈值为“不达标”；其余为“无法判定”。"
        " pass: the whole CI is on the good side; fail: the estimate is on the bad side and the CI excludes the"
        " threshold; otherwise inconclusive.")
    add("指标口径", "indicator definitions",
        "错退率、漏评率、错评率为人口比率（加权比率估计）；满意度、认可度为户比率。见 DOMAIN.md §0 与 docs/methodology。"
        " Wrong-exit, missed and wrong-inclusion rates are person rates (weighted ratio estimators);"
        " satisfaction and recognition are household rates.")
    for key, value in meta.items():
        if key in {"year", "province_code", "seed", "registry_fingerprint", "evalkit_version", "sample",
                   "sample_manifest", "level", "rules"} or isinstance(value, pd.DataFrame) or value is None:
            continue
        if suppress_population and is_population_count(key):
            continue
        zh = META_ZH.get(key, str(key))
        if isinstance(value, dict):
            value = "; ".join(f"{k}={v}" for k, v in value.items())
        add(zh, str(key), value if isinstance(value, (int, float, str)) else str(value))
    if suppress_population:
        add("保密处理", "confidentiality", "已隐藏基数人口 (base population counts suppressed); 仅报告比率。")
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- writing
def write_workbook(results, path, sample=None, responses=None, suppress_population: bool = False) -> Path:
    """Write the provincial assessment workbook to ``path`` and return the path."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = result_table(results)
    wb = Workbook()
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="37474F")
    fills = {DECISION_ZH[k]: PatternFill("solid", fgColor=c.lstrip("#").upper()) for k, c in DECISION_COLORS.items()
             if k != "none"}

    def write(ws, df: pd.DataFrame, headers: list[str], percent_cols=()):
        ws.append(headers)
        for cell in ws[1]:
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        values = df.astype(object).where(df.notna(), None).to_numpy().tolist()
        for row in values:
            ws.append([v.item() if isinstance(v, np.generic) else v for v in row])
        for j, col in enumerate(df.columns, start=1):
            letter = get_column_letter(j)
            width = max([len(str(headers[j - 1])) * 0.9] + [len(str(v)) * 1.3 for v in df[col].head(100)])
            ws.column_dimensions[letter].width = min(max(width, 9), 48)
            if col in percent_cols:
                for cell in ws[letter][1:]:
                    cell.number_format = "0.00%"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value in fills:
                    cell.fill = fills[cell.value]
                    cell.font = Font(color="FFFFFF", bold=True)
        ws.freeze_panes = "B2"
        ws.row_dimensions[1].height = 32

    # 1. summary
    summ = summary_frame(results)
    ws = wb.active
    ws.title = "汇总"
    heads, pct = [], []
    for c in summ.columns:
        if "|" in c:
            label, part = c.rsplit("|", 1)
            heads.append(f"{label} {HEADERS[part][0]}")
            if part == "estimate":
                pct.append(c)
        else:
            heads.append(_header(c))
    write(ws, summ, heads, percent_cols=pct)

    # 2. one sheet per indicator
    used = {"汇总"}
    for ind in dict.fromkeys(table["indicator"]):
        frame = indicator_frame(results, ind, suppress_population=suppress_population)
        sub = table[table["indicator"] == ind]
        name = str(sub["label"].dropna().iloc[0]) if "label" in sub and sub["label"].notna().any() else ind
        name = re.sub(r"[\[\]:*?/\\]", "", name)[:31] or ind[:31]
        while name in used:
            name = (name[:28] + f"_{len(used)}")[:31]
        used.add(name)
        write(wb.create_sheet(name), frame, [_header(c) for c in frame.columns],
              percent_cols=[c for c in frame.columns if c in PERCENT_COLUMNS])

    # 3. appeal trace
    ws = wb.create_sheet("申诉追踪")
    appeals = appeal_frame(results)
    if appeals is None or not len(appeals):
        write(ws, pd.DataFrame({"note": ["无申诉或核查标记记录 / no flagged households or appeal records"]}),
              ["说明 (note)"])
    else:
        appeals = _drop_population(appeals, suppress_population)
        if "flag" in appeals:
            appeals["flag"] = appeals["flag"].map(lambda f: f"{FLAG_ZH[f]} ({f})" if f in FLAG_ZH else f)
        if "registry_status" in appeals:
            appeals["registry_status"] = appeals["registry_status"].map(
                lambda c: schema.code_label("registry_status", c) if isinstance(c, str) else c)
        for col in ("status", "appeal_status"):
            if col in appeals:
                appeals[col] = appeals[col].map(lambda s: f"{APPEAL_STATUS_ZH.get(s, s)} ({s})" if isinstance(s, str) else s)
        write(ws, appeals, [_header(c) for c in appeals.columns])

    # 4. sample and response
    ws = wb.create_sheet("样本与应答")
    if sample is not None:
        st = fieldwork_status(sample, responses)
        st = _drop_population(st, suppress_population)
        if "registry_status" in st:
            st["registry_status"] = st["registry_status"].map(lambda c: schema.code_label("registry_status", c))
        write(ws, st, [_header(c) for c in st.columns], percent_cols=["response_rate"])
    else:
        write(ws, pd.DataFrame({"note": ["未提供样本 / no sample given"]}), ["说明 (note)"])

    # 4a. the classification rules applied
    rf = rules_frame(results)
    if rf is not None and len(rf):
        write(wb.create_sheet("判定规则"), rf, [HEADERS.get(c, (c, c))[0] + f" ({HEADERS.get(c, (c, c))[1]})"
                                             for c in rf.columns])

    # 4b. base population (known constants) unless suppressed
    pop = None if suppress_population else population_frame(results)
    if pop is not None and len(pop):
        pop = pop.drop(columns=[c for c in pop.columns if c.startswith("_")])
        write(wb.create_sheet("基数人口"), pop, [_header(c) for c in pop.columns])

    # 5. method note
    ws = wb.create_sheet("方法说明")
    mf = method_frame(results, sample=sample, suppress_population=suppress_population)
    write(ws, mf, list(mf.columns))
    ws.column_dimensions["B"].width = 100
    for cell in ws["B"][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    try:
        wb.save(path)
    except OSError as exc:
        raise ReportError(f"{path}: 无法写入工作簿 / cannot write the workbook ({exc}). "
                          "若文件已在 Excel 中打开，请先关闭 / close it in Excel first.") from exc
    return path
