"""``evalkit audit``: registry audit — data-quality report, data comparison with department
lists (数据比对) and snapshot comparison with last year's registry (动态调整).

Examples::

    evalkit audit reg2019.parquet                # results in ./audit/
    evalkit audit --registry reg2019.parquet --out audit/
    evalkit audit --registry reg2019.xlsx --members people.xlsx \\
        --list vehicles=车辆.xlsx --list payroll=财政供养.csv --car-value 50000 --out audit/
    evalkit audit --registry reg2019.parquet --previous reg2018.parquet --out audit/
    evalkit audit --demo --out audit_demo/      # synthetic province with known differences
"""
from __future__ import annotations

import argparse
from pathlib import Path

from evalkit.errors import EvalkitError

NAME = "audit"
HELP = ("登记数据审核：数据质量报告、部门数据比对、两期登记库比对。\n"
        "Registry audit: data-quality report, cross-check with department lists, snapshot comparison.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="REGISTRY",
                   help="登记库文件（同 --registry）/ registry file(s), same as --registry")
    p.add_argument("--out", default="audit", help="输出目录（默认 audit）/ output folder (default: audit)")
    p.add_argument("--registry", help="建档立卡登记库（户表）/ registry household file(s)", nargs="+")
    p.add_argument("--members", nargs="+", help="成员表（人员表）/ member file(s)")
    p.add_argument("--year", type=int, help="登记库年度 / registry year")
    p.add_argument("--list", action="append", default=[], metavar="KIND=FILE",
                   help="部门名单，如 vehicles=车辆.xlsx（类型：vehicles 车辆, housing 商品房, business 工商, "
                        "payroll 财政供养, dibao 低保, deaths 死亡）/ department list, repeatable")
    p.add_argument("--car-value", type=float, default=30_000,
                   help="车辆价值阈值（元，默认 30000）/ car value threshold in yuan (default 30000)")
    p.add_argument("--business-capital", type=float, default=0.0,
                   help="注册资本阈值（元，默认 0 即全部）/ registered-capital threshold (default 0: any)")
    p.add_argument("--match-name-birth", action="store_true",
                   help="无身份证号时按姓名+出生日期比对 / match on name + birth date when the ID is unusable")
    p.add_argument("--as-of", help="死亡名单截止日期 / deaths after this date are not flagged")
    p.add_argument("--previous", nargs="+", help="上一期登记库（户表）/ previous snapshot household file(s)")
    p.add_argument("--previous-members", nargs="+", help="上一期成员表 / previous snapshot member file(s)")
    p.add_argument("--previous-year", type=int, help="上一期年度 / previous snapshot year")
    p.add_argument("--no-quality", action="store_true", help="不做数据质量报告 / skip the quality report")
    p.add_argument("--no-figure", action="store_true", help="不画图 / no figure")
    p.add_argument("--unmasked", action="store_true",
                   help="导出完整身份证号（默认脱敏）/ export full ID numbers (default: masked)")
    p.add_argument("--demo", action="store_true",
                   help="用合成演示省及已知差异的部门名单和第二年登记库 / synthetic province with known differences")
    p.add_argument("--seed", type=int, default=7, help="演示数据种子 / demo seed")
    p.add_argument("--counties", type=int, default=4, help="演示县数 / demo counties")


def _members_beside(paths):
    """``<stem>.members.parquet`` next to a single Parquet registry (as Registry.to_parquet writes)."""
    if paths and len(paths) == 1 and str(paths[0]).endswith(".parquet"):
        p = Path(paths[0])
        cand = p.with_name(p.stem + ".members.parquet")
        if cand.exists():
            return [str(cand)]
    return None


def _read(paths, members, year):
    from evalkit.registry.io import read_registry

    members = members or _members_beside(paths)
    return read_registry(paths if len(paths) > 1 else paths[0],
                         members=None if not members else (members if len(members) > 1 else members[0]),
                         year=year)


def _parse_lists(items) -> dict:
    lists = {}
    for item in items:
        if "=" not in item:
            raise EvalkitError(f"--list '{item}': write KIND=FILE, e.g. vehicles=车辆.xlsx (格式应为 类型=文件).")
        kind, path = item.split("=", 1)
        if kind in lists:
            raise EvalkitError(f"--list: kind '{kind}' given twice; merge the files first.")
        lists[kind.strip()] = path.strip()
    return lists


def run(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mask = not args.unmasked
    previous = None
    lists = _parse_lists(args.list)
    as_of = args.as_of
    if args.demo:
        import evalkit as ek
        from evalkit.audit.synthetic import department_lists, second_snapshot

        print(f"演示数据 / demo data (seed={args.seed}, {args.counties} counties) …", flush=True)
        previous = ek.synthetic_registry(seed=args.seed, n_counties=args.counties,
                                         households_per_county=(1500, 2500))
        snap = second_snapshot(previous, seed=args.seed)
        reg = snap.registry
        syn = department_lists(reg, seed=args.seed)
        lists = lists or syn.lists
        as_of = as_of or syn.params["as_of"]
        snap.expected_households.to_csv(out / "demo_expected_changes.csv", index=False, encoding="utf-8-sig")
        syn.expected.to_csv(out / "demo_expected_flags.csv", index=False, encoding="utf-8-sig")
    else:
        args.registry = (args.registry or []) + list(args.files or [])
        if not args.registry:
            raise EvalkitError("give --registry FILE (or --demo). 请用 --registry 指定登记库文件。")
        reg = _read(args.registry, args.members, args.year)
        if args.previous:
            previous = _read(args.previous, args.previous_members, args.previous_year)
    print(f"登记库 / registry: {reg}")

    if not args.no_quality:
        q = reg.quality_report()
        q.to_excel(out / "quality.xlsx")
        if not args.no_figure:
            import matplotlib.pyplot as plt

            plt.close(q.figure(out / "quality.png"))
        print(f"数据质量 / quality: {q}")
        print(f"  → {out / 'quality.xlsx'}")

    if lists:
        from evalkit.audit.crosscheck import cross_check

        cc = cross_check(reg, lists, car_value=args.car_value, business_capital=args.business_capital,
                         match_name_birth=args.match_name_birth or args.demo, as_of=as_of)
        cc.to_excel(out / "crosscheck.xlsx", mask_ids=mask)
        cc.summary().to_csv(out / "crosscheck_summary.csv", index=False, encoding="utf-8-sig")
        print(f"数据比对 / cross-check: {cc}")
        print(cc.describe())
        print(f"  → {out / 'crosscheck.xlsx'}")

    if previous is not None:
        from evalkit.audit.snapshots import compare_registries

        ch = compare_registries(previous, reg)
        ch.to_excel(out / "changes.xlsx")
        ch.summary().to_csv(out / "changes_summary.csv", index=False, encoding="utf-8-sig")
        print(f"动态调整 / changes: {ch}")
        print(ch.describe())
        print(f"  → {out / 'changes.xlsx'}")
    print(f"完成 / done: {out.resolve()}")
    return 0
