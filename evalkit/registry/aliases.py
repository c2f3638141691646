"""Header and code aliases (表头与代码别名): map what registries really contain onto the
canonical schema of :mod:`evalkit.registry.schema`.

Two kinds of maps:

* **headers** — Chinese (or English) column names such as 户编号, 户主姓名, 人均纯收入,
  贫困户属性, 脱贫年度 → canonical column names (``household_id`` …);
* **codes** — cell values such as 已脱贫 / 脱贫户 / 已脱贫户 → ``exited``.

Both are built from the labels in ``schema`` (every canonical name, Chinese label and
English label is accepted) plus the extra spellings listed here, so a label changed in
``schema`` is picked up automatically. Lookups are done on a normalised key (NFKC: full-width
letters/digits/brackets → half-width; spaces removed; lower case; a trailing unit such as
"(元)" dropped), and code mapping works on the *unique* values of a column, so a column of
ten million cells costs one factorisation, not ten million dictionary look-ups.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from evalkit.registry import schema
# the header maps live in evalkit.registry.headers (pure Python); re-exported here with the code maps
from evalkit.registry.headers import (  # noqa: F401
    _HEADERS, HOUSEHOLD_HEADER_EXTRA, HOUSEHOLD_HEADERS, MEMBER_HEADER_EXTRA, MEMBER_HEADERS, _SPACE, _UNIT,
    accepted_headers, header_key, map_headers)


# --------------------------------------------------------------------------------------
# Normalisation of cell values
# --------------------------------------------------------------------------------------
def code_key(value) -> str | None:
    """Normalised form of a cell value used for code look-ups (None for missing).
    Integral numbers read as floats become their integer text: 1.0 → '1'."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if value is pd.NA or value is pd.NaT:
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    s = re.sub(r"\s+", "", s)
    return s or None


# --------------------------------------------------------------------------------------
# Codes: column -> {extra spelling: code} (besides the code, its zh and en labels)
# --------------------------------------------------------------------------------------
MISSING = None  # an alias mapped to MISSING means "no value" (e.g. 无 for monitoring)

#: cell texts that mean "no value" in any code or number column (after code_key)
MISSING_TOKENS = frozenset({"na", "n/a", "nan", "null", "-", "--", "—", "/", "\\", "空", "暂无"})

CODE_EXTRA: dict[str, dict[str, str | None]] = {
    "registry_status": {
        "已脱贫": "exited", "脱贫户": "exited", "脱贫": "exited", "已脱贫户": "exited",
        "标识脱贫": "exited", "稳定脱贫": "exited", "已脱贫(稳定)": "exited", "脱贫人口": "exited",
        "未脱贫": "poor", "贫困户": "poor", "未脱贫户": "poor", "贫困": "poor",
        "返贫": "poor", "返贫户": "poor", "建档立卡贫困户": "poor", "在档贫困户": "poor",
        "拟脱贫": "exiting", "拟脱贫户": "exiting", "预脱贫": "exiting", "计划脱贫": "exiting",
        "当年脱贫": "exiting",
        "一般农户": "not_registered", "非建档立卡户": "not_registered",
        "非建档立卡": "not_registered", "非贫困户": "not_registered", "一般户": "not_registered",
        "普通农户": "not_registered",
    },
    "village_type": {
        "贫困村": "poor", "建档立卡贫困村": "poor", "深度贫困村": "poor", "重点帮扶村": "poor",
        "已出列贫困村": "poor", "出列村": "poor", "是": "poor",
        "非贫困村": "non_poor", "一般村": "non_poor", "否": "non_poor",
    },
    "monitoring": {
        "脱贫不稳定户": "unstable_exited", "脱贫不稳定": "unstable_exited",
        "边缘易致贫户": "marginal", "边缘易致贫": "marginal", "边缘户": "marginal",
        "边缘贫困户": "marginal",
        "突发严重困难户": "sudden_hardship", "严重困难户": "sudden_hardship",
        "突发严重困难": "sudden_hardship",
        "无": MISSING, "否": MISSING, "非监测对象": MISSING, "不是": MISSING, "/": MISSING,
    },
    "poverty_cause": {
        "缺劳动力": "lack_labour", "交通落后": "poor_transport", "交通条件差": "poor_transport",
        "自身发展力不足": "lack_motivation", "内生动力不足": "lack_motivation",
        "因学致贫": "education", "上学": "education", "缺技能": "lack_skills",
    },
    "relation": {
        "本人": "head", "户主本人": "head",
        "妻": "spouse", "妻子": "spouse", "夫": "spouse", "丈夫": "spouse", "夫妻": "spouse",
        "子": "child", "女": "child", "儿子": "child", "女儿": "child", "长子": "child",
        "次子": "child", "三子": "child", "长女": "child", "次女": "child", "三女": "child",
        "养子": "child", "养女": "child", "继子": "child", "继女": "child", "独生子": "child",
        "独生女": "child", "子女": "child",
        "儿媳": "child_in_law", "女婿": "child_in_law", "媳妇": "child_in_law",
        "孙子": "grandchild", "孙女": "grandchild", "外孙子": "grandchild", "外孙女": "grandchild",
        "外孙": "grandchild", "孙子女": "grandchild", "曾孙子": "grandchild", "曾孙女": "grandchild",
        "父亲": "parent", "母亲": "parent", "父": "parent", "母": "parent", "公公": "parent",
        "婆婆": "parent", "岳父": "parent", "岳母": "parent",
        "祖父": "grandparent", "祖母": "grandparent", "外祖父": "grandparent",
        "外祖母": "grandparent", "爷爷": "grandparent", "奶奶": "grandparent",
        "兄": "sibling", "弟": "sibling", "姐": "sibling", "妹": "sibling", "哥哥": "sibling",
        "弟弟": "sibling", "姐姐": "sibling", "妹妹": "sibling", "兄弟": "sibling",
        "姐妹": "sibling",
    },
    # GB/T 2261.1: 1 male, 2 female (also the ID-number convention: odd = male)
    "sex": {"男性": "male", "m": "male", "1": "male", "女性": "female", "f": "female",
            "2": "female"},
    "health": {"慢性病": "chronic", "患有慢性病": "chronic", "长期慢性病患者": "chronic",
               "患有大病": "serious", "大病患者": "serious", "重病": "serious",
               "良好": "healthy", "正常": "healthy"},
    "disability": {"否": "none", "健全": "none", "非残疾": "none", "不是": "none",
                   "一级残疾": "severe", "二级残疾": "severe", "一级": "severe", "二级": "severe",
                   "三级残疾": "mild", "四级残疾": "mild", "三级": "mild", "四级": "mild",
                   "轻度": "mild", "重度": "severe"},
    "labour": {"劳动力": "able", "技能劳动力": "able", "有劳动能力": "able",
               "弱劳动力": "weak", "半劳动力": "weak", "弱劳动力或半劳动力": "weak",
               "丧失劳动能力": "unable", "无劳动能力": "none"},
    "schooling": {
        "学龄前": "preschool", "学前": "preschool", "学前教育": "preschool", "幼儿园": "preschool",
        "小学": "primary", "在读小学": "primary", "初中": "junior", "在读初中": "junior",
        "高中": "senior", "中职": "senior", "高中或中职": "senior", "中专": "senior",
        "大专": "college", "本科": "college", "高职": "college", "研究生": "college",
        "大学": "college", "大专及以上": "college",
        "失学": "dropout", "辍学": "dropout", "失学或辍学": "dropout",
        "非在校生": "not_student", "不在校": "not_student", "非在校": "not_student",
        "否": "not_student",
    },
}

# Grade-style school values of the national poverty information system (七年级, 高中二年级 …)
_GRADE_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"^(小学)?[一二三四五六1-6]年级$"), "primary"),
    (re.compile(r"^(初中)?[七八九7-9]年级$|^初[一二三]$|^初中[一二三1-3]年级$"), "junior"),
    (re.compile(r"^(高中|中职|中专|普高|职高)[一二三1-3]年级$|^高[一二三]$"), "senior"),
    (re.compile(r"^(高职|大专|本科|研究生|大学)[一二三四五1-5]?年级?$"), "college"),
)


def _build_code_map(column: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for alias, code in CODE_EXTRA.get(column, {}).items():
        out[code_key(alias)] = code
    for code, (zh, en) in schema.CODES[column].items():
        for a in (zh, en, code):
            out[code_key(a)] = code
    if column == "poverty_cause":  # 因病致贫 … : label + 致贫
        for code, (zh, _en) in schema.POVERTY_CAUSE.items():
            out.setdefault(code_key(zh + "致贫"), code)
    return out


CODE_MAPS: dict[str, dict[str, str | None]] = {c: _build_code_map(c) for c in schema.CODES}


def accepted_codes(column: str) -> str:
    """Readable list of the accepted values of a code column, for error messages:
    '未脱贫户/未脱贫/贫困户… → poor; …'."""
    groups: dict[str, list[str]] = {}
    for code, (zh, _en) in schema.CODES[column].items():
        groups[code] = [zh]
    for alias, code in CODE_EXTRA.get(column, {}).items():
        if code is not None and alias not in groups[code]:
            groups[code].append(alias)
    return "; ".join(f"{'/'.join(v[:5])} → {k}" for k, v in groups.items())


def _lookup_code(column: str, key: str | None):
    """Canonical code for one normalised key; ``(found, code)``."""
    if key is None:
        return True, None
    table = CODE_MAPS[column]
    if key in table:  # before the missing tokens: 'none'/无 is a code of disability
        return True, table[key]
    if key in MISSING_TOKENS:
        return True, None
    if column == "relation" and key.startswith("之") and key[1:] in table:  # 之子, 之女 …
        return True, table[key[1:]]
    if column == "schooling":
        for pattern, code in _GRADE_PATTERNS:
            if pattern.match(key):
                return True, code
    return False, None


def map_codes(values: pd.Series, column: str) -> tuple[pd.Series, np.ndarray]:
    """Map a column of raw values to canonical codes of ``column`` (a key of ``schema.CODES``).

    Returns ``(codes, unknown)``: ``codes`` is a string Series (missing where the value is
    missing, means 'none' — e.g. 无 for monitoring — or is unknown) and ``unknown`` a boolean
    array marking non-missing values that matched no alias (the caller reports them).
    Works on the unique values only; when every value is already canonical the input is
    returned as it is (no copy).
    """
    canon = list(schema.CODES[column])
    if len(values) == 0:
        return values.astype(_str_dtype()), np.zeros(0, bool)
    from evalkit.registry.validate import in_codes

    if _is_stringlike(values) and bool(in_codes(values, canon).all()):
        return values, np.zeros(len(values), bool)
    if isinstance(values.dtype, pd.CategoricalDtype):  # e.g. Parquet dictionary columns
        codes, uniques = values.array.codes, values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques), dtype=object)
    bad = np.zeros(len(uniques), dtype=bool)
    for i, u in enumerate(uniques):  # loop over distinct values only
        found, code = _lookup_code(column, code_key(u))
        mapped[i] = code
        bad[i] = not found
    take = np.where(codes < 0, len(uniques), codes)
    out = pd.Series(_take_text(list(mapped) + [None], take), index=values.index, name=values.name)
    unknown = np.append(bad, False)[take]
    return out, unknown


def _take_text(values: list, idx: np.ndarray):
    """String array ``values[idx]`` built in pyarrow (one C-level gather; pandas' own take
    on a small string array is ~10× slower for millions of rows)."""
    dtype = _str_dtype()
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        if dtype is object:
            raise ImportError
        small = pa.array(values, type=pa.large_string())
        return pd.Series(pc.take(small, pa.array(idx)).to_pandas()).astype(dtype).array
    except ImportError:
        return pd.array(values, dtype=dtype).take(idx)


def _str_dtype():
    """The pandas dtype used for text columns: the default string dtype ('str') on
    pandas ≥ 3, plain object on older pandas."""
    try:
        return pd.StringDtype(na_value=np.nan)
    except TypeError:  # pragma: no cover - pandas < 2.1
        return object


def _is_stringlike(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object
