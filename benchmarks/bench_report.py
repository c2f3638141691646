"""Benchmark of the end-to-end demo pipeline and of the report step (``ek.report``).

Speed goal (issue #6): ``evalkit demo`` under 3 minutes on the 2-core reference machine.
``run(quick)`` times every step of the demo pipeline on a synthetic province (3 small
counties when quick, the demo default of 10 counties × 6,000–10,000 households otherwise).
"""
from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path


def run(quick: bool) -> str:
    import evalkit as ek

    counties, hh = ((3, (800, 1200)) if quick else (10, (6000, 10000)))
    times: list[tuple[str, float, str]] = []
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))

    def timed(label, fn, detail=lambda r: ""):
        t0 = time.perf_counter()
        r = fn()
        times.append((label, time.perf_counter() - t0, detail(r)))
        return r

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = timed("synthetic registry", lambda: ek.synthetic_registry(seed=7, n_counties=counties,
                                                                          households_per_county=hh),
                    lambda r: f"{len(r):,} households")
        plan = ek.SamplingPlan.county_exit_check()
        sample = timed("draw_sample", lambda: ek.draw_sample(reg, plan, seed=20250601),
                       lambda s: f"{int((s.households['role'] == 'main').sum()):,} main households")
        timed("field lists (xlsx)", lambda: sample.to_field_lists(work / "field"))
        files = timed("simulate_fieldwork", lambda: ek.simulate_fieldwork(sample, reg, out_dir=work / "exports", seed=1))
        resp = timed("read_responses", lambda: ek.read_responses(files, sample=sample),
                     lambda r: f"{len(r.data):,} interviews")
        rules = ek.RuleSet.default(reg.year, reg.meta["province_code"])
        res = timed("county_exit_check", lambda: ek.county_exit_check(resp, reg, rules, lonely_psu="adjust"),
                    lambda r: f"{len(r.table)} rows")
        timed("two_rates_one_degree", lambda: ek.two_rates_one_degree(resp, rules, by=["county_code"],
                                                                      lonely_psu="adjust"))
        timed("ek.report (tables only)", lambda: ek.report(res, work / "r0", sample=sample, responses=resp,
                                                           registry=reg, figures=False))
        files_out = timed("ek.report (with figures)", lambda: ek.report(res, work / "r1", sample=sample,
                                                                       responses=resp, registry=reg),
                          lambda f: f"{len(f.figures)} figures × PNG+SVG")
    html_kb = files_out.html.stat().st_size / 1024
    total = sum(t for _, t, _ in times)
    lines = ["## Report and end-to-end demo pipeline", "",
             f"Synthetic province: {counties} counties × {hh[0]:,}–{hh[1]:,} households; plan "
             "`SamplingPlan.county_exit_check()` (the `evalkit demo` pipeline). Goal: the whole demo "
             "under 180 s on the 2-core machine.", "",
             "| step | seconds | size |", "|---|---:|---|"]
    lines += [f"| {label} | {t:.1f} | {d} |" for label, t, d in times]
    lines += [f"| **total** | **{total:.1f}** | {'within' if total < 180 else 'OVER'} the 180 s goal |", "",
              f"Self-contained HTML report: {html_kb:,.0f} kB (figures embedded as SVG).", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(run(quick="--quick" in sys.argv))
