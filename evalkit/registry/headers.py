"""Header aliases (表头别名): which canonical column each header of a registry file means.

Built from the labels in :mod:`evalkit.registry.schema` (every canonical name, Chinese label and
English label is accepted) plus the extra spellings listed here; look-ups use a normalised key
(NFKC: full-width letters/digits/brackets → half-width; spaces removed; lower case; a trailing unit
such as "(元)" dropped). Pure Python (no numpy/pandas), so deciding how to read a file's columns
costs no heavy import. Code aliases (cell values) live in :mod:`evalkit.registry.aliases`, which
re-exports these names.
"""
from __future__ import annotations

import re
import unicodedata

from evalkit.registry import schema

# --------------------------------------------------------------------------------------
# Normalisation of keys
# --------------------------------------------------------------------------------------
_UNIT = re.compile(r"[(\[](元|人|户|元/人|元/户|元/人·年|元/年|年|个|岁)[)\]]$")
_SPACE = re.compile(r"[\s\u3000_\-·.:：]+")


def header_key(name) -> str:
    """Normalised form of a column header used for look-ups: NFKC, no spaces/underscores/
    hyphens, lower case, trailing unit in brackets removed ('人均纯收入（元）' → '人均纯收入')."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    s = _UNIT.sub("", s.replace(" ", ""))
    s = s.replace("\ufeff", "")
    return _SPACE.sub("", s)



# --------------------------------------------------------------------------------------
# Headers: canonical column -> extra accepted spellings (besides name, zh and en labels)
# --------------------------------------------------------------------------------------
HOUSEHOLD_HEADER_EXTRA: dict[str, tuple[str, ...]] = {
    "household_id": ("户编号", "户码", "家庭编号", "户号", "农户编号", "hh_id", "hhid", "户id"),
    "province_code": ("省级代码", "省份代码", "省编码", "省区划代码"),
    "city_code": ("市级代码", "地市代码", "州市代码", "市编码", "市州代码"),
    "county_code": ("县级代码", "县区代码", "区县代码", "县编码", "县(市、区)代码", "县市区代码"),
    "township_code": ("乡代码", "镇代码", "乡镇编码", "乡(镇)代码", "乡级代码"),
    "village_code": ("村编码", "行政村代码", "村级代码", "村委会代码", "行政区划代码",
                     "所在村代码", "统计用区划代码", "村行政区划代码"),
    "province_name": ("省份", "省名称", "省(区、市)", "省名"),
    "city_name": ("市州", "地市", "市(州)", "州市", "市名称", "市名"),
    "county_name": ("县区", "区县", "县(市、区)", "县市区", "县名称", "县名"),
    "township_name": ("乡", "镇", "乡(镇)", "乡镇名称", "乡镇名"),
    "village_name": ("村", "村名", "村名称", "行政村名称", "所在村"),
    "village_type": ("村属性", "是否贫困村", "贫困村属性", "村类别"),
    "registry_status": ("贫困户状态", "脱贫状态", "脱贫属性", "户类型", "户属性", "户类别",
                        "农户类型", "是否脱贫", "贫困状态", "建档立卡状态", "status"),
    "registration_year": ("识别时间", "纳入年度", "纳入年份", "建档立卡年度", "识别年份",
                          "建档年度", "贫困户识别年度"),
    "exit_year": ("脱贫年份", "脱贫时间", "脱贫年", "计划脱贫年度", "标识脱贫年度", "退出年度"),
    "hh_size": ("家庭人口", "人口数", "户人口数", "家庭人数", "家庭成员数", "户籍人口数",
                "家庭人口数(人)", "人数"),
    "income_per_capita": ("家庭人均纯收入", "人均收入", "人均可支配收入", "年人均纯收入",
                          "人均纯收入(元)"),
    "income_wage": ("工资收入", "务工收入", "工资性收入(元)"),
    "income_business": ("生产经营性收入", "经营性收入", "经营性净收入", "生产经营性纯收入"),
    "income_property": ("财产收入", "财产性净收入"),
    "income_transfer": ("转移收入", "转移性净收入", "政策性收入"),
    "poverty_cause": ("致贫原因", "主要致贫原因", "主致贫原因", "cause"),
    "monitoring": ("监测对象类别", "监测类型", "监测户类型", "监测对象类型", "监测户类别",
                   "防返贫监测类别"),
    "head_name": ("户主", "户主名称", "户主姓名"),
    "head_id_number": ("户主身份证号", "户主身份证号码", "户主证件号码", "户主公民身份号码",
                       "身份证号", "身份证号码", "证件号码"),
    "phone": ("联系电话", "电话", "电话号码", "手机", "手机号", "手机号码", "联系方式"),
    "assisting_cadre": ("帮扶责任人", "帮扶人", "帮扶干部", "结对帮扶人", "帮扶责任人姓名"),
}

MEMBER_HEADER_EXTRA: dict[str, tuple[str, ...]] = {
    "person_id": ("人编号", "人员编号", "成员编号", "个人编号", "人员id", "pid"),
    "household_id": ("户编号", "户码", "家庭编号", "户号", "所属户编号", "hh_id", "hhid"),
    "name": ("姓名", "成员姓名", "人员姓名"),
    "relation": ("与户主关系", "与户主的关系", "关系"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证"),
    "health": ("健康状况", "身体状况", "健康状态"),
    "disability": ("残疾状况", "残疾情况", "残疾等级", "是否残疾"),
    "labour": ("劳动能力", "劳动技能", "劳动力状况"),
    "schooling": ("在校生状况", "在校情况", "就学状况", "在校状况", "在校生情况", "就学情况"),
}


def _build_header_map(columns, extra) -> dict[str, str]:
    out: dict[str, str] = {}
    # extras first, then labels/names: the canonical spellings win when both apply
    for name, aliases in extra.items():
        for a in aliases:
            out[header_key(a)] = name
    for col in columns:
        for a in (col.zh, col.en):
            out[header_key(a)] = col.name
    for col in columns:  # the canonical name itself always wins
        out[header_key(col.name)] = col.name
    return out


HOUSEHOLD_HEADERS: dict[str, str] = _build_header_map(schema.HOUSEHOLD_COLUMNS, HOUSEHOLD_HEADER_EXTRA)
MEMBER_HEADERS: dict[str, str] = _build_header_map(schema.MEMBER_COLUMNS, MEMBER_HEADER_EXTRA)
_HEADERS = {"households": HOUSEHOLD_HEADERS, "members": MEMBER_HEADERS}


def accepted_headers(column: str, table: str = "households") -> list[str]:
    """Every header accepted for canonical ``column`` (canonical name first, then the
    Chinese label and the other spellings) — quoted in 'missing column' errors."""
    cols = schema.HOUSEHOLD if table == "households" else schema.MEMBER
    extra = HOUSEHOLD_HEADER_EXTRA if table == "households" else MEMBER_HEADER_EXTRA
    col = cols[column]
    seen: list[str] = []
    for a in (col.name, col.zh, *extra.get(column, ()), col.en):
        if a not in seen:
            seen.append(a)
    return seen


def map_headers(columns, table: str = "households") -> tuple[dict, list]:
    """Map the headers of one file onto canonical names.

    Returns ``(rename, duplicates)``: ``rename`` maps each original header that has a
    canonical meaning to its canonical name (unknown headers are left out, i.e. kept as
    they are); ``duplicates`` lists ``(header, canonical, first_header)`` for headers that
    mean a column already taken by an earlier header (kept under their own name).
    """
    lookup = _HEADERS[table]
    rename: dict = {}
    taken: dict[str, str] = {}
    duplicates: list = []
    # exact canonical names first so that 'household_id' beats '户编号' in the same file
    ordered = sorted(columns, key=lambda c: 0 if str(c) in lookup.values() else 1)
    for c in ordered:
        canon = lookup.get(header_key(c))
        if canon is None:
            continue
        if canon in taken:
            duplicates.append((c, canon, taken[canon]))
            continue
        taken[canon] = c
        if c != canon:
            rename[c] = canon
    return rename, duplicates


#: column kinds held as pandas Categorical in a canonical registry (few distinct values)
CATEGORICAL_KINDS = ("admin", "code")
_TABLES = {"households": schema.HOUSEHOLD_COLUMNS, "members": schema.MEMBER_COLUMNS}


def dictionary_columns(names, table: str = "households") -> list:
    """The headers among ``names`` that map to admin-code or code columns: a Parquet reader reads
    them as dictionaries (one small dictionary and an integer code per row)."""
    rename, _ = map_headers(names, table)
    kinds = {c.name: c.dtype for c in _TABLES[table]}
    return [h for h in names if kinds.get(rename.get(h, h)) in CATEGORICAL_KINDS]
