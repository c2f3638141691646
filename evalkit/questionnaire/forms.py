"""Build the XLSForms (household.xlsx, village.xlsx) from evalkit.questionnaire.variables.

The variable list (names, types, labels, choice codes) lives in ``variables.py``; this module
adds only the form logic (groups, skip logic, constraints, required flags), so the form and
the code that reads it can never drift. ``questionnaires/build_forms.py`` calls :func:`build`
to write the committed copies; an installed package without that folder builds them on
demand (:func:`default_form`). tests/questionnaire/test_forms.py fails when the committed
xlsx are stale.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalkit.questionnaire import variables as V
from evalkit.registry import schema

REPO_FORMS = Path(__file__).resolve().parents[2] / "questionnaires"
VERSION = "2026112201"
ZH, EN = "label::中文 (zh)", "label::English (en)"
MZH, MEN = "constraint_message::中文 (zh)", "constraint_message::English (en)"
HZH, HEN = "hint::中文 (zh)", "hint::English (en)"

INTERVIEWED = "${disposition} = 'completed' and ${consent} = 'yes'"
REGISTERED = "${hh_type} != 'not_registered'"

GROUPS = {  # group name -> (zh, en, relevant)
    "id": ("识别信息与知情同意", "Identification and consent", ""),
    "roster": ("家庭成员", "Household members", INTERVIEWED),
    "income": ("家庭收入（过去12个月，元）", "Income (last 12 months, yuan)", INTERVIEWED),
    "two_assurances": ("两不愁", "Food and clothing", INTERVIEWED),
    "three_guarantees": ("三保障", "Education, health and housing", INTERVIEWED),
    "water": ("饮水安全", "Drinking water", INTERVIEWED),
    "negative_list": ("错评核查（负面清单）", "Negative-list checks", INTERVIEWED),
    "assistance": ("帮扶措施", "Assistance received", INTERVIEWED + " and " + REGISTERED),
    "process": ("程序知晓", "Process knowledge", INTERVIEWED),
    "attitudes": ("满意度与认可度", "Satisfaction and recognition", INTERVIEWED),
}
VILLAGE_GROUPS = {
    "id": ("识别信息", "Identification", ""),
    "infrastructure": ("基础设施", "Infrastructure", ""),
    "economy": ("村集体经济", "Collective economy", ""),
    "counts": ("人口与建档立卡户", "Population and registered households", ""),
    "assistance_team": ("驻村帮扶", "Resident assistance team", ""),
}


def _range(lo, hi):
    return (f". >= {lo} and . <= {hi}", f"应在 {lo} 到 {hi} 之间", f"must be between {lo} and {hi}")


MONEY = _range(0, 2000000)
# name -> dict(relevant=, constraint=(expr, zh, en), required=bool, hint=(zh, en))
LOGIC: dict[str, dict] = {
    "household_id": dict(hint=("按抽样名单预填", "preloaded from the sample list")),
    "replaces": dict(required=False, relevant="${disposition} = 'completed'",
                     hint=("仅备选户填写：被替换的原样本户编号", "reserve households only: the ID of the household replaced")),
    "consent": dict(relevant="${disposition} = 'completed'"),
    "hh_size": dict(constraint=_range(1, 20)),
    "income_wage": dict(constraint=MONEY),
    "income_business": dict(constraint=_range(-1000000, 2000000),
                            hint=("扣除生产经营成本后的净收入，可为负", "net of production costs; may be negative")),
    "income_property": dict(constraint=MONEY),
    "income_dibao": dict(constraint=MONEY),
    "income_pension": dict(constraint=MONEY),
    "income_subsidy": dict(constraint=MONEY),
    "income_other_transfer": dict(constraint=MONEY),
    "housing_renovated": dict(relevant="${housing_appraisal} != 'A' and ${housing_appraisal} != 'B'"),
    "car_value": dict(relevant="${neg_car} = 'yes'", constraint=_range(0, 5000000)),
    "assist_measures": dict(constraint=("not(selected(., 'none') and count-selected(.) > 1)",
                                        "选了“无”就不能再选其他措施", "'none' cannot be combined with other measures")),
    "knows_card": dict(relevant=REGISTERED),
    "satisfaction": dict(relevant=REGISTERED),
    "sat_team": dict(relevant=REGISTERED),
    "sat_cadre": dict(relevant=REGISTERED),
    # roster
    "age": dict(constraint=_range(0, 110)),
    "schooling": dict(relevant="${age} >= 6 and ${age} <= 15"),
    "work_away": dict(relevant="${age} >= 16"),
    "name": dict(constraint=("string-length(.) >= 1", "姓名不能为空", "name cannot be empty")),
    # village
    "village_code": dict(constraint=("string-length(.) = 12", "村代码应为12位", "must have 12 digits")),
    "collective_income": dict(constraint=_range(0, 100000000)),
    "n_households": dict(constraint=_range(1, 20000)),
    "n_persons": dict(constraint=(". >= ${n_households} and . <= 100000", "人口不少于户数",
                                  "at least the number of households")),
    "n_registered_households": dict(constraint=(". >= 0 and . <= ${n_households}", "不能超过总户数",
                                                "cannot exceed the number of households")),
    "n_poor_households": dict(constraint=(". >= 0 and . <= ${n_registered_households}", "不能超过建档立卡户数",
                                          "cannot exceed registered households")),
    "n_exited_households": dict(constraint=(". >= 0 and . + ${n_poor_households} <= ${n_registered_households}",
                                            "未脱贫户与已脱贫户之和不能超过建档立卡户数",
                                            "poor plus exited cannot exceed registered households")),
    "work_team_size": dict(relevant="${work_team} = 'yes'", constraint=_range(1, 20)),
}
CALCULATIONS = {
    "income_transfer": " + ".join(f"${{{n}}}" for n in V.TRANSFER_PARTS),
    "income_total": " + ".join(f"${{{n}}}" for n in ("income_wage", "income_business", "income_property",
                                                       "income_transfer")),
    "income_per_capita": "${income_total} div ${hh_size}",
    "member_index": "position(..)",
}
METADATA = {"start": "start", "end": "end"}  # canonical name -> XLSForm metadata type


def _question(var: V.Var) -> dict:
    logic = LOGIC.get(var.name, {})
    if var.name in METADATA:
        return {"type": METADATA[var.name], "name": var.name}
    row = {"name": var.name, ZH: var.zh, EN: var.en}
    if var.kind == "calculate" or var.name in CALCULATIONS:
        row["type"] = "calculate"
        row["calculation"] = CALCULATIONS[var.name]
        row.pop(ZH), row.pop(EN)
        return row
    if var.kind in ("select_one", "select_multiple"):
        row["type"] = f"{var.kind} {var.choices}"
    elif var.kind == "datetime":
        row["type"] = "dateTime"
    else:
        row["type"] = var.kind
    row["required"] = "no" if logic.get("required") is False else "yes"
    if logic.get("relevant"):
        row["relevant"] = logic["relevant"]
    if logic.get("constraint"):
        expr, zh, en = logic["constraint"]
        row["constraint"], row[MZH], row[MEN] = expr, f"{zh} / {en}", f"{en} / {zh}"
    if logic.get("hint"):
        row[HZH], row[HEN] = logic["hint"]
    return row


def _choices(names) -> list[dict]:
    rows = []
    for ln in names:
        table = V.CHOICE_LISTS.get(ln) or schema.CODES[ln]
        rows += [{"list_name": ln, "name": code, ZH: zh, EN: en} for code, (zh, en) in table.items()]
    return rows


def household_rows() -> list[dict]:
    """Survey-sheet rows of the household form, in questionnaire order."""
    rows, current = [], None
    for var in V.HOUSEHOLD_VARS:
        if var.group != current:
            if current is not None:
                rows.append({"type": "end group", "name": current})
            current = var.group
            zh, en, rel = GROUPS[current]
            rows.append({"type": "begin group", "name": current, ZH: zh, EN: en, "relevant": rel})
        if var.name == "gps_lat":  # one geopoint question exports both coordinates
            rows.append({"type": "geopoint", "name": "gps", ZH: "GPS定位（在户门口）",
                         EN: "GPS location (at the door)", "required": "no"})
            continue
        if var.name == "gps_lon":
            continue
        rows.append(_question(var))
        if var.name == "hh_size":
            rows.append({"type": "begin repeat", "name": "member", ZH: "家庭成员", EN: "Household member",
                         "repeat_count": "${hh_size}"})
            rows += [_question(m) for m in V.MEMBER_VARS]
            rows.append({"type": "end repeat", "name": "member"})
    rows.append({"type": "end group", "name": current})
    return rows


def village_rows() -> list[dict]:
    rows, current = [], None
    for var in V.VILLAGE_VARS:
        if var.group != current:
            if current is not None:
                rows.append({"type": "end group", "name": current})
            current = var.group
            zh, en, rel = VILLAGE_GROUPS[current]
            rows.append({"type": "begin group", "name": current, ZH: zh, EN: en, "relevant": rel})
        rows.append(_question(var))
    rows.append({"type": "end group", "name": current})
    return rows


def _write(path: Path, survey: list[dict], choice_lists, settings: dict) -> Path:
    cols = ["type", "name", ZH, EN, HZH, HEN, "required", "relevant", "constraint", MZH, MEN,
            "calculation", "repeat_count"]
    sv = pd.DataFrame(survey).reindex(columns=cols).astype(object).fillna("")
    ch = pd.DataFrame(_choices(choice_lists)).reindex(columns=["list_name", "name", ZH, EN])
    st = pd.DataFrame([settings])
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        sv.to_excel(xw, sheet_name="survey", index=False)
        ch.to_excel(xw, sheet_name="choices", index=False)
        st.to_excel(xw, sheet_name="settings", index=False)
    # fixed timestamps so that rebuilding gives identical bytes
    import openpyxl
    wb = openpyxl.load_workbook(path)
    import datetime as _dt
    stamp = _dt.datetime(2026, 11, 22)
    wb.properties.created = wb.properties.modified = stamp
    wb.save(path)
    return path


def household_choice_lists() -> list[str]:
    used = [v.choices for v in (*V.HOUSEHOLD_VARS, *V.MEMBER_VARS) if v.choices]
    return list(dict.fromkeys(used))


def build(out_dir=REPO_FORMS) -> list[Path]:
    """Write both forms into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hh = _write(out_dir / "household.xlsx", household_rows(), household_choice_lists(), {
        "form_title": "建档立卡户入户调查问卷 / Household questionnaire", "form_id": "evalkit_household",
        "version": VERSION, "default_language": "中文 (zh)", "instance_name": "concat(${household_id}, '-', ${enumerator})",
    })
    vl = _write(out_dir / "village.xlsx", village_rows(),
                list(dict.fromkeys(v.choices for v in V.VILLAGE_VARS if v.choices)), {
        "form_title": "村级调查问卷（村干部）/ Village questionnaire", "form_id": "evalkit_village",
        "version": VERSION, "default_language": "中文 (zh)",
    })
    return [hh, vl]


def default_form(kind: str = "household") -> Path:
    """Path of the bundled form ``kind`` ('household' or 'village'): the repository copy when
    present, else one generated once into a per-version cache folder."""
    p = REPO_FORMS / f"{kind}.xlsx"
    if p.exists():
        return p
    import tempfile

    from evalkit import __version__

    cache = Path(tempfile.gettempdir()) / f"evalkit_forms_{__version__}_{VERSION}"
    if not (cache / f"{kind}.xlsx").exists():
        build(cache)
    return cache / f"{kind}.xlsx"
