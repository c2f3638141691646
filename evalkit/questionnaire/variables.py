"""Canonical variables of the household questionnaire (入户问卷变量).

One list shared by the XLSForm (``questionnaires/household.xlsx``), the reader
(``read_responses`` returns these names, group prefixes stripped), the fieldwork
simulator (answers from the synthetic truth) and the classification rules. Change a
name here and everything follows; never hard-code a variable name elsewhere without
importing it from here.
"""
from __future__ import annotations

from dataclasses import dataclass

YES_NO = {"yes": ("是", "yes"), "no": ("否", "no")}

SATISFACTION_5 = {
    "very_satisfied": ("非常满意", "very satisfied"),
    "satisfied": ("满意", "satisfied"),
    "neutral": ("一般", "neutral"),
    "dissatisfied": ("不满意", "dissatisfied"),
    "very_dissatisfied": ("非常不满意", "very dissatisfied"),
}
RECOGNITION_4 = {
    "recognise": ("认可", "recognise"),
    "basically": ("基本认可", "basically recognise"),
    "not_recognise": ("不认可", "do not recognise"),
    "unsure": ("说不清", "cannot say"),
}
HOUSING_APPRAISAL = {
    "A": ("A级（安全）", "grade A (safe)"),
    "B": ("B级（基本安全）", "grade B (basically safe)"),
    "C": ("C级（局部危房）", "grade C (partly dangerous)"),
    "D": ("D级（整体危房）", "grade D (dangerous)"),
    "not_appraised": ("未鉴定", "not appraised"),
}
DISPOSITION = {
    "completed": ("完成访问", "completed"),
    "refused": ("拒访", "refused"),
    "absent": ("外出/无人在家", "absent"),
    "not_found": ("查无此户", "household not found"),
    "other": ("其他原因未访", "other non-interview"),
    "replaced": ("已由备选户替换", "replaced by a reserve household"),
}
ASSIST_MEASURES = {
    "industry": ("产业扶贫", "industry support"),
    "employment": ("就业扶贫", "employment support"),
    "relocation": ("易地扶贫搬迁", "relocation"),
    "education": ("教育扶贫", "education support"),
    "medical": ("健康扶贫", "health support"),
    "social_security": ("兜底保障", "social safety net"),
    "finance": ("金融扶贫（小额信贷）", "microcredit"),
    "other": ("其他", "other"),
    "none": ("无", "none"),
}

CHOICE_LISTS: dict[str, dict[str, tuple[str, str]]] = {
    "yes_no": YES_NO,
    "satisfaction5": SATISFACTION_5,
    "recognition4": RECOGNITION_4,
    "housing_appraisal": HOUSING_APPRAISAL,
    "disposition": DISPOSITION,
    "assist_measures": ASSIST_MEASURES,
}


@dataclass(frozen=True)
class Var:
    name: str
    kind: str  # text, integer, decimal, select_one, select_multiple, datetime, geopoint, calculate
    zh: str
    en: str
    choices: str | None = None  # key of CHOICE_LISTS (or of schema.CODES for roster codes)
    group: str = ""


# Household-level variables, in questionnaire order. Income amounts are household totals
# for the last 12 months in 元; business income is net of production costs.
HOUSEHOLD_VARS: tuple[Var, ...] = (
    Var("household_id", "text", "户编号", "household ID", group="id"),
    Var("enumerator", "text", "调查员", "enumerator", group="id"),
    Var("team", "text", "调查组", "team", group="id"),
    Var("start", "datetime", "开始时间", "start time", group="id"),
    Var("end", "datetime", "结束时间", "end time", group="id"),
    Var("gps_lat", "decimal", "纬度", "GPS latitude", group="id"),
    Var("gps_lon", "decimal", "经度", "GPS longitude", group="id"),
    Var("hh_type", "select_one", "户类型（按抽样名单）", "household type (as on the sample list)",
        "registry_status", group="id"),
    Var("replaces", "text", "所替换的原样本户编号", "household ID this reserve interview replaces", group="id"),
    Var("disposition", "select_one", "访问结果", "interview disposition", "disposition", group="id"),
    Var("consent", "select_one", "是否同意接受访问", "consent", "yes_no", group="id"),
    Var("hh_size", "integer", "家庭人口数", "household size", group="roster"),
    Var("income_wage", "decimal", "工资性收入", "wage income", group="income"),
    Var("income_business", "decimal", "生产经营性净收入", "net business income", group="income"),
    Var("income_property", "decimal", "财产性收入", "property income", group="income"),
    Var("income_dibao", "decimal", "低保金", "dibao (minimum living allowance)", group="income"),
    Var("income_pension", "decimal", "养老金", "pension", group="income"),
    Var("income_subsidy", "decimal", "各类补贴", "subsidies", group="income"),
    Var("income_other_transfer", "decimal", "其他转移性收入", "other transfers", group="income"),
    Var("income_transfer", "calculate", "转移性收入", "transfer income", group="income"),
    Var("income_total", "calculate", "家庭纯收入", "household net income", group="income"),
    Var("income_per_capita", "calculate", "人均纯收入", "per-capita net income", group="income"),
    Var("food_ok", "select_one", "平常能吃饱", "enough food", "yes_no", group="two_assurances"),
    Var("food_protein", "select_one", "能随时吃到肉蛋奶或豆制品", "protein when needed", "yes_no", group="two_assurances"),
    Var("clothing_ok", "select_one", "四季有应季衣被", "seasonal clothing and bedding", "yes_no", group="two_assurances"),
    Var("medical_insured", "select_one", "全家参加基本医疗保险", "all members in basic medical insurance", "yes_no", group="three_guarantees"),
    Var("medical_access", "select_one", "看病就医有保障", "access to medical care", "yes_no", group="three_guarantees"),
    Var("housing_appraisal", "select_one", "住房安全鉴定等级", "housing safety grade", "housing_appraisal", group="three_guarantees"),
    Var("housing_renovated", "select_one", "危房已改造或已搬迁", "dangerous house renovated or relocated", "yes_no", group="three_guarantees"),
    Var("water_quantity", "select_one", "饮水水量达标", "enough water", "yes_no", group="water"),
    Var("water_quality", "select_one", "饮水水质达标", "water quality", "yes_no", group="water"),
    Var("water_access", "select_one", "取水方便", "convenient access to water", "yes_no", group="water"),
    Var("water_reliability", "select_one", "供水有保证", "reliable supply", "yes_no", group="water"),
    Var("neg_payroll", "select_one", "家庭成员为财政供养人员", "member on public payroll", "yes_no", group="negative_list"),
    Var("neg_cadre", "select_one", "家庭成员为现任村干部", "member is village cadre", "yes_no", group="negative_list"),
    Var("neg_car", "select_one", "家庭拥有小汽车或工程机械", "owns a car or machinery", "yes_no", group="negative_list"),
    Var("car_value", "decimal", "车辆或机械价值（元）", "vehicle value (元)", group="negative_list"),
    Var("neg_property", "select_one", "在城镇购有商品房", "owns urban commercial housing", "yes_no", group="negative_list"),
    Var("neg_business", "select_one", "家庭成员经营公司或企业", "member runs a company", "yes_no", group="negative_list"),
    Var("assist_visited", "select_one", "帮扶责任人到户帮扶", "assisting cadre visited", "yes_no", group="assistance"),
    Var("assist_measures", "select_multiple", "享受的帮扶措施", "assistance received", "assist_measures", group="assistance"),
    Var("knows_card", "select_one", "有扶贫明白卡", "holds the household card (明白卡)", "yes_no", group="process"),
    Var("knows_procedure", "select_one", "知道评议公示程序", "knows the review and notice procedure", "yes_no", group="process"),
    Var("satisfaction", "select_one", "对帮扶工作的总体满意度", "overall satisfaction with assistance", "satisfaction5", group="attitudes"),
    Var("sat_team", "select_one", "对驻村工作队的满意度", "satisfaction with village work team", "satisfaction5", group="attitudes"),
    Var("sat_cadre", "select_one", "对帮扶责任人的满意度", "satisfaction with assisting cadre", "satisfaction5", group="attitudes"),
    Var("recognition", "select_one", "对脱贫攻坚成效和脱贫结果的认可", "recognition of results", "recognition4", group="attitudes"),
    Var("sat_identification", "select_one", "对本村贫困户识别结果满意", "satisfied with who was identified as poor",
        "yes_no", group="attitudes"),
)

# Roster (repeat group ``member``): one row per person; codes from evalkit.registry.schema.
MEMBER_VARS: tuple[Var, ...] = (
    Var("member_index", "integer", "成员序号", "member number"),
    Var("name", "text", "姓名", "name"),
    Var("relation", "select_one", "与户主关系", "relation to head", "relation"),
    Var("sex", "select_one", "性别", "sex", "sex"),
    Var("age", "integer", "年龄", "age"),
    Var("health", "select_one", "健康状况", "health", "health"),
    Var("disability", "select_one", "残疾状况", "disability", "disability"),
    Var("labour", "select_one", "劳动能力", "labour capacity", "labour"),
    Var("schooling", "select_one", "在校生状况", "school status", "schooling"),
    Var("work_away", "select_one", "外出务工", "works away from home", "yes_no"),
)

HOUSEHOLD = {v.name: v for v in HOUSEHOLD_VARS}
MEMBER = {v.name: v for v in MEMBER_VARS}
TRANSFER_PARTS = ("income_dibao", "income_pension", "income_subsidy", "income_other_transfer")
INCOME_PARTS = ("income_wage", "income_business", "income_property", *TRANSFER_PARTS)
WATER_ITEMS = ("water_quantity", "water_quality", "water_access", "water_reliability")
NEGATIVE_ITEMS = ("neg_payroll", "neg_cadre", "neg_car", "neg_property", "neg_business")

# Village-cadre questionnaire (村问卷): one row per sampled village.
VILLAGE_VARS: tuple[Var, ...] = (
    Var("village_code", "text", "村代码（12位）", "village code (12 digits)", group="id"),
    Var("respondent_role", "select_one", "受访人职务", "respondent's role", "village_role", group="id"),
    Var("enumerator", "text", "调查员", "enumerator", group="id"),
    Var("team", "text", "调查组", "team", group="id"),
    Var("start", "datetime", "开始时间", "start time", group="id"),
    Var("end", "datetime", "结束时间", "end time", group="id"),
    Var("road_hardened", "select_one", "通硬化路", "paved road to the village", "yes_no", group="infrastructure"),
    Var("bus_access", "select_one", "通客车", "bus service", "yes_no", group="infrastructure"),
    Var("power_grid", "select_one", "通动力电", "three-phase power", "yes_no", group="infrastructure"),
    Var("broadband", "select_one", "通宽带", "broadband internet", "yes_no", group="infrastructure"),
    Var("piped_water", "select_one", "集中供水", "piped water supply", "yes_no", group="infrastructure"),
    Var("clinic", "select_one", "有标准化卫生室", "standard village clinic", "yes_no", group="infrastructure"),
    Var("village_doctor", "select_one", "有合格村医", "qualified village doctor", "yes_no", group="infrastructure"),
    Var("collective_income", "decimal", "上年村集体经济收入（元）", "collective income last year (元)", group="economy"),
    Var("n_households", "integer", "全村总户数", "households in the village", group="counts"),
    Var("n_persons", "integer", "全村总人口", "persons in the village", group="counts"),
    Var("n_registered_households", "integer", "建档立卡户数", "registered households", group="counts"),
    Var("n_poor_households", "integer", "未脱贫户数", "registered poor households not yet exited", group="counts"),
    Var("n_exited_households", "integer", "已脱贫户数（含拟脱贫）", "exited households (incl. exiting)", group="counts"),
    Var("work_team", "select_one", "有驻村工作队", "resident work team", "yes_no", group="assistance_team"),
    Var("work_team_size", "integer", "驻村工作队人数", "work team size", group="assistance_team"),
    Var("first_secretary", "select_one", "有驻村第一书记", "resident first secretary", "yes_no", group="assistance_team"),
)
VILLAGE_ROLE = {
    "secretary": ("村党支部书记", "party branch secretary"),
    "director": ("村委会主任", "village committee director"),
    "accountant": ("村会计/文书", "village accountant or clerk"),
    "other_cadre": ("其他村干部", "other village cadre"),
}
CHOICE_LISTS["village_role"] = VILLAGE_ROLE
VILLAGE = {v.name: v for v in VILLAGE_VARS}
