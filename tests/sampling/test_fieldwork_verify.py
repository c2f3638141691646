"""Teams with avoidance, field lists (xlsx + preload CSV), and verify_sample."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import evalkit as ek
from evalkit.errors import PlanError
from evalkit.registry.registry import Registry
from evalkit.sampling.fieldwork import Team, check_avoidance
from evalkit.sampling.plan import SamplingPlan



TEAMS = [Team("一组", members=["张三", "李四"], avoid_counties=["520101"]),
         Team("二组", members=["王五"], avoid_counties=["520102", "520103"]),
         Team("三组", members=["赵六"], avoid_provinces=["53"])]


def test_assignment_respects_avoidance_balances_and_keeps_townships_whole(sample):
    teams = sample.assign_teams(TEAMS)
    assert set(teams.village_code) == set(sample.households.village_code)
    c = teams.county_code.str[:6]
    assert not ((teams.team == "一组") & (c == "520101")).any()
    assert not ((teams.team == "二组") & c.isin(["520102", "520103"])).any()
    assert teams.groupby("township_code").team.nunique().max() == 1
    load = teams.groupby("team").households.sum()
    # LPT bound: max load ≤ mean + largest township
    assert load.max() <= load.mean() + teams.groupby("township_code").households.sum().max()
    check_avoidance(teams, TEAMS)
    r = sample.team_roster
    assert list(r.team) == ["一组", "二组", "三组"] and r.households.sum() == sample.households.active.sum()


def test_avoidance_cannot_be_violated(sample):
    with pytest.raises(PlanError, match="no team allowed"):
        sample.assign_teams([Team("一组", avoid_provinces=["52"])])
    sample.assign_teams(TEAMS)
    bad = sample.teams.copy()
    bad.loc[bad.county_code.str.startswith("520101"), "team"] = "一组"     # hand edit breaking the rule
    sample.teams = bad
    with pytest.raises(PlanError, match="avoidance"):
        sample.to_field_lists("/tmp/never")


def test_field_lists_one_workbook_per_team_sheet_per_village(sample, tmp_path):
    sample.assign_teams(TEAMS)
    files = sample.to_field_lists(tmp_path)
    names = sorted(p.name for p in files)
    assert names == sorted(["一组.xlsx", "二组.xlsx", "三组.xlsx", "preload.csv"][: len(names)])
    hh = sample.households
    seen = []
    for p in files:
        if p.suffix != ".xlsx":
            continue
        wb = load_workbook(p)
        team = p.stem
        villages = sample.teams.loc[sample.teams.team == team, "village_code"]
        sheets = [ws for ws in wb.worksheets if ws.title != "说明"]
        assert len(sheets) == len(villages)
        for ws in sheets:
            rows = list(ws.iter_rows(values_only=True))
            head = rows[0]
            assert head[:6] == ("序号", "样本类型", "抽样顺序号", "户编号", "户主姓名", "户主身份证号（脱敏）")
            body = pd.DataFrame(rows[1:], columns=head)
            v = hh[hh.household_id.isin(body["户编号"])]
            assert v.village_code.nunique() == 1
            # main households first, then reserves; masked IDs keep first 6 + last 4
            roles = list(body["样本类型"])
            assert roles == sorted(roles, key=lambda r: r == "备选户")
            full = hh.set_index("household_id").loc[body["户编号"], "head_id_number"]
            assert all(m == f[:6] + "*" * 8 + f[-4:] for m, f in zip(body["户主身份证号（脱敏）"], full))
            assert body["调查结果（完成/外出/拒访/查无此户/其他）"].isna().all()
            seen += list(body["户编号"])
    assert sorted(seen) == sorted(hh.household_id)
    pre = pd.read_csv(tmp_path / "preload.csv", dtype=str)
    assert pre.columns[0] == "household_id" and len(pre) == len(hh)
    assert not pre.head_id_masked.str.contains(r"\d{18}").any()


def test_verify_detects_nothing_on_a_faithful_sample_and_every_tampering(sample, small_registry, tmp_path):
    sample.assign_teams(TEAMS)
    d = sample.save(tmp_path / "s")
    sample.to_field_lists(d / "field_lists")
    rep = ek.verify_sample(d, small_registry)
    assert rep.ok, rep.differences
    assert rep.checked["field_list_rows"] == len(sample.households)
    # same registry content in another row order still verifies
    shuffled = Registry(small_registry.households.sample(frac=1, random_state=1))
    assert ek.verify_sample(d, shuffled).ok
    # a field list edited by hand: one household's row replaced by an outsider is caught with its place
    from openpyxl import load_workbook as _lw
    wbp = sorted((d / "field_lists").glob("*.xlsx"))[0]
    wb = _lw(wbp)
    ws = wb.worksheets[0]
    listed = ws.cell(row=2, column=4).value
    ws.cell(row=2, column=4).value = "999999999999999"
    wb.save(wbp)
    rep = ek.verify_sample(d, small_registry)
    kinds = dict(zip(rep.differences.kind, rep.differences["where"]))
    assert not rep.ok and "field_list_missing" in kinds and "row 2" in kinds["field_list_extra"]
    assert listed in set(rep.differences.household_id)
    # hand-picking: swap one main household for a non-sampled one of the same village
    hh = sample.households.copy()
    reg = small_registry.households
    v = hh.village_code.iloc[0]
    outsider = reg[(reg.village_code == v) & ~reg.household_id.isin(hh.household_id)].household_id.iloc[0]
    victim = hh.household_id.iloc[0]
    hh.loc[0, "household_id"] = outsider
    hh.to_parquet(d / "households.parquet", index=False)
    rep = ek.verify_sample(d, small_registry)
    assert not rep.ok
    kinds = set(rep.differences.kind)
    assert {"extra_household", "missing_household", "manifest"} <= kinds
    assert outsider in set(rep.differences.household_id) and victim in set(rep.differences.household_id)
    # a changed registry is reported
    reg2 = small_registry.households.copy()
    reg2.loc[0, "hh_size"] = 99
    assert "registry" in set(ek.verify_sample(d, Registry(reg2)).differences.kind)


def test_a_sample_saved_by_evalkit_0_1_still_verifies(small_registry, household_sizes, tmp_path):
    """Manifests written by evalkit 0.1 name PRN v1 and carry the 0.1 sample hash and registry
    fingerprint: verify re-derives with those algorithms, so old samples still check out, and
    tampering is still caught."""
    from evalkit.sampling.draw import sample_hash
    from evalkit.sampling.prn import PRN_DESCRIPTION
    from evalkit.sampling.verify import legacy_fingerprint

    plan = SamplingPlan.county_exit_check(poor_villages=2, non_poor_villages=1, households=household_sizes,
                                          reserves=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = ek.draw_sample(small_registry, plan, seed=5, prn_version=1)
        new = ek.draw_sample(small_registry, plan, seed=5)
    assert set(old.households.household_id) != set(new.households.household_id)  # two PRN streams
    m = old.manifest
    for key in ("sample_hash_version", "registry_fingerprint_version"):
        m.pop(key)
    m.update(prn=PRN_DESCRIPTION[1], sample_hash=sample_hash(old.households, version=1),
             registry_fingerprint=legacy_fingerprint(small_registry))
    assert m["registry_fingerprint"] != small_registry.fingerprint
    d = old.save(tmp_path / "old")
    rep = ek.verify_sample(d, small_registry)
    assert rep.ok, rep.differences
    reg2 = small_registry.households.copy()
    reg2.loc[0, "hh_size"] = 99
    assert "registry" in set(ek.verify_sample(d, Registry(reg2)).differences.kind)
    hh = pd.read_parquet(d / "households.parquet")
    hh.loc[0, "rank"] = 99
    hh.to_parquet(d / "households.parquet", index=False)
    assert "manifest" in set(ek.verify_sample(d, small_registry).differences.kind)
