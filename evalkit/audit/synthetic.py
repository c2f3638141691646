"""Synthetic audit inputs with KNOWN answers, generated from a (synthetic) registry.

* :func:`department_lists` — vehicle, housing, business, payroll, 低保 and death lists in which
  chosen registry members are planted (with the ID spellings found in real lists: 15-digit
  IDs, lower-case x, full-width digits, spaces, missing IDs with name + birth date) together
  with records that must NOT flag (cheap cars, non-registered owners, later deaths, people
  outside the registry, malformed IDs). ``.expected`` lists exactly the flags a correct
  cross-check returns.
* :func:`second_snapshot` — next year's registry with seeded changes of every category
  (new, removed, exited, returned, moved, members added/removed) and missing procedure
  fields; ``.expected_households`` / ``.expected_members`` give each unit's true change.

Every random step uses ``numpy.random.default_rng(seed)``; results do not depend on row order
(units are chosen after sorting by their identifiers).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.registry import idnumber, schema

REGISTERED = tuple(schema.REGISTERED_STATUSES)
_FW = str.maketrans({str(i): chr(0xFF10 + i) for i in range(10)})
OUTSIDE_PREFIX = "110101"  # Beijing Dongcheng: never a county of a synthetic province


def _with_check(first17: pd.Series) -> pd.Series:
    return first17 + idnumber.check_digit(first17)


def _unique_persons(registry) -> pd.DataFrame:
    """Members whose normalised ID and (name, birth date) are both unique in the registry,
    joined to their household's status; sorted by person_id (row-order independent)."""
    m = registry.members[["person_id", "household_id", "name", "birth_date", "id_number"]].copy()
    m["id_number"] = idnumber.normalise(m["id_number"]).astype(object)
    m = m[~m["id_number"].duplicated(keep=False) & ~m.duplicated(["name", "birth_date"], keep=False)]
    st = registry.households.set_index("household_id")["registry_status"]
    m["registry_status"] = m["household_id"].map(st).to_numpy()
    return m.sort_values("person_id").reset_index(drop=True)


def _spell(ids: pd.Series, rng) -> tuple[pd.Series, pd.Series]:
    """Re-spell canonical IDs the way department lists do; returns (spelling, style)."""
    ids = ids.astype(str).reset_index(drop=True)
    style = pd.Series(rng.choice(["canonical", "fifteen", "fullwidth", "spaces", "lower_x"], len(ids),
                                 p=[0.4, 0.15, 0.15, 0.15, 0.15]), dtype=object)
    born19 = ids.str[6:8] == "19"
    style[(style == "fifteen") & ~born19] = "canonical"
    style[(style == "lower_x") & (ids.str[-1] != "X")] = "canonical"
    out = ids.copy()
    f = style == "fifteen"
    out[f] = ids[f].str[:6] + ids[f].str[8:17]
    fw = style == "fullwidth"
    out[fw] = ids[fw].map(lambda s: s.translate(_FW))
    sp = style == "spaces"
    out[sp] = " " + ids[sp].str[:6] + " " + ids[sp].str[6:14] + " " + ids[sp].str[14:] + " "
    lx = style == "lower_x"
    out[lx] = ids[lx].str[:17] + "x"
    return out, style


def _outside_ids(n: int, rng) -> pd.Series:
    """Valid IDs of people who cannot be in the registry (a prefix outside the province)."""
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, n), unit="D")
    first17 = (OUTSIDE_PREFIX + pd.Series(birth.strftime("%Y%m%d"))
               + pd.Series(rng.integers(0, 1000, n)).map("{:03d}".format))
    return _with_check(first17)


@dataclass
class SyntheticLists:
    """Department lists (``lists``: kind → DataFrame with Chinese headers) and the flags a
    correct cross-check must return (``expected``: kind, household_id, person_id, rule,
    match_on, id_style)."""

    lists: dict
    expected: pd.DataFrame
    params: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        n = {k: len(v) for k, v in self.lists.items()}
        return f"<SyntheticLists {n}; {len(self.expected)} expected flags; params {self.params}>"


def department_lists(registry, seed: int = 0, *, per_rule: int = 20, noise: int = 50,
                     car_value: float = 30_000, as_of="2019-12-31", with_names: int = 5) -> SyntheticLists:
    """Plant ``per_rule`` registry members per rule into department lists (plus non-flag
    records and ``noise`` outsiders per list); ``with_names`` records per list have no ID and
    are matchable only on name + birth date (expected with ``match_on='name_birth'``)."""
    rng = np.random.default_rng(seed)
    P = _unique_persons(registry)
    reg_idx = np.flatnonzero(P["registry_status"].isin(REGISTERED).to_numpy())
    non_idx = np.flatnonzero((P["registry_status"] == "not_registered").to_numpy())
    all_idx = np.arange(len(P))
    as_of = pd.Timestamp(as_of)

    def pick(pool, k, used):
        pool = np.setdiff1d(pool, np.fromiter(used, dtype=np.int64, count=len(used)))
        if len(pool) < k:
            raise ValueError(f"registry too small: need {k} persons, {len(pool)} available")
        chosen = rng.choice(pool, k, replace=False)
        used.update(chosen.tolist())
        return chosen

    lists, expected = {}, []

    def build(kind, groups, fields):
        """groups: list of (person positions, rule or None, field values dict)."""
        used_rows = []
        for pos, rule, vals in groups:
            sub = P.iloc[pos].reset_index(drop=True)
            spelled, style = _spell(sub["id_number"], rng)
            # the first `with_names` planted persons of the first flag group lose their ID
            rec = pd.DataFrame({"姓名": sub["name"].to_numpy(), "身份证号": spelled.to_numpy(),
                                "出生日期": pd.to_datetime(sub["birth_date"]).dt.strftime("%Y-%m-%d").to_numpy()})
            for h, v in vals.items():
                rec[h] = v
            match_on = np.full(len(sub), "id_number", dtype=object)
            if rule is not None and not used_rows and with_names:
                rec.loc[: with_names - 1, "身份证号"] = None
                match_on[:with_names] = "name_birth"
                style[:with_names] = "no_id"
            used_rows.append(rec)
            if rule is not None:
                expected.append(pd.DataFrame({"kind": kind, "household_id": sub["household_id"].to_numpy(),
                                              "person_id": sub["person_id"].to_numpy(), "rule": rule,
                                              "match_on": match_on, "id_style": style.to_numpy()}))
        out_ids = _outside_ids(noise, rng)
        outsiders = pd.DataFrame({"姓名": "外省人员", "身份证号": out_ids.to_numpy(), "出生日期": None})
        for h, v in fields.items():
            outsiders[h] = v(noise)
        bad = pd.DataFrame({"姓名": ["格式错误"] * 2, "身份证号": ["52012319900101", "ABC"], "出生日期": None})
        for h, v in fields.items():
            bad[h] = v(2)
        frame = pd.concat(used_rows + [outsiders, bad], ignore_index=True)
        frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
        lists[kind] = frame

    k = per_rule
    used: set = set()
    cheap = car_value * 0.5
    build("vehicles", [
        (pick(reg_idx, k, used), "car_value_above", {"号牌号码": "贵A" + pd.Series(range(k)).astype(str),
                                                     "车辆价值": [f"{v:,.0f}" for v in rng.integers(car_value, 3 * car_value, k)]}),
        (pick(reg_idx, k, used), None, {"号牌号码": "贵B", "车辆价值": str(int(cheap))}),
        (pick(reg_idx, max(1, k // 4), used), "car_value_unknown", {"号牌号码": "贵C", "车辆价值": None}),
        (pick(non_idx, k, used), None, {"号牌号码": "贵D", "车辆价值": "9.5万"}),
    ], {"号牌号码": lambda n: ["京A"] * n, "车辆价值": lambda n: ["200000"] * n})
    used = set()
    build("housing", [
        (pick(reg_idx, k, used), "urban_property", {"房屋坐落": "某市某区某路 1 号", "建筑面积": "95.5"}),
        (pick(non_idx, k, used), None, {"房屋坐落": "某市某区某路 2 号", "建筑面积": "120"}),
    ], {"房屋坐落": lambda n: ["北京"] * n, "建筑面积": lambda n: ["80"] * n})
    used = set()
    build("business", [
        (pick(reg_idx, k, used), "business_owner", {"企业名称": "某某商贸有限公司", "注册资本（万元）": "50"}),
        (pick(non_idx, k, used), None, {"企业名称": "某某农业合作社", "注册资本（万元）": "10"}),
    ], {"企业名称": lambda n: ["外省公司"] * n, "注册资本（万元）": lambda n: ["100"] * n})
    used = set()
    build("payroll", [
        (pick(reg_idx, k, used), "payroll_member", {"单位名称": "某县某局"}),
    ], {"单位名称": lambda n: ["外省单位"] * n})
    used = set()
    build("dibao", [
        (pick(non_idx, k, used), "dibao_not_registered", {"保障起始时间": "2018年3月1日"}),
        (pick(reg_idx, k, used), "dibao_overlap", {"保障起始时间": "2017/7/1"}),
    ], {"保障起始时间": lambda n: ["2016-01-01"] * n})
    used = set()
    before = (as_of - pd.Timedelta(days=100)).strftime("%Y-%m-%d")
    after = (as_of + pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    build("deaths", [
        (pick(all_idx, k, used), "deceased_listed", {"死亡日期": before}),
        (pick(all_idx, k, used), None, {"死亡日期": after}),
    ], {"死亡日期": lambda n: [before] * n})
    exp = pd.concat(expected, ignore_index=True)
    return SyntheticLists(lists, exp, {"seed": seed, "per_rule": per_rule, "car_value": car_value,
                                       "as_of": as_of.date().isoformat(), "with_names": with_names})


# --------------------------------------------------------------------------------------
# Second-year snapshot
# --------------------------------------------------------------------------------------
@dataclass
class SyntheticSnapshot:
    """Next year's registry and the true change of every household / person."""

    registry: object
    expected_households: pd.DataFrame  # household_id, household_id_old, change
    expected_members: pd.DataFrame  # person_id, change, natural
    expected_procedure: pd.DataFrame  # household_id, field
    params: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        c = self.expected_households["change"].value_counts().to_dict()
        return f"<SyntheticSnapshot {c}; params {self.params}>"


def second_snapshot(registry, seed: int = 0, *, n_new: int = 20, n_new_households: int = 10,
                    n_removed: int = 20, n_exited: int = 30, n_returned: int = 10, n_moved: int = 10,
                    n_renumbered: int = 5, n_members_added: int = 25, n_members_removed: int = 15,
                    n_missing_exit_year: int = 5) -> SyntheticSnapshot:
    """Copy ``registry`` one year on with exactly the given numbers of changes (disjoint sets
    of households). ``n_new`` non-registered households become poor and ``n_new_households``
    brand-new households appear; half of ``n_removed`` leave the registry file, half become
    non-registered; ``n_renumbered`` of the ``n_moved`` households also get a new
    household_id; ``n_missing_exit_year`` of the exited lack their exit year."""
    from evalkit.registry.registry import Registry

    rng = np.random.default_rng(seed)
    year = int(registry.meta.get("year") or 2019)
    ny = year + 1
    hh = registry.households.sort_values("household_id").reset_index(drop=True).copy()
    mem = registry.members.sort_values("person_id").reset_index(drop=True).copy()
    for c in ("registration_year", "exit_year"):
        hh[c] = pd.to_numeric(hh[c], errors="coerce").astype("Int64")
    hh = hh.astype({c: object for c in ("household_id", "county_code", "village_code", "township_code",
                                        "county_name", "village_name", "township_name", "registry_status")
                    if c in hh.columns})
    mem = mem.astype({"person_id": object, "household_id": object, "id_number": object})
    status = hh["registry_status"]
    size = hh["hh_size"].to_numpy()
    taken = np.zeros(len(hh), bool)
    orig_ids = hh["household_id"].to_numpy(object).copy()

    def pick(cond, k):
        pool = np.flatnonzero(cond & ~taken)
        if len(pool) < k:
            raise ValueError(f"registry too small: need {k} households, {len(pool)} available")
        c = np.sort(rng.choice(pool, k, replace=False))
        taken[c] = True
        return c

    reg = status.isin(REGISTERED).to_numpy()
    new_i = pick((status == "not_registered").to_numpy(), n_new)
    rem_i = pick(reg, n_removed)
    exit_i = pick(status.isin(["poor", "exiting"]).to_numpy(), n_exited)
    ret_i = pick((status == "exited").to_numpy(), n_returned)
    move_i = pick(reg, n_moved)
    add_i = pick(reg, n_members_added)
    drop_i = pick(reg & (size >= 2), n_members_removed)
    src_i = np.sort(rng.choice(len(hh), n_new_households, replace=False))  # templates for new households

    exp = pd.DataFrame({"household_id": hh["household_id"], "household_id_old": hh["household_id"],
                        "change": "unchanged"})
    hh.loc[new_i, "registry_status"] = "poor"
    hh.loc[new_i, "registration_year"] = ny
    exp.loc[new_i, "change"] = "new"
    gone = rem_i[: len(rem_i) // 2]
    dereg = rem_i[len(rem_i) // 2:]
    hh.loc[dereg, "registry_status"] = "not_registered"
    exp.loc[rem_i, "change"] = "removed"
    hh.loc[exit_i, "registry_status"] = "exited"
    hh.loc[exit_i, "exit_year"] = ny
    missing_exit = exit_i[:n_missing_exit_year]
    hh.loc[missing_exit, "exit_year"] = pd.NA
    exp.loc[exit_i, "change"] = "exited"
    hh.loc[ret_i, "registry_status"] = "poor"
    exp.loc[ret_i, "change"] = "returned"

    # moves: to a village of another county (the next county in code order)
    vcols = [c for c in ("county_code", "county_name", "township_code", "township_name", "village_code",
                         "village_name", "village_type") if c in hh.columns]
    villages = hh.drop_duplicates("village_code")[vcols].sort_values("village_code")
    counties = np.sort(villages["county_code"].unique())
    if len(counties) < 2 and n_moved:
        raise ValueError("moves need at least two counties")
    first_village = villages.drop_duplicates("county_code").set_index("county_code")
    target = pd.Series(counties[(np.searchsorted(counties, hh.loc[move_i, "county_code"]) + 1) % len(counties)])
    for c in vcols[1:]:
        hh.loc[move_i, c] = first_village.loc[target, c].to_numpy()
    hh.loc[move_i, "county_code"] = target.to_numpy()
    exp.loc[move_i, "change"] = "moved"
    renum = move_i[:n_renumbered]
    new_ids = pd.Series(hh.loc[renum, "village_code"].astype(str).to_numpy()) + pd.Series(
        np.arange(len(renum))).map("M{:04d}".format)
    id_map = dict(zip(hh.loc[renum, "household_id"], new_ids))
    hh.loc[renum, "household_id"] = new_ids.to_numpy()
    exp.loc[renum, "household_id"] = new_ids.to_numpy()
    mem["household_id"] = mem["household_id"].map(lambda h: id_map.get(h, h)) if id_map else mem["household_id"]

    # natural member changes
    add_h = hh.loc[add_i, ["household_id", "county_code"]].reset_index(drop=True)
    # born during the year between the snapshots; even sequence code = female (GB 11643)
    birth = pd.Timestamp(f"{ny}-02-01") + pd.to_timedelta(rng.integers(0, 300, len(add_h)), unit="D")
    first17 = (add_h["county_code"].str[:6].str[:4] + "98" + pd.Series(birth.strftime("%Y%m%d"))
               + pd.Series(2 * np.arange(len(add_h)) % 1000).map("{:03d}".format))
    babies = pd.DataFrame({"person_id": add_h["household_id"] + "B1", "household_id": add_h["household_id"],
                           "name": "新生儿", "relation": "grandchild", "sex": "female", "birth_date": birth,
                           "id_number": _with_check(first17).to_numpy(), "health": "healthy", "disability": "none",
                           "labour": "none", "schooling": "preschool"})
    hh.loc[add_i, "hh_size"] = hh.loc[add_i, "hh_size"] + 1
    drop_h = set(hh.loc[drop_i, "household_id"])
    cand = mem[mem["household_id"].isin(drop_h) & (mem["relation"] != "head")]
    dropped = cand.groupby("household_id", sort=True).tail(1)["person_id"]
    hh.loc[drop_i, "hh_size"] = hh.loc[drop_i, "hh_size"] - 1

    # brand-new households copied from templates with fresh ids (prefix outside the registry)
    tmpl = hh.loc[src_i].copy()
    fresh = tmpl["village_code"].astype(str).to_numpy() + pd.Series(np.arange(len(tmpl))).map("N{:04d}".format).to_numpy()
    tmap = dict(zip(orig_ids[src_i], fresh))
    tm = registry.members[registry.members["household_id"].isin(set(orig_ids[src_i]))].copy()
    tm = tm.astype({"person_id": object, "household_id": object, "id_number": object})
    tm["household_id"] = tm["household_id"].map(tmap)
    tm["person_id"] = tm["household_id"] + "P" + tm.groupby("household_id").cumcount().astype(str)
    tm["id_number"] = _with_check(pd.Series("529097" + tm["id_number"].astype(str).str[6:17].to_numpy(), index=tm.index))
    tm = tm.drop_duplicates("id_number")
    tsize = tm.groupby("household_id").size()
    tmpl["household_id"] = fresh
    tmpl["hh_size"] = tmpl["household_id"].map(tsize).fillna(0).astype(int).to_numpy()
    tmpl["registry_status"] = "poor"
    tmpl["registration_year"] = ny
    tmpl["exit_year"] = pd.NA
    tmpl["head_id_number"] = tmpl["household_id"].map(
        tm[tm["relation"] == "head"].drop_duplicates("household_id").set_index("household_id")["id_number"]).to_numpy()
    tmpl = tmpl[tmpl["hh_size"] > 0]
    tm = tm[tm["household_id"].isin(set(tmpl["household_id"]))]

    # per-capita income follows the household size (components are household totals)
    comps = [c for c in schema.INCOME_COMPONENTS if c in hh.columns]
    if comps and "income_per_capita" in hh.columns:
        for frame, rows in ((hh, np.concatenate([add_i, drop_i])), (tmpl, tmpl.index.to_numpy())):
            tot = frame.loc[rows, comps].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=1)
            frame.loc[rows, "income_per_capita"] = (tot / frame.loc[rows, "hh_size"]).round(2)
    gone_ids = set(hh.loc[gone, "household_id"])
    new_hh = pd.concat([hh[~hh["household_id"].isin(gone_ids)], tmpl], ignore_index=True)
    new_mem = pd.concat([mem[~mem["household_id"].isin(gone_ids) & ~mem["person_id"].isin(set(dropped))],
                         babies, tm], ignore_index=True)
    exp = pd.concat([exp, pd.DataFrame({"household_id": tmpl["household_id"].to_numpy(), "household_id_old": pd.NA,
                                        "change": "new"})], ignore_index=True)

    # expected member changes
    em = pd.DataFrame({"person_id": mem["person_id"], "change": "unchanged", "natural": False})
    em.loc[em["person_id"].isin(set(dropped)), ["change", "natural"]] = ["member_removed", True]
    em.loc[mem["household_id"].isin(gone_ids).to_numpy(), "change"] = "member_removed"
    em = pd.concat([em, pd.DataFrame({"person_id": babies["person_id"], "change": "member_added", "natural": True}),
                    pd.DataFrame({"person_id": tm["person_id"], "change": "member_added", "natural": False})],
                   ignore_index=True)
    proc = pd.concat([
        pd.DataFrame({"household_id": hh.loc[missing_exit, "household_id"].to_numpy(), "field": "exit_year"}),
    ], ignore_index=True)
    meta = {k: v for k, v in registry.meta.items() if k not in ("county_parameters",)}
    if "survey_date" in meta:
        meta["survey_date"] = (pd.Timestamp(meta["survey_date"]) + pd.DateOffset(years=1)).date().isoformat()
    meta.update(year=ny, sources=[f"second_snapshot(seed={seed}) of {registry.meta.get('name', 'registry')}"],
                synthetic=True)
    new_reg = Registry(new_hh, new_mem, meta=meta)
    params = dict(seed=seed, n_new=n_new, n_new_households=n_new_households, n_removed=n_removed,
                  n_exited=n_exited, n_returned=n_returned, n_moved=n_moved, n_renumbered=n_renumbered,
                  n_members_added=n_members_added, n_members_removed=n_members_removed)
    return SyntheticSnapshot(new_reg, exp, em, proc, params)
