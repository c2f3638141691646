"""Quality-control checks on accepted interviews (数据质量核查).

Each check returns issue rows (file, row, household_id, column, value, severity, check,
message) for interviews a field coordinator should look at again; none of them drops or
changes data. Thresholds are parameters; defaults and reasons are in
docs/methodology/questionnaire.md §4.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.questionnaire import variables as V

# items whose answers vary between households, used to spot near-constant enumerators
VARIED_ITEMS = ("satisfaction", "sat_team", "sat_cadre", "recognition", "knows_procedure", "knows_card",
                "food_protein", "housing_appraisal", "assist_visited")
EARTH_KM = 6371.0088


def _frame(data, mask, column, value, severity, check, message, headers=None) -> pd.DataFrame | None:
    mask = np.asarray(mask, bool)
    if not mask.any():
        return None
    sub = data[mask]
    files = sub["source_file"] if "source_file" in sub else sub.get("_file", pd.Series(None, index=sub.index))
    rows = sub["source_row"] if "source_row" in sub else sub.get("_row", pd.Series(None, index=sub.index))
    headers = headers or {}
    val = value[mask] if isinstance(value, (pd.Series, np.ndarray)) else value
    return pd.DataFrame({
        "file": files.to_numpy(), "row": rows.to_numpy(), "household_id": sub["household_id"].to_numpy(),
        "column": [headers.get((f, column), column) for f in files.to_numpy()],
        "value": np.asarray(val, dtype=object) if not isinstance(val, str) else val,
        "severity": severity, "check": check,
        "message": message if isinstance(message, str) else np.asarray(message, dtype=object)[mask],
    })


def short_interviews(data: pd.DataFrame, min_minutes: float = 15.0, max_hours: float = 6.0, headers=None):
    """Interviews shorter than ``min_minutes`` (too quick to have asked every question) or
    with an end before the start / longer than ``max_hours`` (clock or device problems)."""
    if "start" not in data or "end" not in data:
        return []
    minutes = (pd.to_datetime(data["end"]) - pd.to_datetime(data["start"])).dt.total_seconds() / 60
    txt = minutes.round(1).astype("string")
    out = [
        _frame(data, (minutes < min_minutes) & (minutes >= 0), "end", txt, "warning", "short_interview",
               f"访问时长过短（少于{min_minutes:g}分钟）/ interview shorter than {min_minutes:g} minutes", headers),
        _frame(data, minutes < 0, "end", txt, "error", "negative_duration",
               "结束时间早于开始时间 / end time before start time (device clock?)", headers),
        _frame(data, minutes > max_hours * 60, "end", txt, "warning", "long_interview",
               f"访问时长超过{max_hours:g}小时 / interview longer than {max_hours:g} hours", headers),
    ]
    return [f for f in out if f is not None]


def _entropy(counts: pd.Series, level) -> pd.Series:
    p = counts / counts.groupby(level=level).transform("sum")
    return -(p * np.log(p)).groupby(level=level).sum()


def flat_enumerators(data: pd.DataFrame, items=VARIED_ITEMS, min_interviews: int = 10,
                     max_ratio: float = 0.25, headers=None):
    """Enumerators whose answers are near-constant: the entropy of their answers, summed
    over ``items``, is below ``max_ratio`` × the same sum over all interviews (min
    ``min_interviews`` interviews). One issue per interview of a flagged enumerator."""
    items = [c for c in items if c in data.columns]
    if "enumerator" not in data or not items or not len(data):
        return []
    long = data[["enumerator", *items]].melt(id_vars="enumerator", var_name="item", value_name="ans").dropna()
    overall = _entropy(long.groupby(["item", "ans"]).size(), "item")
    per = long.groupby(["enumerator", "item", "ans"]).size()
    ent = _entropy(per, ["enumerator", "item"]).unstack("item").reindex(columns=overall.index).fillna(0)
    ratio = ent.sum(axis=1) / max(overall.sum(), 1e-12)
    n = data.groupby("enumerator").size()
    flagged = ratio[(ratio < max_ratio) & (n.reindex(ratio.index) >= min_interviews)]
    if flagged.empty:
        return []
    mask = data["enumerator"].isin(flagged.index).to_numpy()
    msg = ("调查员答案几乎没有变化（答案信息熵为全体的 " + data["enumerator"].map(flagged).map("{:.0%}".format)
           + "），请抽查回访 / this enumerator's answers are near-constant (answer entropy "
           + data["enumerator"].map(flagged).map("{:.0%}".format) + " of all interviews'); back-check")
    return [f for f in [_frame(data, mask, "enumerator", data["enumerator"], "warning", "flat_enumerator",
                               msg.to_numpy(object), headers)] if f is not None]


def gps_outliers(data: pd.DataFrame, max_km: float = 5.0, min_interviews: int = 3, headers=None):
    """Interviews whose GPS point lies more than ``max_km`` from the median point of the
    other interviews of the same village (needs ``village_code`` from the sample)."""
    need = {"gps_lat", "gps_lon", "village_code"}
    if not need <= set(data.columns):
        return []
    d = data[["village_code", "gps_lat", "gps_lon"]].astype({"gps_lat": float, "gps_lon": float})
    ok = d["gps_lat"].notna() & d["gps_lon"].notna()
    g = d[ok].groupby("village_code")
    med_lat, med_lon = g["gps_lat"].transform("median"), g["gps_lon"].transform("median")
    size = g["gps_lat"].transform("size")
    lat1, lon1 = np.radians(d.loc[ok, "gps_lat"]), np.radians(d.loc[ok, "gps_lon"])
    lat2, lon2 = np.radians(med_lat), np.radians(med_lon)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = pd.Series(np.nan, index=d.index)
    km[ok] = 2 * EARTH_KM * np.arcsin(np.sqrt(a))
    far = (km > max_km) & (pd.Series(np.nan, index=d.index).fillna(size) >= min_interviews)
    msg = ("GPS位置距本村其他访问点的中位位置 " + km.round(1).astype(str) + " 公里 / GPS point is "
           + km.round(1).astype(str) + f" km from the village's other interviews (limit {max_km:g} km)")
    return [f for f in [_frame(data, far.to_numpy(), "gps_lat", d["gps_lat"].astype(str) + " " + d["gps_lon"].astype(str),
                               "warning", "gps_far", msg.to_numpy(object), headers)] if f is not None]


def income_consistency(data: pd.DataFrame, tolerance: float = 1.0, headers=None):
    """Reported totals (``income_total``, ``income_transfer``, ``income_per_capita`` as the
    export gave them) that differ from the sum of the parts by more than ``tolerance`` 元."""
    out = []
    parts = data[list(V.INCOME_PARTS)].sum(axis=1, min_count=len(V.INCOME_PARTS))
    transfer = data[list(V.TRANSFER_PARTS)].sum(axis=1, min_count=len(V.TRANSFER_PARTS))
    for col, ref, name in (("_reported_total", parts, "income_total"),
                           ("_reported_transfer", transfer, "income_transfer"),
                           ("_reported_pc", parts / data["hh_size"].astype(float), "income_per_capita")):
        if col not in data.columns:
            continue
        rep = pd.to_numeric(data[col], errors="coerce")
        bad = rep.notna() & ref.notna() & ((rep - ref).abs() > tolerance)
        msg = ("收入分项之和为 " + ref.round(2).astype(str) + "，与填报的合计不符 / the parts sum to "
               + ref.round(2).astype(str) + ", not the reported total; the sum of the parts is used")
        f = _frame(data, bad.to_numpy(), name, rep.astype(str), "warning", "income_sum", msg.to_numpy(object), headers)
        if f is not None:
            out.append(f)
    return out


def roster_consistency(data: pd.DataFrame, members: pd.DataFrame, headers=None):
    """Household size vs number of roster rows; school status vs age."""
    out = []
    if members is not None and len(members) and "hh_size" in data.columns:
        n = members.groupby("household_id").size()
        got = data["household_id"].map(n).fillna(0).astype(int)
        bad = data["hh_size"].notna() & (got != data["hh_size"].fillna(-1).astype(int))
        f = _frame(data, bad.to_numpy(), "hh_size", data["hh_size"].astype(str), "warning", "roster_size",
                   ("家庭人口数与成员名单人数（" + got.astype(str) + "）不符 / household size differs from the "
                    + got.astype(str) + " roster rows").to_numpy(object), headers)
        if f is not None:
            out.append(f)
    if members is not None and len(members) and "relation" in members.columns and len(data):
        heads = members["relation"].eq("head").groupby(members["household_id"]).sum()
        got = data["household_id"].map(heads)
        bad = got.notna() & (got != 1)
        f = _frame(data, bad.to_numpy(), "relation", got.astype("Int64").astype(str), "warning", "roster_head",
                   ("成员名单中户主人数为 " + got.astype("Int64").astype(str) + "（应为1人）/ the roster has "
                    + got.astype("Int64").astype(str) + " household heads (expected 1)").to_numpy(object), headers)
        if f is not None:
            out.append(f)
    if members is not None and len(members) and {"age", "schooling"} <= set(members.columns):
        age = members["age"].astype(float)
        odd = ((members["schooling"] == "college") & (age < 15)) | ((members["schooling"] == "preschool") & (age > 7))
        f = _frame(members, odd.to_numpy(), "schooling", members["schooling"], "warning", "age_schooling",
                   "在校状况与年龄不符 / school status implausible for the age", headers)
        if f is not None:
            out.append(f)
    return out


def run_checks(data: pd.DataFrame, members: pd.DataFrame | None = None, headers=None, *,
               min_minutes: float = 15.0, max_hours: float = 6.0, flat_max_ratio: float = 0.25,
               flat_min_interviews: int = 10, gps_max_km: float = 5.0, income_tolerance: float = 1.0) -> list:
    """All QC checks; returns a list of issue frames."""
    return [*short_interviews(data, min_minutes, max_hours, headers),
            *flat_enumerators(data, min_interviews=flat_min_interviews, max_ratio=flat_max_ratio, headers=headers),
            *gps_outliers(data, gps_max_km, headers=headers),
            *income_consistency(data, income_tolerance, headers),
            *roster_consistency(data, members, headers)]
