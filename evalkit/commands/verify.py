"""`evalkit verify`: re-derive a saved sample from its manifest and the registry and compare."""
from __future__ import annotations

from pathlib import Path

NAME = "verify"
HELP = ("用名册重新抽样，核验已保存的样本和调查清单是否与方案一致（未被人为挑选）。\n"
        "Re-derive a saved sample from the registry and its manifest; report any difference.")


def add_arguments(p):
    p.add_argument("sample_dir", help="evalkit sample 输出目录 / directory written by `evalkit sample`")
    p.add_argument("--registry", required=True, help="名册文件 / registry file")
    p.add_argument("--checks", default="fast", help="名册校验级别 all|fast / registry checks (default fast)")
    p.add_argument("--out", help="差异表输出 CSV / write the differences to this CSV")


def run(args) -> int:
    import evalkit as ek

    reg = ek.read_registry(args.registry, checks=args.checks)
    rep = ek.verify_sample(args.sample_dir, reg)
    print(rep.summary())
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        rep.differences.to_csv(args.out, index=False, encoding="utf-8-sig")
    if not rep.ok:
        print(rep.differences.head(20).to_string(index=False))
    return 0 if rep.ok else 1
