"""Plans (presets, dict/YAML round trip, readable summary) and the command line."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import evalkit as ek
from evalkit.cli import main
from evalkit.errors import PlanError
from evalkit.sampling.plan import SamplingPlan, Stage

YAML = """
name: 县级评估
description: 两阶段
stages:
  - unit: village_code
    method: pps_systematic
    strata: [village_type]
    n: {poor: 2, non_poor: 1}
    sort: [township_code]
  - unit: household_id
    method: srs
    strata: [registry_status, suspect]
    n: {"*": 2, "exited/True": 4}
    reserves: 1
"""


def test_yaml_round_trip_and_summary():
    plan = SamplingPlan.from_yaml(YAML)
    assert plan.name == "县级评估" and plan.stages[0].sort == ["township_code"]
    assert SamplingPlan.from_yaml(plan.to_yaml()) == plan
    assert SamplingPlan.from_dict(plan.to_dict()) == plan
    text = repr(plan)
    assert "PPS 系统抽样" in text and "πps systematic" in text and "备选 1" in text
    assert "<table>" in plan._repr_html_()


def test_presets_parameters_override_and_weights_on_the_demo_province():
    reg = ek.synthetic_registry(seed=2, n_counties=2, households_per_county=(800, 1000))
    for plan in (SamplingPlan.county_exit_check(poor_villages=3, non_poor_villages=2),
                 SamplingPlan.provincial_assessment(counties=1),
                 SamplingPlan.consolidation_assessment(villages=3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = ek.draw_sample(reg, plan, seed=11)
        m = s.main
        assert len(m) > 0 and (m.weight > 0).all()
        if plan.stages[0].method == "all":
            # villages exactly as asked (or all of a type when fewer exist)
            per = m.drop_duplicates("village_code").groupby("county_code").size()
            assert (per <= (5 if plan.name == "county_exit_check" else 3)).all()
    assert SamplingPlan.county_exit_check(households={"*": 7}).stages[2].n == {"*": 7}


def test_exact_pi_off_uses_closed_form_adjustment(small_registry):
    plan = SamplingPlan([Stage("village_code", method="pps", n=3, exact_pi=False),
                         Stage("household_id", n=2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = ek.draw_sample(small_registry, plan, seed=1)
    assert s.main.village_code.nunique() == 3


def test_cli_sample_then_verify(tmp_path, make_reg):
    reg = make_reg(n_counties=2, villages_per_county=4, hh_range=(6, 12), seed=7)
    csv = tmp_path / "reg.csv"
    reg.households.drop(columns=["suspect"]).to_csv(csv, index=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text(YAML.replace(", suspect", "").replace('"exited/True"', "exited"), encoding="utf-8")
    teams = tmp_path / "teams.yaml"
    teams.write_text("- {name: A, members: [甲], avoid_counties: ['520101']}\n"
                     "- {name: B, members: [乙], avoid_counties: ['520102']}\n", encoding="utf-8")
    out = tmp_path / "s"
    assert main(["sample", str(csv), "--plan", str(plan), "--seed", "4", "--out", str(out),
                 "--teams", str(teams)]) == 0
    assert (out / "field_lists" / "A.xlsx").exists() and (out / "field_lists" / "preload.csv").exists()
    saved = ek.load_sample(out)
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    want = saved.summary()
    assert len(summary) == len(want)
    for col in ("main", "reserve", "weight_sum"):
        assert summary[col].sum() == pytest.approx(want[col].sum())
    assert main(["verify", str(out), "--registry", str(csv)]) == 0
    # tampering: drop one household from the saved sample → verify fails with exit code 1
    hh = pd.read_parquet(out / "households.parquet")
    hh.iloc[1:].to_parquet(out / "households.parquet", index=False)
    assert main(["verify", str(out), "--registry", str(csv), "--out", str(tmp_path / "d.csv")]) == 1
    d = pd.read_csv(tmp_path / "d.csv")
    assert "missing_household" in set(d.kind)
    assert main(["sample", str(csv), "--plan", "nope", "--seed", "1", "--out", str(out)]) == 1


def test_console_entry_ends_the_process_with_everything_written_and_the_exit_code(tmp_path, make_reg):
    """``evalkit`` (cli.entry) exits without the interpreter's teardown: the exit code, every line
    printed and every file written must still be there; an error still gives code 1 and its message."""
    import subprocess
    import sys

    reg = make_reg(n_counties=2, villages_per_county=4, hh_range=(6, 12), seed=7)
    csv = tmp_path / "reg.csv"
    reg.households.drop(columns=["suspect"]).to_csv(csv, index=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text(YAML.replace(", suspect", "").replace('"exited/True"', "exited"), encoding="utf-8")
    run = [sys.executable, "-c", "from evalkit.cli import entry; entry()"]
    out = tmp_path / "s"
    done = subprocess.run(run + ["sample", str(csv), "--plan", str(plan), "--seed", "4", "--out", str(out)],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "样本校验码 / sample hash:" in done.stdout and done.stdout.rstrip().splitlines()[-1].startswith("完成 / done")
    assert main(["verify", str(out), "--registry", str(csv)]) == 0  # the files are complete
    assert (out / "field_lists" / "preload.csv").exists() and (out / "summary.csv").exists()
    bad = subprocess.run(run + ["sample", str(csv), "--plan", "nope", "--seed", "1", "--out", str(out)],
                         capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert bad.returncode == 1 and "错误 / error" in bad.stderr and "nope" in bad.stderr
