"""Data-quality report of a registry (数据清洗): completeness, consistency, anomalies, duplicates.

``quality_report(registry)`` (also ``Registry.quality_report()`` and ``evalkit audit``) runs
the registry validation rules of :mod:`evalkit.registry.validate` (age vs schooling, income
components vs total, household size vs member list, exit year before registration year,
duplicate persons across households, ID numbers, …) — reused as they are — and adds what
only an audit needs: completeness of every column and per-capita income outliers within
county × status groups (docs/methodology/audit.md §5). Results: a tidy table (one row per
check), every issue row, an xlsx with one sheet per check, and a one-page figure.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.audit import _common as C
from evalkit.registry import schema

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# display labels of checks (the rules' messages carry row-specific values)
CHECK_LABELS = {
    "income_outlier_high": "人均纯收入异常偏高（县内同类户比较）/ per-capita income unusually high within county",
    "income_outlier_low": "人均纯收入异常偏低（县内同类户比较）/ per-capita income unusually low within county",
    "household_id_missing": "户编号为空 / household ID empty",
    "duplicate_household_id": "户编号重复 / duplicate household ID",
    "registry_status_invalid": "贫困户属性无效 / invalid registry status",
    "admin_code_invalid": "行政区划代码无效 / invalid administrative code",
    "admin_nesting": "行政区划代码层级不符 / administrative codes not nested",
    "village_type_inconsistent": "同村村类型不一致 / village type inconsistent",
    "code_invalid": "代码不在代码表中 / code not in the code list",
    "hh_size_missing": "家庭人口数为空 / household size missing",
    "hh_size_range": "家庭人口数超出范围 / household size out of range",
    "exit_year_missing": "已脱贫户缺少脱贫年度 / exited without exit year",
    "exit_year_unexpected": "非已脱贫户有脱贫年度 / exit year on a non-exited household",
    "exit_before_registration": "脱贫年度早于识别年度 / exit year before registration year",
    "exit_year_range": "脱贫年度超出范围 / exit year out of range",
    "income_negative": "人均纯收入为负 / negative per-capita income",
    "income_components": "各项收入之和与人均纯收入×人口不符 / income components ≠ total",
    "monitoring_status": "监测类别与贫困户属性不符 / monitoring category vs status",
    "person_id_missing": "人员编号为空 / person ID empty",
    "duplicate_person_id": "人员编号重复 / duplicate person ID",
    "member_without_household": "成员所在户不存在 / member of an unknown household",
    "hh_size_mismatch": "家庭人口数与成员表人数不符 / household size ≠ members listed",
    "head_count": "户主人数不为1 / not exactly one household head",
    "id_number_invalid": "身份证号校验不通过 / ID number fails GB 11643",
    "person_in_two_households": "同一人出现在多户（疑似拆户/空挂户）/ same person in several households",
    "duplicate_person_in_household": "同一户内身份证号重复 / same ID twice in a household",
    "birth_date_invalid": "出生日期无效 / invalid birth date",
    "age_schooling": "义务教育阶段儿童未在校 / child of compulsory age not in school",
    "id_birth_mismatch": "身份证号与出生日期不符 / ID number vs birth date",
    "id_sex_mismatch": "身份证号与性别不符 / ID number vs sex",
}


# columns that only apply to some households: missing elsewhere is not a gap
APPLIES = {
    "exit_year": (("exited",), "已脱贫户 / exited households"),
    "registration_year": (schema.REGISTERED_STATUSES, "建档立卡户 / registered households"),
    "poverty_cause": (schema.REGISTERED_STATUSES, "建档立卡户 / registered households"),
    "assisting_cadre": (schema.REGISTERED_STATUSES, "建档立卡户 / registered households"),
    "monitoring": ((), "仅监测对象（可为空）/ monitored households only (may be empty)"),
}


def completeness(registry) -> pd.DataFrame:
    """One row per column of the household and member tables: table, column, label (中文),
    required, applies_to, rows (where the column applies), missing (NA or blank),
    share_missing. ``exit_year`` counts only exited households, registration fields only
    registered ones (:data:`APPLIES`)."""
    rows = []
    hh = registry.households
    status = hh["registry_status"] if "registry_status" in hh.columns else None
    for table_name, table, spec in (("households", registry.households, schema.HOUSEHOLD),
                                    ("members", registry.members, schema.MEMBER)):
        if table is None:
            continue
        for col in table.columns:
            s = table[col]
            miss = s.isna()
            if s.dtype == object or str(s.dtype).startswith(("string", "str")):
                miss = miss | s.astype("string").str.strip().eq("").fillna(False)
            c = spec.get(col)
            applies, note = np.ones(len(table), bool), "全部 / all"
            if table_name == "households" and col in APPLIES and status is not None:
                applies = status.isin(APPLIES[col][0]).fillna(False).to_numpy(bool)
                note = APPLIES[col][1]
            rows.append({"table": table_name, "column": col, "label": c.zh if c else col,
                         "required": bool(c.required) if c else False, "applies_to": note,
                         "rows": int(applies.sum()), "missing": int((miss.to_numpy(bool) & applies).sum())})
        for col, c in spec.items():  # canonical columns absent from the file
            if col not in table.columns:
                rows.append({"table": table_name, "column": col, "label": c.zh, "required": c.required,
                             "applies_to": "列不存在 / column absent", "rows": len(table), "missing": len(table)})
    out = pd.DataFrame(rows)
    out["share_missing"] = np.where(out["rows"] > 0, out["missing"] / out["rows"].clip(lower=1), 0.0)
    return out.sort_values(["table", "share_missing", "column"], ascending=[True, False, True]).reset_index(drop=True)


def income_outliers(households: pd.DataFrame, k: float = 3.0, min_group: int = 20,
                    by=("county_code", "registry_status")) -> pd.DataFrame:
    """Households whose per-capita income lies outside Tukey's far-out fences of log income
    (Q1 − k·IQR, Q3 + k·IQR) within their county × registry status (groups with at least
    ``min_group`` positive incomes). Log scale because incomes are right-skewed; comparing
    within county × status because poor and non-registered households differ by design."""
    hh = households
    by = [b for b in by if b in hh.columns]
    if "income_per_capita" not in hh.columns:
        return C.concat_issues([])
    x = pd.to_numeric(hh["income_per_capita"], errors="coerce")
    pos = x > 0
    d = pd.DataFrame({"lx": np.log(x.where(pos))})
    for b in by:
        d[b] = hh[b].to_numpy()
    g = d[pos.to_numpy()].groupby(by, dropna=False)["lx"] if by else d[pos.to_numpy()]["lx"]
    if by:
        q = g.quantile([0.25, 0.75]).unstack()
        n = g.size()
        q = q[n.reindex(q.index) >= min_group]
        q.columns = ["q1", "q3"]
        bounds = d[by].merge(q, left_on=by, right_index=True, how="left")
    else:
        lo_, hi_ = g.quantile([0.25, 0.75]) if g.notna().sum() >= min_group else (np.nan, np.nan)
        bounds = pd.DataFrame({"q1": lo_, "q3": hi_}, index=d.index)
    iqr = bounds["q3"] - bounds["q1"]
    lo = (bounds["q1"] - k * iqr).to_numpy()
    hi = (bounds["q3"] + k * iqr).to_numpy()
    lx = d["lx"].to_numpy()
    high = pos.to_numpy() & (lx > hi)
    low = pos.to_numpy() & (lx < lo)
    out = []
    for mask, check, word in ((high, "income_outlier_high", "高于"), (low, "income_outlier_low", "低于")):
        if mask.any():
            idx = np.flatnonzero(mask)
            bound = np.exp(hi[idx] if check.endswith("high") else lo[idx])
            msg = (f"人均纯收入{word}本县同类户的异常界限 " + pd.Series(bound).map("{:,.0f}".format).to_numpy(object)
                   + f" 元，请核实 / per-capita income {'above' if word == '高于' else 'below'} the county's "
                   f"outlier fence for this status (Tukey k={k:g}, log scale): check")
            out.append(C.issues_frame(pd.NA, pd.NA, hh["household_id"].to_numpy()[idx], "income_per_capita",
                                      x.to_numpy()[idx], "warning", check, msg))
    return C.concat_issues(out)


def quality_report(registry, *, checks="all", outlier_k: float = 3.0, outlier_min_group: int = 20,
                   year=None, reference_date=None) -> "QualityReport":
    """Data-quality report of ``registry``: the validation rules of
    :func:`evalkit.registry.validate.validate` (``checks`` selects them: "all", "fast" or
    names) plus completeness and income outliers. See :class:`QualityReport`."""
    from evalkit.registry import validate as V

    year = year if year is not None else registry.meta.get("year")
    reference_date = reference_date if reference_date is not None else registry.meta.get("survey_date")
    wanted = V.select_checks(checks)
    ran = registry.meta.get("checks")  # set by read_registry: the rules already run, with file/row
    if ran is not None:
        todo = [c for c in wanted if c not in set(ran)]
        issues = C.concat_issues([registry.issues] + ([V.validate(
            registry.households, registry.members, None, checks=todo, year=year,
            reference_date=reference_date)] if todo else []))
    else:
        found = V.validate(registry.households, registry.members, None, checks=wanted, year=year,
                           reference_date=reference_date)
        known = registry.issues
        # problems found while reading files (they carry file and row) are kept as well
        read = known[known["file"].notna()] if len(known) and "file" in known else None
        issues = C.concat_issues([read, found])
    outl = income_outliers(registry.households, k=outlier_k, min_group=outlier_min_group)
    if len(outl):
        outl = _locate(outl, registry)
    all_issues = C.concat_issues([issues, outl])
    return QualityReport(registry, all_issues, completeness(registry),
                         {"checks": checks, "outlier_k": outlier_k, "outlier_min_group": outlier_min_group,
                          "year": year, "reference_date": reference_date})


def _locate(issues: pd.DataFrame, registry) -> pd.DataFrame:
    """File and spreadsheet row of household issues, from the provenance ``read_registry``
    records in ``meta['sources']`` (files concatenated in order; NA for generated data)."""
    infos = [i for i in registry.meta.get("sources", []) if isinstance(i, dict) and i.get("table") == "households"]
    if not infos or sum(int(i.get("rows", 0)) for i in infos) != len(registry.households):
        return issues
    try:
        from evalkit.registry.validate import Source

        rn = [i.get("row_numbers") for i in infos]
        row_numbers = (np.concatenate([np.asarray(r if r is not None else np.arange(2, int(i["rows"]) + 2))
                                       for r, i in zip(rn, infos)]) if any(r is not None for r in rn) else None)
        src = Source(tuple(i["file"] for i in infos), tuple(int(i["rows"]) for i in infos), row_numbers=row_numbers)
        pos = pd.Index(registry.households["household_id"]).get_indexer(issues["household_id"])
        files, rows = src.locate(pos)
    except Exception:  # provenance in an unexpected form: keep NA rather than guess
        return issues
    out = issues.copy()
    out["file"] = np.asarray(files, dtype=object)
    out["row"] = np.asarray(rows, dtype=object)
    return out


class QualityReport:
    """Result of :func:`quality_report`.

    table : one row per check — check, label (Chinese / English, from the rule's message),
        severity, issues, households (distinct households concerned), share_households.
    issues : every issue row (file, row, household_id, column, value, severity, check, message).
    completeness : one row per column (table, column, label, required, rows, missing, share_missing).
    by_county() : issues per county and check.
    """

    def __init__(self, registry, issues, completeness, params):
        self.issues = issues.reset_index(drop=True)
        self.completeness = completeness
        self.params = params
        self._hh = registry.households[[c for c in ("household_id", "county_code", "county_name",
                                                    "income_per_capita", "registry_status")
                                        if c in registry.households.columns]]
        self._n = len(registry.households)
        self.table = self._table()

    def _table(self) -> pd.DataFrame:
        iss = self.issues
        if not len(iss):
            return pd.DataFrame({"check": pd.Series(dtype=object), "label": pd.Series(dtype=object),
                                 "severity": pd.Series(dtype=object), "issues": pd.Series(dtype=np.int64),
                                 "households": pd.Series(dtype=np.int64),
                                 "share_households": pd.Series(dtype=float)})
        g = iss.groupby(["check", "severity"], sort=False)
        t = pd.DataFrame({"issues": g.size(), "households": g["household_id"].nunique()}).reset_index()
        first = iss.drop_duplicates(["check", "severity"]).set_index(["check", "severity"])["message"]
        t["label"] = [CHECK_LABELS.get(c) or _label(first.loc[(c, s)]) for c, s in zip(t["check"], t["severity"])]
        t["share_households"] = t["households"] / max(self._n, 1)
        t["_o"] = t["severity"].map(SEVERITY_ORDER)
        t = t.sort_values(["_o", "issues"], ascending=[True, False]).drop(columns="_o")
        return t[["check", "label", "severity", "issues", "households", "share_households"]].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The per-check table (what ``registry.quality_report()`` is read as)."""
        return self.table

    def by_county(self) -> pd.DataFrame:
        """Issues and households concerned by county × check (tidy)."""
        if "county_code" not in self._hh:
            return pd.DataFrame()
        cmap = self._hh.drop_duplicates("household_id").set_index("household_id")["county_code"]
        iss = self.issues.assign(county_code=self.issues["household_id"].map(cmap))
        out = (iss.groupby(["county_code", "check", "severity"], dropna=False)
                  .agg(issues=("check", "size"), households=("household_id", "nunique")).reset_index())
        base = self._hh.groupby("county_code").size().rename("county_households")
        out = out.merge(base, left_on="county_code", right_index=True, how="left")
        return out

    def to_excel(self, path) -> Path:
        """汇总 (per check), 完整性 (completeness), 分县 (by county), then one sheet per check
        with its issue rows (ID numbers in issues are already masked by the rules)."""
        from evalkit.audit._excel import write_sheets

        sheets = {"汇总 summary": self.table, "完整性 completeness": self.completeness,
                  "分县 by county": self.by_county()}
        used = set(s[:31] for s in sheets)
        for check in self.table["check"].unique():
            name = str(check)[:31]
            i = 2
            while name in used:
                name = f"{str(check)[:28]}_{i}"
                i += 1
            used.add(name)
            sheets[name] = self.issues[self.issues["check"] == check]
        return write_sheets(path, sheets)

    def figure(self, path=None):
        """One page (A4 landscape): missing share of the least complete columns, issues by
        check, households with an error per 1,000 by county, per-capita income by county
        (log scale) with the outliers marked. Saved to ``path`` when given."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from evalkit.report.fonts import cjk_rc

        with plt.rc_context(cjk_rc()):
            fig, ax = plt.subplots(2, 2, figsize=(11.69, 8.27))
            present = self.completeness[self.completeness["applies_to"] != "列不存在 / column absent"]
            n_absent = len(self.completeness) - len(present)
            comp = present[present["missing"] > 0].head(12)
            a = ax[0, 0]
            a.barh((comp["label"] + "（" + comp["table"].map({"households": "户", "members": "人"}) + "）")[::-1],
                   comp["share_missing"][::-1] * 100, color="#4C72B0")
            a.set_xlabel("缺失比例 % / share missing")
            a.set_title(f"完整性：缺失最多的字段（另有 {n_absent} 个标准字段未提供）/ completeness")
            t = self.table.head(12)
            a = ax[0, 1]
            colours = t["severity"].map({"error": "#C44E52", "warning": "#DD8452", "info": "#8C8C8C"})
            a.barh(t["label"].str.split(" / ").str[0].str.slice(0, 20)[::-1], t["issues"][::-1], color=colours[::-1])
            a.set_xlabel("问题条数 / issues")
            a.set_title("逻辑与异常检查（红=错误，橙=警告）/ checks")
            a = ax[1, 0]
            bc = self.by_county()
            if len(bc):
                err = (self.issues[self.issues["severity"] == "error"]
                       .assign(county_code=lambda d: d["household_id"].map(
                           self._hh.drop_duplicates("household_id").set_index("household_id")["county_code"])))
                per = err.groupby("county_code")["household_id"].nunique()
                base = self._hh.groupby("county_code").size()
                rate = (per.reindex(base.index).fillna(0) / base * 1000)
                names = self._hh.drop_duplicates("county_code").set_index("county_code").get(
                    "county_name", pd.Series(dtype=object))
                a.bar([str(names.get(c, c)) for c in rate.index], rate.to_numpy(), color="#55A868")
                a.tick_params(axis="x", rotation=45)
            a.set_ylabel("有错误的户 ‰ / households with an error per 1,000")
            a.set_title("分县错误率 / errors by county")
            a = ax[1, 1]
            if "income_per_capita" in self._hh and "county_code" in self._hh:
                x = pd.to_numeric(self._hh["income_per_capita"], errors="coerce")
                d = self._hh.assign(x=x)[x > 0]
                counties = sorted(d["county_code"].dropna().unique())
                a.boxplot([d.loc[d["county_code"] == c, "x"].to_numpy() for c in counties], whis=(1, 99),
                          showfliers=False)
                out_ids = set(self.issues.loc[self.issues["check"].str.startswith("income_outlier"), "household_id"])
                o = d[d["household_id"].isin(out_ids)]
                pos = {c: i + 1 for i, c in enumerate(counties)}
                a.scatter(o["county_code"].map(pos), o["x"], s=8, color="#C44E52", label="异常值 / outliers")
                a.set_yscale("log")
                names = self._hh.drop_duplicates("county_code").set_index("county_code").get(
                    "county_name", pd.Series(dtype=object))
                a.set_xticks(range(1, len(counties) + 1), [str(names.get(c, c)) for c in counties], rotation=45)
                a.legend(loc="upper right", fontsize=8)
            a.set_ylabel("人均纯收入（元，对数）/ per-capita income (log)")
            a.set_title("分县收入分布与异常值 / income by county")
            fig.suptitle(f"登记数据质量报告 / registry data-quality report — {self._n:,} 户, "
                         f"{len(self.issues):,} 条问题", fontsize=13)
            fig.tight_layout()
            if path is not None:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                fig.savefig(path)
        return fig

    # ---------------------------------------------------------------- display
    def _lines(self):
        sev = self.issues["severity"].value_counts()
        worst = self.completeness.iloc[0] if len(self.completeness) else None
        lines = [f"{self._n:,} households; {len(self.issues):,} issues (error {int(sev.get('error', 0)):,}, "
                 f"warning {int(sev.get('warning', 0)):,}, info {int(sev.get('info', 0)):,}) in "
                 f"{len(self.table)} checks"]
        if worst is not None:
            lines.append(f"least complete: {worst['table']}.{worst['column']} {worst['share_missing']:.1%} missing")
        return lines

    def __repr__(self) -> str:
        return "<QualityReport: " + " | ".join(self._lines()) + ">"

    def _repr_html_(self) -> str:
        return C.html_table("QualityReport 数据质量", self._lines(), self.table)


def _label(message: str) -> str:
    """Fallback label of an unknown check: its first message without row-specific numbers."""
    import re

    return re.sub(r"[\d,.]+", "…", str(message))
