"""Household classification rules (识别、退出、错评判定) as data: :class:`RuleSet`.

``classify_households(answers, members, rules)`` turns interview answers into the flags every
indicator counts — 两不愁三保障 item by item (with the reason an item fails), income vs the
line, negative-list hits, eligibility, the exit standard, and ``wrong_exit`` / ``missed`` /
``wrong_inclusion`` / ``satisfied`` / ``recognises``. Defaults are docs/contracts.md §3; the
formulas and their sources are in docs/methodology/indicators.md §2.

Missing answers follow three-valued (Kleene) logic: a flag is NA only when the answers given
cannot decide it (e.g. income below the line decides "does not meet the exit standard" even if
the housing answer is missing). Nothing is dropped; ``missing_items`` names what was missing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.errors import RuleError
from evalkit.indicators import lines
from evalkit.questionnaire import variables as V
from evalkit.registry import schema

_YES = {"yes": True, "是": True, "1": True, "true": True, "y": True,
        "no": False, "否": False, "0": False, "false": False, "n": False}

# item code -> (Chinese, English) — used in reasons shown to field coordinators
ITEM_LABELS = {
    "income": ("收入未超过标准", "income not above the line"),
    "food": ("吃穿不愁未达标", "food/clothing not assured"),
    "education": ("义务教育未保障", "compulsory education not assured"),
    "medical": ("基本医疗未保障", "basic medical care not assured"),
    "housing": ("住房安全未保障", "housing not safe"),
    "water": ("饮水安全未保障", "drinking water not safe"),
    "income_activity": ("有劳动力但无增收项目", "household with labour has no income activity"),
}


_SHORT = {"food": "吃穿", "education": "义务教育", "medical": "基本医疗", "housing": "住房", "water": "饮水"}


@dataclass(frozen=True)
class NegativeItem:
    """One 错评 negative-list condition: ``column == yes`` (and ``value_column >= min_value``)."""

    column: str
    zh: str
    en: str
    value_column: str | None = None
    min_value: float | None = None


@dataclass(frozen=True)
class ScoreComponent:
    """Points awarded × a criterion in [0, 1] (a boolean column of the classification, or
    ``labour_capacity``: 1 if any member can work fully, 0.5 if only partly, else 0)."""

    name: str
    zh: str
    points: float
    criterion: str


@dataclass(frozen=True)
class MultidimensionalScore:
    """A 四看法-style score out of Σ points: ``score < cutoffs[0]`` → classes[0],
    ``≤ cutoffs[1]`` → classes[1], above → classes[2]. If ``eligibility`` the lowest class
    also makes a household eligible (识别标准) in addition to income/2A3G."""

    components: tuple[ScoreComponent, ...]
    cutoffs: tuple[float, float] = (60.0, 80.0)
    classes: tuple[str, str, str] = ("poor", "at_risk", "stable")
    class_labels: tuple[str, str, str] = ("贫困", "返贫风险", "稳定")
    eligibility: bool = False

    @classmethod
    def four_looks(cls, eligibility: bool = False) -> "MultidimensionalScore":
        """One county's 四看法 (DOMAIN.md §8): housing 20, food/land 30, labour 30, schooling 20;
        below 60 poor, 60–80 at risk of returning, above 80 stable."""
        return cls(components=(
            ScoreComponent("housing", "一看房", 20, "housing_ok"),
            ScoreComponent("food", "二看粮（吃穿与土地）", 30, "food_ok"),
            ScoreComponent("labour", "三看劳动力", 30, "labour_capacity"),
            ScoreComponent("schooling", "四看读书郎", 20, "education_ok"),
        ), eligibility=eligibility)


DEFAULT_NEGATIVE_LIST = (
    NegativeItem("neg_payroll", "家庭成员为财政供养人员", "member on public payroll"),
    NegativeItem("neg_cadre", "家庭成员为现任村干部", "member is a village cadre"),
    NegativeItem("neg_car", "拥有3万元以上车辆或机械", "owns a car/machinery worth ≥ 30,000 元",
                 value_column="car_value", min_value=30000.0),
    NegativeItem("neg_property", "在城镇购有商品房", "owns urban commercial housing"),
    NegativeItem("neg_business", "家庭成员经营公司或企业", "member runs a company"),
)


@dataclass(frozen=True)
class RuleSet:
    """Every parameter of the classification (docs/contracts.md §3 defaults).

    ``line=None`` looks the exit standard up by ``year`` × ``province_code`` in
    ``data/poverty_lines.csv`` (a provincial standard, e.g. Yunnan 2018, overrides the national
    line and may require an income activity for households with labour).
    """

    year: int | None = None
    province_code: str | None = None
    line: float | None = None
    income_activity_required: bool | None = None
    income_parts: tuple[str, ...] = V.INCOME_PARTS
    food_items: tuple[str, ...] = ("food_ok", "clothing_ok")
    medical_items: tuple[str, ...] = ("medical_insured", "medical_access")
    water_items: tuple[str, ...] = V.WATER_ITEMS
    housing_grade_item: str = "housing_appraisal"
    housing_safe_grades: tuple[str, ...] = ("A", "B")
    housing_renovated_item: str = "housing_renovated"
    compulsory_ages: tuple[int, int] = schema.COMPULSORY_AGES
    schooling_fail: tuple[str, ...] = ("dropout", "not_student")
    labour_codes: tuple[str, ...] = ("able", "weak")
    income_activity_items: tuple[str, ...] = ("income_wage", "income_business")
    negative_list: tuple[NegativeItem, ...] = DEFAULT_NEGATIVE_LIST
    wrong_inclusion_income_multiple: float | None = 2.0
    satisfaction_item: str = "satisfaction"
    satisfaction_positive: tuple[str, ...] = ("very_satisfied", "satisfied")
    recognition_item: str = "recognition"
    recognition_positive: tuple[str, ...] = ("recognise", "basically")
    score: MultidimensionalScore | None = None
    name: str = "default"

    # ------------------------------------------------------------------ construction
    @classmethod
    def default(cls, year: int | None = None, province=None, **changes) -> "RuleSet":
        """The contract defaults for ``year`` × ``province``; keyword arguments override fields."""
        prov = None if province is None else str(province)[:2]
        return cls(year=None if year is None else int(year), province_code=prov, **changes)

    def replace(self, **changes) -> "RuleSet":
        """A copy with some parameters changed (e.g. ``rules.replace(satisfaction_positive=(...))``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain dict (YAML/JSON-able) of every parameter, with the resolved line."""
        d = dataclasses.asdict(self)
        d["resolved_line"] = self.exit_standard.line if self._line_resolvable() else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RuleSet":
        """Inverse of :meth:`to_dict` (unknown keys fail loudly)."""
        d = dict(d)
        d.pop("resolved_line", None)
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(d) - names
        if bad:
            raise RuleError(f"规则参数未知 unknown RuleSet parameters: {sorted(bad)}")
        if d.get("negative_list") is not None:
            d["negative_list"] = tuple(NegativeItem(**x) if isinstance(x, dict) else x for x in d["negative_list"])
        if isinstance(d.get("score"), dict):
            s = dict(d["score"])
            s["components"] = tuple(ScoreComponent(**c) if isinstance(c, dict) else c for c in s["components"])
            for k in ("cutoffs", "classes", "class_labels"):
                if k in s:
                    s[k] = tuple(s[k])
            d["score"] = MultidimensionalScore(**s)
        for k, v in list(d.items()):
            if isinstance(v, list):
                d[k] = tuple(v)
        return cls(**d)

    # ------------------------------------------------------------------ resolved values
    def _line_resolvable(self) -> bool:
        try:
            self.exit_standard
            return True
        except RuleError:
            return False

    @property
    def exit_standard(self) -> lines.ExitStandard:
        """The resolved exit standard (line and income-activity rule) — RuleError if unknown."""
        return lines.exit_standard(self.year, self.province_code, line=self.line,
                                   income_activity_required=self.income_activity_required)

    def describe(self) -> pd.DataFrame:
        """One row per rule in words (Chinese, English) — printed in every report."""
        std = self.exit_standard if self._line_resolvable() else None
        line_txt = f"{std.line:,.0f} 元/人·年 ({std.kind}, verified={std.verified})" if std else "未指定 not set"
        neg = "；".join(f"{n.zh}" for n in self.negative_list)
        rows = [
            ("income", "人均纯收入 = 各项收入之和 ÷ 家庭人口；须高于收入线", "per-capita income = sum of parts / hh_size; must be above the line", line_txt),
            ("food", "吃穿不愁：" + "、".join(self.food_items) + " 均为“是”", "food & clothing items all yes", ", ".join(self.food_items)),
            ("education", f"{self.compulsory_ages[0]}–{self.compulsory_ages[1]} 岁成员无失学辍学/非在校",
             "no member of compulsory-school age out of school", ", ".join(self.schooling_fail)),
            ("medical", "基本医疗：" + "、".join(self.medical_items) + " 均为“是”", "insured and has access", ", ".join(self.medical_items)),
            ("housing", "住房鉴定为 " + "/".join(self.housing_safe_grades) + " 级，或危房已改造/搬迁",
             "safe grade or renovated/relocated", ", ".join(self.housing_safe_grades)),
            ("water", "饮水：" + "、".join(self.water_items) + " 均为“是”", "all water items yes", ", ".join(self.water_items)),
            ("income_activity", "有劳动力户须至少有一项增收（工资或经营）", "households with labour need an income activity",
             str(std.income_activity_required if std else self.income_activity_required)),
            ("negative_list", "错评负面清单：" + neg, "negative list (wrongful inclusion)",
             ", ".join(n.column for n in self.negative_list)),
            ("wrong_inclusion_income", f"未脱贫户人均纯收入高于收入线 {self.wrong_inclusion_income_multiple} 倍视为错评",
             "registered poor with income above multiple × line", str(self.wrong_inclusion_income_multiple)),
            ("satisfied", "满意：" + "/".join(V.SATISFACTION_5.get(c, (c,))[0] for c in self.satisfaction_positive),
             "positive satisfaction codes", ", ".join(self.satisfaction_positive)),
            ("recognises", "认可：" + "/".join(V.RECOGNITION_4.get(c, (c,))[0] for c in self.recognition_positive),
             "positive recognition codes", ", ".join(self.recognition_positive)),
        ]
        if self.score is not None:
            comp = "，".join(f"{c.zh}{c.points:g}分" for c in self.score.components)
            rows.append(("score", f"多维评分（{comp}）：<{self.score.cutoffs[0]:g} {self.score.class_labels[0]}，"
                         f"≤{self.score.cutoffs[1]:g} {self.score.class_labels[1]}，其余{self.score.class_labels[2]}",
                         "multidimensional score", f"eligibility={self.score.eligibility}"))
        return pd.DataFrame(rows, columns=["rule", "description_zh", "description_en", "parameter"])

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(repr(self))}</p>" + self.describe().to_html(index=False)

    def __repr__(self) -> str:
        std = self.exit_standard if self._line_resolvable() else None
        line = f"{std.line:,.0f} 元" if std else "line not set"
        extra = ", income activity required" if std and std.income_activity_required else ""
        sc = ", 四看法 score" if self.score is not None else ""
        return (f"<RuleSet {self.name!r} year={self.year} province={self.province_code}: {line}{extra}, "
                f"{len(self.negative_list)} negative-list items{sc}>")


# ---------------------------------------------------------------------------- helpers
_YES_EXACT = {**_YES, "Yes": True, "YES": True, "No": False, "NO": False, 1: True, 0: False, 1.0: True, 0.0: False,
              True: True, False: False}


def _yes(s: pd.Series | None, index) -> pd.Series:
    """yes/no answers (codes, Chinese labels, 1/0, booleans) → nullable boolean; other → NA."""
    if s is None:
        return pd.Series(pd.NA, index=index, dtype="boolean")
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("boolean")
    obj = pd.Series(s.to_numpy(dtype=object), index=index)
    out = obj.map(_YES_EXACT)
    odd = out.isna() & obj.notna()
    if odd.any():  # unusual spellings: strip/lower only those
        out[odd] = obj[odd].astype(str).str.strip().str.lower().map(_YES)
    return out.astype("boolean")


def _all(frame_cols: list[pd.Series], index) -> pd.Series:
    out = pd.Series(True, index=index, dtype="boolean")
    for c in frame_cols:
        out = out & c
    return out


def _any(frame_cols: list[pd.Series], index) -> pd.Series:
    out = pd.Series(False, index=index, dtype="boolean")
    for c in frame_cols:
        out = out | c
    return out


def _num(s: pd.Series | None, index) -> pd.Series:
    if s is None:
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _in(s: pd.Series | None, codes, index) -> pd.Series:
    """Membership in ``codes`` as nullable boolean (NA where the answer is missing)."""
    if s is None:
        return pd.Series(pd.NA, index=index, dtype="boolean")
    obj = pd.Series(s.to_numpy(dtype=object), index=index)
    out = obj.isin([str(c) for c in codes]).astype("boolean")
    odd = ~out.to_numpy(bool) & obj.notna().to_numpy()
    if odd.any():  # tolerate surrounding blanks
        out[odd] = obj[odd].astype(str).str.strip().isin([str(c) for c in codes]).to_numpy()
    out[obj.isna().to_numpy()] = pd.NA
    return out


def _join_labels(masks: list[tuple[pd.Series, str]], index) -> pd.Series:
    """'label1；label2' for the masks that are True — via a bit code per row, so strings are
    built once per distinct combination, not once per row."""
    code = np.zeros(len(index), dtype=np.int64)
    for i, (mask, _) in enumerate(masks):
        m = mask.fillna(False).to_numpy(bool) if hasattr(mask, "fillna") else np.asarray(mask, bool)
        code |= m.astype(np.int64) << i
    uniq, inv = np.unique(code, return_inverse=True)
    labels = np.array(["；".join(lab for i, (_, lab) in enumerate(masks) if (u >> i) & 1) for u in uniq], dtype=object)
    return pd.Series(labels[inv.ravel()], index=index, dtype="object")


def member_ages(members: pd.DataFrame, survey_date=None) -> pd.Series:
    """Age in completed years: the ``age`` column if present, else from ``birth_date`` at ``survey_date``."""
    if "age" in members.columns:
        return pd.to_numeric(members["age"], errors="coerce")
    if "birth_date" not in members.columns:
        raise RuleError("成员表既无 age 也无 birth_date / the member roster has neither 'age' nor 'birth_date'.")
    if survey_date is None:
        raise RuleError("按出生日期计算年龄需要调查日期 / computing ages from birth_date needs survey_date=.")
    b = pd.to_datetime(members["birth_date"], errors="coerce")
    d = pd.Timestamp(survey_date)
    before = (b.dt.month > d.month) | ((b.dt.month == d.month) & (b.dt.day > d.day))
    return (d.year - b.dt.year - before.astype(float)).astype("float64")


def _member_flags(ids: pd.Index, members: pd.DataFrame | None, rules: RuleSet, survey_date) -> pd.DataFrame:
    """Per household: education_ok (Kleene), has_labour, labour_capacity, n_school_age, out_of_school."""
    out = pd.DataFrame(index=ids)
    if members is None:
        out["education_ok"] = pd.Series(pd.NA, index=ids, dtype="boolean")
        out["has_labour"] = pd.Series(pd.NA, index=ids, dtype="boolean")
        out["labour_capacity"] = np.nan
        out["n_school_age"] = pd.Series(pd.NA, index=ids, dtype="Int64")
        out["out_of_school"] = ""
        out["roster_found"] = False
        return out
    mh = members["household_id"].to_numpy(dtype=object).astype(str)
    m = members[pd.Index(ids).get_indexer(mh) >= 0]
    hid = pd.Series(m["household_id"].to_numpy(dtype=object).astype(str), index=m.index)
    age = member_ages(m, survey_date)
    lo, hi = rules.compulsory_ages
    school_age = (age >= lo) & (age <= hi)
    sch = m["schooling"] if "schooling" in m.columns else pd.Series(pd.NA, index=m.index)
    fail = pd.Series(sch.to_numpy(dtype=object), index=m.index).isin(list(rules.schooling_fail)) & school_age
    unknown = (sch.isna() | age.isna()) & ~fail  # school status or age missing: cannot decide
    unknown &= school_age | age.isna()
    g = pd.DataFrame({"hid": hid.to_numpy(), "fail": fail.to_numpy(bool), "unknown": unknown.to_numpy(bool),
                      "school_age": school_age.fillna(False).to_numpy(bool)})
    lab = (pd.Series(m["labour"].to_numpy(dtype=object), index=m.index) if "labour" in m.columns
           else pd.Series(None, index=m.index, dtype=object))
    full = lab.eq(rules.labour_codes[0]).fillna(False).to_numpy(bool) if rules.labour_codes else np.zeros(len(m), bool)
    part = lab.isin(list(rules.labour_codes)).fillna(False).to_numpy(bool)
    g["full"] = full
    g["part"] = part
    g["lab_na"] = lab.isna().to_numpy(bool)
    agg = g.groupby("hid", sort=False).agg(fail=("fail", "any"), unknown=("unknown", "any"),
                                          n_school_age=("school_age", "sum"), full=("full", "any"),
                                          part=("part", "any"), lab_na=("lab_na", "any"))
    agg = agg.reindex(ids)
    found = agg["fail"].notna()
    edu = pd.Series(pd.NA, index=ids, dtype="boolean")
    f = agg["fail"].fillna(False).astype(bool)
    u = agg["unknown"].fillna(False).astype(bool)
    edu[found & f] = False
    edu[found & ~f & ~u] = True
    out["education_ok"] = edu
    has = pd.Series(pd.NA, index=ids, dtype="boolean")
    p = agg["part"].fillna(False).astype(bool)
    ln = agg["lab_na"].fillna(False).astype(bool)
    has[found & p] = True
    has[found & ~p & ~ln] = False
    out["has_labour"] = has
    cap = np.where(agg["full"].fillna(False).astype(bool), 1.0, np.where(p, 0.5, 0.0))
    out["labour_capacity"] = np.where(found & (p | ~ln), cap, np.nan)
    out["n_school_age"] = agg["n_school_age"].astype("Int64")
    # names of the out-of-school children (member index or person id) for the appeal trace
    who_col = "member_index" if "member_index" in m.columns else ("person_id" if "person_id" in m.columns else None)
    if who_col is not None and fail.any():
        mm = m[fail.to_numpy(bool)]
        txt = (mm[who_col].astype(str) + "号(" + age[fail.to_numpy(bool)].astype("Int64").astype(str) + "岁,"
               + mm["schooling"].astype(str) + ")")
        who = txt.groupby(mm["household_id"].astype(str).to_numpy()).agg("，".join)
        out["out_of_school"] = who.reindex(ids).fillna("")
    else:
        out["out_of_school"] = ""
    out["roster_found"] = found.to_numpy(bool)
    return out


# ---------------------------------------------------------------------------- classify
FLAG_COLUMNS = ("wrong_exit", "missed", "wrong_inclusion", "satisfied", "recognises")


def classify_households(data: pd.DataFrame, members: pd.DataFrame | None = None, rules: RuleSet | None = None,
                        *, survey_date=None, status_column: str = "registry_status") -> pd.DataFrame:
    """Classify each interviewed household (one row per row of ``data``, same order).

    ``data``: canonical answer variables (questionnaire/variables.py) plus the *registry's*
    ``registry_status`` (never the answer), with ``household_id`` as a column or the index.
    ``members``: roster (household_id, age or birth_date, schooling, labour) — needed for the
    education item and the income-activity rule. Returns nullable-boolean item columns
    (food_ok, education_ok, medical_ok, housing_ok, water_ok, two_assurances_three_guarantees,
    income_above_line, meets_exit_standard, is_eligible, negative_hit), the flags
    wrong_exit / missed / wrong_inclusion (False outside their population), satisfied /
    recognises (NA when unanswered), and text columns failed_items / negative_items /
    missing_items for the appeal trace (docs/methodology/indicators.md §2).
    """
    rules = rules or RuleSet.default()
    std = rules.exit_standard  # RuleError if no line
    df = data
    if "household_id" in df.columns:
        hid = df["household_id"].astype(str)
    else:
        hid = pd.Series(df.index.astype(str), index=df.index)
    if hid.duplicated().any():
        dup = hid[hid.duplicated()].iloc[0]
        raise RuleError(f"户编号重复 duplicate household_id {dup!r}: classify one interview per household.")
    idx = df.index
    col = df.get
    out: dict = {}  # columns, assembled once at the end (column inserts are slow)
    out["household_id"] = hid.to_numpy()
    status = col(status_column)
    if status is None:
        raise RuleError(f"缺少登记状态列 {status_column!r}（须取自样本/登记库，不取自问卷）/ missing "
                        f"'{status_column}': join the registry status from the sample, never from the answers.")
    out["registry_status"] = pd.Series(status.to_numpy(dtype=object), index=idx)
    size = _num(col("hh_size"), idx)
    out["hh_size"] = size
    missing = []

    # income per capita from parts (contract §3), falling back to a given value
    parts = [_num(col(p), idx) for p in rules.income_parts]
    total = sum(parts) if parts else pd.Series(np.nan, index=idx)
    ipc = total / size.where(size > 0)
    if "income_per_capita" in df.columns:
        ipc = ipc.fillna(_num(col("income_per_capita"), idx))
    out["income_per_capita"] = ipc
    out["line"] = std.line
    above = pd.Series(pd.NA, index=idx, dtype="boolean")
    known = ipc.notna()
    above[known] = (ipc[known] > std.line).to_numpy()
    out["income_above_line"] = above
    missing.append((~known, "收入 income"))

    # 两不愁三保障
    food = _all([_yes(col(c), idx) for c in rules.food_items], idx)
    medical = _all([_yes(col(c), idx) for c in rules.medical_items], idx)
    water = _all([_yes(col(c), idx) for c in rules.water_items], idx)
    housing = _in(col(rules.housing_grade_item), rules.housing_safe_grades, idx) | _yes(col(rules.housing_renovated_item), idx)
    mem = _member_flags(pd.Index(hid.to_numpy()), members, rules, survey_date)
    mem.index = idx
    education = mem["education_ok"].astype("boolean")
    out["food_ok"] = food
    out["education_ok"] = education
    out["medical_ok"] = medical
    out["housing_ok"] = housing
    out["water_ok"] = water
    tatg = food & education & medical & housing & water
    out["two_assurances_three_guarantees"] = tatg
    for name, s in (("food", food), ("education", education), ("medical", medical), ("housing", housing), ("water", water)):
        missing.append((s.isna(), f"{_SHORT[name]} {name}"))

    # income activity for households with labour (Yunnan 2018 style)
    out["has_labour"] = mem["has_labour"].astype("boolean")
    if std.income_activity_required:
        act = _any([(_num(col(c), idx) > 0).astype("boolean").mask(_num(col(c), idx).isna(), pd.NA)
                    for c in rules.income_activity_items], idx)
        activity_ok = ~out["has_labour"] | act
    else:
        activity_ok = pd.Series(True, index=idx, dtype="boolean")
    out["income_activity_ok"] = activity_ok

    meets = above & tatg & activity_ok
    out["meets_exit_standard"] = meets

    # negative list
    hits = []
    for item in rules.negative_list:
        h = _yes(col(item.column), idx)
        if item.value_column is not None and item.min_value is not None:
            v = _num(col(item.value_column), idx)
            big = (v >= item.min_value).astype("boolean").mask(v.isna(), pd.NA)
            h = h & big
        hits.append((h, item))
    neg = _any([h for h, _ in hits], idx)
    out["negative_hit"] = neg
    out["negative_items"] = _join_labels([(h, it.zh) for h, it in hits], idx)

    # optional multidimensional score
    if rules.score is not None:
        sc = pd.Series(0.0, index=idx)
        crit_src = {"housing_ok": housing, "food_ok": food, "education_ok": education, "medical_ok": medical,
                    "water_ok": water, "income_above_line": above, "labour_capacity": mem["labour_capacity"]}
        for comp in rules.score.components:
            c = crit_src.get(comp.criterion)
            if c is None:
                c = df.get(comp.criterion)
                if c is None:
                    raise RuleError(f"评分项 {comp.name} 的判据 {comp.criterion!r} 不存在 / unknown score criterion.")
            sc = sc + comp.points * pd.to_numeric(c.astype("Float64"), errors="coerce").astype(float)
        out["score"] = sc
        c1, c2 = rules.score.cutoffs
        cls = np.where(sc < c1, rules.score.classes[0], np.where(sc <= c2, rules.score.classes[1], rules.score.classes[2]))
        out["score_class"] = pd.Series(cls, index=idx, dtype="object").where(sc.notna(), None)
        low = (sc < c1).astype("boolean").mask(sc.isna(), pd.NA)
    eligible = ~meets
    if rules.score is not None and rules.score.eligibility:
        eligible = eligible | low
    out["is_eligible"] = eligible

    st = out["registry_status"]
    is_exit = st.isin(["exited", "exiting"]).fillna(False).to_numpy(bool)
    is_nr = st.eq("not_registered").fillna(False).to_numpy(bool)
    is_poor = st.eq("poor").fillna(False).to_numpy(bool)
    false = pd.Series(False, index=idx, dtype="boolean")
    out["wrong_exit"] = (~meets).where(is_exit, false)
    out["missed"] = (eligible & ~neg).where(is_nr, false)
    if rules.wrong_inclusion_income_multiple is not None:
        rich = pd.Series(pd.NA, index=idx, dtype="boolean")
        rich[known] = (ipc[known] > rules.wrong_inclusion_income_multiple * std.line).to_numpy()
    else:
        rich = pd.Series(False, index=idx, dtype="boolean")
    out["income_far_above_line"] = rich
    out["wrong_inclusion"] = (neg | rich).where(is_poor, false)
    out["satisfied"] = _in(col(rules.satisfaction_item), rules.satisfaction_positive, idx)
    out["recognises"] = _in(col(rules.recognition_item), rules.recognition_positive, idx)

    fails = [(~above, ITEM_LABELS["income"][0]), (~food, ITEM_LABELS["food"][0]),
             (~education, ITEM_LABELS["education"][0]), (~medical, ITEM_LABELS["medical"][0]),
             (~housing, ITEM_LABELS["housing"][0]), (~water, ITEM_LABELS["water"][0]),
             (~activity_ok, ITEM_LABELS["income_activity"][0])]
    out["failed_items"] = _join_labels(fails, idx)
    out["out_of_school"] = mem["out_of_school"].to_numpy()
    if members is not None:
        missing.append((~mem["roster_found"].astype(bool), "成员表 roster"))
    out["missing_items"] = _join_labels(missing, idx)
    return pd.DataFrame(out, index=idx)
