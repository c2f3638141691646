"""`Results`: indicator estimates with intervals, threshold decisions and the appeal trace.

``table`` has the columns of docs/contracts.md §7; ``verdicts`` one row per county (county
exit check); ``explain()`` lists every household counted in a numerator with the rule and the
answers that flagged it (申诉举证); ``with_appeals()`` recomputes after contested findings are
decided, keeping each household's status initial → contested → final.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import ReportError, RuleError
from evalkit.indicators import decisions as D

DECISION_COLORS = {"pass": "#2e7d32", "fail": "#c62828", "inconclusive": "#ef6c00"}
FLAG_OF = {
    "wrong_exit_rate": ("wrong_exit",), "exit_accuracy": ("wrong_exit",), "missed_rate": ("missed",),
    "wrong_inclusion_rate": ("wrong_inclusion",), "identification_accuracy": ("wrong_inclusion", "missed"),
    "poverty_incidence": ("missed", "wrong_exit"), "satisfaction": ("satisfied",),
    "recognition_rate": ("recognises",),
}
APPEALABLE = ("wrong_exit", "missed", "wrong_inclusion")
OUTCOMES = {
    "contested": "contested", "pending": "contested", "申诉中": "contested", "待定": "contested", "申诉": "contested",
    "confirmed": "confirmed", "upheld_finding": "confirmed", "维持": "confirmed", "维持原判": "confirmed",
    "overturned": "overturned", "撤销": "overturned", "改判": "overturned", "申诉成立": "overturned",
}
COLUMN_LABELS = {
    "indicator": "指标代码 indicator", "label": "指标 label", "label_en": "indicator (English)",
    "county_code": "县代码 county code", "county_name": "县 county", "estimate": "估计值 estimate",
    "se": "标准误 SE", "ci_low": "置信下限 CI low", "ci_high": "置信上限 CI high", "level": "置信水平 level",
    "ci_method": "区间方法 CI method", "df": "自由度 df", "n_households": "样本户数 households",
    "n_persons": "样本人数 persons", "threshold": "阈值 threshold", "threshold_rule": "规则 rule",
    "decision": "判定 decision", "decision_reason": "判定依据 reason", "n_events": "样本中标记户数 flagged households",
    "n_item_missing": "无法判定户数 undecided households",
}
PERCENT_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "threshold")
STATUS_ZH = {"initial": "初判", "contested": "申诉中", "final": "终判"}


def _fmt_pct(x) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x) * 100:.2f}%"


class Results:
    """Estimates of indicators (see module doc). Build with ``two_rates_one_degree`` or
    ``county_exit_check``; never by hand."""

    def __init__(self, table: pd.DataFrame, verdicts: pd.DataFrame | None = None, meta: dict | None = None,
                 households: pd.DataFrame | None = None, spec: dict | None = None,
                 extra: pd.DataFrame | None = None, rules=None, appeals: pd.DataFrame | None = None):
        self.table = table
        self.verdicts = verdicts
        self.meta = dict(meta or {})
        self.households = households
        self.extra = extra
        self.rules = rules
        self._spec = spec
        self.appeals = appeals if appeals is not None else pd.DataFrame(
            columns=["household_id", "flag", "status", "outcome", "initial_value", "current_value", "note"])

    # ------------------------------------------------------------------ views
    @property
    def domain_columns(self) -> list[str]:
        from evalkit.indicators.rates import TABLE_COLUMNS

        return [c for c in self.table.columns if c not in TABLE_COLUMNS]

    def decisions(self) -> pd.DataFrame:
        """table + the sentence explaining each decision (``decision_reason``), the number of
        flagged households sampled (``n_events``) and of households in the population whose
        answers could not decide the flag (``n_item_missing``, excluded from the rate)."""
        out = self.table.copy()
        if self.extra is not None:
            for c in ("n_events", "n_item_missing", "decision_reason"):
                if c in self.extra:
                    out[c] = self.extra[c].to_numpy()
        return out

    def __repr__(self) -> str:
        t = self.table
        dom = self.domain_columns
        lines = [f"<Results {self.meta.get('kind', self._spec.get('kind') if self._spec else '')}: "
                 f"{t['indicator'].nunique()} indicators × {len(t) // max(1, t['indicator'].nunique())} domains, "
                 f"year {self.meta.get('year')}, line {self.meta.get('line')}, level {self.meta.get('level')}>"]
        show = t.head(40)
        for _, r in show.iterrows():
            d = " ".join(str(r[c]) for c in dom if pd.notna(r[c])) or "全省 total"
            dec = f"  {D.decision_label(r['decision'])} {r['decision']}" if pd.notna(r["decision"]) else ""
            thr = f" (阈值 {r['threshold_rule']} {_fmt_pct(r['threshold'])})" if pd.notna(r["threshold"]) else ""
            lines.append(f"  {r['label']:<8} {d:<24} {_fmt_pct(r['estimate']):>8} "
                         f"[{_fmt_pct(r['ci_low'])}, {_fmt_pct(r['ci_high'])}] n={r['n_households']}{thr}{dec}")
        if len(t) > len(show):
            lines.append(f"  … {len(t) - len(show)} more rows (see .table)")
        if self.verdicts is not None and len(self.verdicts):
            vc = self.verdicts["decision"].value_counts()
            lines.append("  verdicts: " + ", ".join(f"{D.decision_label(k)} {k}: {v}" for k, v in vc.items()))
        if len(self.appeals):
            sc = self.appeals["status"].value_counts()
            lines.append("  appeals: " + ", ".join(f"{STATUS_ZH.get(k, k)} {k}: {v}" for k, v in sc.items()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        t = self.decisions()
        cols = ["label", *self.domain_columns, "estimate", "ci_low", "ci_high", "ci_method", "n_households",
                "n_persons", "threshold", "decision"]
        head = "".join(f"<th>{html.escape(COLUMN_LABELS.get(c, c))}</th>" for c in cols)
        body = []
        for _, r in t.iterrows():
            cells = []
            for c in cols:
                v = r[c]
                if c in PERCENT_COLUMNS:
                    txt = _fmt_pct(v)
                    if c == "threshold" and pd.notna(v):
                        txt = f"{r['threshold_rule']} {txt}"
                elif c == "decision":
                    if v is None or pd.isna(v):
                        cells.append("<td>—</td>")
                        continue
                    color = DECISION_COLORS.get(v, "#757575")
                    tip = html.escape(str(r.get("decision_reason", "")))
                    cells.append(f"<td title='{tip}' style='background:{color};color:white;font-weight:bold'>"
                                 f"{html.escape(D.decision_label(v))} {html.escape(v)}</td>")
                    continue
                else:
                    txt = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                cells.append(f"<td>{html.escape(txt)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        cap = (f"指标估计 Results — {self.meta.get('year')} 年，收入线 {self.meta.get('line')} 元，"
               f"{float(self.meta.get('level', 0.95)) * 100:g}% 置信区间")
        out = [f"<table><caption>{html.escape(cap)}</caption><thead><tr>{head}</tr></thead><tbody>",
               *body, "</tbody></table>"]
        if self.verdicts is not None and len(self.verdicts):
            vrows = []
            for _, r in self.verdicts.iterrows():
                color = DECISION_COLORS.get(r["decision"], "#757575")
                name = r.get("county_name", "") if "county_name" in r else ""
                vrows.append(f"<tr><td>{html.escape(str(r.iloc[0]))}</td><td>{html.escape(str(name))}</td>"
                             f"<td style='background:{color};color:white;font-weight:bold'>"
                             f"{html.escape(D.decision_label(r['decision']))} {r['decision']}</td>"
                             f"<td>{html.escape(str(r['reason']))}</td></tr>")
            out.append("<table><caption>县退出判定 county verdicts</caption><thead><tr><th>代码 code</th>"
                       "<th>县 county</th><th>判定 verdict</th><th>依据 reason</th></tr></thead><tbody>"
                       + "".join(vrows) + "</tbody></table>")
        return "".join(out)

    # ------------------------------------------------------------------ appeal trace
    def _select_domain(self, hh: pd.DataFrame, domain) -> pd.DataFrame:
        if domain is None:
            return hh
        by = list((self._spec or {}).get("by") or [])
        if isinstance(domain, dict):
            m = np.ones(len(hh), bool)
            for k, v in domain.items():
                if k not in hh.columns:
                    raise RuleError(f"没有域变量 {k!r} / unknown domain column {k!r}.")
                m &= hh[k].astype("string").eq(str(v)).fillna(False).to_numpy(bool)
            return hh[m]
        cands = by + list((self._spec or {}).get("name_columns", {}).values())
        for c in cands:
            m = hh[c].astype("string").eq(str(domain)).fillna(False).to_numpy(bool)
            if m.any():
                return hh[m]
        raise RuleError(f"找不到域 {domain!r} / no domain {domain!r} in columns {cands}.")

    def explain(self, indicator: str, domain=None) -> pd.DataFrame:
        """Every surveyed household counted in ``indicator``'s numerator (in ``domain``: a dict
        {column: value} or a value of the domain column/name), with the rule that flagged it,
        the answers behind it, its weight and its appeal status — the evidence for 申诉举证."""
        from evalkit.indicators.rates import INDICATORS

        if indicator not in FLAG_OF:
            raise RuleError(f"未知指标 unknown indicator {indicator!r}; one of {sorted(FLAG_OF)}.")
        if self.households is None:
            raise RuleError("该 Results 没有保存户级数据 / these Results keep no household data.")
        hh = self._select_domain(self.households, domain)
        pops = INDICATORS[indicator][4]
        st = hh["registry_status"].astype("string")
        rows = []
        for flag in FLAG_OF[indicator]:
            pop_for_flag = {"wrong_exit": ("exited", "exiting"), "missed": ("not_registered",),
                            "wrong_inclusion": ("poor",)}.get(flag, pops)
            m = hh[flag].astype("boolean").fillna(False).to_numpy(bool)
            if pop_for_flag is not None:
                m &= st.isin(list(pop_for_flag)).fillna(False).to_numpy(bool)
            sub = hh[m]
            for _, r in sub.iterrows():
                rows.append(self._trace(r, flag))
        weight = (self._spec or {}).get("design", {}).get("weight")
        cols = ["household_id", *[c for c in self.domain_columns if c in hh.columns], "village_code",
                "registry_status", "hh_size", "flag", "rule_zh", "rule_en", "evidence", "appeal_status",
                "appeal_outcome"]
        out = pd.DataFrame(rows, columns=["household_id", "flag", "rule_zh", "rule_en", "evidence"])
        if out.empty:
            return pd.DataFrame(columns=cols + ([weight] if weight else []))
        info_cols = [c for c in cols if c in hh.columns and c not in out.columns]
        if weight and weight in hh.columns:
            info_cols.append(weight)
        info = hh[["household_id", *info_cols]].drop_duplicates("household_id")
        out = out.merge(info, on="household_id", how="left")
        ap = self.appeals.drop_duplicates(["household_id", "flag"], keep="last")
        out = out.merge(ap[["household_id", "flag", "status", "outcome"]].rename(
            columns={"status": "appeal_status", "outcome": "appeal_outcome"}), on=["household_id", "flag"], how="left")
        out["appeal_status"] = out["appeal_status"].fillna("initial")
        keep = [c for c in cols if c in out.columns] + ([weight] if weight and weight in out.columns else [])
        return out[keep].sort_values(["household_id", "flag"]).reset_index(drop=True)

    def _trace(self, r: pd.Series, flag: str):
        """(household_id, flag, rule zh, rule en, evidence) for one flagged household."""
        line = float(r.get("line", np.nan))
        ipc = r.get("income_per_capita", np.nan)
        ev = [f"人均纯收入 income/cap {ipc:,.0f} 元 (收入线 line {line:,.0f})" if pd.notna(ipc) else "收入缺失 income missing"]
        for item, cols in (("food_ok", ("food_ok", "clothing_ok")),
                           ("medical_ok", ("medical_insured", "medical_access")),
                           ("housing_ok", ("housing_appraisal", "housing_renovated")),
                           ("water_ok", ("water_quantity", "water_quality", "water_access", "water_reliability"))):
            v = r.get(item)
            if v is not None and not pd.isna(v) and not bool(v):
                ev.append(", ".join(f"{c}={r.get(c)}" for c in cols if c in r.index))
        if r.get("out_of_school"):
            ev.append(f"失学/非在校适龄儿童 out-of-school child: {r.get('out_of_school')}")
        if r.get("negative_items"):
            ev.append(f"负面清单 negative list: {r.get('negative_items')}"
                      + (f" (car_value={r.get('car_value')})" if "car_value" in r.index and pd.notna(r.get("car_value")) else ""))
        failed = r.get("failed_items") or ""
        if flag == "wrong_exit":
            zh = f"已脱贫但未达退出标准：{failed}"
            en = "exited household does not meet the exit standard (income above the line and 2A3G)"
        elif flag == "missed":
            zh = f"非建档立卡户符合识别标准且不在负面清单：{failed}"
            en = "non-registered household meets the identification standard and hits no negative-list item"
        elif flag == "wrong_inclusion":
            parts = []
            if r.get("negative_items"):
                parts.append(f"负面清单：{r.get('negative_items')}")
            if bool(pd.notna(r.get("income_far_above_line")) and r.get("income_far_above_line")):
                mult = self.rules.wrong_inclusion_income_multiple if self.rules is not None else 2
                parts.append(f"人均纯收入高于收入线 {mult:g} 倍")
            zh = "未脱贫户属于错评：" + "；".join(parts)
            en = "registered poor household hits the negative list or has income far above the line"
        elif flag == "satisfied":
            zh, en = f"满意度回答：{r.get('satisfaction')}", "positive satisfaction answer"
        else:
            zh, en = f"认可度回答：{r.get('recognition')}", "positive recognition answer"
        return (str(r["household_id"]), flag, zh, en, "；".join(ev))

    def with_appeals(self, decisions) -> "Results":
        """Recompute after appeals (申诉举证). ``decisions``: DataFrame / list of dicts with
        ``household_id``, ``outcome`` (``contested`` = appeal filed, finding stands for now;
        ``confirmed`` = finding kept; ``overturned`` = finding reversed), optional ``flag``
        (wrong_exit / missed / wrong_inclusion; default: every appealable flag the household
        carries) and ``note``. Status per household and flag: initial → contested → final."""
        if self._spec is None or self.households is None:
            raise RuleError("该 Results 不能重算 / these Results cannot be recomputed (no household data).")
        dec = pd.DataFrame(decisions).copy()
        if "household_id" not in dec or "outcome" not in dec:
            raise RuleError("申诉表须有 household_id 与 outcome 两列 / appeals need columns household_id and outcome.")
        dec["household_id"] = dec["household_id"].astype(str)
        raw = dec["outcome"].astype(str).str.strip()
        dec["outcome"] = raw.str.lower().map(OUTCOMES).fillna(raw.map(OUTCOMES))
        bad = dec[dec["outcome"].isna()]
        if len(bad):
            raise RuleError(f"申诉结果无法识别（第 {bad.index[0] + 2} 行：{raw[bad.index[0]]!r}）/ unknown appeal "
                            f"outcome {raw[bad.index[0]]!r} at row {bad.index[0] + 2}; use contested, confirmed or overturned.")
        if "note" not in dec:
            dec["note"] = ""
        hh = self.households.copy()
        hid = hh["household_id"].astype(str)
        unknown = sorted(set(dec["household_id"]) - set(hid))
        if unknown:
            raise RuleError(f"申诉户不在样本中 / appealed households not in the surveyed sample: {unknown[:10]}")
        # expand rows without a flag to every appealable flag the household carries initially
        initial = self._initial_flags()
        if "flag" not in dec or dec["flag"].isna().any():
            if "flag" not in dec:
                dec["flag"] = None
            carried = initial.melt(id_vars="household_id", var_name="flag", value_name="v")
            carried = carried[carried["v"]]
            nof = dec[dec["flag"].isna()].drop(columns="flag").merge(carried[["household_id", "flag"]],
                                                                       on="household_id", how="left")
            if nof["flag"].isna().any():
                h = nof.loc[nof["flag"].isna(), "household_id"].iloc[0]
                raise RuleError(f"户 {h} 没有可申诉的判定（错退/漏评/错评）/ household {h} carries no "
                                "appealable finding; give flag= explicitly.")
            dec = pd.concat([dec[dec["flag"].notna()], nof], ignore_index=True)
        badf = set(dec["flag"]) - set(APPEALABLE)
        if badf:
            raise RuleError(f"不可申诉的标志 not appealable: {sorted(badf)}; use {APPEALABLE}.")
        ap = pd.concat([self.appeals, dec[["household_id", "flag", "outcome", "note"]]], ignore_index=True)
        ap = ap.drop_duplicates(["household_id", "flag"], keep="last").reset_index(drop=True)
        ap["status"] = np.where(ap["outcome"] == "contested", "contested", "final")
        init = initial.set_index("household_id")
        ap["initial_value"] = [bool(init.at[h, f]) for h, f in zip(ap["household_id"], ap["flag"])]
        ap["current_value"] = np.where(ap["outcome"] == "overturned", ~ap["initial_value"].astype(bool),
                                       ap["initial_value"].astype(bool))
        # apply from the initial flags so repeated calls never compound
        for f in APPEALABLE:
            hh[f] = initial.set_index("household_id")[f].reindex(hid).to_numpy()
            sel = ap[ap["flag"] == f]
            if len(sel):
                newv = pd.Series(sel["current_value"].to_numpy(bool), index=sel["household_id"])
                m = hid.isin(newv.index).to_numpy()
                vals = hh[f].astype("boolean").to_numpy(dtype=object)
                vals[m] = newv.reindex(hid[m]).to_numpy()
                hh[f] = pd.array(vals, dtype="boolean")
        from evalkit.indicators.rates import compute

        spec = dict(self._spec)
        table, verdicts, extra = compute(hh, spec)
        meta = dict(self.meta)
        meta["appeals"] = ap["status"].value_counts().to_dict()
        out = Results(table, verdicts=verdicts, meta=meta, households=hh, spec=spec, extra=extra,
                      rules=self.rules, appeals=ap[["household_id", "flag", "status", "outcome", "initial_value",
                                                   "current_value", "note"]])
        out._initial = initial
        return out

    def _initial_flags(self) -> pd.DataFrame:
        init = getattr(self, "_initial", None)
        if init is not None:
            return init
        hh = self.households
        out = pd.DataFrame({"household_id": hh["household_id"].astype(str).to_numpy()})
        for f in APPEALABLE:
            out[f] = hh[f].astype("boolean").fillna(False).to_numpy(bool)
        return out

    # ------------------------------------------------------------------ output
    def plot(self, **kwargs):
        """Forest plot of estimates, intervals and thresholds (evalkit.report.figures)."""
        try:
            from evalkit.report.figures import forest_plot
        except ImportError as exc:  # pragma: no cover - report module absent
            raise ReportError(f"报告模块不可用 / the report module is not available: {exc}") from exc
        return forest_plot(self, **kwargs)

    def to_csv(self, path) -> Path:
        """The table with decision reasons as UTF-8-with-BOM CSV (opens in Excel)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.decisions().to_csv(path, index=False, encoding="utf-8-sig")
        return path

    def to_excel(self, path, show_population: bool = False) -> Path:
        """Workbook: 指标 (estimates, decisions coloured), 县判定 (verdicts), 核查户 (flagged
        households with the rule and answers), 申诉 (appeals), 规则 (rule set), 说明 (meta).
        Registry population counts are written only with ``show_population=True``
        (they are confidential in many provinces)."""
        from openpyxl.styles import Font, PatternFill

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        t = self.decisions()
        sheets = {"指标 indicators": t}
        if self.verdicts is not None:
            sheets["县判定 verdicts"] = self.verdicts
        if self.households is not None:
            flagged = [self.explain(i) for i in ("wrong_exit_rate", "missed_rate", "wrong_inclusion_rate")
                       if i in set(self.table["indicator"]) or i == "wrong_inclusion_rate" and
                       "identification_accuracy" in set(self.table["indicator"])]
            if flagged:
                sheets["核查户 flagged"] = pd.concat(flagged, ignore_index=True)
        sheets["申诉 appeals"] = self.appeals
        if self.rules is not None:
            sheets["规则 rules"] = self.rules.describe()
        meta = {k: v for k, v in self.meta.items() if k not in ("rules", "population", "sample_manifest")}
        meta_rows = [(k, str(v)) for k, v in meta.items()]
        man = self.meta.get("sample_manifest") or {}
        meta_rows += [(f"sample.{k}", str(v)) for k, v in dict(man).items()]
        sheets["说明 meta"] = pd.DataFrame(meta_rows, columns=["key", "value"])
        if show_population and isinstance(self.meta.get("population"), pd.DataFrame):
            sheets["人口 population"] = self.meta["population"]
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, df in sheets.items():
                df = df.copy()
                df.columns = [COLUMN_LABELS.get(c, c) for c in df.columns]
                df.to_excel(xw, sheet_name=name[:31], index=False)
            ws = xw.sheets["指标 indicators"]
            heads = [c.value for c in ws[1]]
            for col_name in PERCENT_COLUMNS:
                lab = COLUMN_LABELS[col_name]
                if lab in heads:
                    j = heads.index(lab) + 1
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = "0.00%"
            if COLUMN_LABELS["decision"] in heads:
                j = heads.index(COLUMN_LABELS["decision"]) + 1
                for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    c = row[0]
                    color = DECISION_COLORS.get(c.value)
                    if color:
                        c.fill = PatternFill("solid", fgColor=color.lstrip("#"))
                        c.font = Font(color="FFFFFF", bold=True)
            for ws in xw.sheets.values():
                for col in ws.columns:
                    width = max(len(str(c.value or "")) for c in list(col)[:200])
                    ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width * 1.3))
        return path
