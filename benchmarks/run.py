"""Run every benchmark (``benchmarks/bench_*.py``) and write ``benchmarks/RESULTS.md``.

Usage: ``python benchmarks/run.py`` (full sizes) or ``python benchmarks/run.py --quick``
(small sizes, to check the benchmarks themselves work). ``--only NAME`` runs one.
Each module defines ``run(quick: bool) -> str`` returning a Markdown section.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", action="append", default=[], help="bench name, e.g. estimation")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args(argv)
    sections = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        t0 = time.perf_counter()
        print(f"== {name} …", flush=True)
        sections.append(mod.run(quick=args.quick))
        print(f"   done in {time.perf_counter() - t0:.1f} s", flush=True)
    header = (
        "# Benchmark results\n\n"
        f"Written by `python benchmarks/run.py{' --quick' if args.quick else ''}` on "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()}; CPU cores available: "
        f"{len(__import__('os').sched_getaffinity(0))}.\n\n"
    )
    out = Path(args.out)
    if args.only and out.exists():
        # keep the other sections: replace only the ones re-run
        old = out.read_text(encoding="utf-8")
        parts = {p.split("\n", 1)[0].strip(): "## " + p for p in old.split("\n## ")[1:]}
        for sec in sections:
            parts[sec.split("\n", 1)[0].removeprefix("## ").strip()] = sec
        sections = list(parts.values())
    out.write_text(header + "\n\n".join(s.strip() + "\n" for s in sections), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
