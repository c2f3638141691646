"""`evalkit demo --out DIR`: run the whole pipeline end to end on the synthetic demo province.

registry → plan → sample → field lists → simulated fieldwork → ingestion → indicators →
report, with a progress bar over the steps, and a closing list of where everything went.
The synthetic province knows the true value of every indicator, so the demo also writes
the truth beside the estimates (``results/truth_vs_estimate.csv``).
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

NAME = "demo"
HELP = ("在合成演示省数据上运行完整流程（登记库→抽样→调查清单→模拟调查→读取问卷→指标→报告），输出到 --out 目录。\n"
        "Run the whole pipeline on the bundled synthetic demo province (registry → sample → field lists → "
        "simulated fieldwork → ingestion → indicators → report); write everything to --out.")


def add_arguments(p):
    p.add_argument("--out", required=True, help="输出目录 / output directory")
    p.add_argument("--seed", type=int, default=7, help="登记库随机种子 / registry seed (default 7)")
    p.add_argument("--sample-seed", type=int, default=20250601, help="抽样随机种子 / sampling seed (default 20250601)")
    p.add_argument("--counties", type=int, default=10, help="县数 / number of counties (default 10)")
    p.add_argument("--households", type=int, nargs=2, metavar=("LOW", "HIGH"), default=(6000, 10000),
                   help="每县户数范围 / households per county, a range (default 6000 10000)")
    p.add_argument("--suppress-population", action="store_true",
                   help="报告中隐藏基数人口 / hide base population counts in the report")


def run(args) -> int:
    import evalkit as ek
    from tqdm.auto import tqdm

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    written: list[tuple[str, Path]] = []
    steps = ["登记库 registry", "抽样 sample", "调查清单 field lists", "模拟调查 fieldwork",
             "读取问卷 ingest", "指标 indicators", "报告 report"]
    bar = tqdm(total=len(steps), desc="evalkit demo", unit="step", file=sys.stderr,
               bar_format="{desc} {n_fmt}/{total_fmt} |{bar}| {elapsed}")

    def step(i):
        bar.set_description(f"evalkit demo — {steps[i]}")

    def note(msg):
        tqdm.write(msg, file=sys.stdout)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # 1. registry ---------------------------------------------------------------
        step(0)
        reg = ek.synthetic_registry(seed=args.seed, n_counties=args.counties,
                                    households_per_county=tuple(args.households))
        reg.to_parquet(out / "registry.parquet")
        reg.summary().to_csv(out / "registry_summary.csv", index=False, encoding="utf-8-sig")
        written += [("登记库 registry", out / "registry.parquet"), ("登记库汇总 registry summary", out / "registry_summary.csv")]
        note(f"1. {reg}")
        bar.update()

        # 2. plan and sample -------------------------------------------------------------
        step(1)
        plan = ek.SamplingPlan.county_exit_check()
        (out / "plan.yaml").write_text(plan.to_yaml(), encoding="utf-8")
        sample = ek.draw_sample(reg, plan, seed=args.sample_seed)
        sample.save(out / "sample")
        written += [("抽样方案 plan", out / "plan.yaml"), ("样本 sample", out / "sample")]
        note(f"2. {sample!r}".splitlines()[0])
        bar.update()

        # 3. field lists --------------------------------------------------------------------
        step(2)
        sample.to_field_lists(out / "field_lists")
        written.append(("调查清单 field lists", out / "field_lists"))
        n_lists = sum(1 for _ in (out / "field_lists").rglob("*.xlsx"))
        note(f"3. 调查清单 field lists: {n_lists} 个 Excel 文件 workbooks")
        bar.update()

        # 4. simulated fieldwork --------------------------------------------------------------
        step(3)
        files = ek.simulate_fieldwork(sample, reg, out_dir=out / "exports", seed=1)
        written.append(("问卷导出 questionnaire exports", out / "exports"))
        note(f"4. 模拟调查 simulated fieldwork: {', '.join(Path(f).name for f in files)}")
        bar.update()

        # 5. ingestion ----------------------------------------------------------------------
        step(4)
        resp = ek.read_responses(files, sample=sample)
        ingest_dir = out / "ingest"
        ingest_dir.mkdir(exist_ok=True)
        resp.issues.to_csv(ingest_dir / "issues.csv", index=False, encoding="utf-8-sig")
        resp.nonresponse.to_csv(ingest_dir / "nonresponse.csv", index=False, encoding="utf-8-sig")
        resp.rejected.to_csv(ingest_dir / "rejected.csv", index=False, encoding="utf-8-sig")
        written.append(("问题清单 issues, 未访 nonresponse, 拒收 rejected", ingest_dir))
        sev = resp.issues["severity"].value_counts().to_dict() if len(resp.issues) else {}
        note(f"5. 读取问卷 ingest: {len(resp.data):,} 户完成 completed, {len(resp.nonresponse):,} 未访 "
             f"not interviewed, {len(resp.rejected):,} 行拒收 rows rejected; 问题 issues {sev}")
        bar.update()

        # 6. indicators ----------------------------------------------------------------------
        step(5)
        rules = ek.RuleSet.default(reg.year, reg.meta["province_code"])
        # certainty villages make households the PSUs; a cell with one respondent is a lonely
        # PSU, handled as R's survey.lonely.psu = "adjust" (docs/methodology).
        res = ek.county_exit_check(resp, reg, rules, lonely_psu="adjust")
        res2 = ek.two_rates_one_degree(resp, rules, by=["county_code"], lonely_psu="adjust")
        res_dir = out / "results"
        res_dir.mkdir(exist_ok=True)
        res.to_csv(res_dir / "county_exit_check.csv")
        res2.to_csv(res_dir / "two_rates_one_degree.csv")
        if res.verdicts is not None:
            res.verdicts.to_csv(res_dir / "verdicts.csv", index=False, encoding="utf-8-sig")
        cmp = truth_vs_estimate(reg, [res, res2])
        cmp.to_csv(res_dir / "truth_vs_estimate.csv", index=False, encoding="utf-8-sig")
        written.append(("指标结果 results (CSV, 与真实值对比 vs truth)", res_dir))
        prov = cmp[cmp["county_code"].isna()]
        note("6. 全省估计与真实值 province estimate vs truth:")
        for r in prov.itertuples(index=False):
            mark = "✓" if r.covered else "✗"
            note(f"   {r.label}{' ' * (14 - _width(str(r.label)))}{r.estimate * 100:6.2f}%  [{r.ci_low * 100:5.2f}%, {r.ci_high * 100:5.2f}%]  "
                 f"真实 truth {r.truth * 100:6.2f}% {mark}")
        if res.verdicts is not None:
            vc = res.verdicts["decision"].value_counts().to_dict()
            note(f"   县退出判定 county verdicts: {vc}")
        bar.update()

        # 7. report ----------------------------------------------------------------------
        step(6)
        files = ek.report(res, out / "report", sample=sample, responses=resp, registry=reg,
                          suppress_population=args.suppress_population)
        written += [("报告 report (HTML)", files.html), ("工作簿 workbook", files.workbook),
                    ("图表 figures (PNG, SVG)", files.out_dir / "figures")]
        bar.update()
    bar.close()

    n_warn = len(caught)
    print(f"\n完成 / done in {time.perf_counter() - started:.0f} s. 输出 / outputs in {out.resolve()}:")
    width = max(_width(label) for label, _ in written)
    for label, path in written:
        print(f"  {label}{' ' * (width - _width(label))}  {path}")
    if n_warn:
        print(f"  （运行中有 {n_warn} 条提示，例如小层整层入样 / {n_warn} notes during the run, e.g. small strata "
              "taken whole: see the sample manifest）")
    print(f"打开报告 / open the report: {files.html.resolve()}")
    return 0


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def truth_vs_estimate(reg, results):
    """Each estimate beside the synthetic province's true value and whether the CI covers it."""
    import pandas as pd

    truth = reg.true_rates()
    truth = truth.assign(county_code=truth["county_code"].where(truth["level"] != "province"))
    key = truth.assign(_c=truth["county_code"].astype("string").fillna("")).set_index(["indicator", "_c"])["value"]
    rows = []
    for res in results:
        t = res.table
        if "county_code" not in t.columns:
            t = t.assign(county_code=pd.NA)
        t = t.assign(_c=t["county_code"].astype("string").fillna(""))
        t["truth"] = [key.get((i, c)) for i, c in zip(t["indicator"], t["_c"])]
        rows.append(t.drop(columns="_c"))
    out = pd.concat(rows, ignore_index=True).drop_duplicates(["indicator", "county_code"])
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    cols = [c for c in ("indicator", "label", "county_code", "county_name", "estimate", "ci_low", "ci_high",
                        "truth", "covered", "decision") if c in out.columns]
    return out[cols]
