"""Data comparison (数据比对): match registry members against other departments' lists.

``cross_check(registry, {"vehicles": df_cars, "payroll": "payroll.xlsx", ...})`` joins every
list to the registry members on normalised resident ID numbers (15→18 digits, check
character X, full-width digits; optionally name + birth date for records without a usable
ID), applies the rules of docs/methodology/audit.md §2 (car value above a configurable amount,
payroll member, company, urban property, 低保 overlap, deceased member still listed) and
returns a :class:`CrossCheck` with one row per flag (evidence: member, list, record, rule),
one row per flagged household, counts by county, a review workbook and a ``suspect`` column
for the sampler.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.audit import _common as C
from evalkit.errors import EvalkitError, RegistryError
from evalkit.registry import idnumber, schema

REGISTERED = tuple(schema.REGISTERED_STATUSES)


# --------------------------------------------------------------------------------------
# Kinds of department lists and their fields
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    code: str
    zh: str
    en: str
    fields: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    "vehicles": Kind("vehicles", "车辆（公安交管）", "vehicles (traffic police)",
                     ("plate", "value", "registration_date", "vehicle_type"), ("value",), ("registration_date",)),
    "housing": Kind("housing", "商品房（住建/不动产）", "commercial housing (housing/real estate)",
                    ("address", "area", "registration_date"), ("area",), ("registration_date",)),
    "business": Kind("business", "工商注册（市场监管）", "businesses (market regulation)",
                     ("company", "registered_capital", "role"), ("registered_capital",)),
    "payroll": Kind("payroll", "财政供养人员（财政/人社）", "public payroll (finance/HR)", ("employer",)),
    "dibao": Kind("dibao", "低保（民政）", "minimum living allowance 低保 (civil affairs)",
                  ("start_date",), (), ("start_date",)),
    "deaths": Kind("deaths", "死亡人员（公安/卫健）", "deaths (public security/health)", ("date",), (), ("date",)),
}
KIND_ALIASES = {
    "vehicle": "vehicles", "cars": "vehicles", "car": "vehicles", "车辆": "vehicles", "机动车": "vehicles",
    "property": "housing", "商品房": "housing", "房产": "housing", "不动产": "housing",
    "businesses": "business", "company": "business", "companies": "business", "工商": "business",
    "企业": "business", "市场主体": "business",
    "财政供养": "payroll", "公职人员": "payroll", "cadre": "payroll",
    "低保": "dibao", "death": "deaths", "死亡": "deaths",
}

# Header text (after C.header_key) -> canonical column. Kind-specific entries win.
_GENERIC_HEADERS = {
    "id_number": ["身份证号", "身份证号码", "证件号码", "证件号", "公民身份号码", "公民身份证号", "公民身份证号码",
                  "身份证", "身份证件号码", "车主身份证号", "所有人身份证号", "机动车所有人身份证号", "所有人证件号码",
                  "产权人身份证号", "权利人证件号", "权利人证件号码", "法定代表人身份证号", "法人身份证号",
                  "股东身份证号", "投资人证件号码", "死者身份证号", "死亡人员身份证号", "id", "idno", "id_no",
                  "id_number", "idnumber"],
    "name": ["姓名", "车主姓名", "车主", "所有人", "机动车所有人", "产权人", "权利人", "法定代表人", "法人",
             "股东姓名", "股东", "投资人", "死者姓名", "name"],
    "birth_date": ["出生日期", "出生年月日", "出生年月", "birth_date", "dob"],
    "plate": ["车牌号", "车牌号码", "号牌号码", "号牌", "plate"],
    "value": ["车辆价值", "价值", "价格", "购置价格", "购车价格", "车价", "评估价值", "购置价", "value", "price"],
    "registration_date": ["登记日期", "注册日期", "初次登记日期", "登记时间", "网签日期", "合同日期",
                          "registration_date"],
    "vehicle_type": ["车辆类型", "车型", "号牌种类", "vehicle_type"],
    "address": ["房屋坐落", "坐落", "地址", "房屋地址", "address"],
    "area": ["面积", "建筑面积", "房屋面积", "area"],
    "company": ["企业名称", "公司名称", "市场主体名称", "名称", "company"],
    "registered_capital": ["注册资本", "注册资金", "registered_capital", "capital"],
    "role": ["职务", "投资人类型", "角色", "身份", "role"],
    "employer": ["工作单位", "供养单位", "所在单位", "employer"],
    "start_date": ["开始日期", "享受日期", "纳入时间", "起始日期", "低保起始日期", "保障起始时间", "start_date"],
    "date": ["死亡日期", "死亡时间", "注销日期", "date", "death_date"],
}
_KIND_HEADERS = {
    "payroll": {"单位名称": "employer", "单位": "employer"},
    "business": {"单位名称": "company"},
}
HEADER_MAP = {C.header_key(h): col for col, hs in _GENERIC_HEADERS.items() for h in hs}


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    zh: str
    en: str
    concern: str  # wrong_inclusion | missed | record_update | info
    statuses: tuple[str, ...] | None  # registry statuses the rule applies to (None: all)
    short: tuple[str, str] = ("", "")  # (zh, en) for counts: "财政供养 202 户" / "202 payroll families"


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("car_value_above", "vehicles", "家庭成员名下车辆价值达到{car_value:,.0f}元",
         "a member owns a vehicle worth at least {car_value:,.0f} yuan", "wrong_inclusion", REGISTERED, short=("车辆", "car owners")),
    Rule("car_value_unknown", "vehicles", "家庭成员名下有车辆，价值不详，需核实",
         "a member owns a vehicle of unknown value (verify)", "wrong_inclusion", REGISTERED, short=("车辆价值不详", "cars of unknown value")),
    Rule("urban_property", "housing", "家庭成员在城镇购买商品房", "a member bought urban commercial housing",
         "wrong_inclusion", REGISTERED, short=("商品房", "property buyers")),
    Rule("business_owner", "business", "家庭成员注册或参股企业", "a member registered or holds shares in a company",
         "wrong_inclusion", REGISTERED, short=("经营企业", "businesses")),
    Rule("payroll_member", "payroll", "家庭成员为财政供养人员", "a member is on the public payroll",
         "wrong_inclusion", REGISTERED, short=("财政供养", "payroll families")),
    Rule("dibao_not_registered", "dibao", "享受低保但未建档立卡（疑似漏评）",
         "receives 低保 but is not registered (possible missed poor)", "missed", ("not_registered",), short=("低保未建档", "dibao but not registered")),
    Rule("dibao_overlap", "dibao", "建档立卡户同时享受低保（两项制度衔接核对）",
         "registered household also receives 低保 (reconciliation)", "info", REGISTERED, short=("低保重叠", "dibao overlap")),
    Rule("deceased_listed", "deaths", "已死亡人员仍在册", "a deceased person is still listed",
         "record_update", None, short=("死亡未销户", "deceased still listed")),
)}
SUSPECT_CONCERNS = ("wrong_inclusion", "missed")
CONCERN_LABELS = {"wrong_inclusion": ("疑似错评", "possible wrongful inclusion"),
                  "missed": ("疑似漏评", "possible missed poor"),
                  "record_update": ("需更新信息", "record needs updating"),
                  "info": ("信息核对", "for information")}

RECORD_FIELDS = ("record_name", "record_id_number", "record_birth_date", "plate", "value", "registration_date",
                 "vehicle_type", "address", "area", "company", "registered_capital", "role", "employer",
                 "start_date", "date")
FLAG_COLUMNS = ["household_id", "person_id", "member_name", "relation", "county_code", "county_name",
                "township_code", "township_name", "village_code", "village_name", "registry_status",
                "kind", "rule", "rule_label", "concern", "suspect", "match_on", "name_differs", "source", "row",
                *RECORD_FIELDS, "evidence"]


def _kind_code(kind) -> str:
    k = str(kind).strip()
    k = KIND_ALIASES.get(k, KIND_ALIASES.get(k.lower(), k.lower()))
    if k not in KINDS:
        raise EvalkitError(
            f"unknown department list kind '{kind}' (未知的比对名单类型). Use one of: "
            + ", ".join(f"{c} ({v.zh})" for c, v in KINDS.items()) + "."
        )
    return k


# --------------------------------------------------------------------------------------
# Reading one department list
# --------------------------------------------------------------------------------------
def read_department_list(data, kind: str, source: str | None = None):
    """A department list in canonical columns (``id_number``, ``name``, kind fields, ``row``,
    ``source``) plus an issues table. ``data``: DataFrame, path, or ``tabular.TableFile``.

    ``row`` is the spreadsheet row a person sees (header = row 1); for a DataFrame it is the
    row it would have when written to a sheet (position + 2).
    """
    kind = _kind_code(kind)
    if isinstance(data, (str, Path)):
        from evalkit.tabular import read_table

        tf = read_table(data)
        frame, source = tf.frame, source or tf.name
    elif hasattr(data, "frame") and hasattr(data, "name"):
        frame, source = data.frame, source or data.name
    elif isinstance(data, pd.DataFrame):
        frame, source = data, source or f"{kind} list"
    else:
        raise EvalkitError(f"{kind}: expected a DataFrame or a file path, got {type(data).__name__}.")

    kmap = {C.header_key(h): c for h, c in _KIND_HEADERS.get(kind, {}).items()}
    rename, original, scale = {}, {}, {}
    for h in frame.columns:
        key = C.header_key(h)
        col = kmap.get(key) or HEADER_MAP.get(key)
        if col is None and key in RECORD_FIELDS:
            col = key
        if col is not None and col not in rename.values():
            rename[h] = col
            original[col] = str(h)
            if "万" in str(h):
                scale[col] = 10_000.0
    if "id_number" not in rename.values() and not {"name", "birth_date"} <= set(rename.values()):
        raise EvalkitError(
            f"{source}: no ID-number column (身份证号/证件号码/公民身份号码) found; columns are "
            f"{list(map(str, frame.columns))}. Rename the ID column to 身份证号 (or id_number), or provide "
            "姓名 + 出生日期 for name matching. 名单缺少身份证号列。"
        )
    df = frame[list(rename)].rename(columns=rename).reset_index(drop=True)
    n = len(df)
    out = pd.DataFrame({"row": np.arange(2, n + 2, dtype=np.int64)})
    out.attrs["source"] = source
    issues = []
    k = KINDS[kind]

    for col in ("name",) + k.fields:  # text fields: stripped when a record is matched (_assemble)
        if col in df.columns and col not in k.numeric and col not in k.dates:
            out[col] = df[col].astype(C.ARROW_STR)
    for col in k.numeric:
        if col in df.columns:
            v, bad = C.parse_number(df[col], scale.get(col, 1.0))
            out[col] = v
            if bad.any():
                idx = np.flatnonzero(bad)
                issues.append(C.issues_frame(
                    source, out["row"].to_numpy()[idx], pd.NA, original[col], df[col].to_numpy()[idx],
                    "warning", f"{kind}_{col}_unreadable",
                    f"数值无法识别，按空值处理 / cannot read '{col}' as a number; treated as missing"))
    for col in k.dates + ("birth_date",):
        if col in df.columns:
            d, bad = C.parse_date(df[col])
            out[col] = d
            if bad.any():
                idx = np.flatnonzero(bad)
                issues.append(C.issues_frame(
                    source, out["row"].to_numpy()[idx], pd.NA, original[col], df[col].to_numpy()[idx],
                    "warning", f"{kind}_{col}_unreadable",
                    "日期无法识别（应为 2018-03-01），按空值处理 / cannot read the date (use 2018-03-01); "
                    "treated as missing"))

    if "id_number" in df.columns:
        norm, keys, status = C.prepare_ids(df["id_number"], validate=True)
        out["id_number"] = norm
        out["key"] = keys
        out["id_status"] = status
        for st, sev, msg in (
            ("missing", "warning", "身份证号为空，无法按号码比对 / ID number empty: cannot match by ID"),
            ("unusable", "warning", "身份证号格式错误（应为18位），无法按号码比对 / ID number malformed "
                                    "(18 characters expected): cannot match by ID"),
            ("bad_check", "info", "身份证号校验位不符，仍按号码比对，请核对 / ID check character wrong; "
                                  "matched as written, please verify"),
        ):
            idx = np.flatnonzero(status == st)
            if len(idx):
                issues.append(C.issues_frame(
                    source, out["row"].to_numpy()[idx], pd.NA, original["id_number"],
                    idnumber.mask(norm.iloc[idx]).to_numpy(), sev, f"{kind}_id_{st}", msg))
    else:
        out["id_number"] = pd.Series(pd.NA, index=out.index, dtype=C.ARROW_STR)
        out["key"] = np.full(n, -1, dtype=np.int64)
        out["id_status"] = "missing"
    out.attrs["kind"] = kind
    return out, C.concat_issues(issues)


# --------------------------------------------------------------------------------------
# Registry persons
# --------------------------------------------------------------------------------------
_HH_COLS = ("county_code", "county_name", "township_code", "township_name", "village_code", "village_name",
            "registry_status", "hh_size", "head_name")


def _registry_persons(registry) -> pd.DataFrame:
    """person_id, household_id, name, relation, birth_date, key (int64) of every registry person;
    household heads from ``head_id_number`` when the registry has no member table."""
    mem = registry.members
    if mem is not None and "id_number" in mem.columns:
        cols = [c for c in ("person_id", "household_id", "name", "relation", "birth_date") if c in mem.columns]
        p = mem[cols]  # copy-on-write: no copy of 10 M-row columns
        norm, keys, _ = C.prepare_ids(mem["id_number"])
    else:
        hh = registry.households
        if "head_id_number" not in hh.columns:
            raise RegistryError("cross_check needs member ID numbers (members.id_number) or "
                                "households.head_id_number (户主身份证号).")
        p = pd.DataFrame({"person_id": pd.NA, "household_id": hh["household_id"],
                          "name": hh.get("head_name"), "relation": "head"})
        norm, keys, _ = C.prepare_ids(hh["head_id_number"])
    p["id_number"] = norm
    p["key"] = keys
    return p


# --------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------
def cross_check(registry, lists: dict, *, car_value: float = 30_000, business_capital: float = 0.0,
                flag_unknown_value: bool = True, match_name_birth: bool = False, as_of=None,
                rules=None) -> "CrossCheck":
    """Match ``registry`` members against department ``lists`` ({kind: DataFrame or path}).

    Parameters (each stated in every output)
    ----------
    car_value : vehicles worth at least this many yuan flag the household (default 30,000:
        the negative-list amount in docs/contracts.md §3).
    business_capital : companies with registered capital ≥ this flag (default 0: any).
    flag_unknown_value : vehicles without a value flag as ``car_value_unknown`` (to verify).
    match_name_birth : records whose ID is missing/unusable or matched nobody are matched on
        normalised name + birth date (from the list's 出生日期 or its ID number).
    as_of : date; death records after it are not flags (default ``registry.meta['as_of']``).
    rules : iterable of rule codes to apply (default all of :data:`RULES`).
    """
    if not isinstance(lists, dict) or not lists:
        raise EvalkitError("cross_check needs a dict of department lists, e.g. {'vehicles': df_cars}.")
    active = set(RULES) if rules is None else set(rules)
    unknown = active - set(RULES)
    if unknown:
        raise EvalkitError(f"unknown rule(s) {sorted(unknown)}; known: {sorted(RULES)}.")
    as_of = as_of if as_of is not None else registry.meta.get("as_of")
    as_of = None if as_of is None else pd.Timestamp(as_of)

    persons = _registry_persons(registry)
    index = C.KeyIndex(persons["key"].to_numpy())
    hh_cols = [c for c in _HH_COLS if c in registry.households.columns]
    hh = registry.households[["household_id", *hh_cols]].drop_duplicates("household_id").set_index("household_id")

    all_matches, all_issues, list_rows = [], [], []
    for kind_in, data in lists.items():
        kind = _kind_code(kind_in)
        rec, iss = read_department_list(data, kind)
        all_issues.append(iss)
        r, p = index.lookup(rec["key"].to_numpy())
        m = pd.DataFrame({"r": r, "p": p, "match_on": "id_number"})
        if match_name_birth:
            m = pd.concat([m, _match_name_birth(rec, persons, exclude=m["r"].unique())], ignore_index=True)
        matched = np.zeros(len(rec), bool)
        matched[m["r"].to_numpy()] = True
        mm = _assemble(kind, rec, persons, hh, m)
        all_matches.append(mm)
        st = rec["id_status"].to_numpy()
        list_rows.append({
            "kind": kind, "kind_label": KINDS[kind].zh, "source": rec.attrs["source"],
            "records": len(rec), "id_ok": int((st == "ok").sum()), "id_bad_check": int((st == "bad_check").sum()),
            "id_unusable": int((st == "unusable").sum()), "id_missing": int((st == "missing").sum()),
            "matched_records": int(matched.sum()), "matched_persons": int(mm["person_key"].nunique()),
            "matched_households": int(mm["household_id"].nunique()),
        })

    matches = pd.concat(all_matches, ignore_index=True) if all_matches else _assemble("payroll", None, None, hh, None)
    matches = _apply_rules(matches, active, car_value=car_value, business_capital=business_capital,
                           flag_unknown_value=flag_unknown_value, as_of=as_of)
    matches = matches[FLAG_COLUMNS + [c for c in matches.columns if c not in FLAG_COLUMNS and c != "person_key"]]
    flags = (matches[matches["rule"].notna()]
             .sort_values(["county_code", "village_code", "household_id", "kind", "source", "row"]
                          if "village_code" in matches else ["household_id", "kind", "source", "row"])
             .reset_index(drop=True))
    lst = pd.DataFrame(list_rows)
    if len(lst):
        fh = flags.groupby("kind")["household_id"].nunique()
        lst["flagged_households"] = lst["kind"].map(fh).fillna(0).astype(int)
    params = {"car_value": car_value, "business_capital": business_capital,
              "flag_unknown_value": flag_unknown_value, "match_name_birth": match_name_birth,
              "as_of": None if as_of is None else as_of.date().isoformat(), "rules": sorted(active)}
    base = _base_counts(registry.households)
    return CrossCheck(flags, _households(flags, registry.households), matches, C.concat_issues(all_issues),
                      lst, base, params)


def _match_name_birth(rec: pd.DataFrame, persons: pd.DataFrame, exclude) -> pd.DataFrame:
    """Fallback join on (normalised name, birth date) for records not matched by ID."""
    empty = pd.DataFrame({"r": pd.Series(dtype=np.int64), "p": pd.Series(dtype=np.int64), "match_on": []})
    if "name" not in rec.columns or "name" not in persons.columns:
        return empty
    todo = C.others(len(rec), np.asarray(exclude, dtype=np.int64))
    if not len(todo):
        return empty
    r = rec.iloc[todo]
    birth = r["birth_date"] if "birth_date" in r.columns else pd.Series(pd.NaT, index=r.index)
    birth = birth.fillna(idnumber.birth_date(r["id_number"]))
    left = pd.DataFrame({"r": todo, "name": C.normalise_names(r["name"]).to_numpy(), "birth": birth.to_numpy()})
    left = left.dropna()
    pbirth = (pd.to_datetime(persons["birth_date"], errors="coerce") if "birth_date" in persons.columns
              else idnumber.birth_date(persons["id_number"]))
    pbirth = pbirth.fillna(idnumber.birth_date(persons["id_number"]))
    cand = pbirth.isin(left["birth"].unique()).to_numpy()  # cut the registry down before name work
    right = pd.DataFrame({"p": np.flatnonzero(cand), "name": C.normalise_names(persons["name"][cand]).to_numpy(),
                          "birth": pbirth[cand].to_numpy()}).dropna()
    m = left.merge(right, on=["name", "birth"])[["r", "p"]]
    m["match_on"] = "name_birth"
    return m


def _tk(s: pd.Series, pos: np.ndarray) -> np.ndarray:
    """Values of ``s`` at positions ``pos`` (Arrow take: no conversion of the whole column)."""
    return s.take(pos).to_numpy()


def _assemble(kind, rec, persons, hh, m) -> pd.DataFrame:
    """One row per (record, registry person) match with household fields and record fields."""
    if m is None or len(m) == 0:
        cols = {"household_id": pd.Series(dtype=object), "person_id": pd.Series(dtype=object),
                "person_key": pd.Series(dtype=object), "kind": pd.Series(dtype=object)}
        out = pd.DataFrame(cols)
    else:
        r, p = m["r"].to_numpy(), m["p"].to_numpy()
        out = pd.DataFrame({
            "household_id": _tk(persons["household_id"], p),
            "person_id": _tk(persons["person_id"], p),
            "member_name": _tk(persons["name"], p) if "name" in persons else pd.NA,
            "relation": _tk(persons["relation"], p) if "relation" in persons else pd.NA,
            "kind": kind, "match_on": m["match_on"].to_numpy(),
            "source": rec.attrs["source"], "row": _tk(rec["row"], r),
        })
        out["person_key"] = np.where(pd.isna(out["person_id"]), out["household_id"].astype(str) + "#head",
                                     out["person_id"].astype(str))
        out["record_id_number"] = _tk(rec["id_number"], r)
        out["record_name"] = rec["name"].take(r).str.strip().to_numpy() if "name" in rec else pd.NA
        if "birth_date" in rec:
            out["record_birth_date"] = _tk(rec["birth_date"], r)
        for f in KINDS[kind].fields:
            if f in rec.columns:
                v = rec[f].take(r)
                out[f] = (v.str.strip() if str(v.dtype).startswith("string") else v).to_numpy()
        pos = hh.index.get_indexer(out["household_id"])  # hh is indexed by household_id
        ok = pos >= 0
        for c in hh.columns:
            v = hh[c].take(np.maximum(pos, 0)).to_numpy()
            out[c] = pd.Series(v).where(ok).to_numpy() if not ok.all() else v
    for c in FLAG_COLUMNS:
        if c not in out.columns:
            out[c] = pd.NA
    return out


def _apply_rules(m: pd.DataFrame, active, *, car_value, business_capital, flag_unknown_value, as_of):
    """Vectorised rules (docs/methodology/audit.md §2): adds rule, rule_label, concern, suspect, evidence."""
    m = m.copy()
    rule = pd.Series(pd.NA, index=m.index, dtype=object)
    status = m["registry_status"]
    kind = m["kind"]
    val = pd.to_numeric(m["value"], errors="coerce")
    cap = pd.to_numeric(m["registered_capital"], errors="coerce")
    date = pd.to_datetime(m["date"], errors="coerce")

    def setr(code, cond):
        r = RULES[code]
        if code not in active:
            return
        ok = cond & (kind == r.kind)
        if r.statuses is not None:
            ok &= status.isin(r.statuses)
        rule[ok.fillna(False) & rule.isna()] = code

    setr("car_value_above", val >= car_value)
    setr("car_value_unknown", val.isna() & flag_unknown_value)
    setr("urban_property", pd.Series(True, index=m.index))
    setr("business_owner", cap.isna() | (cap >= business_capital))
    setr("payroll_member", pd.Series(True, index=m.index))
    setr("dibao_not_registered", pd.Series(True, index=m.index))
    setr("dibao_overlap", pd.Series(True, index=m.index))
    setr("deceased_listed", date.isna() | (date <= as_of) if as_of is not None else pd.Series(True, index=m.index))
    m["rule"] = rule
    fmt = {"car_value": car_value}
    m["rule_label"] = rule.map({c: r.zh.format(**fmt) for c, r in RULES.items()})
    m["concern"] = rule.map({c: r.concern for c, r in RULES.items()})
    m["suspect"] = m["concern"].isin(SUSPECT_CONCERNS)
    rn = C.normalise_names(m["record_name"].astype(object)) if len(m) else m["record_name"]
    mn = C.normalise_names(m["member_name"].astype(object)) if len(m) else m["member_name"]
    m["name_differs"] = (rn.notna() & mn.notna() & (rn != mn)).fillna(False).astype(bool) if len(m) else False
    m["evidence"] = _evidence(m) if len(m) else pd.Series(dtype=object)
    return m


def _num(s: pd.Series, unit: str) -> pd.Series:
    """'85,000 元' (rounded, thousands separators) or '不详', vectorised with Arrow strings."""
    v = pd.to_numeric(s, errors="coerce").to_numpy(float)
    ok = np.isfinite(v)
    r = np.where(ok, np.round(np.abs(v)), 0).astype(np.int64)
    digits = pd.Series(r).astype(str).astype(C.ARROW_STR).str.pad(18, fillchar=" ")
    groups = [digits.str.slice(i, i + 3) for i in range(0, 18, 3)]
    txt = groups[0]
    for g in groups[1:]:
        txt = txt + "," + g
    txt = txt.str.replace(r"^[ ,]+", "", regex=True)
    txt = pd.Series(np.where(v < 0, "-", ""), dtype=C.ARROW_STR) + txt + unit
    return pd.Series(np.where(ok, txt.astype(object), "不详"), index=s.index, dtype=object)


def _day(s: pd.Series) -> pd.Series:
    d = pd.to_datetime(s, errors="coerce")
    return d.dt.strftime("%Y-%m-%d").astype(C.ARROW_STR).fillna("不详")


def _txt(s: pd.Series) -> pd.Series:
    return s.astype(C.ARROW_STR).fillna("不详")


def _evidence(m: pd.DataFrame) -> pd.Series:
    """Readable Chinese evidence per match: member, list record (file, row), details, rule
    (Arrow string arithmetic: no Python call per row)."""
    k = m["kind"].astype(object).to_numpy()
    detail = pd.Series("", index=m.index, dtype=C.ARROW_STR)
    parts = {
        "vehicles": lambda d: "车牌 " + _txt(d["plate"]) + "，价值 " + _num(d["value"], " 元").astype(C.ARROW_STR),
        "housing": lambda d: _txt(d["address"]) + "，面积 " + _num(d["area"], " 平方米").astype(C.ARROW_STR),
        "business": lambda d: (_txt(d["company"]) + "，注册资本 "
                               + _num(d["registered_capital"], " 元").astype(C.ARROW_STR)),
        "payroll": lambda d: "单位 " + _txt(d["employer"]),
        "dibao": lambda d: "低保起始 " + _day(d["start_date"]),
        "deaths": lambda d: "死亡日期 " + _day(d["date"]),
    }
    for kind, make in parts.items():  # each kind's details computed on its own rows only
        sel = k == kind
        if sel.any():
            detail[sel] = make(m[sel]).to_numpy()
    rel = m["relation"].map({c: v[0] for c, v in schema.RELATION.items()}).astype(C.ARROW_STR).fillna("成员")
    how = pd.Series(np.where(m["match_on"].to_numpy() == "name_birth", "（按姓名+出生日期匹配）", ""),
                    index=m.index, dtype=C.ARROW_STR)
    kl = m["kind"].map({c: v.zh for c, v in KINDS.items()}).astype(C.ARROW_STR)
    row = pd.Series(m["row"].to_numpy(), index=m.index).astype("Int64").astype(C.ARROW_STR).fillna("?")
    out = (_txt(m["member_name"]) + "（" + rel + "）：" + kl + "名单 " + _txt(m["source"]) + " 第"
           + row + "行，" + detail + how + " → " + _txt(m["rule_label"]))
    return out.astype(object)


def _households(flags: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """One row per flagged household: counts, kinds, rules, suspicion and joined evidence."""
    cols = ["household_id", *[c for c in _HH_COLS if c in households.columns]]
    if not len(flags):
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        for c in ("n_flags", "n_members_flagged"):
            out[c] = pd.Series(dtype=np.int64)
        out["suspect"] = pd.Series(dtype=bool)
        for c in ("concern", "kinds", "rules", "evidence", *KINDS):
            out[c] = pd.Series(dtype=object if c not in KINDS else bool)
        return out
    g = flags.groupby("household_id", sort=True)
    persons = flags.drop_duplicates(["household_id", "person_id"])  # person_id NA (heads only) counts once
    agg = pd.DataFrame({
        "n_flags": g.size(),
        "n_members_flagged": persons.groupby("household_id", sort=True).size(),
        "suspect": g["suspect"].any(),
    })
    order = {c: i for i, c in enumerate(("wrong_inclusion", "missed", "record_update", "info"))}
    rank = flags["concern"].map(order)
    agg["concern"] = rank.groupby(flags["household_id"]).min().map({v: k for k, v in order.items()})
    kinds = _indicator(flags["household_id"], flags["kind"], agg.index)
    rules = _indicator(flags["household_id"], flags["rule"], agg.index)
    agg["kinds"] = _join_flags(kinds, [k for k in KINDS if k in kinds.columns])
    agg["rules"] = _join_flags(rules, [r for r in RULES if r in rules.columns])
    agg["evidence"] = _join_within(flags["household_id"], flags["evidence"], "；").reindex(agg.index)
    for k in KINDS:
        agg[k] = kinds[k].to_numpy(bool) if k in kinds.columns else False
    # household fields travel with the flags (taken from the registry when matched): no join
    # with the whole registry is needed
    first = flags.drop_duplicates("household_id").set_index("household_id")
    out = first[[c for c in cols[1:] if c in first.columns]].join(agg, how="inner").reset_index()
    sort = [c for c in ("county_code", "village_code", "household_id") if c in out.columns]
    return out.sort_values(sort).reset_index(drop=True)


def _indicator(rows: pd.Series, cols: pd.Series, index: pd.Index) -> pd.DataFrame:
    """Boolean table index × distinct ``cols`` values: True where a (row, col) pair occurs."""
    ri = index.get_indexer(rows)
    cc, names = pd.factorize(cols)
    table = np.zeros((len(index), len(names)), bool)
    table[ri, cc] = True
    return pd.DataFrame(table, index=index, columns=list(names))


def _join_flags(table: pd.DataFrame, order) -> pd.Series:
    """Comma-joined names of the True columns of each row, in ``order`` (vectorised)."""
    out = pd.Series("", index=table.index, dtype=object)
    for c in order:
        out = out + np.where(table[c].to_numpy(bool), c + ",", "")
    return out.str[:-1]


def _join_within(keys: pd.Series, text: pd.Series, sep: str) -> pd.Series:
    """``sep``-joined ``text`` per key, in row order, without a Python call per group: the
    k-th item of every group is appended in one vectorised step (k ≤ items per group)."""
    k = keys.groupby(keys, sort=False).cumcount().to_numpy()
    frame = pd.DataFrame({"key": keys.to_numpy(), "k": k, "t": text.astype(object).to_numpy()})
    out = frame[frame["k"] == 0].set_index("key")["t"]
    for j in range(1, int(k.max()) + 1 if len(k) else 0):
        nxt = frame[frame["k"] == j].set_index("key")["t"]
        add = nxt.reindex(out.index)
        out = out.where(add.isna(), out + sep + add)
    return out
    

def _base_counts(households: pd.DataFrame) -> pd.DataFrame:
    hh = households
    if "county_code" not in hh.columns:
        return pd.DataFrame({"households": [len(hh)], "persons": [hh["hh_size"].sum() if "hh_size" in hh else np.nan]})
    g = hh.groupby("county_code", sort=True)
    base = pd.DataFrame({"households": g.size()})
    base["persons"] = g["hh_size"].sum() if "hh_size" in hh.columns else np.nan
    if "registry_status" in hh.columns:
        base["registered_households"] = hh["registry_status"].isin(REGISTERED).groupby(hh["county_code"]).sum()
    if "county_name" in hh.columns:
        base.insert(0, "county_name", g["county_name"].first())
    return base


# --------------------------------------------------------------------------------------
# Result object
# --------------------------------------------------------------------------------------
class CrossCheck:
    """Result of :func:`cross_check`.

    Attributes
    ----------
    flags : one row per rule hit (household_id, person_id, member, kind, rule, rule_label,
        concern, suspect, match_on, source, row, the record's fields, evidence).
    households : one row per flagged household (n_flags, n_members_flagged, suspect, concern,
        kinds, rules, evidence, one boolean column per list kind).
    matches : every record-to-member match, including those no rule fired on (rule is NA).
    issues : problems found in the lists (file, row, household_id, column, value, severity,
        check, message) — nothing is dropped silently.
    lists : one row per list: records, ID quality counts, matched records/persons/households.
    params : the thresholds and options used.
    """

    def __init__(self, flags, households, matches, issues, lists, base, params):
        self.flags = flags
        self.households = households
        self.matches = matches
        self.issues = issues
        self.lists = lists
        self.params = params
        self._base = base

    # ---------------------------------------------------------------- summaries
    def summary(self, by: str | None = "county_code") -> pd.DataFrame:
        """Flagged households by county (or province with ``by=None``): registry households
        and persons, suspect households, and households per rule (a household counts once per
        rule). The denominators make sentences such as "202 payroll families … among 9,555"."""
        base = self._base.copy()
        f = self.flags
        if by is None or by not in base.index.names:
            tot = pd.DataFrame({"households": [base["households"].sum()], "persons": [base["persons"].sum()]})
            if "registered_households" in base:
                tot["registered_households"] = base["registered_households"].sum()
            out = tot
            key = pd.Series(0, index=f.index)
            hkey = pd.Series(0, index=self.households.index)
            out.index = [0]
        else:
            out = base
            key = f["county_code"]
            hkey = self.households["county_code"]
        h = self.households
        out["flagged_households"] = h.groupby(hkey).size().reindex(out.index).fillna(0).astype(int)
        out["suspect_households"] = h["suspect"].groupby(hkey).sum().reindex(out.index).fillna(0).astype(int)
        out["suspect_share"] = out["suspect_households"] / out["households"]
        for code in RULES:
            if code in self.params["rules"] and (f["rule"] == code).any():
                sub = f[f["rule"] == code]
                out[code] = sub.groupby(key[sub.index])["household_id"].nunique().reindex(out.index).fillna(0).astype(int)
        out = out.reset_index()
        if by is None:
            out = out.drop(columns="index")
        return out

    def describe(self, lang: str = "zh") -> str:
        """One sentence per county, as provincial reports put it."""
        s = self.summary()
        rules = [c for c in RULES if c in s.columns]
        lines = []
        for _, r in s.iterrows():  # one row per county: small
            name = r.get("county_name", r.get("county_code", ""))
            if lang == "zh":
                parts = "，".join(f"{RULES[c].short[0]} {int(r[c]):,} 户" for c in rules if r[c])
                lines.append(f"{name}：{int(r['households']):,} 户中，比对命中 {int(r['flagged_households']):,} 户"
                             + (f"（{parts}）" if parts else "") + f"，其中疑点户 {int(r['suspect_households']):,} 户。")
            else:
                parts = ", ".join(f"{int(r[c]):,} {RULES[c].short[1]}" for c in rules if r[c])
                lines.append(f"{name}: {int(r['flagged_households']):,} households flagged among "
                             f"{int(r['households']):,}" + (f" ({parts})" if parts else "")
                             + f", {int(r['suspect_households']):,} of them suspect.")
        return "\n".join(lines)

    # ---------------------------------------------------------------- sampler hook
    def mark(self, registry, column: str = "suspect"):
        """A copy of ``registry`` whose households carry a boolean ``column``: True for households
        with at least one suspect-grade flag (疑似错评/疑似漏评). A SamplingPlan can stratify on it
        or over-sample it; weights stay correct because each stratum's inclusion probabilities
        are computed within the stratum (docs/methodology/audit.md §4)."""
        from evalkit.registry.registry import Registry

        hh = registry.households.copy()
        sus = set(self.households.loc[self.households["suspect"], "household_id"])
        hh[column] = hh["household_id"].isin(sus).to_numpy(bool)
        meta = dict(registry.meta)
        meta["cross_check"] = {"column": column, "params": dict(self.params),
                               "suspect_households": int(hh[column].sum())}
        return Registry(hh, registry.members, issues=registry.issues, truth=registry.truth, meta=meta)

    # ---------------------------------------------------------------- export
    def to_excel(self, path, mask_ids: bool = True) -> Path:
        """Workbook for village review (村级核实): summary, suspect households with blank
        verification columns, every flag with its evidence, list overview and list problems.
        ID numbers are masked (idnumber.mask) unless ``mask_ids=False``."""
        from evalkit.audit._excel import write_sheets

        flags = self.flags.copy()
        if mask_ids:
            flags["record_id_number"] = idnumber.mask(flags["record_id_number"].astype("string"))
        review = self.households.copy()
        review["concern"] = review["concern"].map(lambda c: CONCERN_LABELS.get(c, (c,))[0])
        for c in ("核实结论 (属实/不属实)", "核实人", "核实日期", "备注"):
            review[c] = ""
        readme = pd.DataFrame({"项目 / item": ["说明", "参数", "ID"], "内容 / content": [
            "数据比对结果：每个疑点户请村级核实并填写核实结论。Cross-check results: verify each household.",
            ", ".join(f"{k}={v}" for k, v in self.params.items()),
            "身份证号已脱敏 / ID numbers masked" if mask_ids else "身份证号未脱敏 / ID numbers NOT masked"]})
        sheets = {"说明 readme": readme, "汇总 summary": self.summary(), "疑点户 households": review,
                  "比对明细 flags": flags, "名单概况 lists": self.lists, "名单问题 issues": self.issues}
        return write_sheets(path, sheets)

    # ---------------------------------------------------------------- display
    def _lines(self):
        n_sus = int(self.households["suspect"].sum()) if len(self.households) else 0
        by_rule = self.flags.groupby("rule")["household_id"].nunique()
        lines = [f"{len(self.lists)} lists, {int(self.lists['records'].sum()) if len(self.lists) else 0:,} records; "
                 f"{len(self.flags):,} flags on {len(self.households):,} households ({n_sus:,} suspect)",
                 "; ".join(f"{k}: {v:,}" for k, v in by_rule.items()) or "no rule fired",
                 f"{len(self.issues):,} list issues; car_value={self.params['car_value']:,.0f}"]
        return lines

    def __repr__(self) -> str:
        return "<CrossCheck: " + " | ".join(self._lines()) + ">"

    def _repr_html_(self) -> str:
        return C.html_table("CrossCheck 数据比对", self._lines(), self.summary())
