"""Provincial assessment figures (省级评估图表) with Chinese labels.

Each function takes the objects of docs/contracts.md (``Results`` §7, ``Sample`` §5,
``Responses`` §6 — or their tables) and returns a ``matplotlib.figure.Figure`` built
without pyplot, so nothing leaks into global state and figures can be made in loops.
Every artist a test or a reader may look for carries a ``gid`` (``interval``,
``threshold``, ``poverty_line`` …), which also names the element in the SVG output.
Rates are proportions in the data and drawn as percentages. The few descriptive numbers
computed here (weighted shares, response rates, share below the line) are defined in
docs/methodology/report.md §R1–§R5.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evalkit.errors import ReportError
from evalkit.report import fonts

# Colour of each threshold decision (DESIGN.md "Threshold decisions"), Chinese label first.
DECISION_COLORS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "inconclusive": "#ef6c00",
    "none": "#757575",
}
DECISION_LABELS = {
    "pass": "达标 pass",
    "fail": "不达标 fail",
    "inconclusive": "无法判定 inconclusive",
    "none": "无阈值 no threshold",
}
PROVINCE_LABEL = "全省 province"

# Columns of Results.table that are not domain columns (contracts §7).
RESULT_COLUMNS = (
    "indicator", "label", "label_en", "estimate", "se", "ci_low", "ci_high", "level",
    "ci_method", "df", "n_households", "n_persons", "threshold", "threshold_rule", "decision",
    "deff", "n", "decision_reason", "analysis", "n_events", "n_item_missing", "ci_exact_fallback",
)


# ----------------------------------------------------------------------------- helpers
def _figure(width: float, height: float):
    """A pyplot-free Figure created under the CJK rc settings (fonts are fixed at creation)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(fonts.cjk_rc()):
        fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _rc():
    import matplotlib

    return matplotlib.rc_context(fonts.cjk_rc())


def result_table(results) -> pd.DataFrame:
    """The tidy table of a ``Results`` (or a DataFrame already in that shape)."""
    table = results if isinstance(results, pd.DataFrame) else getattr(results, "table", None)
    if not isinstance(table, pd.DataFrame):
        raise ReportError("需要 Results 对象或其 table / expected a Results object or its .table DataFrame.")
    missing = {"indicator", "estimate", "ci_low", "ci_high"} - set(table.columns)
    if missing:
        raise ReportError(f"Results.table 缺少列 / is missing columns: {sorted(missing)} (see docs/contracts.md §7).")
    return table


def domain_columns(table: pd.DataFrame) -> list[str]:
    """Domain columns of a Results table (e.g. county_code, county_name), in table order;
    extra numeric columns such as base-population counts are not domains."""
    return [c for c in table.columns if c not in RESULT_COLUMNS and not is_population_count(c)]


# Base-population counts (DOMAIN.md §8): any column or meta key whose name matches.
_POPULATION = re.compile(r"(^|_)(population|pop|registry_persons|registry_households|base_persons|"
                         r"total_persons|total_households)($|_)", re.IGNORECASE)
_POPULATION_N = re.compile(r"^N($|_)|^persons_(poor|not_registered|exit|exited|all|total)$")  # N, N_persons … (capital N only: n_persons is the sample)


def is_population_count(name: str) -> bool:
    """True for a column/meta name that holds a base-population count (suppressed on request)."""
    return bool(_POPULATION.search(str(name)) or _POPULATION_N.search(str(name)))


def unit_labels(table: pd.DataFrame) -> pd.Series:
    """Human label of each row's domain: county name (code) or 全省 when no domain is set."""
    dom = domain_columns(table)
    if not dom:
        return pd.Series(PROVINCE_LABEL, index=table.index)
    from evalkit.registry import schema

    shown = []  # a name column replaces its code column; other domain columns show their label
    for c in dom:
        if c.endswith("_code") and c[:-5] + "_name" in dom:
            continue
        col = table[c]
        if c in schema.CODES:
            col = col.map(lambda v, c=c: schema.code_label(c, v) if isinstance(v, str) else v)
        shown.append(col.astype("string"))
    parts = pd.concat(shown, axis=1)
    label = parts.fillna("").agg(" ".join, axis=1).str.strip()
    is_province = table[dom].isna().all(axis=1) | table[dom].astype("string").isin(["", "province", "全省"]).all(axis=1)
    return label.mask(is_province | label.eq(""), PROVINCE_LABEL)


def decision_key(decision) -> str:
    """Normalise a decision value to a key of DECISION_COLORS."""
    if decision is None or (isinstance(decision, float) and np.isnan(decision)) or decision is pd.NA:
        return "none"
    d = str(decision)
    return d if d in DECISION_COLORS else "none"


def _weights(data: pd.DataFrame) -> np.ndarray:
    for col in ("weight_final", "weight"):
        if col in data.columns:
            return pd.to_numeric(data[col], errors="coerce").fillna(0.0).to_numpy(float)
    return np.ones(len(data))


def _status_label(code) -> str:
    from evalkit.registry import schema

    return schema.code_label("registry_status", code) if isinstance(code, str) else "未知 unknown"


# ----------------------------------------------------------------------------- forest plot
def forest_plot(results, indicators=None, sort_by: str = "unit"):
    """Forest plot: each indicator's estimate and CI per county (one panel per indicator),
    the threshold as a dashed vertical line, intervals coloured by decision.

    ``indicators`` selects and orders indicator codes (default: all, in table order);
    ``sort_by`` is ``"unit"`` (by domain code) or ``"estimate"``. The province row (no
    domain) is drawn first.
    """
    table = result_table(results).copy()
    if indicators is None:
        indicators = list(dict.fromkeys(table["indicator"]))
    elif isinstance(indicators, str):
        indicators = [indicators]
    unknown = [i for i in indicators if i not in set(table["indicator"])]
    if unknown:
        raise ReportError(f"Results 中没有这些指标 / indicators not in the results: {unknown}")
    table["_unit"] = unit_labels(table)
    dom = [c for c in domain_columns(table) if c != "_unit"]
    counts = table[table["indicator"].isin(indicators)].groupby("indicator").size()
    heights = [max(1.6, 0.32 * counts[i] + 1.0) for i in indicators]
    fig = _figure(8.0, sum(heights))
    with _rc():
        axes = fig.subplots(len(indicators), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, ind in zip(axes, indicators):
            sub = table[table["indicator"] == ind]
            is_prov = sub["_unit"].eq(PROVINCE_LABEL).to_numpy()
            if sort_by == "estimate":
                order = np.lexsort((sub["estimate"].to_numpy(float), ~is_prov))
            else:
                keys = sub[dom].astype("string").fillna("").agg("|".join, axis=1).to_numpy() if dom else np.zeros(len(sub))
                order = np.lexsort((keys, ~is_prov))
            sub = sub.iloc[order]
            n = len(sub)
            y = np.arange(n)[::-1]  # first row at the top
            est = sub["estimate"].to_numpy(float) * 100
            lo = sub["ci_low"].to_numpy(float) * 100
            hi = sub["ci_high"].to_numpy(float) * 100
            keys_dec = [decision_key(d) for d in (sub["decision"] if "decision" in sub else [None] * n)]
            colors = [DECISION_COLORS[k] for k in keys_dec]
            ax.hlines(y, lo, hi, colors=colors, linewidth=2.2, gid="interval")
            ax.scatter(est, y, c=colors, s=28, zorder=3, gid="estimate")
            ax.set_yticks(y, sub["_unit"].tolist())
            thr = sub["threshold"].dropna().unique() if "threshold" in sub else []
            if len(thr):
                rule = sub["threshold_rule"].dropna().iloc[0] if "threshold_rule" in sub and sub["threshold_rule"].notna().any() else ""
                for t in thr:
                    ax.axvline(float(t) * 100, color="#212121", linestyle="--", linewidth=1.1,
                               gid="threshold", label=f"阈值 threshold {rule} {float(t) * 100:g}%")
            label = sub["label"].iloc[0] if "label" in sub and sub["label"].notna().any() else ind
            label_en = sub["label_en"].iloc[0] if "label_en" in sub and sub["label_en"].notna().any() else ""
            level = sub["level"].dropna().iloc[0] if "level" in sub and sub["level"].notna().any() else None
            method = sub["ci_method"].dropna().iloc[0] if "ci_method" in sub and sub["ci_method"].notna().any() else ""
            ci_txt = f"{float(level) * 100:g}% CI ({method})" if level is not None else "CI"
            ax.set_title(f"{label} {label_en}".strip(), loc="left", fontsize=11)
            ax.set_xlabel(f"估计值与置信区间 estimate and {ci_txt}, %")
            ax.set_ylim(-0.7, n - 0.3)
            ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
            ax.set_axisbelow(True)
            lo_lim = np.nanmin(np.r_[lo, est, [float(t) * 100 for t in thr]]) if n else 0
            hi_lim = np.nanmax(np.r_[hi, est, [float(t) * 100 for t in thr]]) if n else 1
            pad = max((hi_lim - lo_lim) * 0.08, 0.2)
            ax.set_xlim(max(lo_lim - pad, 0) if lo_lim >= 0 else lo_lim - pad, min(hi_lim + pad, 100) if hi_lim <= 100 else hi_lim + pad)
        # one legend for all panels: the decisions present
        from matplotlib.lines import Line2D

        present = [k for k in DECISION_COLORS if (table.get("decision") is not None and
                   any(decision_key(d) == k for d in table.loc[table["indicator"].isin(indicators), "decision"]))]
        if not present:
            present = ["none"]
        handles = [Line2D([], [], color=DECISION_COLORS[k], linewidth=2.2, marker="o", label=DECISION_LABELS[k])
                   for k in present]
        handles.append(Line2D([], [], color="#212121", linestyle="--", label="阈值 threshold"))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8, frameon=False)
        fig.suptitle("各县指标估计与阈值判定 Indicator estimates by county and threshold decisions", fontsize=12)
    return fig


# ----------------------------------------------------------------------------- attitudes
def attitudes_by_type(responses, items=("satisfaction", "recognition")):
    """Weighted distribution of the satisfaction and recognition answers by household type
    (registry status): one panel per item, a 100 % stacked bar per type, positive categories
    in greens. Shares use ``weight_final`` (else ``weight``, else equal weights); the count
    of answering households is printed beside each bar."""
    from evalkit.questionnaire import variables as V

    data = _responses_data(responses)
    if "registry_status" not in data.columns:
        raise ReportError("Responses.data 缺少 registry_status 列 / has no registry_status column.")
    w = _weights(data)
    palettes = {
        "satisfaction5": ["#1b5e20", "#66bb6a", "#e0e0e0", "#ef9a9a", "#c62828"],
        "recognition4": ["#1b5e20", "#66bb6a", "#c62828", "#bdbdbd"],
    }
    items = [i for i in items if i in data.columns]
    if not items:
        raise ReportError("Responses.data 没有满意度/认可度题 / has no satisfaction or recognition answers.")
    statuses = [s for s in ("poor", "exited", "exiting", "not_registered") if s in set(data["registry_status"])]
    fig = _figure(8.0, 1.2 + 0.55 * len(statuses) * len(items) + 0.6 * len(items))
    with _rc():
        axes = fig.subplots(len(items), 1, squeeze=False)[:, 0]
        for ax, item in zip(axes, items):
            var = V.HOUSEHOLD[item]
            choices = V.CHOICE_LISTS[var.choices]
            codes = list(choices)
            answered = data[item].notna().to_numpy()
            shares = _weighted_shares(data.loc[answered, "registry_status"], data.loc[answered, item],
                                      w[answered], statuses, codes)
            counts = data.loc[answered].groupby("registry_status").size().reindex(statuses, fill_value=0)
            keep = [s for s in statuses if counts[s] > 0]
            y = np.arange(len(keep))[::-1]
            left = np.zeros(len(keep))
            colors = palettes.get(var.choices, [None] * len(codes))
            for code, color in zip(codes, colors):
                width = shares.loc[keep, code].to_numpy(float) * 100
                ax.barh(y, width, left=left, color=color, edgecolor="white", height=0.6,
                        label=f"{choices[code][0]} {choices[code][1]}", gid=f"share_{code}")
                for yi, l, wd in zip(y, left, width):
                    if wd >= 6:
                        ax.text(l + wd / 2, yi, f"{wd:.0f}%", ha="center", va="center", fontsize=7,
                                color="white" if code in codes[:1] else "black")
                left += width
            ax.set_yticks(y, [f"{_status_label(s)}\n(n={counts[s]})" for s in keep])
            ax.set_xlim(0, 100)
            ax.set_xlabel("加权占比 weighted share, %")
            ax.set_title(f"{var.zh} {var.en}", loc="left", fontsize=11)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
        fig.suptitle("按户类型的满意度与认可度 Satisfaction and recognition by household type", fontsize=12)
    return fig


def _weighted_shares(group: pd.Series, answer: pd.Series, w: np.ndarray, groups, codes) -> pd.DataFrame:
    """Σw of each answer code within each group divided by the group's Σw (vectorised)."""
    df = pd.DataFrame({"g": group.to_numpy(), "a": answer.to_numpy(), "w": w})
    tab = df.pivot_table(index="g", columns="a", values="w", aggfunc="sum", fill_value=0.0)
    tab = tab.reindex(index=groups, columns=codes, fill_value=0.0)
    tot = tab.sum(axis=1).replace(0, np.nan)
    return tab.div(tot, axis=0).fillna(0.0)


def _responses_data(responses) -> pd.DataFrame:
    data = responses if isinstance(responses, pd.DataFrame) else getattr(responses, "data", None)
    if not isinstance(data, pd.DataFrame):
        raise ReportError("需要 Responses 对象或其 data / expected a Responses object or its .data DataFrame.")
    return data


def _sample_households(sample) -> pd.DataFrame:
    hh = sample if isinstance(sample, pd.DataFrame) else getattr(sample, "households", None)
    if not isinstance(hh, pd.DataFrame):
        raise ReportError("需要 Sample 对象或其 households / expected a Sample object or its .households DataFrame.")
    return hh


# ----------------------------------------------------------------------------- sample & response
def fieldwork_status(sample, responses=None, by=("county", "registry_status")) -> pd.DataFrame:
    """Per stratum (county × household type by default): main households drawn, reserves
    used, interviews completed, non-interviews by disposition and the response rate
    (completed ÷ households approached). The table behind :func:`sample_composition`
    (methodology/report.md §R3)."""
    hh = _sample_households(sample).copy()
    keys = _group_keys(hh, by)
    role = hh["role"] if "role" in hh.columns else pd.Series("main", index=hh.index)
    active = hh["active"].astype(bool) if "active" in hh.columns else pd.Series(True, index=hh.index)
    hh["_main"] = role.eq("main").astype(int)
    hh["_reserve_used"] = (role.eq("reserve") & active).astype(int)
    if "registry_status" in keys:  # household types in their natural order, not alphabetical
        hh["registry_status"] = pd.Categorical(hh["registry_status"], categories=_STATUS_ORDER +
                                               sorted(set(hh["registry_status"].dropna()) - set(_STATUS_ORDER)))
    out = hh.groupby(keys, dropna=False, observed=True).agg(main=("_main", "sum"),
                                                            reserves_used=("_reserve_used", "sum"))
    if responses is not None:
        data = _responses_data(responses)
        done = set(data["household_id"].astype(str))
        hh["_completed"] = hh["household_id"].astype(str).isin(done).astype(int)
        out["completed"] = hh.groupby(keys, dropna=False, observed=True)["_completed"].sum()
        nonresp = getattr(responses, "nonresponse", None)
        from evalkit.questionnaire.variables import DISPOSITION

        if isinstance(nonresp, pd.DataFrame) and len(nonresp) and "household_id" in nonresp.columns:
            disp_col = "disposition" if "disposition" in nonresp.columns else None
            nr = nonresp[["household_id"] + ([disp_col] if disp_col else [])].copy()
            nr["household_id"] = nr["household_id"].astype(str)
            nr = nr[~nr["household_id"].isin(done)].drop_duplicates("household_id")
            nr = nr.merge(hh[["household_id", *keys]].assign(household_id=lambda d: d["household_id"].astype(str)),
                          on="household_id", how="left")
            # codes outside the form's list (e.g. 'not_visited': sampled, no record at all) are
            # non-interviews of unknown reason: counted as 'other', never left out of the base
            nr["_disp"] = nr[disp_col].where(nr[disp_col].isin(list(DISPOSITION)), "other") if disp_col else "other"
            tab = nr.groupby([*keys, "_disp"], dropna=False, observed=True).size().unstack("_disp", fill_value=0)
            for code in DISPOSITION:
                if code == "completed":
                    continue
                out[code] = tab[code].reindex(out.index, fill_value=0) if code in tab.columns else 0
        else:
            for code in DISPOSITION:
                if code != "completed":
                    out[code] = 0
        nonresp_cols = [c for c in DISPOSITION if c != "completed"]
        out[nonresp_cols] = out[nonresp_cols].fillna(0).astype(int)
        out["approached"] = out["completed"] + out[nonresp_cols].sum(axis=1)
        out["response_rate"] = out["completed"] / out["approached"].replace(0, np.nan)
    out = out.reset_index()
    if "registry_status" in out:
        out["registry_status"] = out["registry_status"].astype(object)
    return out


_STATUS_ORDER = ["poor", "exiting", "exited", "not_registered"]


def _group_keys(hh: pd.DataFrame, by) -> list[str]:
    keys = []
    for b in by:
        if b == "county":
            keys.extend([c for c in ("county_code", "county_name") if c in hh.columns])
        elif b in hh.columns:
            keys.append(b)
        else:
            raise ReportError(f"样本中没有列 / the sample has no column '{b}'.")
    return keys


def sample_composition(sample, responses=None, by=("county", "registry_status")):
    """Sample composition and response by stratum: stacked bars of completed interviews and
    non-interviews by disposition (or main/reserve households when no responses are given),
    with the response rate printed at each bar's end."""
    from evalkit.questionnaire.variables import DISPOSITION

    status = fieldwork_status(sample, responses, by=by)
    keys = _group_keys(_sample_households(sample), by)
    labels = []
    for _, row in status.iterrows():  # one label per stratum (a handful), not per household
        parts = [(_status_label(row[k]) if k == "registry_status" else str(row[k])) for k in keys
                 if not (k == "county_code" and "county_name" in keys)]
        labels.append(" · ".join(parts))
    n = len(status)
    fig = _figure(8.5, 1.6 + 0.3 * n)
    with _rc():
        ax = fig.subplots()
        y = np.arange(n)[::-1]
        left = np.zeros(n)
        if responses is not None:
            palette = {"refused": "#ef9a9a", "absent": "#ffcc80", "not_found": "#b0bec5", "other": "#bdbdbd",
                       "replaced": "#ce93d8"}
            segments = [("completed", "#2e7d32")] + [(c, palette.get(c, "#9e9e9e")) for c in DISPOSITION
                                                     if c != "completed"]
            for code, color in segments:
                width = status[code].to_numpy(float)
                zh, en = DISPOSITION[code]
                ax.barh(y, width, left=left, color=color, height=0.65, label=f"{zh} {en}", gid=f"count_{code}")
                left += width
            for yi, l, rr in zip(y, left, status["response_rate"].to_numpy(float)):
                if np.isfinite(rr):
                    ax.text(l, yi, f" {rr * 100:.1f}%", va="center", fontsize=7, gid="response_rate")
            ax.set_xlabel("接触户数 households approached（右侧为应答率 response rate）")
            title = "各层样本与应答 Sample and response by stratum"
        else:
            for col, color, zh in (("main", "#1565c0", "主样本 main"), ("reserves_used", "#90caf9", "启用候补 reserves used")):
                width = status[col].to_numpy(float)
                ax.barh(y, width, left=left, color=color, height=0.65, label=zh, gid=f"count_{col}")
                left += width
            ax.set_xlabel("样本户数 sampled households")
            title = "各层样本构成 Sample composition by stratum"
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlim(0, max(left.max() * 1.15, 1) if n else 1)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
        ax.set_title(title, loc="left", fontsize=11)
    return fig


# ----------------------------------------------------------------------------- registry vs sample
def registry_vs_sample_table(sample, registry, by="registry_status") -> pd.DataFrame:
    """Share of households in each category (``by``) in the registry, in the sample
    (unweighted) and in the sample weighted by the design weights — the weighted share
    should reproduce the registry's when weights are right (methodology/report.md §R4)."""
    hh = _sample_households(sample)
    reg_hh = registry if isinstance(registry, pd.DataFrame) else getattr(registry, "households", None)
    if not isinstance(reg_hh, pd.DataFrame):
        raise ReportError("需要 Registry 对象或其 households / expected a Registry or its .households.")
    if "role" in hh.columns:
        hh = hh[hh["role"].eq("main")]
    w = pd.to_numeric(hh["weight"], errors="coerce").fillna(0.0) if "weight" in hh.columns else pd.Series(1.0, index=hh.index)
    reg = reg_hh[by].value_counts(normalize=True, dropna=False)
    unw = hh[by].value_counts(normalize=True, dropna=False)
    wtd = w.groupby(hh[by].to_numpy()).sum()
    wtd = wtd / wtd.sum()
    out = pd.DataFrame({"registry_share": reg, "sample_share": unw, "weighted_share": wtd}).fillna(0.0)
    out.index.name = by
    return out.reset_index()


def registry_vs_sample(sample, registry, by="registry_status"):
    """Grouped bars: share of households per category in the registry, the sample and the
    weighted sample (shares only, so no population count is shown)."""
    tab = registry_vs_sample_table(sample, registry, by=by)
    from evalkit.registry import schema

    cats = [schema.code_label(by, c) if by in schema.CODES else str(c) for c in tab[by]]
    fig = _figure(8.0, 4.0)
    with _rc():
        ax = fig.subplots()
        x = np.arange(len(tab))
        series = (("registry_share", "#9e9e9e", "登记库 registry"),
                  ("sample_share", "#90caf9", "样本（未加权）sample, unweighted"),
                  ("weighted_share", "#1565c0", "样本（加权）sample, weighted"))
        for k, (col, color, lab) in enumerate(series):
            vals = tab[col].to_numpy(float) * 100
            ax.bar(x + (k - 1) * 0.27, vals, width=0.27, color=color, label=lab, gid=col)
            for xi, v in zip(x + (k - 1) * 0.27, vals):
                ax.text(xi, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, cats)
        ax.set_ylabel("户数占比 share of households, %")
        ax.legend(fontsize=8, frameon=False)
        from evalkit.registry.schema import label as col_label

        ax.set_title(f"登记库与样本构成对比（{col_label(by)}）Registry vs sample composition", loc="left", fontsize=11)
    return fig


# ----------------------------------------------------------------------------- income
def income_around_line(responses, line: float, statuses=("exited", "exiting"), bins: int = 40,
                       window: tuple[float, float] = (0.0, 3.0)):
    """Histogram of per-capita net income among surveyed exited households, with the
    poverty line and the weighted share of households at or below it (these fail the
    exit income test). ``window`` is the x range in multiples of the line; households
    outside it are counted in the edge bins, never dropped (methodology/report.md §R5)."""
    inc, w, n_missing = _exited_income(responses, statuses)
    if not len(inc):
        raise ReportError(f"没有调查到{'/'.join(statuses)}户的收入 / no surveyed household of status "
                          f"{', '.join(statuses)} has an income: nothing to draw.")
    share = share_at_or_below(responses, line, statuses)
    lo, hi = window[0] * line, window[1] * line
    edges = np.linspace(lo, hi, bins + 1)
    fig = _figure(8.0, 4.2)
    with _rc():
        ax = fig.subplots()
        clipped = np.clip(inc, lo, np.nextafter(hi, lo))
        counts, _, patches = ax.hist(clipped, bins=edges, color="#90caf9", edgecolor="white", gid="income_hist")
        for p, left_edge in zip(patches, edges[:-1]):
            if left_edge < line:
                p.set_facecolor("#ef9a9a")
        ax.axvline(line, color="#c62828", linewidth=1.6, gid="poverty_line",
                   label=f"收入线 line {line:,.0f} 元")
        ax.set_xlabel("人均纯收入（元/人·年）per-capita net income (yuan/person/year)")
        ax.set_ylabel("户数 households")
        ax.text(0.99, 0.95,
                f"≤ 收入线的脱贫户（加权）: {share * 100:.1f}%\nweighted share at or below the line\n"
                f"n = {len(inc)}" + (f"（收入缺失 missing {n_missing}）" if n_missing else ""),
                transform=ax.transAxes, ha="right", va="top", fontsize=8, gid="share_below")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.set_title("脱贫户人均纯收入分布 Income of surveyed exited households around the line",
                     loc="left", fontsize=11)
    return fig


def _exited_income(responses, statuses):
    data = _responses_data(responses)
    if "income_per_capita" not in data.columns:
        raise ReportError("Responses.data 缺少人均纯收入 / has no income_per_capita column.")
    sel = data["registry_status"].isin(statuses).to_numpy() if "registry_status" in data.columns else np.ones(len(data), bool)
    inc = pd.to_numeric(data.loc[sel, "income_per_capita"], errors="coerce").to_numpy(float)
    w = _weights(data)[sel]
    ok = np.isfinite(inc)
    return inc[ok], w[ok], int((~ok).sum())


def share_at_or_below(responses, line: float, statuses=("exited", "exiting")) -> float:
    """Weighted share of surveyed households of ``statuses`` whose per-capita income is at or
    below ``line`` (Σw over those ÷ Σw over all with an income; households, not persons)."""
    inc, w, _ = _exited_income(responses, statuses)
    return float(w[inc <= line].sum() / w.sum()) if w.sum() > 0 else float("nan")
