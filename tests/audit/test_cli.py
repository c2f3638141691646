"""`evalkit audit` end to end on files: registry + members (Parquet), department lists
(xlsx, GBK csv), last year's snapshot; the outputs hold exactly the planted differences."""
from __future__ import annotations

import pandas as pd
import pytest

import evalkit as ek
from evalkit.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from evalkit.audit.synthetic import department_lists, second_snapshot

    d = tmp_path_factory.mktemp("audit_cli")
    old = ek.synthetic_registry(seed=5, n_counties=2, households_per_county=(200, 260))
    snap = second_snapshot(old, seed=2, n_new=6, n_new_households=3, n_removed=6, n_exited=8, n_returned=4,
                           n_moved=4, n_renumbered=2, n_members_added=5, n_members_removed=3,
                           n_missing_exit_year=2)
    syn = department_lists(snap.registry, seed=3, per_rule=6, noise=10, with_names=0)
    old.to_parquet(d / "reg2019.parquet")
    snap.registry.to_parquet(d / "reg2020.parquet")
    syn.lists["vehicles"].to_excel(d / "车辆.xlsx", index=False)
    syn.lists["payroll"].to_csv(d / "财政供养.csv", index=False, encoding="gbk")
    return d, snap, syn


def test_cli_audit_on_files(files, capsys):
    d, snap, syn = files
    out = d / "out"
    rc = main(["audit", "--registry", str(d / "reg2020.parquet"), "--year", "2020",
               "--previous", str(d / "reg2019.parquet"), "--previous-year", "2019",
               "--list", f"vehicles={d / '车辆.xlsx'}", "--list", f"payroll={d / '财政供养.csv'}",
               "--out", str(out), "--no-figure"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "数据比对 / cross-check" in text and "动态调整" in text
    flags = pd.read_excel(out / "crosscheck.xlsx", sheet_name="比对明细 flags", dtype=str)
    exp = syn.expected[syn.expected["kind"].isin(["vehicles", "payroll"])]
    assert set(zip(flags["kind"], flags["person_id"], flags["rule"])) == set(zip(exp["kind"], exp["person_id"], exp["rule"]))
    assert flags["source"].isin(["车辆.xlsx", "财政供养.csv"]).all()
    assert flags["record_id_number"].str.contains(r"\*{8}").all()  # masked by default
    ch = pd.read_excel(out / "changes.xlsx", sheet_name="变化户 changed households", dtype=str)
    exp_ch = snap.expected_households[snap.expected_households["change"] != "unchanged"]
    assert dict(zip(ch["household_id"], ch["change"])) == dict(zip(exp_ch["household_id"], exp_ch["change"]))
    q = pd.read_excel(out / "quality.xlsx", sheet_name="汇总 summary")
    assert q.set_index("check").loc["exit_year_missing", "issues"] == 2  # the planted missing exit years


def test_cli_errors(tmp_path, capsys):
    assert main(["audit", "--out", str(tmp_path)]) == 1
    assert "--registry" in capsys.readouterr().err
    assert main(["audit", "--demo", "--out", str(tmp_path), "--list", "vehicles"]) == 1
    assert "KIND=FILE" in capsys.readouterr().err


def test_cli_positional_registry(files, capsys, monkeypatch):
    d, snap, syn = files
    monkeypatch.chdir(d)
    assert main(["audit", str(d / "reg2020.parquet"), "--no-figure"]) == 0
    assert (d / "audit" / "quality.xlsx").exists()
    assert "数据质量 / quality" in capsys.readouterr().out
