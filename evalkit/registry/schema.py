"""Canonical registry schema (建档立卡数据标准): columns, codes, Chinese/English labels.

Every reader maps its input onto these names and codes; every other module relies on
them. Administrative codes are 12-digit statistical division codes kept as strings
(province 2, city 2, county 2, township 3, village 3).
"""
from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------------------
# Codes (value sets). Each maps code -> (Chinese label, English label).
# --------------------------------------------------------------------------------------
REGISTRY_STATUS = {
    "poor": ("未脱贫户", "registered poor (not exited)"),
    "exited": ("已脱贫户", "exited"),
    "exiting": ("拟脱贫户", "planned to exit this year"),
    "not_registered": ("非建档立卡户", "not registered (ordinary household)"),
}
REGISTERED_STATUSES = ("poor", "exited", "exiting")

VILLAGE_TYPE = {
    "poor": ("贫困村", "registered poor village"),
    "non_poor": ("非贫困村", "non-poor village"),
}

MONITORING = {
    "unstable_exited": ("脱贫不稳定户", "unstable exited household"),
    "marginal": ("边缘易致贫户", "marginal household at risk"),
    "sudden_hardship": ("突发严重困难户", "household in sudden severe hardship"),
}

POVERTY_CAUSE = {
    "illness": ("因病", "illness"),
    "disability": ("因残", "disability"),
    "education": ("因学", "schooling costs"),
    "disaster": ("因灾", "disaster"),
    "lack_land": ("缺土地", "lack of land"),
    "lack_water": ("缺水", "lack of water"),
    "lack_skills": ("缺技术", "lack of skills"),
    "lack_labour": ("缺劳力", "lack of labour"),
    "lack_capital": ("缺资金", "lack of capital"),
    "poor_transport": ("交通条件落后", "poor transport"),
    "lack_motivation": ("自身发展动力不足", "lack of motivation"),
    "other": ("其他", "other"),
}

RELATION = {
    "head": ("户主", "head"),
    "spouse": ("配偶", "spouse"),
    "child": ("子女", "child"),
    "child_in_law": ("儿媳/女婿", "child-in-law"),
    "grandchild": ("孙子女", "grandchild"),
    "parent": ("父母", "parent"),
    "grandparent": ("祖父母", "grandparent"),
    "sibling": ("兄弟姐妹", "sibling"),
    "other": ("其他", "other"),
}

SEX = {"male": ("男", "male"), "female": ("女", "female")}

HEALTH = {
    "healthy": ("健康", "healthy"),
    "chronic": ("长期慢性病", "chronic illness"),
    "serious": ("大病", "serious illness"),
}

DISABILITY = {
    "none": ("无", "none"),
    "mild": ("轻度残疾", "mild disability"),
    "severe": ("重度残疾", "severe disability"),
}

LABOUR = {
    "able": ("普通劳动力", "able to work"),
    "weak": ("弱劳动力或半劳动力", "partial capacity"),
    "unable": ("丧失劳动力", "lost capacity"),
    "none": ("无劳动力", "no labour (child, student, elderly)"),
}

# Current school status (在校生状况). 6–15-year-olds must be in compulsory education
# (primary/junior), with home schooling (送教上门) and "unable for health reasons" as the
# documented exceptions (DOMAIN.md §5.6).
SCHOOLING = {
    "preschool": ("学龄前儿童", "pre-school"),
    "primary": ("小学在读", "in primary school"),
    "junior": ("初中在读", "in junior secondary"),
    "senior": ("高中或中职在读", "in senior/vocational secondary"),
    "college": ("大专及以上在读", "in college or above"),
    "home_schooling": ("送教上门", "home schooling"),
    "unable": ("因身体原因不具备学习条件", "unable to attend for health reasons"),
    "dropout": ("失学辍学", "dropped out"),
    "not_student": ("非在校生", "not a student"),
}
COMPULSORY_AGES = (6, 15)  # inclusive

CODES: dict[str, dict[str, tuple[str, str]]] = {
    "registry_status": REGISTRY_STATUS,
    "village_type": VILLAGE_TYPE,
    "monitoring": MONITORING,
    "poverty_cause": POVERTY_CAUSE,
    "relation": RELATION,
    "sex": SEX,
    "health": HEALTH,
    "disability": DISABILITY,
    "labour": LABOUR,
    "schooling": SCHOOLING,
}


# --------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str", "code", "int", "float", "date", "admin"
    zh: str
    en: str
    required: bool = False
    codes: str | None = None  # key into CODES when dtype == "code"
    sensitive: bool = False  # ID numbers, phones: masked in outputs


ADMIN_LEVELS = ("province", "city", "county", "township", "village")
# number of leading digits of the 12-digit code that identify each level
ADMIN_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}

HOUSEHOLD_COLUMNS: tuple[Column, ...] = (
    Column("household_id", "str", "户编号", "household ID", required=True),
    Column("province_code", "admin", "省代码", "province code", required=True),
    Column("city_code", "admin", "市代码", "city/prefecture code"),
    Column("county_code", "admin", "县代码", "county code", required=True),
    Column("township_code", "admin", "乡镇代码", "township code"),
    Column("village_code", "admin", "村代码", "village code", required=True),
    Column("province_name", "str", "省", "province"),
    Column("city_name", "str", "市", "city/prefecture"),
    Column("county_name", "str", "县", "county"),
    Column("township_name", "str", "乡镇", "township"),
    Column("village_name", "str", "行政村", "village"),
    Column("village_type", "code", "村类型", "village type", codes="village_type"),
    Column("registry_status", "code", "贫困户属性", "registry status", required=True,
           codes="registry_status"),
    Column("registration_year", "int", "识别年度", "year registered"),
    Column("exit_year", "int", "脱贫年度", "exit year"),
    Column("hh_size", "int", "家庭人口数", "household size (persons)", required=True),
    Column("income_per_capita", "float", "人均纯收入", "per-capita net income (元)"),
    Column("income_wage", "float", "工资性收入", "wage income (元/户)"),
    Column("income_business", "float", "生产经营性净收入", "net business income (元/户)"),
    Column("income_property", "float", "财产性收入", "property income (元/户)"),
    Column("income_transfer", "float", "转移性收入", "transfer income (元/户)"),
    Column("poverty_cause", "code", "主要致贫原因", "main poverty cause", codes="poverty_cause"),
    Column("monitoring", "code", "监测对象类别", "monitoring category", codes="monitoring"),
    Column("head_name", "str", "户主姓名", "household head name"),
    Column("head_id_number", "str", "户主身份证号", "head ID number", sensitive=True),
    Column("phone", "str", "联系电话", "phone", sensitive=True),
    Column("assisting_cadre", "str", "帮扶责任人", "assisting cadre"),
)

MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("person_id", "str", "人员编号", "person ID", required=True),
    Column("household_id", "str", "户编号", "household ID", required=True),
    Column("name", "str", "姓名", "name"),
    Column("relation", "code", "与户主关系", "relation to head", codes="relation"),
    Column("sex", "code", "性别", "sex", codes="sex"),
    Column("birth_date", "date", "出生日期", "birth date"),
    Column("id_number", "str", "身份证号", "resident ID number", sensitive=True),
    Column("health", "code", "健康状况", "health", codes="health"),
    Column("disability", "code", "残疾状况", "disability", codes="disability"),
    Column("labour", "code", "劳动能力", "labour capacity", codes="labour"),
    Column("schooling", "code", "在校生状况", "school status", codes="schooling"),
)

HOUSEHOLD = {c.name: c for c in HOUSEHOLD_COLUMNS}
MEMBER = {c.name: c for c in MEMBER_COLUMNS}
INCOME_COMPONENTS = ("income_wage", "income_business", "income_property", "income_transfer")
ADMIN_CODE_COLUMNS = tuple(f"{lvl}_code" for lvl in ADMIN_LEVELS)


def label(column: str, lang: str = "zh") -> str:
    """Label of a canonical column (household or member table) in ``zh`` or ``en``."""
    col = HOUSEHOLD.get(column) or MEMBER.get(column)
    if col is None:
        return column
    return col.zh if lang == "zh" else col.en


def code_label(column: str, code, lang: str = "zh") -> str:
    """Label of a code value, e.g. ``code_label('registry_status', 'exited') == '已脱贫户'``."""
    table = CODES.get(column, {})
    pair = table.get(code)
    if pair is None:
        return "" if code is None else str(code)
    return pair[0] if lang == "zh" else pair[1]


def admin_parent(code: str, level: str) -> str:
    """The 12-digit code of the ``level`` unit containing ``code`` (zero-padded)."""
    k = ADMIN_DIGITS[level]
    return code[:k] + "0" * (12 - k)
