"""``evalkit estimate``: indicators (两率一度 / 三率一度) with intervals and threshold decisions.

Input: a saved sample folder (``Sample.save``) plus either questionnaire exports (read and
validated here) or the folder written by ``evalkit ingest`` (data.parquet, members.parquet).
With ``--registry`` it runs the county exit check (三率一度, needs the registry's person totals);
it always runs 两率一度. Writes ``results.xlsx`` (decisions coloured, flagged households with
their evidence, appeals, rules), ``results.csv`` and, for the exit check, ``verdicts.csv``.
``--appeals`` (CSV/XLSX: household_id, outcome, [flag], [note]) recomputes after appeals.
"""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "estimate"
HELP = ("估计两率一度/三率一度指标、置信区间与阈值判定，输出结果工作簿。\n"
        "Estimate the indicators with confidence intervals and threshold decisions; write the results workbook.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", help="问卷导出文件，或 evalkit ingest 的输出目录 / exports, or an "
                   "'evalkit ingest' output folder")
    p.add_argument("--sample", required=True, help="样本目录（Sample.save 的输出）/ saved sample folder")
    p.add_argument("--registry", help="登记库文件（县退出检查需要）/ registry file (needed for the county exit check)")
    p.add_argument("--form", help="户问卷 XLSForm（读取导出时用）/ household XLSForm for reading exports")
    p.add_argument("--year", type=int, help="评估年度 / evaluation year (default: registry or sample)")
    p.add_argument("--province", help="省代码 / province code (default: registry or sample)")
    p.add_argument("--line", type=float, help="收入线（元/人·年），覆盖查表 / income line overriding the table")
    p.add_argument("--by", default="county_code", help="分组变量 / domain column (default county_code; '' for none)")
    p.add_argument("--level", type=float, default=0.95, help="置信水平 / confidence level (default 0.95)")
    p.add_argument("--ci-method", help="区间方法（默认：稀有率 korn-graubard，态度 logit）/ one CI method for all rates")
    p.add_argument("--lonely-psu", choices=["fail", "remove", "adjust", "certainty", "average"],
                   help="只有一个受访 PSU 的层如何处理（默认按设计）/ strata with one responding PSU (default: the design's)")
    p.add_argument("--appeals", help="申诉结果表 / appeal decisions table (household_id, outcome, flag, note)")
    p.add_argument("--show-population", action="store_true",
                   help="在工作簿中写出登记人口数（默认不写，保密）/ write registry population counts (confidential)")
    p.add_argument("--out", default="estimate_out", help="输出目录 / output folder (default: estimate_out)")


def _responses(args, sample):
    """A Responses from exports, or a Responses-like object from an ingest output folder."""
    import pandas as pd

    from evalkit.errors import ResponseError

    ins = [Path(x) for x in args.inputs]
    if len(ins) == 1 and ins[0].is_dir() and (ins[0] / "data.parquet").exists():
        from types import SimpleNamespace

        data = pd.read_parquet(ins[0] / "data.parquet")
        mem_path = ins[0] / "members.parquet"
        members = pd.read_parquet(mem_path) if mem_path.exists() else None
        design = sample.respondent_design(list(data["household_id"].astype(str)))
        return SimpleNamespace(data=data, members=members, design=design, sample=sample)
    if not ins:
        raise ResponseError("没有输入 / no input: give questionnaire exports or an 'evalkit ingest' output folder.")
    from evalkit.questionnaire.ingest import read_responses

    return read_responses([str(x) for x in ins], form=args.form, sample=sample)


def run(args) -> int:
    import pandas as pd

    from evalkit.errors import RuleError
    from evalkit.indicators.rates import county_exit_check, two_rates_one_degree
    from evalkit.indicators.rules import RuleSet
    from evalkit.sampling.sample import load_sample
    from evalkit.tabular import read_table

    sample = load_sample(args.sample)
    registry = None
    if args.registry:
        from evalkit.registry.io import read_registry

        registry = read_registry(args.registry)
    man = sample.manifest or {}
    year = args.year or (registry.meta.get("year") if registry is not None else None) or man.get("year") \
        or (man.get("registry_meta") or {}).get("year")
    prov = args.province or (registry.meta.get("province_code") if registry is not None else None) \
        or man.get("province_code") or (man.get("registry_meta") or {}).get("province_code")
    if year is None and args.line is None:
        raise RuleError("无法确定评估年度：请用 --year 指定 / cannot tell the evaluation year: pass --year.")
    rules = RuleSet.default(year, prov, line=args.line)
    resp = _responses(args, sample)
    by = args.by or None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"two_rates": two_rates_one_degree(resp, rules, by=by, level=args.level, ci_method=args.ci_method,
                                                        lonely_psu=args.lonely_psu)}
    if registry is not None:
        results["county_exit"] = county_exit_check(resp, registry, rules, by=by or "county_code",
                                                   level=args.level, ci_method=args.ci_method,
                                                   lonely_psu=args.lonely_psu)
    if args.appeals:
        table = read_table(args.appeals).frame
        results = {k: r.with_appeals(table) for k, r in results.items()}
    for name, r in results.items():
        r.to_excel(out / f"results_{name}.xlsx", show_population=args.show_population)
        r.to_csv(out / f"results_{name}.csv")
        print(repr(r))
        if r.verdicts is not None:
            r.verdicts.to_csv(out / "verdicts.csv", index=False, encoding="utf-8-sig")
    all_rows = pd.concat([r.decisions().assign(analysis=k) for k, r in results.items()], ignore_index=True)
    all_rows.to_csv(out / "results.csv", index=False, encoding="utf-8-sig")
    print(f"\n已写入 / written: {out.resolve()} (results.csv, " + ", ".join(f"results_{k}.xlsx" for k in results)
          + (", verdicts.csv" if "county_exit" in results else "") + ")")
    return 0
