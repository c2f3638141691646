"""Read questionnaire exports, validate them against the form, link them to the sample (数据导入与校验).

``read_responses(paths, form, sample)`` accepts ODK Central / KoboToolbox exports (CSV or
XLSX; group-prefixed columns; repeat groups joined by KEY/PARENT_KEY or
_index/_parent_index), SPSS .sav / Stata .dta (value labels mapped back to codes) and plain
Excel in the form's variable names, in UTF-8, UTF-8-BOM or GBK. Every input row ends up in
exactly one place — ``.data`` (completed interviews), ``.nonresponse`` (non-interview
records) or ``.rejected`` — and every problem is one row of ``.issues`` naming file, row
(header = row 1), column, value and a bilingual message. Rules: docs/methodology/questionnaire.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit import tabular
from evalkit.errors import ResponseError
from evalkit.questionnaire import variables as V
from evalkit.questionnaire.expressions import Evaluator

ISSUE_COLUMNS = ["file", "row", "household_id", "column", "value", "severity", "check", "message"]
REJECT_COLUMNS = ["file", "row", "table", "household_id", "key", "reason", "message"]
NONRESPONSE_COLUMNS = ["household_id", "disposition", "role", "cell", "village_code", "county_code",
                       "registry_status", "replaced_by", "file", "row"]
# Export bookkeeping columns (ODK Central, Kobo, Briefcase): kept aside, never validated
META = {"KEY", "PARENT_KEY", "SubmissionDate", "SubmitterID", "SubmitterName", "AttachmentsPresent",
        "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion",
        "instanceID", "instanceName", "deviceid", "today", "username", "audit",
        "_id", "_uuid", "_submission_time", "_index", "_parent_index", "_parent_table_name",
        "_submission__id", "_submission__uuid", "_submission__submission_time", "_validation_status",
        "_notes", "_status", "_submitted_by", "__version__", "_tags", "_version_", "_xform_id_string",
        "formhub/uuid", "_attachments", "_geolocation", "_duration", "_submission__validation_status",
        "_submission__notes", "_submission__status", "_submission__submitted_by", "_submission___version__",
        "_submission__tags"}
_GEO_PARTS = {"latitude": "lat", "longitude": "lon", "altitude": "alt", "accuracy": "acc", "precision": "acc"}
NON_INTERVIEW = ("refused", "absent", "not_found", "other", "replaced")
DEFAULT_FORM = Path(__file__).resolve().parents[2] / "questionnaires" / "household.xlsx"
DEFAULT_VILLAGE_FORM = DEFAULT_FORM.with_name("village.xlsx")


def _default(kind: str) -> Path:
    from evalkit.questionnaire.forms import default_form

    return default_form(kind)
LOCAL_TZ = "Asia/Shanghai"


def _issues(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    if frame is None or not len(frame):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})
    return frame.reindex(columns=ISSUE_COLUMNS)


def _as_text(col: pd.Series) -> pd.Series:
    """Answers as stripped strings (object dtype) with None for empty; whole floats from
    SAV/DTA lose their '.0' so that code 1.0 reads as '1'."""
    if pd.api.types.is_bool_dtype(col):
        col = col.astype(object)
    if pd.api.types.is_numeric_dtype(col):
        num = col.astype(float)
        ok = num.notna().to_numpy()
        out = np.full(len(num), None, dtype=object)
        whole = ok & (np.mod(num.fillna(0).to_numpy(), 1) == 0)
        out[whole] = num[whole].astype(np.int64).astype(str).to_numpy(object)
        out[ok & ~whole] = num[ok & ~whole].map(repr).to_numpy(object)
        return pd.Series(out, index=col.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object).where(col.notna(), None)
    if pd.api.types.is_string_dtype(col) and col.dtype != object:
        st = col.str.strip()  # Arrow-backed strings: vectorised in C
        return st.where(st.notna() & (st != ""))
    s = col.astype(object)
    nn = s.notna().to_numpy()
    if nn.any() and not all(isinstance(x, str) for x in s.to_numpy()[nn][:50]):
        s = s.copy()
        s[nn] = s[nn].astype(str)
    st = s.str.strip()
    return st.where(nn & (st != "").to_numpy(), None).astype(object)


# ====================================================================== column names
def canonical_name(header: str, select_multiple: dict[str, set]) -> tuple[str, str]:
    """Map an export header to (canonical name, role) with role in
    {'field', 'meta', 'geo', 'dummy'}: strips ODK/Kobo group prefixes (``grp/var``,
    ``grp-var``), turns geopoint parts (``gps-Latitude``, ``_gps_latitude``) into
    ``gps_lat``/``gps_lon`` and recognises Kobo select_multiple dummies (``var/code``)."""
    h = str(header).strip()
    if h in META or h.startswith("meta-") or h.startswith("meta/") or h.startswith("__"):
        return (h.split("-")[-1].split("/")[-1] if h.startswith("meta") else h), "meta"
    m = re.fullmatch(r"_(.+)_(latitude|longitude|altitude|precision)", h)
    if m:
        return f"{m.group(1)}_{_GEO_PARTS[m.group(2)]}", "geo"
    parts = [p for p in re.split(r"[/\-]", h) if p != ""]
    if not parts:
        return h, "field"
    last = parts[-1]
    if len(parts) >= 2 and last.lower() in _GEO_PARTS:
        return f"{parts[-2]}_{_GEO_PARTS[last.lower()]}", "geo"
    if len(parts) >= 2 and parts[-2] in select_multiple and last in select_multiple[parts[-2]]:
        return f"{parts[-2]}/{last}", "dummy"
    if h.startswith("_"):
        return h, "meta"
    return last, "field"


@dataclass
class _Part:
    """One input table after column mapping: ``frame`` has canonical columns plus
    ``_file``, ``_row``, ``_key``, ``_parent`` bookkeeping columns."""

    frame: pd.DataFrame
    kind: str  # household | member | village
    file: str
    headers: dict  # canonical -> original header


def _standardise(tf: tabular.TableFile, form, village_form, issues: list) -> _Part | None:
    """Rename columns to canonical names, map labels to codes later; classify the table."""
    df = tf.frame
    fname = tf.name
    sm = {}
    for f in (form, village_form):
        if f is not None:
            for _, q in f.questions[f.questions["kind"] == "select_multiple"].iterrows():
                sm[q["name"]] = f._codes.get(q["list_name"], set())
    labels_to_name = {}
    for f in (form, village_form):
        if f is not None:
            for _, q in f.questions.iterrows():
                for lab in (q["label_zh"], q["label_en"]):
                    if lab:
                        labels_to_name.setdefault(lab, q["name"])
    cols, headers, dummies, meta = {}, {}, {}, {}
    known = set(form.questions["name"]) if form is not None else set()
    if village_form is not None:
        known |= set(village_form.questions["name"])
    for h in df.columns:
        if str(h) in labels_to_name and str(h) not in known:
            name, role = labels_to_name[str(h)], "field"
        else:
            name, role = canonical_name(h, sm)
        if role == "dummy":
            dummies[name] = h
            continue
        if role == "meta":
            meta[name] = h
            continue
        if name in cols:
            issues.append({"file": fname, "row": pd.NA, "household_id": pd.NA, "column": str(h),
                           "value": pd.NA, "severity": "warning", "check": "duplicate_column",
                           "message": f"列名重复：'{h}' 与 '{headers[name]}' 都对应变量 {name}，只使用第一列 / "
                                      f"columns '{headers[name]}' and '{h}' both map to '{name}'; the first is used."})
            continue
        cols[name], headers[name] = h, str(h)
    out = pd.DataFrame({name: df[h] for name, h in cols.items()}, index=df.index)
    # geopoint: one 'gps' column "lat lon alt acc" (Kobo/xlsx) -> gps_lat / gps_lon
    if "gps" in out.columns:
        parts = _as_text(out.pop("gps")).astype("string").str.split(r"\s+", expand=True, regex=True)
        for j, suffix in enumerate(("lat", "lon")):
            if f"gps_{suffix}" not in out.columns:
                out[f"gps_{suffix}"] = parts[j] if j in parts.columns else None
                headers[f"gps_{suffix}"] = headers.get("gps", "gps")
    # Kobo select_multiple dummies: rebuild the answer when the main column is missing
    for q in {k.split("/")[0] for k in dummies}:
        if q not in out.columns:
            codes = [k.split("/")[1] for k in dummies if k.startswith(q + "/")]
            joined = pd.Series("", index=df.index, dtype=object)
            for c in codes:  # loop over the few codes; each step is vectorised over rows
                on = _as_text(df[dummies[f"{q}/{c}"]]).isin(["1", "True", "true", "yes"]).to_numpy()
                joined = joined + np.where(on, c + " ", "")
            joined = joined.str.strip()
            out[q] = joined.where(joined != "", None)
            headers[q] = f"{q}/…"
    for c in out.columns:
        out[c] = _as_text(out[c])
    first_row = 1 if tf.path.suffix.lower() in (".sav", ".zsav", ".dta", ".parquet", ".pq") else 2
    out["_file"] = fname
    out["_row"] = np.arange(len(df), dtype=np.int64) + first_row
    key = _as_text(df[meta["KEY"]]) if "KEY" in meta else (
        _as_text(df[meta["instanceID"]]) if "instanceID" in meta else (
            _as_text(df[meta["_uuid"]]) if "_uuid" in meta else None))
    out["_key"] = key if key is not None else None
    if "_index" in meta:
        out["_index"] = fname.split("[")[0] + "#" + _as_text(df[meta["_index"]]).astype(str)
    parent = None
    if "PARENT_KEY" in meta:
        parent = _as_text(df[meta["PARENT_KEY"]])
    elif "_parent_index" in meta:
        parent = tf.path.name + "#" + _as_text(df[meta["_parent_index"]]).astype(str)
    out["_parent"] = parent if parent is not None else None
    if "submission_time" not in out.columns:
        for m in ("SubmissionDate", "_submission_time"):
            if m in meta:
                out["_submitted"] = _as_text(df[meta[m]])
    # ---------------------------------------------------------------- classify
    member_only = {v.name for v in V.MEMBER_VARS} - {v.name for v in V.HOUSEHOLD_VARS} - {"member_index"}
    has = set(out.columns)
    if parent is not None or ("household_id" in has and has & member_only and "disposition" not in has):
        kind = "member"
    elif "household_id" in has:
        kind = "household"
    elif "village_code" in has:
        kind = "village"
    else:
        raise ResponseError(
            f"{fname}: 无法识别该表（缺少 household_id / PARENT_KEY / village_code 列）/ cannot tell whether "
            "this table holds households, roster members or villages: it has no 'household_id', "
            "'PARENT_KEY'/'_parent_index' or 'village_code' column. Export it with the form's variable names.")
    known_here = set(form.questions["name"]) if kind != "village" else (
        set(village_form.questions["name"]) if village_form is not None else set())
    known_here |= {"gps_lat", "gps_lon", "gps_alt", "gps_acc", "household_id"}
    for c in sorted(has - known_here - {"_file", "_row", "_key", "_parent", "_index", "_submitted"}):
        issues.append({"file": fname, "row": pd.NA, "household_id": pd.NA, "column": headers.get(c, c),
                       "value": pd.NA, "severity": "info", "check": "unknown_column",
                       "message": f"问卷中没有此变量，已忽略 / column '{headers.get(c, c)}' is not a question of "
                                  "the form and was ignored."})
    return _Part(out, kind, fname, headers)


# ====================================================================== validation
def _map_unique(s: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct value only (answers repeat a handful of codes), then
    broadcast back with numpy indexing: vectorised over rows, Python only over distinct values."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if not len(uniq):
        return pd.Series(np.full(len(s), None, dtype=object), index=s.index)
    mapped = np.empty(len(uniq) + 1, dtype=object)
    mapped[:-1] = [fn(str(u)) for u in uniq]
    mapped[-1] = None
    return pd.Series(mapped[np.where(codes >= 0, codes, len(uniq))], index=s.index, dtype=object)


def _parse_datetime(s: pd.Series) -> pd.Series:
    """ISO timestamps with an offset become local (Asia/Shanghai) wall time; naive stay as given."""
    txt = s.astype("string")
    tz = txt.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False).to_numpy(bool)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if tz.any():
        t = pd.to_datetime(txt[tz], errors="coerce", utc=True, format="ISO8601")
        out[tz] = t.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).astype("datetime64[ns]")
    if (~tz).any():
        out[~tz] = pd.to_datetime(txt[~tz], errors="coerce", format="mixed").astype("datetime64[ns]")
    return out


def _issue_frame(frame, mask, column, value, severity, check, message, headers) -> pd.DataFrame:
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if not len(idx):
        return None
    sub = frame.iloc[idx]
    vals = value.iloc[idx] if isinstance(value, pd.Series) else pd.Series([value] * len(idx))
    return pd.DataFrame({
        "file": sub["_file"].to_numpy(), "row": sub["_row"].to_numpy(),
        "household_id": sub["household_id"].to_numpy() if "household_id" in sub else None,
        "column": [headers.get((f, column), column) for f in sub["_file"].to_numpy()],
        "value": vals.to_numpy(object), "severity": severity, "check": check,
        "message": message if isinstance(message, str) else np.asarray(message)[idx],
    })


def validate_answers(frame: pd.DataFrame, questions: pd.DataFrame, form, headers: dict,
                     context: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list]:
    """Type-check, map codes, apply relevance, required flags and constraints — one
    vectorised pass per question. Returns the cleaned frame (invalid answers set to NA,
    typed columns) and a list of issue frames. ``context`` holds parent (household)
    answers for roster questions whose relevance refers to them."""
    out = frame.copy()
    found = []
    numeric = set(form.questions.loc[form.questions["kind"].isin(["integer", "decimal"]), "name"])
    raw = {}
    # ---- 1. types and codes
    qs = list(questions.to_dict("records"))
    for q in qs:
        name, kind = q["name"], q["kind"]
        if kind in ("calculate", "none"):
            continue
        if name == "gps":
            names = [("gps_lat", -90, 90), ("gps_lon", -180, 180)]
            for n, lo, hi in names:
                if n not in out.columns:
                    out[n] = np.nan
                    continue
                s = out[n]
                num = pd.to_numeric(s, errors="coerce")
                bad = s.notna() & (num.isna() | (num < lo) | (num > hi))
                found.append(_issue_frame(out, bad, n, s, "error", "type",
                                          f"GPS坐标无效 / invalid GPS coordinate (must be {lo}…{hi})", headers))
                out[n] = num.where(~bad)
            continue
        if name not in out.columns:
            out[name] = None
        s = out[name]
        raw[name] = s
        present = s.notna()
        if kind in ("integer", "decimal"):
            num = pd.to_numeric(s, errors="coerce")
            bad = present & num.isna()
            msg = "不是数字 / not a number"
            if kind == "integer":
                frac = present & num.notna() & (num % 1 != 0)
                bad = bad | frac
                msg = "不是整数 / not a whole number"
            found.append(_issue_frame(out, bad, name, s, "error", "type", msg, headers))
            out[name] = num.where(~bad).astype(float)
        elif kind == "select_one":
            table = form.lookup(q["list_name"])
            mapped = _map_unique(s, table.get)
            bad = present & mapped.isna()
            found.append(_issue_frame(out, bad, name, s, "error", "code",
                                      f"不是有效选项 / not a valid code of list '{q['list_name']}' "
                                      f"(allowed: {', '.join(sorted(set(table.values())))})", headers))
            out[name] = mapped.where(~bad).astype(object)
        elif kind == "select_multiple":
            table = form.lookup(q["list_name"])

            def multi(v, table=table):
                if v in table:
                    return table[v]
                toks = [table.get(t) for t in v.split()]
                return None if any(t is None for t in toks) else " ".join(toks)

            cleaned = _map_unique(s, multi)
            bad = present & cleaned.isna()
            found.append(_issue_frame(out, bad, name, s, "error", "code",
                                      f"含无效选项 / contains a code not in list '{q['list_name']}'", headers))
            out[name] = cleaned.where(~bad)
        elif kind in ("date", "datetime", "time"):
            if kind == "time":
                continue
            t = _parse_datetime(s)
            bad = present & t.isna()
            found.append(_issue_frame(out, bad, name, s, "error", "type", "不是有效日期时间 / not a valid date/time",
                                      headers))
            out[name] = t.dt.normalize() if kind == "date" else t
        # text and others stay as strings
    # ---- 2. relevance and required flags, in form order: clearing a non-relevant answer
    #         cascades to the questions whose relevance depends on it (as on the tablet)
    cols = list(out.columns)
    if context is not None:
        out = out.join(context[[c for c in context.columns if c not in out.columns]])
    ev = Evaluator(out, numeric=numeric)
    checked = []
    for q in qs:
        name, kind = q["name"], q["kind"]
        if kind in ("calculate", "none") or name == "gps":
            continue
        val = out[name]
        answered = val.notna().to_numpy()
        rel = ev.boolean(q["relevant_full"]) if q["relevant_full"] else np.ones(len(out), bool)
        extra = answered & ~rel
        if extra.any():
            found.append(_issue_frame(out, extra, name, raw.get(name, val), "warning", "not_relevant",
                                      "按跳转逻辑不应回答此题，答案已清除 / answered although the skip logic makes the "
                                      "question not applicable; the answer was removed", headers))
            out.loc[extra, name] = np.nan if kind in ("integer", "decimal") else None
            ev._cache.pop(name, None)  # later expressions see the cleared column
            answered = answered & rel
        if q["required"]:
            # an answer removed as invalid above is already reported; flag only true blanks
            blank = rel & ~answered & raw.get(name, val).isna().to_numpy()
            found.append(_issue_frame(out, blank, name, raw.get(name, val), "error", "required",
                                      "必答题缺失 / required answer is missing", headers))
        if q["constraint"]:
            checked.append((q, answered))
    # ---- 3. constraints, all evaluated on the same answers (one bad value does not make the
    #         constraints of other questions that refer to it fail), then the failures are cleared
    fails = []
    for q, answered in checked:
        fail = answered & ~ev.boolean(q["constraint"], current=q["name"])
        if fail.any():
            msg = q["constraint_message"] or f"不满足约束条件 / fails the constraint {q['constraint']}"
            found.append(_issue_frame(out, fail, q["name"], raw.get(q["name"], out[q["name"]]), "error",
                                      "constraint", f"{msg} [{q['constraint']}]", headers))
            fails.append((q, fail))
    for q, fail in fails:
        out.loc[fail, q["name"]] = np.nan if q["kind"] in ("integer", "decimal") else None
    out = out[cols]
    return out, [f for f in found if f is not None]


# ====================================================================== Responses
@dataclass
class IngestSummary:
    """Reconciliation of rows read against rows accepted/rejected, and response rates."""

    counts: pd.DataFrame    # table, rows_read, accepted, non_interview, rejected, balanced
    response: pd.DataFrame  # by stratum: sampled, completed, response_rate

    @property
    def ok(self) -> bool:
        return bool(self.counts["balanced"].all())

    def __repr__(self) -> str:
        return ("读入行数核对 / rows read = accepted + non-interview + rejected:\n"
                + self.counts.to_string(index=False)
                + "\n\n应答率 / response rate by stratum:\n"
                + (self.response.to_string(index=False) if len(self.response) else "(no sample linked)"))

    def _repr_html_(self) -> str:
        return ("<h4>读入行数核对 / reconciliation</h4>" + self.counts.to_html(index=False)
                + "<h4>应答率 / response rate</h4>" + self.response.to_html(index=False))


class Responses:
    """Validated interviews linked to the sample (see docs/contracts.md §6)."""

    def __init__(self, data, members, issues, rejected, nonresponse, counts, form=None, sample=None,
                 villages=None, files=()):
        self.data = data
        self.members = members
        self.issues = issues
        self.rejected = rejected
        self.nonresponse = nonresponse
        self.villages = villages
        self.form = form
        self.sample = sample
        self.files = list(files)
        self._counts = counts
        self._design = None

    @property
    def design(self):
        """SurveyDesign over ``.data`` with nonresponse-adjusted weights (``weight_final``)."""
        if self._design is None:
            if self.sample is not None and hasattr(self.sample, "respondent_design"):
                self._design = self.sample.respondent_design(list(self.data["household_id"]))
                return self._design
            from evalkit.estimation.design import SurveyDesign

            if "weight_final" not in self.data.columns:
                raise ResponseError("no design: read_responses was called without a sample, so the "
                                    "interviews carry no weights (请提供抽样结果 sample=...).")
            strata = [c for c in self.data.columns if c.startswith("stratum_")][:1] or None
            psu = [c for c in self.data.columns if c.startswith("unit_")][:1] or None
            self._design = SurveyDesign(self.data, weight="weight_final",
                                        strata=strata[0] if strata else None, psu=psu[0] if psu else None)
        return self._design

    def response_rates(self, by=None) -> pd.DataFrame:
        """Completed interviews ÷ eligible sampled households, by ``by`` (default: the
        final-stage sampling cell, else county)."""
        nr = self.nonresponse
        d = self.data
        if self.sample is None or not len(d) and not len(nr):
            return pd.DataFrame(columns=["stratum", "sampled", "completed", "response_rate"])
        if by is None:
            by = "cell" if "cell" in d.columns or "cell" in nr.columns else "county_code"
        comp = d.groupby(by, dropna=False).size() if by in d.columns else pd.Series(dtype=float)
        miss = nr[nr["disposition"] != "replaced"].groupby(by, dropna=False).size() if by in nr.columns else pd.Series(dtype=float)
        out = pd.concat([comp.rename("completed"), miss.rename("not_interviewed")], axis=1).fillna(0)
        out["sampled"] = out["completed"] + out["not_interviewed"]
        out["response_rate"] = out["completed"] / out["sampled"]
        out = out.reset_index().rename(columns={"index": by})
        return out[[by, "sampled", "completed", "response_rate"]].astype(
            {"sampled": int, "completed": int}).sort_values(by).reset_index(drop=True)

    def summary(self, by=None) -> IngestSummary:
        """Reconciliation counts and response rates by ``by`` (default: final-stage cell)."""
        return IngestSummary(self._counts.copy(), self.response_rates(by))

    def __repr__(self) -> str:
        sev = self.issues["severity"].value_counts()
        return (f"<Responses: {len(self.data):,} completed interviews, {len(self.members):,} members, "
                f"{len(self.nonresponse):,} sampled households not interviewed, {len(self.rejected):,} rows "
                f"rejected, issues: {int(sev.get('error', 0))} errors / {int(sev.get('warning', 0))} warnings "
                f"/ {int(sev.get('info', 0))} info>")

    def _repr_html_(self) -> str:
        by = (self.issues.groupby(["severity", "check"]).size().rename("n").reset_index()
              if len(self.issues) else pd.DataFrame(columns=["severity", "check", "n"]))
        return f"<p>{self!r}</p>" + self.summary()._repr_html_() + "<h4>问题 / issues</h4>" + by.to_html(index=False)

    def to_excel(self, path) -> Path:
        """Write data, members, issues, rejected rows and nonresponse to one workbook for the field office."""
        path = Path(path)
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, df in (("data", self.data), ("members", self.members), ("issues", self.issues),
                             ("rejected", self.rejected), ("nonresponse", self.nonresponse),
                             ("reconciliation", self._counts)):
                df.to_excel(xw, sheet_name=name, index=False)
        return path


# ====================================================================== main entry
def _sample_households(sample) -> pd.DataFrame | None:
    if sample is None:
        return None
    hh = sample.households if hasattr(sample, "households") else sample
    if not isinstance(hh, pd.DataFrame) or "household_id" not in hh.columns:
        raise ResponseError("sample must be a Sample (or a DataFrame) with a 'household_id' column.")
    hh = hh.copy()
    hh["household_id"] = hh["household_id"].astype(str)
    if "role" not in hh.columns:
        hh["role"] = "main"
    if "active" not in hh.columns:
        hh["active"] = hh["role"] == "main"
    return hh


def _read_files(paths) -> list[tabular.TableFile]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    tables = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            tables += _read_files(sorted(x for x in p.iterdir() if x.suffix.lower() in tabular.SUPPORTED))
            continue
        try:
            if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
                tables += [t for t in tabular.read_all_sheets(p) if len(t.frame.columns)]
            else:
                tables.append(tabular.read_table(p))
        except ResponseError:
            raise
        except Exception as exc:
            raise ResponseError(f"{p.name}: 文件无法读取 / cannot be read: {exc}") from exc
    return tables


def read_responses(paths, form=None, sample=None, *, village_form=None, qc: bool = True,
                   qc_options: dict | None = None) -> Responses:
    """Read, validate and link questionnaire exports; returns :class:`Responses`.

    ``paths``: file(s) or folder(s) (household table, roster table(s)/sheets, village table).
    ``form``: a Questionnaire or XLSForm path (default: questionnaires/household.xlsx).
    ``sample``: a Sample (or its households DataFrame) to link to; without it there is no
    unknown-household check, nonresponse list or design. ``qc_options`` go to
    :func:`evalkit.questionnaire.quality.run_checks`.
    """
    from evalkit.questionnaire.xlsform import Questionnaire, read_questionnaire

    form = read_questionnaire(form or _default("household")) if not isinstance(form, Questionnaire) else form
    if village_form is None:
        village_form = read_questionnaire(_default("village"))
    elif village_form is not None and not isinstance(village_form, Questionnaire):
        village_form = read_questionnaire(village_form)
    found: list = []
    loose: list[dict] = []
    parts = [_standardise(t, form, village_form, loose) for t in _read_files(paths)]
    parts = [p for p in parts if p is not None]
    if not any(p.kind == "household" for p in parts):
        raise ResponseError("没有找到户问卷数据 / none of the files holds household interviews "
                            "(a table with a 'household_id' column).")
    headers = {(p.file, c): h for p in parts for c, h in p.headers.items()}
    hh_raw = pd.concat([p.frame for p in parts if p.kind == "household"], ignore_index=True, sort=False)
    mem_parts = [p.frame for p in parts if p.kind == "member"]
    mem_raw = pd.concat(mem_parts, ignore_index=True, sort=False) if mem_parts else None
    vil_parts = [p.frame for p in parts if p.kind == "village"]
    rejected: list[pd.DataFrame] = []

    def reject(frame, mask, table, reason, message):
        idx = np.flatnonzero(np.asarray(mask, bool))
        if len(idx):
            sub = frame.iloc[idx]
            rejected.append(pd.DataFrame({
                "file": sub["_file"].to_numpy(), "row": sub["_row"].to_numpy(), "table": table,
                "household_id": sub["household_id"].to_numpy() if "household_id" in sub else None,
                "key": sub["_key"].to_numpy() if "_key" in sub else None, "reason": reason,
                "message": message if isinstance(message, str) else np.asarray(message)[idx]}))

    # ------------------------------------------------------------ households: validate
    top = form.fields("")
    hh, f = validate_answers(hh_raw, top, form, headers)
    found += f
    hh["household_id"] = hh["household_id"].astype(object)
    if "_key" not in hh.columns or hh["_key"].isna().all():
        hh["_key"] = None
    hh["_key"] = hh["_key"].where(hh["_key"].notna(), hh["_file"] + ":" + hh["_row"].astype(str))
    n_hh_read = len(hh)
    status = pd.Series("pending", index=hh.index, dtype=object)  # -> data | non_interview | rejected

    no_id = hh["household_id"].isna().to_numpy()
    reject(hh, no_id, "household", "missing_household_id",
           "缺少户编号，无法对应样本户 / no household ID: the interview cannot be matched to a sampled household")
    status[no_id] = "rejected"

    # ------------------------------------------------------------ link to the sample
    shh = _sample_households(sample)
    if shh is not None:
        unknown = (status == "pending").to_numpy() & ~hh["household_id"].isin(shh["household_id"]).to_numpy()
        found.append(_issue_frame(hh, unknown, "household_id", hh["household_id"], "error", "unknown_household",
                                  "户编号不在抽样名单中 / household ID is not in the sample", headers))
        reject(hh, unknown, "household", "not_in_sample",
               "户编号不在抽样名单中 / household ID is not in the sample (typo or wrong household visited)")
        status[unknown] = "rejected"

    # ------------------------------------------------------------ interview vs non-interview
    disp = hh["disposition"]
    completed = (disp == "completed") & (hh.get("consent") == "yes")
    no_consent = (disp == "completed") & (hh.get("consent") == "no")
    hh.loc[no_consent, "disposition"] = "refused"
    found.append(_issue_frame(hh, no_consent.to_numpy(), "consent", hh["consent"], "info", "no_consent",
                              "受访户不同意接受访问，按拒访处理 / no consent: recorded as a refusal", headers))
    bad_disp = hh["disposition"].isna() & (status == "pending")
    reject(hh, bad_disp.to_numpy(), "household", "no_disposition",
           "访问结果缺失或无效 / interview disposition missing or invalid")
    status[bad_disp] = "rejected"

    # ------------------------------------------------------------ duplicates and repeat visits
    answer_cols = [c for c in top["name"] if c in hh.columns and c not in ("start", "end")]
    answer_cols += [c for c in ("gps_lat", "gps_lon") if c in hh.columns]
    pend = (status == "pending").to_numpy().copy()
    comp = pend & completed.to_numpy(dtype=bool)
    ids = hh["household_id"]
    # identical completed submissions -> keep one (the smallest key: independent of row order)
    # content signature, computed only for households with several completed submissions
    multi = comp & ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    sig = pd.Series(np.arange(len(hh), dtype=np.uint64), index=hh.index)  # unique unless duplicated
    if multi.any():
        sub = hh.loc[multi, answer_cols].astype(object).where(hh.loc[multi, answer_cols].notna(), None)
        sig[multi] = pd.util.hash_pandas_object(sub.astype(str), index=False).to_numpy() | np.uint64(1 << 63)
    order = np.lexsort((hh["_key"].fillna("").astype(str).to_numpy(object),
                        ids.fillna("").astype(str).to_numpy(object)))
    comp_idx = order[comp[order]]
    dup_same = pd.DataFrame({"id": ids.to_numpy()[comp_idx], "sig": sig.to_numpy()[comp_idx]}).duplicated().to_numpy()
    same_rows = comp_idx[dup_same]
    mask = np.zeros(len(hh), bool)
    mask[same_rows] = True
    found.append(_issue_frame(hh, mask, "household_id", ids, "info", "duplicate_identical",
                              "重复提交（内容完全相同），保留一份 / identical duplicate submission: one copy kept", headers))
    reject(hh, mask, "household", "duplicate_identical", "与另一份提交完全相同 / identical to another submission")
    status[mask] = "rejected"
    comp &= ~mask
    # conflicting completed submissions -> all flagged and set aside for the coordinator
    n_comp = pd.Series(comp, index=hh.index).groupby(ids).transform("sum").to_numpy()
    conflict = comp & (n_comp > 1)
    if conflict.any():
        others = (pd.DataFrame({"id": ids[conflict], "f": hh["_file"][conflict],
                                "r": hh["_row"][conflict].astype(str)})
                  .groupby("id").apply(lambda g: ", ".join(g["f"] + " row " + g["r"]), include_groups=False))
        msg = ("同一户有多份内容不同的完成问卷，均未采用，请核实 / conflicting completed submissions for this household "
               "(" + ids.map(others).fillna("") + "); none was used — resolve and re-export").to_numpy(object)
        found.append(_issue_frame(hh, conflict, "household_id", ids, "error", "duplicate_conflict", msg, headers))
        reject(hh, conflict, "household", "duplicate_conflict", msg)
        status[conflict] = "rejected"
        comp &= ~conflict
    status[comp] = "data"
    # non-interview records: the last attempt gives the disposition; earlier ones are kept as attempts
    ni = (status == "pending").to_numpy().copy()
    has_comp = ids.isin(ids[comp]).to_numpy()
    superseded = ni & has_comp
    reject(hh, superseded, "household", "superseded_attempt",
           "该户后来完成了访问，此前的未访记录不计 / earlier non-interview attempt; the household was interviewed later")
    status[superseded] = "rejected"
    ni &= ~has_comp
    when = hh["end"] if "end" in hh.columns else pd.Series(pd.NaT, index=hh.index)
    ni_frame = pd.DataFrame({"id": ids, "when": when, "key": hh["_key"]})[ni]
    last = ni_frame.sort_values(["id", "when", "key"], na_position="first").groupby("id").tail(1).index
    earlier = ni & ~hh.index.isin(last)
    reject(hh, earlier, "household", "superseded_attempt",
           "同一户有更晚的未访记录 / an earlier non-interview attempt; the latest attempt's disposition is used")
    status[earlier] = "rejected"
    status[hh.index.isin(last) & ni] = "non_interview"

    # ------------------------------------------------------------ replacement and avoidance rules
    data = hh[status == "data"].copy()
    if shh is not None:
        data, f, rej_mask = _check_replacements(data, hh, status, shh, sample, headers)
        found += f
        if rej_mask.any():
            rr = data[rej_mask]
            reject(rr, np.ones(len(rr), bool), "household", "reserve_not_activated",
                   "备选户未按替换规则启用（同一抽样单元内无未访成功的原样本户）/ reserve household interviewed "
                   "without a failed main household to replace in its cell")
            status[rr.index] = "rejected"
            data = data[~rej_mask]
        found += _check_avoidance(data, shh, sample, headers)

    # ------------------------------------------------------------ members
    members, mem_counts = _members(mem_raw, hh, status, form, headers, found, reject)

    # ------------------------------------------------------------ derived variables and sample join
    for c in V.INCOME_PARTS:
        if c not in data.columns:
            data[c] = np.nan
    parts_sum = data[list(V.INCOME_PARTS)].sum(axis=1, min_count=len(V.INCOME_PARTS))
    reported = {c: pd.to_numeric(data[c], errors="coerce") if c in data.columns else None
                for c in ("income_transfer", "income_total", "income_per_capita")}
    data["_reported_total"] = reported["income_total"]
    data["_reported_transfer"] = reported["income_transfer"]
    data["_reported_pc"] = reported["income_per_capita"]
    data["income_transfer"] = data[list(V.TRANSFER_PARTS)].sum(axis=1, min_count=len(V.TRANSFER_PARTS))
    data["income_total"] = parts_sum
    data["income_per_capita"] = parts_sum / data["hh_size"]
    if "hh_size" in data.columns:
        data["hh_size"] = data["hh_size"].astype("Int64")
    nonresp = _nonresponse(hh, status, data, shh, sample)
    if shh is not None:
        from evalkit.registry import schema

        # ID numbers and phones stay in the sample: responses are shared with field offices
        sensitive = {c.name for c in schema.HOUSEHOLD_COLUMNS if c.sensitive}
        design_cols = [c for c in shh.columns
                       if (c not in data.columns or c == "household_id") and c not in sensitive]
        data = data.merge(shh[design_cols], on="household_id", how="left", validate="one_to_one")
        if "hh_type" in data.columns and "registry_status" in data.columns:
            differ = (data["hh_type"].notna() & (data["hh_type"] != data["registry_status"])).to_numpy()
            found.append(_issue_frame(data, differ, "hh_type", data["hh_type"], "warning", "hh_type_mismatch",
                                      ("户类型与抽样名单不一致（名单为 " + data["registry_status"].astype(str)
                                       + "，按名单计算）/ household type differs from the sample list ("
                                       + data["registry_status"].astype(str) + "); the list's status is used"
                                       ).to_numpy(object), headers))
        data = _final_weights(data, shh, sample)
    if qc:
        from evalkit.questionnaire import quality

        found += quality.run_checks(data, members, headers=headers, **(qc_options or {}))
    # ------------------------------------------------------------ villages
    villages = None
    if vil_parts and village_form is not None:
        vraw = pd.concat(vil_parts, ignore_index=True, sort=False)
        vraw["household_id"] = None
        villages, f = validate_answers(vraw, village_form.fields(""), village_form, headers)
        found += f
    # ------------------------------------------------------------ assemble
    pieces = [x for x in found if x is not None and len(x)] + ([pd.DataFrame(loose)] if loose else [])
    issues = _issues(pd.concat(pieces, ignore_index=True) if pieces else None)
    if len(issues):
        issues["row"] = issues["row"].astype("Int64")
        sev_order = issues["severity"].map({"error": 0, "warning": 1, "info": 2})
        issues = (issues.assign(_s=sev_order).sort_values(["file", "row", "_s", "column"], na_position="first",
                                                          kind="stable").drop(columns="_s").reset_index(drop=True))
    rej = (pd.concat(rejected, ignore_index=True) if rejected
           else pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS}))
    rej = rej.sort_values(["file", "row"], kind="stable").reset_index(drop=True)
    vil_rows = sum(len(p) for p in vil_parts)
    counts = pd.DataFrame([
        {"table": "household", "rows_read": n_hh_read, "accepted": int((status == "data").sum()),
         "non_interview": int((status == "non_interview").sum()),
         "rejected": int((rej["table"] == "household").sum())},
        {"table": "member", "rows_read": mem_counts[0], "accepted": len(members), "non_interview": 0,
         "rejected": int((rej["table"] == "member").sum())},
        {"table": "village", "rows_read": vil_rows, "accepted": 0 if villages is None else len(villages),
         "non_interview": 0, "rejected": 0},
    ])
    counts["balanced"] = counts["rows_read"] == counts["accepted"] + counts["non_interview"] + counts["rejected"]
    canon = [v.name for v in V.HOUSEHOLD_VARS if v.name in data.columns]
    rest = [c for c in data.columns if c not in canon and not c.startswith("_")]
    data = data[canon + rest + ["_file", "_row"]].rename(columns={"_file": "source_file", "_row": "source_row"})
    data = data.sort_values("household_id", kind="stable").reset_index(drop=True)
    files = sorted({p.file for p in parts})
    return Responses(data, members, issues, rej, nonresp, counts, form=form, sample=sample,
                     villages=villages, files=files)


# ====================================================================== helpers
def _members(mem_raw, hh, status, form, headers, found, reject):
    """Attach roster rows to accepted interviews; validate them; reject orphans."""
    mcols = ["household_id", "member_index"] + [v.name for v in V.MEMBER_VARS if v.name != "member_index"]
    if mem_raw is None or not len(mem_raw):
        return pd.DataFrame(columns=mcols), (0,)
    m = mem_raw.copy()
    n_read = len(m)
    if "household_id" not in m.columns:
        m["household_id"] = None
    # parent: KEY (Central) or workbook#_index (Kobo) of the household row
    hh_keys = pd.Series(hh.index, index=hh["_key"].astype(str))
    hh_keys = hh_keys[~hh_keys.index.duplicated()]
    pidx = m["_parent"].map(hh_keys) if "_parent" in m.columns else pd.Series(np.nan, index=m.index)
    if "_index" in hh.columns:
        kobo = pd.Series(hh.index, index=hh["_index"].astype(str))
        kobo = kobo[~kobo.index.duplicated()]
        pidx = pidx.fillna(m["_parent"].map(kobo))
    # plain roster files: by household_id, to that household's accepted interview
    acc = hh[status == "data"]
    by_id = pd.Series(acc.index, index=acc["household_id"].astype(str))
    pidx = pidx.fillna(m["household_id"].map(by_id))
    has_parent = pidx.notna().to_numpy()
    parent_status = np.where(has_parent, status.reindex(pidx.fillna(-1).astype(int)).to_numpy(), "none")
    m["household_id"] = np.where(has_parent, hh["household_id"].reindex(pidx.fillna(-1).astype(int)).to_numpy(),
                                 m["household_id"].to_numpy())
    orphan = ~has_parent
    reject(m, orphan, "member", "orphan_member",
           "找不到对应的户问卷（PARENT_KEY/户编号不匹配）/ roster row whose household interview is not in the files")
    found.append(_issue_frame(m, orphan, "PARENT_KEY", m["_parent"] if "_parent" in m else m["household_id"],
                              "error", "orphan_member", "成员行找不到所属户问卷 / roster row has no household interview",
                              headers))
    not_acc = has_parent & (parent_status != "data")
    reject(m, not_acc, "member", "household_not_accepted",
           "所属户问卷未被采用（见 rejected）/ the household interview this member belongs to was not accepted")
    keep = has_parent & (parent_status == "data")
    m = m[keep].copy()
    m["_hh_index"] = pidx[keep].astype(int).to_numpy()
    # member index: exported calculate, else the [n] in the KEY, else order within the household
    mi = (pd.to_numeric(m["member_index"], errors="coerce") if "member_index" in m.columns
          else pd.Series(np.nan, index=m.index)).astype(float)
    if mi.isna().any() and "_key" in m.columns and m["_key"].notna().any():
        idx_from_key = m["_key"].astype("string").str.extract(r"\[(\d+)\]$")[0]
        mi = mi.fillna(pd.to_numeric(idx_from_key, errors="coerce").astype(float))
    mi = mi.fillna(m.groupby("_hh_index").cumcount().astype(float) + 1)
    m["member_index"] = mi.astype("int64")
    ctx_cols = [c for c in ("disposition", "consent", "hh_type", "hh_size") if c in hh.columns]
    context = hh.loc[m["_hh_index"], ctx_cols].set_axis(m.index)
    m = m.drop(columns=[c for c in ctx_cols if c in m.columns and c not in ("household_id",)])
    mq = form.fields("member") if "member" in form.repeats else form.fields(form.repeats[0]) if form.repeats else form.questions.iloc[:0]
    mq = mq[mq["name"] != "member_index"]
    clean, f = validate_answers(m, mq, form, headers, context=context)
    found += f
    if "age" in clean.columns:
        clean["age"] = clean["age"].astype("Int64")
    dup = clean.duplicated(["household_id", "member_index"], keep="first").to_numpy()
    found.append(_issue_frame(clean, dup, "member_index", clean["member_index"].astype(str), "warning",
                              "duplicate_member", "同一户成员序号重复 / member number repeated within the household",
                              headers))
    out = clean[[c for c in mcols if c in clean.columns] + ["_file", "_row"]]
    out = out.sort_values(["household_id", "member_index"], kind="stable").reset_index(drop=True)
    return out.rename(columns={"_file": "source_file", "_row": "source_row"}), (n_read,)


def _check_replacements(data, hh, status, shh, sample, headers):
    """Replacement rule: a reserve household may be interviewed only in place of a main
    household of the same cell that was not interviewed, and reserves are used in rank
    order. Returns (data, issues, mask of reserve interviews to reject)."""
    found = []
    info = shh.set_index("household_id")
    role = data["household_id"].map(info["role"])
    active = data["household_id"].map(info["active"]).fillna(False).astype(bool)
    cell = data["household_id"].map(info["cell"]) if "cell" in info.columns else pd.Series(None, index=data.index)
    reserve = (role == "reserve").to_numpy()
    rej = np.zeros(len(data), bool)
    if not reserve.any():
        inactive_main = ((role == "main") & ~active).to_numpy()
        found.append(_issue_frame(data, inactive_main, "household_id", data["household_id"], "warning",
                                  "replaced_but_interviewed", "该户已被替换但仍接受了访问 / household was replaced in "
                                  "the sample but interviewed anyway", headers))
        return data, found, rej
    interviewed = set(data["household_id"])
    authorised = set()
    reps = getattr(sample, "replacements", None)
    if isinstance(reps, pd.DataFrame) and len(reps) and "replaced_by" in reps.columns:
        authorised = set(reps["replaced_by"].astype(str))
    replaces = data["replaces"] if "replaces" in data.columns else pd.Series(None, index=data.index)
    # failed main households per cell (non-interview record, or no completed interview)
    mains = shh[(shh["role"] == "main")]
    failed_main = mains[~mains["household_id"].isin(interviewed)]
    n_failed = failed_main.groupby("cell").size() if "cell" in shh.columns else pd.Series(dtype=int)
    for i in np.flatnonzero(reserve):
        hid = data["household_id"].iat[i]
        c = cell.iat[i]
        rep = replaces.iat[i]
        if active.iat[i] or hid in authorised:
            continue
        if isinstance(rep, str) and rep:
            if rep not in info.index:
                found.append(_issue_frame(data.iloc[[i]], [True], "replaces", data["replaces"].iloc[[i]], "error",
                                          "replacement_rule", "被替换户不在抽样名单中 / the replaced household is not "
                                          "in the sample", headers))
                rej[i] = True
                continue
            # the replaced household is a main one, or a reserve that itself failed (a chain)
            if "cell" in info.columns and info.at[rep, "cell"] != c:
                found.append(_issue_frame(data.iloc[[i]], [True], "replaces", data["replaces"].iloc[[i]], "error",
                                          "replacement_rule", "替换户与被替换户不在同一抽样单元（村×户类型）/ a reserve "
                                          "may only replace a household of the same sampling cell", headers))
                rej[i] = True
                continue
            if rep in interviewed:
                found.append(_issue_frame(data.iloc[[i]], [True], "replaces", data["replaces"].iloc[[i]], "error",
                                          "replacement_rule", "被替换户已完成访问，不应替换 / the household it replaces "
                                          "was interviewed, so no replacement was allowed", headers))
                rej[i] = True
                continue
        elif n_failed.get(c, 0) == 0:
            rej[i] = True
            found.append(_issue_frame(data.iloc[[i]], [True], "household_id", data["household_id"].iloc[[i]], "error",
                                      "replacement_rule", "备选户被访问，但同一抽样单元内没有未访成功的原样本户 / reserve "
                                      "household interviewed although every main household of its cell was "
                                      "interviewed", headers))
            continue
    # rank order: within a cell, the reserves used must be the lowest-ranked ones
    if "rank" in info.columns and "cell" in info.columns:
        used = data.loc[reserve & ~rej, "household_id"]
        res = shh[shh["role"] == "reserve"].sort_values(["cell", "rank"])
        k = res[res["household_id"].isin(used)].groupby("cell").size()
        res = res.assign(pos=res.groupby("cell").cumcount())
        expected = res[res["pos"] < res["cell"].map(k).fillna(0)]["household_id"]
        bad = data["household_id"].isin(used) & ~data["household_id"].isin(expected)
        found.append(_issue_frame(data, bad.to_numpy(), "household_id", data["household_id"], "warning",
                                  "replacement_order", "未按备选顺序替换（跳过了排序更靠前的备选户）/ reserves were not "
                                  "used in their rank order: a higher-ranked reserve of this cell was skipped",
                                  headers))
    return data, [x for x in found if x is not None], rej


def _as_list(v) -> list[str]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, str):
        return [x for x in re.split(r"[,;\s]+", v) if x]
    return [str(x) for x in v]


def _check_avoidance(data, shh, sample, headers):
    """Teams must not interview in counties/provinces they must avoid (回避), and should
    interview the villages assigned to them."""
    found = []
    roster = getattr(sample, "team_roster", None)
    if isinstance(roster, pd.DataFrame) and len(roster) and "team" in data.columns:
        avoid_c = {str(r["team"]): {c[:6] for c in _as_list(r.get("avoid_counties"))} for _, r in roster.iterrows()}
        avoid_p = {str(r["team"]): {c[:2] for c in _as_list(r.get("avoid_provinces"))} for _, r in roster.iterrows()}
        county = data["household_id"].map(shh.set_index("household_id")["county_code"]).fillna("").astype(str)
        team = data["team"].fillna("").astype(str)
        bad_c = {f"{t}|{c}" for t, cs in avoid_c.items() for c in cs}
        bad_p = {f"{t}|{c}" for t, cs in avoid_p.items() for c in cs}
        bad = ((team + "|" + county.str[:6]).isin(bad_c) | (team + "|" + county.str[:2]).isin(bad_p)).to_numpy()
        found.append(_issue_frame(data, bad, "team", data["team"], "error", "avoidance",
                                  "调查组在其应回避的县（省）开展了访问 / this team interviewed in a county or "
                                  "province it must avoid (回避); re-interview with another team", headers))
    teams = getattr(sample, "teams", None)
    if isinstance(teams, pd.DataFrame) and len(teams) and "team" in data.columns and "village_code" in shh.columns:
        assigned = teams.drop_duplicates("village_code").set_index("village_code")["team"].astype(str)
        vil = data["household_id"].map(shh.set_index("household_id")["village_code"])
        want = vil.map(assigned)
        bad = (want.notna() & (want != data["team"].fillna("").astype(str))).to_numpy()
        found.append(_issue_frame(data, bad, "team", data["team"], "warning", "team_assignment",
                                  "访问该村的调查组不是分配的调查组 / the team differs from the team assigned to "
                                  "this village", headers))
    return [x for x in found if x is not None]


def _nonresponse(hh, status, data, shh, sample=None) -> pd.DataFrame:
    """Sampled households that should have been interviewed but have no accepted interview."""
    ni = hh[status == "non_interview"].set_index("household_id")
    rep = data["replaces"].dropna() if "replaces" in data.columns else pd.Series(dtype=object)
    replaced_by = pd.Series(data.loc[rep.index, "household_id"].to_numpy(), index=rep.to_numpy())
    replaced_by = replaced_by[~replaced_by.index.duplicated()]
    if shh is None:
        out = ni.reset_index()[["household_id", "disposition", "_file", "_row"]].rename(
            columns={"_file": "file", "_row": "row"})
        return out.reindex(columns=NONRESPONSE_COLUMNS).sort_values("household_id").reset_index(drop=True)
    # replacements recorded in the sample (Sample.replace) count like field replacements
    reps = getattr(sample, "replacements", None)
    if isinstance(reps, pd.DataFrame) and len(reps) and {"household_id", "replaced_by"} <= set(reps.columns):
        official = pd.Series(reps["replaced_by"].astype(str).to_numpy(), index=reps["household_id"].astype(str))
        replaced_by = pd.concat([replaced_by, official[~official.index.isin(replaced_by.index)]])
    expected = shh[shh["active"].astype(bool) | shh["household_id"].isin(replaced_by.index)]
    missing = expected[~expected["household_id"].isin(data["household_id"])].copy()
    missing["disposition"] = missing["household_id"].map(ni["disposition"]).astype(object).fillna("not_visited")
    missing["replaced_by"] = missing["household_id"].map(replaced_by)
    missing.loc[missing["replaced_by"].notna(), "disposition"] = np.where(
        missing.loc[missing["replaced_by"].notna(), "household_id"].isin(ni.index),
        missing.loc[missing["replaced_by"].notna(), "disposition"], "replaced")
    missing["file"] = missing["household_id"].map(ni["_file"])
    missing["row"] = missing["household_id"].map(ni["_row"]).astype("Int64")
    # non-interview records of households outside the expected set (e.g. inactive) are still listed
    extra = ni[~ni.index.isin(missing["household_id"]) & ni.index.isin(shh["household_id"])].reset_index()
    extra = extra.merge(shh.drop(columns=[c for c in ("disposition",) if c in shh.columns]), on="household_id",
                        how="left", suffixes=("", "_s"))
    extra = extra.rename(columns={"_file": "file", "_row": "row"})
    out = pd.concat([missing, extra], ignore_index=True, sort=False)
    return out.reindex(columns=NONRESPONSE_COLUMNS).sort_values("household_id").reset_index(drop=True)


def _final_weights(data, shh, sample) -> pd.DataFrame:
    """``weight_final``: from ``sample.respondent_frame`` when the Sample provides it (the
    sampling module's nonresponse adjustment, so Responses.design and the sample agree);
    otherwise the base weight scaled within each final-stage cell by
    Σ(base weight of main sampled) ÷ Σ(base weight of respondents) (methodology §5)."""
    if hasattr(sample, "respondent_frame") and len(data):
        frame = sample.respondent_frame(list(data["household_id"]))
        keep = ["household_id", "weight_final"] + [c for c in ("nonresponse_class",) if c in frame.columns]
        frame = frame[keep].assign(household_id=frame["household_id"].astype(str))
        return data.merge(frame, on="household_id", how="left", validate="one_to_one")
    if "weight" not in shh.columns:
        return data
    cell = "cell" if "cell" in shh.columns else None
    elig = shh[shh["role"] == "main"]
    base = data["weight"].astype(float)
    if cell is None:
        data["weight_final"] = base * elig["weight"].sum() / base.sum()
        return data
    # a reserve interviewed in place of a main household carries the cell's main weight
    cell_w = elig.groupby(cell)["weight"].mean()
    base = base.where(base.notna() & (data["role"] == "main"), data[cell].map(cell_w))
    tot = elig.groupby(cell)["weight"].sum()
    got = base.groupby(data[cell]).sum()
    data["weight_final"] = base * data[cell].map(tot / got)
    return data
