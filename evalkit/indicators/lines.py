"""Poverty lines (扶贫标准), provincial exit standards and monitoring lines by year × province.

The values live in ``data/poverty_lines.csv`` with their source and a ``verified`` mark
(``yes`` / ``weak`` / ``no``; see docs/methodology/indicators.md §1). A lookup for a year or
province not in the table fails with a :class:`~evalkit.errors.RuleError` unless the caller
passes a line explicitly: the library never guesses a line.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from evalkit.errors import RuleError

KINDS = ("exit", "national", "provincial_exit", "monitoring")


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    with resources.files("evalkit.indicators").joinpath("data", name).open("rb") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def line_table() -> pd.DataFrame:
    """The bundled line table: year, province_code ('' = national), kind, line, rule, verified, source."""
    t = _read("poverty_lines.csv").copy()
    t["year"] = t["year"].astype(int)
    t["line"] = t["line"].astype(float)
    t["income_activity_required"] = t["income_activity_required"].str.lower().eq("true")
    return t


def province_table() -> pd.DataFrame:
    """Province code → name and region (``central``/``western``) used for thresholds."""
    return _read("provinces.csv").copy()


@dataclass(frozen=True)
class ExitStandard:
    """The household exit standard that applies in (year, province).

    ``line``: per-capita net income must be *above* it (元/人·年). ``income_activity_required``:
    households with labour must also have at least one income activity (Yunnan 2018).
    """

    year: int | None
    province_code: str | None
    line: float
    kind: str
    income_activity_required: bool
    verified: str
    source: str

    def __repr__(self) -> str:
        extra = "，有劳动力户须有增收项目 (income activity required)" if self.income_activity_required else ""
        ver = {"yes": "", "weak": " [来源较弱 weak source]", "no": " [未核实 UNVERIFIED]"}.get(self.verified, "")
        prov = self.province_code or "全国"
        return f"<ExitStandard {self.year} {prov}: {self.line:,.0f} 元{extra} ({self.kind}){ver}>"


def _norm_province(province) -> str | None:
    if province is None or (isinstance(province, float) and pd.isna(province)):
        return None
    p = str(province).strip()
    return p[:2] if p else None


def exit_standard(year: int | None, province=None, *, line: float | None = None,
                  income_activity_required: bool | None = None) -> ExitStandard:
    """Exit standard for ``year`` and ``province`` (2-digit or 12-digit code).

    A provincial standard (``provincial_exit`` row) overrides the national line when the
    province set one; otherwise the national line of the year applies. ``line=`` bypasses
    the table (for years/provinces not covered, or a local standard).
    """
    prov = _norm_province(province)
    if line is not None:
        return ExitStandard(year, prov, float(line), "given", bool(income_activity_required), "given",
                            "passed by the caller 调用方指定")
    if year is None:
        raise RuleError("没有评估年度，无法查找扶贫标准 / no evaluation year: pass year= or line=.")
    t = line_table()
    year = int(year)
    hit = t[(t["year"] == year) & (t["kind"] == "provincial_exit") & (t["province_code"] == (prov or "?"))]
    if hit.empty:
        hit = t[(t["year"] == year) & (t["kind"] == "national")]
    if hit.empty:
        years = sorted(t.loc[t["kind"] == "national", "year"].unique())
        raise RuleError(
            f"{year} 年没有国家扶贫标准（表中年份 {years[0]}–{years[-1]}）；请用 line= 指定收入线。 / "
            f"no poverty line for {year} in the table (national lines cover {years[0]}–{years[-1]}, "
            "after 2020 only provincial monitoring lines exist): pass line=<元/人·年>.")
    r = hit.iloc[0]
    iar = bool(r["income_activity_required"]) if income_activity_required is None else bool(income_activity_required)
    return ExitStandard(year, prov, float(r["line"]), str(r["kind"]), iar, str(r["verified"]), str(r["source"]))


def poverty_line(year: int | None, province=None, kind: str = "exit", *, line: float | None = None) -> float:
    """Per-capita income line (元/人·年) for ``year`` × ``province``.

    ``kind``: ``exit`` (provincial exit standard if any, else national — the default used by
    the rules), ``national``, ``provincial_exit`` or ``monitoring`` (post-2020 provincial
    monitoring lines). Raises RuleError when the table has no value, unless ``line`` is given.
    """
    if line is not None:
        return float(line)
    if kind not in KINDS:
        raise RuleError(f"未知的收入线类型 unknown line kind {kind!r}; use one of {KINDS}.")
    if kind == "exit":
        return exit_standard(year, province).line
    t = line_table()
    prov = _norm_province(province)
    sel = (t["year"] == int(year)) & (t["kind"] == kind)
    if kind != "national":
        if prov is None:
            raise RuleError(f"{kind} 收入线需要省份 / the {kind} line needs a province code.")
        sel &= t["province_code"] == prov
    hit = t[sel]
    if hit.empty:
        where = f"{year} 年、省份 {prov}" if prov else f"{year} 年"
        raise RuleError(f"表中没有 {where} 的 {kind} 收入线；请用 line= 指定。 / no {kind} line for "
                        f"year {year}{', province ' + prov if prov else ''} in the table: pass line=.")
    return float(hit.iloc[0]["line"])


def region_of(province) -> str:
    """``central`` or ``western`` for threshold purposes (data/provinces.csv)."""
    prov = _norm_province(province)
    t = province_table()
    hit = t[t["province_code"] == prov]
    if hit.empty:
        raise RuleError(f"省份代码 {prov!r} 不在阈值适用范围（22个中西部省份）/ province {prov!r} is not "
                        "in the provinces table (22 central/western provinces): pass thresholds explicitly.")
    return str(hit.iloc[0]["region"])


def thresholds(year: int | None, province) -> pd.DataFrame:
    """County-exit thresholds (indicator, threshold, rule, source) for year × province.

    Rows with a province code override the region's row for the same indicator.
    """
    t = _read("thresholds.csv").copy()
    t["threshold"] = t["threshold"].astype(float)
    prov = _norm_province(province)
    region = region_of(prov)
    y = int(year) if year is not None else None
    if y is not None:
        yf = t["year_from"].replace("", "0").astype(int)
        yt = t["year_to"].replace("", "9999").astype(int)
        t = t[(yf <= y) & (y <= yt)]
    t = t[(t["region"].isin(["", region])) & (t["province_code"].isin(["", prov]))]
    if t.empty:
        raise RuleError(f"{year} 年没有县退出阈值 / no county-exit thresholds for {year}: pass thresholds=.")
    t = t.assign(_spec=(t["province_code"] != "").astype(int) * 2 + (t["region"] != "").astype(int))
    t = t.sort_values("_spec").drop_duplicates("indicator", keep="last")
    return t[["indicator", "threshold", "rule", "source"]].reset_index(drop=True)
