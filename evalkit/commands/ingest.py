"""``evalkit ingest``: read, validate and reconcile questionnaire exports for the field office.

Writes ``responses.xlsx`` (data, members, issues, rejected rows, nonresponse, reconciliation),
``issues.csv`` (UTF-8 with BOM, opens in Excel with Chinese intact), ``data.parquet`` and
``members.parquet``, and prints the reconciliation. Exit code 1 with ``--strict`` when any
error-level issue remains.
"""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "ingest"
HELP = ("读取并校验问卷导出数据（ODK/Kobo/Excel/SPSS/Stata），与样本核对。\n"
        "Read and validate questionnaire exports (ODK/Kobo/Excel/SPSS/Stata) against the form and sample.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("exports", nargs="+", help="导出文件或目录 / export files or folders")
    p.add_argument("--form", help="户问卷 XLSForm（默认内置）/ household XLSForm (default: bundled)")
    p.add_argument("--village-form", help="村问卷 XLSForm（默认内置）/ village XLSForm (default: bundled)")
    p.add_argument("--sample", help="样本目录（Sample.save 的输出）/ saved sample folder")
    p.add_argument("--out", default="ingest_out", help="输出目录 / output folder (default: ingest_out)")
    p.add_argument("--no-qc", action="store_true", help="不做质量核查 / skip the QC checks")
    p.add_argument("--min-minutes", type=float, default=15.0,
                   help="访问时长下限（分钟）/ shortest plausible interview in minutes (default 15)")
    p.add_argument("--gps-km", type=float, default=5.0,
                   help="GPS 偏离本村中位点的上限（公里）/ GPS distance limit in km (default 5)")
    p.add_argument("--strict", action="store_true",
                   help="存在错误级问题时返回 1 / exit with 1 when error-level issues remain")


def run(args) -> int:
    from evalkit.questionnaire.ingest import read_responses

    sample = None
    if args.sample:
        from evalkit.sampling.sample import load_sample

        sample = load_sample(args.sample)
    resp = read_responses(args.exports, form=args.form, sample=sample, village_form=args.village_form,
                          qc=not args.no_qc,
                          qc_options={"min_minutes": args.min_minutes, "gps_max_km": args.gps_km})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resp.to_excel(out / "responses.xlsx")
    resp.issues.to_csv(out / "issues.csv", index=False, encoding="utf-8-sig")
    resp.nonresponse.to_csv(out / "nonresponse.csv", index=False, encoding="utf-8-sig")
    resp.data.to_parquet(out / "data.parquet", index=False)
    resp.members.to_parquet(out / "members.parquet", index=False)
    print(repr(resp))
    print(resp.summary())
    if len(resp.issues):
        by = resp.issues.groupby(["severity", "check"]).size().rename("n").reset_index()
        print("\n问题汇总 / issues by check:\n" + by.to_string(index=False))
    print(f"\n已写入 / written: {out}/responses.xlsx, issues.csv, nonresponse.csv, data.parquet, members.parquet")
    n_err = int((resp.issues["severity"] == "error").sum())
    return 1 if args.strict and n_err else 0
