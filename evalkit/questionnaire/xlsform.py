"""Read an XLSForm questionnaire (问卷读取) into tidy tables the validator can use.

``read_questionnaire(path)`` parses the survey / choices / settings sheets, resolves group
and repeat nesting (a question's effective ``relevant`` is its own condition AND-ed with
every enclosing group's), checks names, choice lists and expression syntax, and returns a
:class:`Questionnaire`. Expressions are parsed by ``evalkit.questionnaire.expressions``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from evalkit.errors import QuestionnaireError
from evalkit.questionnaire import expressions

# XLSForm question types that carry an answer in exports, mapped to the validator's kind
_KINDS = {
    "integer": "integer", "int": "integer", "decimal": "decimal", "range": "decimal",
    "text": "text", "string": "text", "barcode": "text",
    "select_one": "select_one", "select1": "select_one", "select_multiple": "select_multiple",
    "select_one_from_file": "text", "select_multiple_from_file": "text",
    "date": "date", "datetime": "datetime", "dateTime": "datetime", "time": "time",
    "geopoint": "geopoint", "geotrace": "text", "geoshape": "text",
    "calculate": "calculate", "hidden": "text", "acknowledge": "text",
    "start": "datetime", "end": "datetime", "today": "date", "deviceid": "text",
    "username": "text", "phonenumber": "text", "audit": "none",
    "image": "text", "audio": "text", "video": "text", "file": "text", "note": "none",
}
QUESTION_COLUMNS = ["name", "type", "kind", "list_name", "label_zh", "label_en", "required",
                    "relevant", "relevant_full", "constraint", "constraint_message",
                    "calculation", "group", "repeat", "row"]


def _lang_column(columns, base: str, lang: str) -> str | None:
    """The column holding ``base`` (label, hint, …) in ``lang`` ('zh' or 'en'), if any."""
    pats = {"zh": r"(\(zh\)|中文|chinese)", "en": r"(\(en\)|english)"}[lang]
    for c in columns:
        low = str(c).lower()
        if low.startswith(base + "::") and re.search(pats, low):
            return c
    return base if base in columns else None


def _cell(row, col) -> str:
    if col is None:
        return ""
    v = row.get(col)
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v).strip()


class Questionnaire:
    """A parsed XLSForm.

    ``questions``: one row per question (columns ``QUESTION_COLUMNS``; ``group`` is the
    slash-separated group path, ``repeat`` the enclosing repeat's name or '').
    ``choices``: list_name, name, label_zh, label_en. ``groups``: name, kind (group/repeat),
    path, relevant, repeat_count, row. ``settings``: dict from the settings sheet.
    """

    def __init__(self, questions: pd.DataFrame, choices: pd.DataFrame, groups: pd.DataFrame,
                 settings: dict, path=None):
        self.questions = questions
        self.choices = choices
        self.groups = groups
        self.settings = settings
        self.path = None if path is None else Path(path)
        self._codes = {ln: set(g["name"]) for ln, g in choices.groupby("list_name", sort=False)}
        self._lookups: dict = {}

    def lookup(self, list_name: str) -> dict:
        """{code or Chinese/English label: code} for one choice list (labels map back to codes)."""
        if list_name not in self._lookups:
            ch = self.choices[self.choices["list_name"] == list_name]
            table = {}
            for col in ("label_en", "label_zh", "name"):  # codes win over labels
                table.update({str(k): c for k, c in zip(ch[col], ch["name"]) if str(k)})
            self._lookups[list_name] = table
        return self._lookups[list_name]

    # ------------------------------------------------------------------ look-ups
    @property
    def form_id(self) -> str:
        return str(self.settings.get("form_id") or (self.path.stem if self.path else "form"))

    @property
    def repeats(self) -> list[str]:
        return list(self.groups.loc[self.groups["kind"] == "repeat", "name"])

    def fields(self, repeat: str = "") -> pd.DataFrame:
        """Questions that hold answers at the top level (``repeat=''``) or in one repeat."""
        q = self.questions
        return q[(q["repeat"] == repeat) & (q["kind"] != "none")]

    def codes(self, name: str) -> set[str]:
        """Allowed codes of the select question ``name``."""
        ln = self.questions.set_index("name").at[name, "list_name"]
        return self._codes.get(ln, set())

    def choice_label(self, list_name: str, code: str, lang: str = "zh") -> str:
        c = self.choices
        hit = c[(c["list_name"] == list_name) & (c["name"] == code)]
        return str(code) if hit.empty else hit.iloc[0][f"label_{lang}"]

    def __len__(self) -> int:
        return int((self.questions["kind"] != "none").sum())

    def __repr__(self) -> str:
        title = self.settings.get("form_title", self.form_id)
        return (f"<Questionnaire {self.form_id!r} ({title}): {len(self)} questions, "
                f"{len(self.repeats)} repeat group(s) {self.repeats}, {len(self._codes)} choice lists>")

    def _repr_html_(self) -> str:
        cols = ["name", "type", "label_zh", "label_en", "required", "relevant", "constraint", "group"]
        return f"<p>{self!r}</p>" + self.questions[cols].to_html(index=False, max_rows=80)


_CACHE: dict = {}


def read_questionnaire(path) -> Questionnaire:
    """Parse the XLSForm at ``path`` (xlsx) into a :class:`Questionnaire`.

    Raises ``QuestionnaireError`` naming the sheet row for duplicate names, unknown choice
    lists, unbalanced groups, bad expressions or references to unknown questions. Parsed
    forms are cached by (path, size, modification time); treat them as read-only.
    """
    p = Path(path)
    if not p.exists():
        raise QuestionnaireError(f"{p}: questionnaire file not found (找不到问卷文件).")
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = _read(p)
    return _CACHE[key]


def _read(p: Path) -> Questionnaire:
    try:
        sheets = pd.read_excel(p, sheet_name=None, dtype=str)
    except Exception as exc:
        raise QuestionnaireError(f"{p.name}: cannot be read as an XLSForm workbook ({exc}).") from exc
    if "survey" not in sheets:
        raise QuestionnaireError(f"{p.name}: no 'survey' sheet; an XLSForm needs survey and choices sheets.")
    survey = sheets["survey"]
    choices_sheet = sheets.get("choices", pd.DataFrame(columns=["list_name", "name"]))
    settings_sheet = sheets.get("settings")
    settings = {}
    if settings_sheet is not None and len(settings_sheet):
        settings = {k: v for k, v in settings_sheet.iloc[0].items() if isinstance(v, str)}

    # ---------------------------------------------------------------- choices
    cz, ce = _lang_column(choices_sheet.columns, "label", "zh"), _lang_column(choices_sheet.columns, "label", "en")
    crows = []
    for i, row in choices_sheet.iterrows():
        ln, nm = _cell(row, "list_name"), _cell(row, "name")
        if not ln and not nm:
            continue
        if not ln or not nm:
            raise QuestionnaireError(f"{p.name}[choices], row {i + 2}: list_name and name are both required.")
        crows.append({"list_name": ln, "name": nm, "label_zh": _cell(row, cz), "label_en": _cell(row, ce)})
    choices = pd.DataFrame(crows, columns=["list_name", "name", "label_zh", "label_en"])
    dup = choices.duplicated(["list_name", "name"])
    if dup.any():
        r = choices[dup].iloc[0]
        raise QuestionnaireError(f"{p.name}[choices]: code {r['name']!r} appears twice in list {r['list_name']!r}.")
    lists = set(choices["list_name"])

    # ---------------------------------------------------------------- survey
    cols = survey.columns
    lz, le = _lang_column(cols, "label", "zh"), _lang_column(cols, "label", "en")
    mz = _lang_column(cols, "constraint_message", "zh")
    qrows, grows, stack = [], [], []  # stack of (kind, name, relevant)
    for i, row in survey.iterrows():
        sheet_row = i + 2
        typ = _cell(row, "type")
        if not typ:
            continue
        name = _cell(row, "name")
        low = typ.lower().replace("_", " ")
        if low in ("begin group", "begin repeat"):
            kind = "group" if low == "begin group" else "repeat"
            if not name:
                raise QuestionnaireError(f"{p.name}[survey], row {sheet_row}: a {typ} needs a name.")
            path = "/".join([s[1] for s in stack] + [name])
            grows.append({"name": name, "kind": kind, "path": path, "relevant": _cell(row, "relevant"),
                          "repeat_count": _cell(row, "repeat_count"), "row": sheet_row})
            stack.append((kind, name, _cell(row, "relevant")))
            continue
        if low in ("end group", "end repeat"):
            kind = "group" if low == "end group" else "repeat"
            if not stack or stack[-1][0] != kind:
                raise QuestionnaireError(f"{p.name}[survey], row {sheet_row}: '{typ}' without a matching begin.")
            stack.pop()
            continue
        parts = typ.split()
        base = parts[0]
        list_name = ""
        if base in ("select_one", "select_multiple", "select1"):
            if len(parts) < 2:
                raise QuestionnaireError(f"{p.name}[survey], row {sheet_row}: '{typ}' needs a choice list name.")
            list_name = parts[1]
            if list_name not in lists:
                raise QuestionnaireError(
                    f"{p.name}[survey], row {sheet_row}, question '{name}': choice list '{list_name}' "
                    "is not on the choices sheet (选项表中没有该列表).")
        if base not in _KINDS:
            raise QuestionnaireError(f"{p.name}[survey], row {sheet_row}: unknown question type '{typ}'.")
        if not name:
            raise QuestionnaireError(f"{p.name}[survey], row {sheet_row}: question of type '{typ}' has no name.")
        own_rel = _cell(row, "relevant")
        rels = [s[2] for s in stack if s[2]] + ([own_rel] if own_rel else [])
        repeat = next((s[1] for s in reversed(stack) if s[0] == "repeat"), "")
        req = _cell(row, "required")
        qrows.append({
            "name": name, "type": typ, "kind": _KINDS[base], "list_name": list_name,
            "label_zh": _cell(row, lz), "label_en": _cell(row, le),
            "required": req.lower() in ("yes", "true", "true()", "1"),
            "relevant": own_rel,
            "relevant_full": " and ".join(f"({r})" for r in rels) if len(rels) > 1 else (rels[0] if rels else ""),
            "constraint": _cell(row, "constraint"),
            "constraint_message": _cell(row, mz),
            "calculation": _cell(row, "calculation"),
            "group": "/".join(s[1] for s in stack), "repeat": repeat, "row": sheet_row,
        })
    if stack:
        raise QuestionnaireError(f"{p.name}[survey]: group/repeat '{stack[-1][1]}' is never closed (缺少 end {stack[-1][0]}).")
    questions = pd.DataFrame(qrows, columns=QUESTION_COLUMNS)
    groups = pd.DataFrame(grows, columns=["name", "kind", "path", "relevant", "repeat_count", "row"])
    dup = questions["name"].duplicated() | questions["name"].isin(groups["name"])
    if dup.any():
        r = questions[dup].iloc[0]
        raise QuestionnaireError(f"{p.name}[survey], row {r['row']}: the name '{r['name']}' is used twice.")

    # ---------------------------------------------------------------- expressions
    known = set(questions["name"])
    for _, q in questions.iterrows():
        for col in ("relevant", "constraint", "calculation"):
            expr = q[col]
            if not expr:
                continue
            try:
                refs = expressions.references(expr)
            except QuestionnaireError as exc:
                raise QuestionnaireError(f"{p.name}[survey], row {q['row']}, column '{col}' of '{q['name']}': {exc}") from None
            unknown = refs - known
            if unknown:
                raise QuestionnaireError(
                    f"{p.name}[survey], row {q['row']}, column '{col}' of '{q['name']}': refers to unknown "
                    f"question(s) {sorted(unknown)} (引用了不存在的题目).")
    for _, g in groups.iterrows():
        for col in ("relevant", "repeat_count"):
            if g[col]:
                unknown = expressions.references(g[col]) - known
                if unknown:
                    raise QuestionnaireError(f"{p.name}[survey], row {g['row']}: {col} of group '{g['name']}' "
                                             f"refers to unknown question(s) {sorted(unknown)}.")
    return Questionnaire(questions, choices, groups, settings, path=p)
