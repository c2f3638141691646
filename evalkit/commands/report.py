"""``evalkit report``: write the provincial assessment report (workbook, figures, HTML).

Two ways in: ``--results`` a saved results table (``Results.to_csv`` / ``evalkit estimate``
output: CSV, XLSX or Parquet with the columns of docs/contracts.md §7), or the raw inputs
``--sample DIR --exports FILE… [--registry FILE]`` from which the indicators are computed
(三率一度 with the registry, else 两率一度 by county). ``--sample``, ``--registry`` and
``--exports`` also add the sample, response and registry figures in the first case.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import ReportError

if TYPE_CHECKING:  # pandas is imported where it is used: every command's parser loads this module
    import pandas as pd

NAME = "report"
HELP = ("生成省级评估报告（工作簿、图表、HTML）。\n"
        "Write the provincial assessment report (workbook, figures, self-contained HTML).")

NUMERIC = ("estimate", "se", "ci_low", "ci_high", "level", "df", "n_households", "n_persons", "threshold")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="输出目录 / output folder")
    p.add_argument("--results", help="结果表（CSV/XLSX/Parquet，Results.to_csv 的输出）/ saved results table")
    p.add_argument("--verdicts", help="县判定表（可选）/ county verdicts table (optional)")
    p.add_argument("--analysis", help="结果表含多项分析时选其一（county_exit 或 two_rates，默认前者）/ "
                   "which analysis of a combined results.csv to report (default: county_exit if present)")
    p.add_argument("--sample", help="样本目录（Sample.save 的输出）/ saved sample folder")
    p.add_argument("--registry", help="建档立卡登记库文件 / registry file (CSV, XLSX, Parquet, SAV, DTA)")
    p.add_argument("--exports", nargs="+", help="问卷导出文件或目录 / questionnaire export files or folders")
    p.add_argument("--form", help="XLSForm 问卷（默认内置户问卷）/ XLSForm (default: the bundled household form)")
    p.add_argument("--by", default="county_code", help="分域列（默认 county_code）/ domain column")
    p.add_argument("--year", type=int, help="评估年度（默认取登记库或样本）/ evaluation year (default: registry or sample)")
    p.add_argument("--province", help="省代码（默认取登记库或样本）/ province code (default: registry or sample)")
    p.add_argument("--line", type=float, help="收入线（元/人·年），默认按年度和省份查表 / income line (default: "
                   "looked up by year and province)")
    p.add_argument("--title", help="报告标题 / report title")
    p.add_argument("--suppress-population", action="store_true",
                   help="隐藏基数人口，只报告比率 / hide base population counts (rates only)")
    p.add_argument("--no-figures", action="store_true", help="不画图（更快）/ tables only (faster)")


class SavedResults:
    """A results table read back from a file: the parts of ``Results`` a report needs."""

    def __init__(self, table: pd.DataFrame, verdicts: pd.DataFrame | None = None, meta: dict | None = None):
        self.table = table
        self.verdicts = verdicts
        self.meta = dict(meta or {})

    def __repr__(self) -> str:
        return f"<SavedResults: {self.table['indicator'].nunique()} indicators, {len(self.table)} rows>"


def read_results_table(path) -> pd.DataFrame:
    """Read a saved results table; Chinese headers written by ``Results.to_excel`` are mapped
    back to the canonical names, numbers parsed, codes kept as text."""
    import pandas as pd
    from evalkit.tabular import read_table

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        table = pd.read_parquet(path)
    else:
        table = read_table(path).frame
    try:
        from evalkit.indicators.results import COLUMN_LABELS

        back = {v: k for k, v in COLUMN_LABELS.items()}
        table = table.rename(columns=back)
    except ImportError:  # pragma: no cover
        pass
    missing = {"indicator", "estimate", "ci_low", "ci_high"} - set(table.columns)
    if missing:
        raise ReportError(f"{path}: 结果表缺少列 / the results table lacks columns {sorted(missing)} "
                          "(write it with Results.to_csv or evalkit estimate).")
    for c in NUMERIC:
        if c in table.columns:
            bad = table[c].notna() & (table[c].astype(str).str.strip() != "") & pd.to_numeric(table[c], errors="coerce").isna()
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise ReportError(f"{path}, row {i + 2}, column '{c}': 不是数字 / not a number: {table[c].iloc[i]!r}")
            table[c] = pd.to_numeric(table[c], errors="coerce")
    for c in ("decision", "threshold_rule"):
        if c in table.columns:
            table[c] = table[c].where(table[c].notna() & (table[c].astype(str).str.strip() != ""), None)
    return table


def run(args) -> int:
    import evalkit as ek

    sample = ek.load_sample(args.sample) if args.sample else None
    registry = ek.read_registry(args.registry) if args.registry else None
    responses = None
    if args.exports:
        if sample is None:
            raise ReportError("--exports 需要同时给出 --sample / --exports needs --sample to link interviews to the design.")
        responses = ek.read_responses(args.exports, args.form, sample=sample)
    if args.results:
        verdicts = read_results_table_verdicts(args.verdicts) if args.verdicts else None
        man = dict(getattr(sample, "manifest", {}) or {})
        table = select_analysis(read_results_table(args.results), args.analysis)
        meta = {"sample_manifest": man} if man else {}
        reg_meta = dict(getattr(registry, "meta", {}) or {})
        year = args.year or reg_meta.get("year") or man.get("year") or (man.get("registry_meta") or {}).get("year")
        prov = args.province or reg_meta.get("province_code") or man.get("province_code") \
            or (man.get("registry_meta") or {}).get("province_code")
        if prov is None and sample is not None and "province_code" in sample.households:
            prov = str(sample.households["province_code"].dropna().iloc[0])[:2]
        meta.update({k: v for k, v in (("year", year), ("province_code", prov)) if v is not None})
        if "level" in table and table["level"].notna().any():
            meta["level"] = float(table["level"].dropna().iloc[0])
        results = SavedResults(table, verdicts=verdicts, meta=meta)
    elif responses is not None:
        if registry is not None:
            results = ek.county_exit_check(responses, registry, by=args.by)
        else:
            results = ek.two_rates_one_degree(responses, by=[args.by])
    else:
        raise ReportError("请给出 --results，或 --sample 与 --exports / give --results, or --sample with --exports.")
    files = ek.report(results, args.out, sample=sample, responses=responses, registry=registry, line=args.line,
                      suppress_population=args.suppress_population, title=args.title,
                      figures=not args.no_figures)
    print(f"工作簿 workbook: {files.workbook}")
    print(f"报告 report:     {files.html}")
    print(f"图表 figures:    {files.out_dir / 'figures'} ({len(files.figures)} × PNG+SVG)")
    for name, why in files.skipped.items():
        print(f"  未画 skipped {name}: {why}")
    return 0


def select_analysis(table: pd.DataFrame, analysis: str | None) -> pd.DataFrame:
    """Keep one analysis of a combined results table (``evalkit estimate`` writes an
    ``analysis`` column: county_exit, two_rates)."""
    if "analysis" not in table.columns:
        if analysis:
            raise ReportError("--analysis 只适用于含 analysis 列的结果表 / --analysis needs a table with an 'analysis' column.")
        return table
    kinds = list(dict.fromkeys(table["analysis"].dropna()))
    pick = analysis or ("county_exit" if "county_exit" in kinds else kinds[0] if kinds else None)
    if pick not in kinds:
        raise ReportError(f"结果表中没有分析 {pick!r} / no analysis {pick!r} in the table; choose one of {kinds}.")
    return table[table["analysis"] == pick].drop(columns="analysis").reset_index(drop=True)


def read_results_table_verdicts(path) -> pd.DataFrame:
    """County verdicts saved beside the results (any table with a ``decision`` column)."""
    import pandas as pd
    from evalkit.tabular import read_table

    path = Path(path)
    t = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else read_table(path).frame
    if "decision" not in t.columns:
        raise ReportError(f"{path}: 县判定表缺少 decision 列 / the verdicts table has no 'decision' column.")
    return t
