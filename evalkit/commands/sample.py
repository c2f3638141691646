"""`evalkit sample`: draw a sample from a registry file by a preset or YAML plan, save it with its
manifest, assign teams (optional) and write the field lists."""
from __future__ import annotations

from pathlib import Path

NAME = "sample"
HELP = ("按抽样方案从名册抽取样本，保存样本、清单与核验信息。\n"
        "Draw a sample from a registry by a preset or YAML plan; save it, its manifest and field lists.")

PRESETS = ("county_exit_check", "provincial_assessment", "consolidation_assessment")


def add_arguments(p):
    p.add_argument("registry", help="名册文件（CSV/XLSX/Parquet…）/ registry file")
    p.add_argument("--plan", default="county_exit_check",
                   help=f"预设方案 {'/'.join(PRESETS)} 或 YAML 文件 / preset name or YAML plan file")
    p.add_argument("--seed", type=int, required=True, help="随机种子（公开记录）/ random seed (publish it)")
    p.add_argument("--out", required=True, help="样本输出目录 / output directory")
    p.add_argument("--teams", help="调查组 YAML（name, members, avoid_counties, avoid_provinces）/ teams YAML")
    p.add_argument("--no-field-lists", action="store_true", help="不输出调查清单 / skip field lists")
    p.add_argument("--checks", default="fast", help="名册校验级别 all|fast / registry checks (default fast)")


def load_plan(spec: str):
    from evalkit.errors import PlanError
    from evalkit.sampling.plan import SamplingPlan

    if spec in PRESETS:
        return getattr(SamplingPlan, spec)()
    if Path(spec).exists():
        return SamplingPlan.from_yaml(Path(spec))
    raise PlanError(f"--plan {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a YAML file (方案不存在).")


def run(args) -> int:
    import warnings

    import yaml

    import evalkit as ek
    from evalkit.errors import PlanError
    from evalkit.sampling.fieldwork import Team

    plan = load_plan(args.plan)
    reg = ek.read_registry(args.registry, checks=args.checks)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        sample = ek.draw_sample(reg, plan, seed=args.seed)  # fingerprints the registry meanwhile
    out = Path(args.out)
    if args.teams:
        data = yaml.safe_load(Path(args.teams).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = data.get("teams", [])
        if not isinstance(data, list):
            raise PlanError(f"{args.teams}: expected a list of teams (调查组文件格式错误).")
        sample.assign_teams([Team(**t) for t in data])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="evalkit-save") as ex:
        saving = ex.submit(sample.save, out)  # the Parquet write releases the GIL; meanwhile the
        print(f"名册 / registry: {reg}")      # registry and plan are described and the summary made
        print(plan.describe("zh"))
        for w in sample.manifest.get("warnings", []):
            print(f"注意 / warning: {w}")
        summary = sample.summary()
        described = repr(sample)
        saving.result()
    summary.to_csv(out / "summary.csv", index=False, encoding="utf-8-sig")
    if not args.no_field_lists:
        files = sample.to_field_lists(out / "field_lists")
        print(f"调查清单 / field lists: {len(files) - 1} workbooks + preload.csv in {out / 'field_lists'}")
    print(described)
    print(f"样本校验码 / sample hash: {sample.manifest['sample_hash']}")
    print(f"完成 / done: {out.resolve()}  (核验 / verify: evalkit verify {out} --registry {args.registry})")
    return 0
