"""Snapshot comparison (动态调整): classify every household and person between two registries.

``compare_registries(old, new)`` pairs households by ``household_id`` (and, for the rest, by
the normalised head ID number, so a household re-numbered after moving county is still the
same household) and persons by ``person_id`` (then ID number), and assigns the official change
categories (docs/methodology/audit.md §3): ``new`` 新识别/应纳未纳, ``removed`` 清退,
``exited`` 标识脱贫, ``returned`` 返贫/回退, ``moved`` 跨县迁移, ``unchanged``; members
``member_added`` / ``member_removed`` (自然增减 when the household continues) / ``unchanged``.
It also lists status changes that lack their procedure fields (exit year, review date).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.audit import _common as C
from evalkit.errors import RegistryError
from evalkit.registry import schema

REGISTERED = tuple(schema.REGISTERED_STATUSES)
NOT_EXITED = ("poor", "exiting")  # counted as poor (未脱贫) until marked exited

HOUSEHOLD_CHANGES = {
    "new": ("新识别（应纳未纳）", "newly identified"),
    "removed": ("清退（识别不准）", "removed (wrongly identified)"),
    "exited": ("标识脱贫", "marked exited"),
    "returned": ("返贫（回退）", "returned to poverty"),
    "moved": ("跨县迁移", "moved county"),
    "unchanged": ("无变化", "unchanged"),
}
MEMBER_CHANGES = {
    "member_added": ("成员增加", "member added"),
    "member_removed": ("成员减少", "member removed"),
    "unchanged": ("无变化", "unchanged"),
}
DETAILS = {
    "new_household": "新增户（上期无此户）/ household not in the old snapshot",
    "newly_registered": "原为非建档立卡户，本期纳入 / was not registered, now registered",
    "removed_absent": "本期无此户 / household absent from the new snapshot",
    "removed_deregistered": "本期为非建档立卡户 / household now not registered",
    "exited": "未脱贫 → 已脱贫 / poor → exited",
    "returned": "已脱贫 → 未脱贫 / exited → poor",
    "moved": "县代码变化 / county code changed",
    "planned_exit": "未脱贫 → 拟脱贫 / poor → planned exit",
    "exit_postponed": "拟脱贫 → 未脱贫 / planned exit → poor",
    "same": "状态与县均未变 / same status and county",
    "not_registered": "两期均非建档立卡 / not registered in either snapshot",
}
_HH_KEEP = ("county_code", "county_name", "registry_status", "hh_size", "registration_year", "exit_year",
            "review_date", "head_id_number")


def _pair(old_ids: pd.Series, new_ids: pd.Series, old_keys: pd.Series | None, new_keys: pd.Series | None):
    """Pairs (old position, new position, matched_by): by identifier, then — among the rest —
    by a secondary key (an ID number, normalised here) that is unique on both sides."""
    n_index = pd.Index(new_ids)
    if n_index.is_unique:  # the usual case (IDs are unique per snapshot): one hash lookup
        pos = n_index.get_indexer(old_ids)
        hit = np.flatnonzero(pos >= 0)
        m = pd.DataFrame({"i": hit, "j": pos[hit]})
    else:
        o = pd.DataFrame({"id": old_ids.reset_index(drop=True), "i": np.arange(len(old_ids))})
        n = pd.DataFrame({"id": new_ids.reset_index(drop=True), "j": np.arange(len(new_ids))})
        m = o.merge(n, on="id")[["i", "j"]]
    m["matched_by"] = "id"
    if old_keys is not None and new_keys is not None:
        oi = C.others(len(old_ids), m["i"].to_numpy())
        nj = C.others(len(new_ids), m["j"].to_numpy())
        ok = pd.DataFrame({"k": C.id_keys(old_keys.iloc[oi]), "i": oi})
        nk = pd.DataFrame({"k": C.id_keys(new_keys.iloc[nj]), "j": nj})
        ok = ok[(ok["k"] >= 0) & ~ok["k"].duplicated(keep=False)]
        nk = nk[(nk["k"] >= 0) & ~nk["k"].duplicated(keep=False)]
        m2 = ok.merge(nk, on="k")[["i", "j"]]
        m2["matched_by"] = "id_number"
        m = pd.concat([m, m2], ignore_index=True)
    return m


def _take(frame: pd.DataFrame, pos: np.ndarray, col: str) -> pd.Series:
    """``frame[col]`` at positions ``pos`` (NA where pos < 0), keeping the column's dtype."""
    if col not in frame.columns:
        return pd.Series(pd.NA, index=range(len(pos)), dtype=object)
    out = frame[col].take(np.maximum(pos, 0)).reset_index(drop=True)
    return out.where(pd.Series(pos >= 0))


def _either(first: pd.DataFrame, fpos, second: pd.DataFrame, spos, col: str) -> pd.Series:
    """``first[col]`` where the unit is in ``first`` (fpos ≥ 0), else ``second[col]``."""
    a, b = _take(first, fpos, col), _take(second, spos, col)
    if a.dtype != b.dtype:
        a, b = a.astype(object), b.astype(object)
    return a.where(pd.Series(fpos >= 0), b)


def _frame(reg, cols) -> pd.DataFrame:
    hh = reg.households
    out = pd.DataFrame({"household_id": hh["household_id"].to_numpy()})
    for c in cols:
        out[c] = hh[c].to_numpy() if c in hh.columns else pd.NA
    return out


def compare_registries(old, new, *, match_head_id: bool = True, match_member_id: bool = True,
                       procedure_fields: dict | None = None) -> "RegistryChanges":
    """Classify every household and person of two registry snapshots (``old`` → ``new``).

    match_head_id : pair households not found by ``household_id`` on the normalised head ID
        number (unique on both sides) — households renumbered when moving county.
    match_member_id : likewise persons not found by ``person_id``, on their ID number.
    procedure_fields : {change: [columns required in the new snapshot]}; default exit_year for
        ``exited``, registration_year for ``new`` and review_date (where that column exists)
        for every status change.
    """
    for name, reg in (("old", old), ("new", new)):
        missing = {"household_id", "registry_status"} - set(reg.households.columns)
        if missing:
            raise RegistryError(f"compare_registries: the {name} registry lacks {sorted(missing)}.")
    O, N = _frame(old, _HH_KEEP), _frame(new, _HH_KEEP)
    pairs = _pair(O["household_id"], N["household_id"],
                  O["head_id_number"] if match_head_id and "head_id_number" in old.households else None,
                  N["head_id_number"] if match_head_id and "head_id_number" in new.households else None)
    # outer pairing: matched pairs + old-only + new-only
    i = np.concatenate([pairs["i"].to_numpy(), C.others(len(O), pairs["i"].to_numpy())])
    j = np.concatenate([pairs["j"].to_numpy(), np.full(len(i) - len(pairs), -1)])
    nj = C.others(len(N), pairs["j"].to_numpy())
    i = np.concatenate([i, np.full(len(nj), -1)])
    j = np.concatenate([j, nj])
    by = np.concatenate([pairs["matched_by"].to_numpy(object), np.full(len(i) - len(pairs), pd.NA, dtype=object)])

    h = pd.DataFrame({
        "household_id": _either(N, j, O, i, "household_id"),
        "household_id_old": _take(O, i, "household_id"),
        "county_code": _either(N, j, O, i, "county_code"),
        "county_name": _either(N, j, O, i, "county_name"),
        "county_code_old": _take(O, i, "county_code"),
        "status_old": _take(O, i, "registry_status"), "status_new": _take(N, j, "registry_status"),
        "hh_size_old": pd.to_numeric(_take(O, i, "hh_size"), errors="coerce"),
        "hh_size_new": pd.to_numeric(_take(N, j, "hh_size"), errors="coerce"),
        "matched_by": by,
    })
    so, sn = h["status_old"], h["status_new"]
    reg_o, reg_n = so.isin(REGISTERED).to_numpy(), sn.isin(REGISTERED).to_numpy()
    present_o, present_n = (i >= 0), (j >= 0)
    county_changed = present_o & present_n & (h["county_code"].fillna("") != h["county_code_old"].fillna("")).to_numpy(bool)
    exited = reg_o & reg_n & so.isin(NOT_EXITED).to_numpy() & (sn == "exited").to_numpy()
    returned = reg_o & reg_n & (so == "exited").to_numpy() & sn.isin(NOT_EXITED).to_numpy()
    change = np.select(
        [~reg_o & reg_n, reg_o & ~reg_n, exited, returned, reg_o & reg_n & county_changed],
        ["new", "removed", "exited", "returned", "moved"], "unchanged").astype(object)
    detail = np.select(
        [~reg_o & reg_n & ~present_o, ~reg_o & reg_n, reg_o & ~reg_n & ~present_n, reg_o & ~reg_n,
         exited, returned, reg_o & reg_n & county_changed,
         (so == "poor").to_numpy() & (sn == "exiting").to_numpy(),
         (so == "exiting").to_numpy() & (sn == "poor").to_numpy(), reg_o & reg_n],
        ["new_household", "newly_registered", "removed_absent", "removed_deregistered", "exited", "returned",
         "moved", "planned_exit", "exit_postponed", "same"], "not_registered").astype(object)
    h["change"] = change
    h["change_detail"] = detail
    h["change_label"] = h["change"].map({k: v[0] for k, v in HOUSEHOLD_CHANGES.items()})
    h["county_changed"] = county_changed
    # h row of every old / new household (before sorting h)
    hpos_old = np.full(len(O), -1, dtype=np.int64)
    hpos_old[i[i >= 0]] = np.flatnonzero(i >= 0)
    hpos_new = np.full(len(N), -1, dtype=np.int64)
    hpos_new[j[j >= 0]] = np.flatnonzero(j >= 0)
    order = _order(h["county_code"], h["household_id"])
    rank = np.empty(len(h), dtype=np.int64)
    rank[order] = np.arange(len(h))
    members = _members(old, new, h, match_member_id, O, N, hpos_old, hpos_new, rank)
    h = h.iloc[order].reset_index(drop=True)
    proc = _procedure(old, new, O, N, h, procedure_fields)
    years = (old.meta.get("year"), new.meta.get("year"))
    return RegistryChanges(h, members, proc, years)


def _order(*keys: pd.Series) -> np.ndarray:
    """Stable lexicographic order of string/number columns (first key most significant),
    computed with Arrow's sort on each key — no Python comparison per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ranks = []
    for k in keys:
        arr = pa.array(k.astype(C.ARROW_STR) if not pd.api.types.is_numeric_dtype(k) else k)
        idx = pc.array_sort_indices(arr, order="ascending", null_placement="at_end").to_numpy()
        r = np.empty(len(k), dtype=np.int64)
        r[idx] = np.arange(len(k))
        # equal values share the rank of their first occurrence in sorted order
        sk = arr.take(pa.array(idx))
        same = np.zeros(len(k), bool)
        if len(k) > 1:
            eq = pc.equal(sk.slice(1), sk.slice(0, len(k) - 1)).fill_null(False).to_numpy(zero_copy_only=False)
            nul = pc.and_(pc.is_null(sk.slice(1)), pc.is_null(sk.slice(0, len(k) - 1))).to_numpy(zero_copy_only=False)
            same[1:] = eq | nul
        first = np.maximum.accumulate(np.where(same, 0, np.arange(len(k))))
        r[idx] = first
        ranks.append(r)
    return np.lexsort(ranks[::-1])


def _members(old, new, h: pd.DataFrame, match_id: bool, O, N, hpos_old, hpos_new, rank) -> pd.DataFrame | None:
    """Person-level changes; households are referred to by their row in ``h`` (integers),
    so no string lookups over the member tables beyond one hash join per snapshot."""
    if old.members is None or new.members is None:
        return None
    mo, mn = old.members, new.members
    pairs = _pair(mo["person_id"], mn["person_id"],
                  mo["id_number"] if match_id and "id_number" in mo else None,
                  mn["id_number"] if match_id and "id_number" in mn else None)
    i_only = C.others(len(mo), pairs["i"].to_numpy())
    j_only = C.others(len(mn), pairs["j"].to_numpy())
    i = np.concatenate([pairs["i"].to_numpy(), i_only, np.full(len(j_only), -1)])
    j = np.concatenate([pairs["j"].to_numpy(), np.full(len(i_only), -1), j_only])

    # h row of each member's household in each snapshot
    ho_all = pd.Index(O["household_id"]).get_indexer(mo["household_id"])
    hn_all = pd.Index(N["household_id"]).get_indexer(mn["household_id"])
    ho_all = np.where(ho_all >= 0, hpos_old[np.maximum(ho_all, 0)], -1)
    hn_all = np.where(hn_all >= 0, hpos_new[np.maximum(hn_all, 0)], -1)
    ho = np.where(i >= 0, ho_all[np.maximum(i, 0)], -1)
    hn = np.where(j >= 0, hn_all[np.maximum(j, 0)], -1)
    hrow = np.where(j >= 0, hn, ho)

    m = pd.DataFrame({
        "person_id": _either(mn, j, mo, i, "person_id"),
        "person_id_old": _take(mo, i, "person_id"),
        "household_id": _either(mn, j, mo, i, "household_id"),
        "household_id_old": _take(mo, i, "household_id"),
    })
    m["change"] = np.select([j < 0, i < 0], ["member_removed", "member_added"], "unchanged").astype(object)
    ok = hrow >= 0
    m["household_change"] = pd.Series(np.where(ok, h["change"].to_numpy(object)[np.maximum(hrow, 0)], None))
    m["county_code"] = _take(h, np.where(ok, hrow, -1), "county_code")
    # a person found in another household than the continuation of their old one (分户/合户)
    m["changed_household"] = (i >= 0) & (j >= 0) & (ho != hn)
    # natural change (自然增减): added to / removed from a household registered in both snapshots
    both = (h["status_old"].isin(REGISTERED) & h["status_new"].isin(REGISTERED)).to_numpy(bool)
    added = (j >= 0) & (i < 0)
    removed = (i >= 0) & (j < 0)
    nat = np.zeros(len(m), bool)
    nat[added] = (hn[added] >= 0) & both[np.maximum(hn[added], 0)]
    nat[removed] = (ho[removed] >= 0) & both[np.maximum(ho[removed], 0)]
    m["natural"] = nat
    hr = np.where(ok, rank[np.maximum(hrow, 0)], len(rank))
    order = _order(pd.Series(hr), m["person_id"])
    return m.iloc[order].reset_index(drop=True)


def _procedure(old, new, O, N, h, fields) -> pd.DataFrame:
    """Status changes without their procedure fields, and exit/registration years outside the
    adjustment period (old year, new year]."""
    has_review = "review_date" in new.households.columns
    if fields is None:
        fields = {"exited": ["exit_year"], "new": ["registration_year"], "returned": [], "removed": []}
        if has_review:
            fields = {k: v + ["review_date"] for k, v in fields.items()}
    newv = new.households.drop_duplicates("household_id").set_index("household_id")
    oldv = old.households.drop_duplicates("household_id").set_index("household_id")
    out = []
    for change, cols in fields.items():
        sub = h[h["change"] == change]
        in_new = sub["status_new"].notna()
        for col in cols:
            vals = pd.Series(pd.NA, index=sub.index, dtype=object)
            if col in new.households.columns:
                vals[in_new] = sub.loc[in_new, "household_id"].map(newv[col].astype(object))
            if col in old.households.columns:  # removed households absent from the new snapshot
                vals[~in_new] = sub.loc[~in_new, "household_id_old"].map(oldv[col].astype(object))
            bad = vals.isna()
            if bad.any():
                b = sub[bad]
                out.append(pd.DataFrame({
                    "household_id": b["household_id"], "county_code": b["county_code"], "change": change,
                    "status_old": b["status_old"], "status_new": b["status_new"], "field": col, "value": pd.NA,
                    "problem": "missing",
                    "message": f"{HOUSEHOLD_CHANGES[change][0]}但缺少{schema.label(col) if col in schema.HOUSEHOLD else col}"
                               f" / {HOUSEHOLD_CHANGES[change][1]} without '{col}'"}))
    y0, y1 = old.meta.get("year"), new.meta.get("year")
    if y0 is not None and y1 is not None:
        for change, col in (("exited", "exit_year"), ("new", "registration_year")):
            if col not in new.households.columns:
                continue
            sub = h[h["change"] == change]
            v = pd.to_numeric(sub["household_id"].map(newv[col]), errors="coerce")
            bad = v.notna() & ((v <= y0) | (v > y1))
            if bad.any():
                b = sub[bad]
                out.append(pd.DataFrame({
                    "household_id": b["household_id"], "county_code": b["county_code"], "change": change,
                    "status_old": b["status_old"], "status_new": b["status_new"], "field": col,
                    "value": v[bad].astype("Int64").astype(object), "problem": "year_outside_period",
                    "message": f"{schema.label(col)}不在调整期 {y0 + 1}–{y1} 内 / '{col}' outside the "
                               f"adjustment period {y0 + 1}–{y1}"}))
    cols = ["household_id", "county_code", "change", "status_old", "status_new", "field", "value", "problem", "message"]
    if not out:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return pd.concat(out, ignore_index=True)[cols].sort_values(["county_code", "household_id", "field"]).reset_index(drop=True)


class RegistryChanges:
    """Result of :func:`compare_registries`.

    households : household_id (new, else old), household_id_old, county_code (new, else old),
        county_name, county_code_old, status_old, status_new, hh_size_old, hh_size_new,
        matched_by ('id' | 'id_number' | NA), change, change_detail, change_label, county_changed.
    members : person_id, person_id_old, household_id, household_id_old, change,
        household_change, county_code, changed_household, natural (自然增减) — or None when
        either snapshot has no member table.
    procedure : status changes lacking procedure fields / with years outside the period.
    """

    def __init__(self, households, members, procedure, years=(None, None)):
        self.households = households
        self.members = members
        self.procedure = procedure
        self.years = years

    def summary(self, by: str | None = "county_code") -> pd.DataFrame:
        """Counts like the provincial adjustment reports, by county (``by=None``: province):
        households and persons per change, natural member changes, and registered / poor
        (未脱贫 = poor + exiting) households and persons before and after."""
        h = self.households
        new_key = h["county_code"] if by else pd.Series("all", index=h.index)
        old_key = h["county_code_old"] if by else pd.Series("all", index=h.index)
        parts = {}
        so, sn = h["status_old"], h["status_new"]
        ho = h["hh_size_old"].fillna(0)
        hn = h["hh_size_new"].fillna(0)
        parts["registered_households_old"] = so.isin(REGISTERED).groupby(old_key).sum()
        parts["registered_households_new"] = sn.isin(REGISTERED).groupby(new_key).sum()
        parts["poor_persons_old"] = ho.where(so.isin(NOT_EXITED), 0).groupby(old_key).sum()
        parts["poor_persons_new"] = hn.where(sn.isin(NOT_EXITED), 0).groupby(new_key).sum()
        for ch in ("new", "removed", "exited", "returned", "moved"):
            is_ch = h["change"] == ch
            key = old_key if ch == "removed" else new_key
            size = ho if ch == "removed" else hn
            parts[f"{ch}_households"] = is_ch.groupby(key).sum()
            parts[f"{ch}_persons"] = size.where(is_ch, 0).groupby(key).sum()
        m = self.members
        if m is not None:
            mkey = m["county_code"] if by else pd.Series("all", index=m.index)
            parts["members_added"] = ((m["change"] == "member_added") & m["natural"]).groupby(mkey).sum()
            parts["members_removed"] = ((m["change"] == "member_removed") & m["natural"]).groupby(mkey).sum()
        out = pd.DataFrame(parts).fillna(0).astype(np.int64)
        out.index.name = by or "level"
        out = out.reset_index()
        if by:
            names = h.dropna(subset=["county_name"]).drop_duplicates("county_code").set_index("county_code")["county_name"]
            out.insert(1, "county_name", out[by].map(names))
        else:
            out["level"] = "province"
        return out

    def describe(self, lang: str = "zh") -> str:
        """The province line of the adjustment report, e.g. "+10,000 / −28,800 / 9,500 …"."""
        s = self.summary(by=None).iloc[0]
        ma = s.get("members_added", 0)
        mr = s.get("members_removed", 0)
        y0, y1 = self.years
        if lang == "zh":
            return (f"动态调整{'' if y0 is None else f'（{y0}→{y1}）'}：新识别 {s.new_households:,} 户 {s.new_persons:,} 人，"
                    f"清退 {s.removed_households:,} 户 {s.removed_persons:,} 人，标识脱贫 {s.exited_households:,} 户 "
                    f"{s.exited_persons:,} 人，返贫 {s.returned_households:,} 户 {s.returned_persons:,} 人，"
                    f"跨县迁移 {s.moved_households:,} 户；自然增加 {ma:,} 人，自然减少 {mr:,} 人；"
                    f"未脱贫人口 {s.poor_persons_old:,} → {s.poor_persons_new:,}。")
        return (f"Adjustment{'' if y0 is None else f' {y0}→{y1}'}: +{s.new_persons:,} newly identified, "
                f"−{s.removed_persons:,} removed, {s.exited_persons:,} exited, {s.returned_persons:,} returned "
                f"(persons); {s.moved_households:,} households moved county; members +{ma:,} / −{mr:,}; "
                f"poor persons {s.poor_persons_old:,} → {s.poor_persons_new:,}.")

    def to_excel(self, path, mask_ids: bool = True) -> Path:
        """Summary, changed households, member changes and procedure problems, one sheet each."""
        from evalkit.audit._excel import write_sheets

        changed = self.households[self.households["change"] != "unchanged"]
        sheets = {"汇总 summary": self.summary(), "全省 province": self.summary(by=None),
                  "变化户 changed households": changed, "程序问题 procedure": self.procedure}
        if self.members is not None:
            sheets["成员变化 members"] = self.members[self.members["change"] != "unchanged"]
        return write_sheets(path, sheets)

    def _lines(self):
        c = self.households["change"].value_counts()
        lines = [", ".join(f"{k} {int(c.get(k, 0)):,}" for k in HOUSEHOLD_CHANGES),
                 f"{len(self.procedure):,} procedure problems"]
        if self.members is not None:
            mc = self.members.loc[self.members["natural"], "change"].value_counts()
            lines.insert(1, f"members (natural) +{int(mc.get('member_added', 0)):,} / "
                            f"−{int(mc.get('member_removed', 0)):,}")
        return lines

    def __repr__(self) -> str:
        return f"<RegistryChanges {self.years[0]}→{self.years[1]}: " + " | ".join(self._lines()) + ">"

    def _repr_html_(self) -> str:
        return C.html_table(f"RegistryChanges 动态调整 {self.years[0]}→{self.years[1]}", self._lines(),
                            self.summary(by=None))
