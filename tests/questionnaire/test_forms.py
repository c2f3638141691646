"""The committed XLSForms: convert cleanly with pyxform, match variables.py, parse correctly."""
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import QuestionnaireError
from evalkit.questionnaire import variables as V
from evalkit.questionnaire.xlsform import read_questionnaire
from evalkit.registry import schema

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "questionnaires"


@pytest.mark.parametrize("name", ["household", "village"])
def test_pyxform_converts_without_errors_or_warnings(name):
    from pyxform.xls2xform import convert

    warnings: list = []
    result = convert(xlsform=str(FORMS / f"{name}.xlsx"), warnings=warnings)
    assert warnings == [] and result.warnings == []
    assert "<h:html" in result.xform and "jr:constraintMsg" in result.xform
    # skip logic, constraints and required flags are really in the XForm
    assert 'relevant="' in result.xform and 'constraint="' in result.xform and 'required="true()"' in result.xform


def _build_into(tmp_path):
    spec = importlib.util.spec_from_file_location("build_forms", FORMS / "build_forms.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build(tmp_path)


def test_committed_forms_are_what_the_generator_writes(tmp_path):
    for fresh in _build_into(tmp_path):
        for sheet in ("survey", "choices", "settings"):
            a = pd.read_excel(fresh, sheet_name=sheet, dtype=str)
            b = pd.read_excel(FORMS / fresh.name, sheet_name=sheet, dtype=str)
            pd.testing.assert_frame_equal(a, b, obj=f"{fresh.name}[{sheet}] is stale: run questionnaires/build_forms.py")


def test_household_form_matches_the_variable_list():
    q = read_questionnaire(FORMS / "household.xlsx")
    names = set(q.questions["name"])
    want = {v.name for v in V.HOUSEHOLD_VARS} - {"gps_lat", "gps_lon"} | {"gps"}
    assert want <= names
    assert {v.name for v in V.MEMBER_VARS} <= set(q.fields("member")["name"]) | {"member_index"}
    # every select question uses the codes of variables.py / schema.py, with both labels
    for v in (*V.HOUSEHOLD_VARS, *V.MEMBER_VARS):
        if v.kind.startswith("select"):
            table = V.CHOICE_LISTS.get(v.choices) or schema.CODES[v.choices]
            assert q.codes(v.name) == set(table), v.name
            got = q.choices[q.choices["list_name"] == v.choices].set_index("name")
            for code, (zh, en) in table.items():
                assert (got.at[code, "label_zh"], got.at[code, "label_en"]) == (zh, en)
    row = q.questions.set_index("name")
    assert row.at["income_wage", "label_zh"] == "工资性收入" and row.at["income_wage", "label_en"] == "wage income"
    assert row.at["age", "repeat"] == "member" and row.at["age", "group"] == "roster/member"
    # effective relevance includes the enclosing group's condition
    assert row.at["car_value", "relevant_full"] == \
        "(${disposition} = 'completed' and ${consent} = 'yes') and (${neg_car} = 'yes')"
    assert row.at["schooling", "relevant"] == "${age} >= 6 and ${age} <= 15"
    assert bool(row.at["hh_size", "required"]) and not bool(row.at["replaces", "required"])
    assert row.at["income_per_capita", "kind"] == "calculate"
    assert "Questionnaire 'evalkit_household'" in repr(q) and "<table" in q._repr_html_()


def test_village_form_matches_the_variable_list():
    q = read_questionnaire(FORMS / "village.xlsx")
    assert {v.name for v in V.VILLAGE_VARS} <= set(q.questions["name"])
    assert q.repeats == []


def _form(tmp_path, survey, choices=None):
    p = tmp_path / "f.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame(survey).to_excel(xw, sheet_name="survey", index=False)
        pd.DataFrame(choices or [{"list_name": "yn", "name": "yes", "label": "是"}]).to_excel(
            xw, sheet_name="choices", index=False)
    return p


@pytest.mark.parametrize("survey, needle", [
    ([{"type": "integer", "name": "a"}, {"type": "text", "name": "a"}], "row 3"),            # duplicate name
    ([{"type": "select_one colours", "name": "a"}], "choice list 'colours'"),                 # unknown list
    ([{"type": "begin group", "name": "g"}, {"type": "integer", "name": "a"}], "never closed"),
    ([{"type": "integer", "name": "a", "relevant": "${b} > 1"}], "unknown question"),
    ([{"type": "integer", "name": "a", "constraint": ". >>> 1"}], "row 2, column 'constraint'"),
    ([{"type": "integer", "name": "a", "constraint": "eval('1')"}], "function 'eval()'"),
    ([{"type": "wibble", "name": "a"}], "unknown question type"),
])
def test_malformed_forms_fail_with_the_sheet_row(tmp_path, survey, needle):
    with pytest.raises(QuestionnaireError, match=None) as exc:
        read_questionnaire(_form(tmp_path, survey))
    assert needle in str(exc.value)


def test_installed_package_without_the_folder_builds_the_forms(tmp_path, monkeypatch):
    import tempfile

    from evalkit.questionnaire import forms

    monkeypatch.setattr(forms, "REPO_FORMS", tmp_path / "absent")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    p = forms.default_form("household")
    assert p.parent.parent == tmp_path and p.exists()
    pd.testing.assert_frame_equal(pd.read_excel(p, sheet_name="survey", dtype=str),
                                  pd.read_excel(FORMS / "household.xlsx", sheet_name="survey", dtype=str))
