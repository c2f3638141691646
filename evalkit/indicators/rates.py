"""两率一度 and 三率一度 with design-based intervals and threshold decisions.

Person rates (错退率, 漏评率, 错评率, 识别准确率) are ratio estimators Σw·size·flag / Σw·size
over the indicator's population; household rates (满意度, 认可度) are Σw·flag / Σw over the
households that answered. Populations are domains of the full design (rows outside keep a zero
contribution), so variances use every PSU — never a subset. The composite poverty incidence
adds registry totals (known constants) to the estimated 漏评 and 错退 persons and propagates both
rates' sampling error, covariance included, by linearization; its interval is Korn–Graubard on the
share of wrongly classified persons. Formulas, references and the zero-event rule:
docs/methodology/indicators.md §3–§4.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import DesignError, RuleError
from evalkit.indicators import decisions as D
from evalkit.indicators.rules import RuleSet, classify_households

EXIT_STATUSES = ("exited", "exiting")
REGISTERED = ("poor", "exited", "exiting")

# code -> (label zh, label en, unit, flag(s), population statuses (None = all), complement)
INDICATORS = {
    "identification_accuracy": ("识别准确率", "identification accuracy", "person",
                                ("wrong_inclusion", "missed"), ("poor", "not_registered"), True),
    "wrong_inclusion_rate": ("错评率", "wrong inclusion rate", "person", ("wrong_inclusion",), ("poor",), False),
    "missed_rate": ("漏评率", "missed (exclusion error) rate", "person", ("missed",), ("not_registered",), False),
    "exit_accuracy": ("退出准确率", "exit accuracy", "person", ("wrong_exit",), EXIT_STATUSES, True),
    "wrong_exit_rate": ("错退率", "wrong exit rate", "person", ("wrong_exit",), EXIT_STATUSES, False),
    "satisfaction": ("群众满意度", "satisfaction", "household", ("satisfied",), REGISTERED, False),
    "recognition_rate": ("群众认可度", "recognition rate", "household", ("recognises",), None, False),
    "poverty_incidence": ("综合贫困发生率", "composite poverty incidence", "person",
                          ("missed", "wrong_exit"), None, False),
}
RARE = ("identification_accuracy", "wrong_inclusion_rate", "missed_rate", "exit_accuracy", "wrong_exit_rate")
TWO_RATES = ("identification_accuracy", "wrong_inclusion_rate", "missed_rate", "exit_accuracy",
             "wrong_exit_rate", "satisfaction")
THREE_RATES = ("poverty_incidence", "wrong_exit_rate", "missed_rate", "recognition_rate")
ALL = tuple(INDICATORS)

TABLE_COLUMNS = ["indicator", "label", "label_en", "estimate", "se", "ci_low", "ci_high", "level",
                 "ci_method", "df", "n_households", "n_persons", "threshold", "threshold_rule", "decision"]


def default_ci_method(indicator: str) -> str:
    """Korn–Graubard for the rare error rates, their complements and the poverty incidence
    (through its share of wrongly classified persons), logit for attitudes."""
    if indicator in RARE or indicator == "poverty_incidence":
        return "korn-graubard"
    return "logit"


# ---------------------------------------------------------------------------- inputs
def _unpack(responses, members=None):
    """(data, members, SurveyDesign spec, sample) from a Responses-like object."""
    data = getattr(responses, "data", None)
    design = getattr(responses, "design", None)
    if data is None or design is None:
        raise DesignError("需要 Responses 对象（含 .data 与 .design）/ expected a Responses object with "
                          ".data and .design (from ek.read_responses), got " + type(responses).__name__)
    if members is None:
        members = getattr(responses, "members", None)
    spec = design.spec if hasattr(design, "spec") else dict(design)
    need = []
    for k in ("weight", "strata", "psu", "fpc"):
        v = spec.get(k)
        need += [v] if isinstance(v, str) else list(v or [])
    missing = [c for c in dict.fromkeys(need) if c not in data.columns]
    ddata = getattr(design, "data", None)
    if missing and ddata is not None:
        # design columns kept only in the design's frame (e.g. Sample.respondent_design): join by household
        if "household_id" in ddata.columns and "household_id" in data.columns:
            src = ddata.drop_duplicates("household_id")
            src.index = src["household_id"].astype(str).to_numpy()
            got = src.reindex(data["household_id"].astype(str).to_numpy())
            if got[missing].isna().any().any():
                raise DesignError("部分受访户在调查设计中找不到 / some interviewed households are not in the "
                                  f"design frame (columns {missing}).")
            data = data.assign(**{c: got[c].to_numpy() for c in missing})
        elif len(ddata) == len(data):
            data = data.assign(**{c: ddata[c].to_numpy() for c in missing})
    return data, members, spec, getattr(responses, "sample", None)


def _resolve_rules(rules, data, registry=None, sample=None) -> RuleSet:
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, dict):
        return RuleSet.from_dict(rules)
    year = prov = None
    if registry is not None:
        year = registry.meta.get("year")
        prov = registry.meta.get("province_code")
    if sample is not None and (year is None or prov is None):
        man = getattr(sample, "manifest", {}) or {}
        year = year or man.get("year")
        prov = prov or man.get("province_code")
    if prov is None and "province_code" in data.columns and data["province_code"].notna().any():
        prov = str(data["province_code"].dropna().iloc[0])[:2]
    if year is None:
        raise RuleError("无法确定评估年度，请传入 rules=RuleSet.default(year, province) / cannot tell the "
                        "evaluation year: pass rules=RuleSet.default(year, province).")
    return RuleSet.default(year, prov)


def _classified(data, members, rules, survey_date=None) -> pd.DataFrame:
    """data + classification columns (flags, items, reasons), same rows and order."""
    cls = classify_households(data, members, rules, survey_date=survey_date)
    keep = [c for c in cls.columns if c not in data.columns or c == "income_per_capita"]
    base = data.drop(columns=[c for c in keep if c in data.columns])
    return pd.concat([base, cls[keep].set_axis(data.index, axis=0)], axis=1)


# ---------------------------------------------------------------------------- core
def _domains(hh: pd.DataFrame, by: list[str]):
    if not by:
        return np.zeros(len(hh), np.int64), pd.DataFrame(index=[0]), 1
    keys = hh[by].astype("string").fillna("<NA>")
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(keys), sort=True)
    frame = pd.DataFrame(list(uniq), columns=by)
    return codes.astype(np.int64), frame, len(frame)


def _work_design(hh: pd.DataFrame, spec: dict, by: list[str]):
    """One slim SurveyDesign (design + domain columns only) reused by every estimate of a call."""
    from evalkit.estimation.design import SurveyDesign

    cols = []
    for k in ("weight", "strata", "psu", "fpc"):
        v = spec.get(k)
        cols += [v] if isinstance(v, str) else list(v or [])
    cols += list(by)
    cols = list(dict.fromkeys(c for c in cols if c in hh.columns))
    work = hh[cols].copy()
    work.index = range(len(work))
    return SurveyDesign(work, **spec)


def _design_estimate(des, y, x, by, level, statistic="mean"):
    """``des.estimate`` of the arrays y (and x) — written as work columns of the slim design."""
    des.data["_y"] = np.asarray(y, float)
    if x is not None:
        des.data["_x"] = np.asarray(x, float)
    kw = {}
    if statistic != "mean":
        kw["statistic"] = statistic
    return des.estimate("_y", denominator="_x" if x is not None else None, by=by or None,
                        ci_method="wald", level=level, **kw)


def _key(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """One string key per row for the ``by`` columns (NA spelled '<NA>')."""
    parts = [frame[c].astype("string").fillna("<NA>").to_numpy(dtype=object).astype(str) for c in by]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(np.char.add(out, "\x1f"), p)
    return out


def _align(res: pd.DataFrame, dom_frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Estimates in the order of dom_frame (missing domains → NaN)."""
    if not by:
        return res.reset_index(drop=True).iloc[:1]
    res = res.set_axis(_key(res, by), axis=0)
    return res.reindex(_key(dom_frame, by)).reset_index(drop=True)


def _rows(code, zh, en, dom_frame, est, se, lo, hi, level, method, df, n_hh, n_p) -> pd.DataFrame:
    cols = {"indicator": code, "label": zh, "label_en": en}
    cols.update({c: dom_frame[c].to_numpy() for c in dom_frame.columns})
    cols.update(estimate=est, se=se, ci_low=lo, ci_high=hi, level=level, ci_method=method, df=df,
                n_households=np.asarray(n_hh).astype(np.int64), n_persons=np.asarray(n_p).astype(np.int64))
    return pd.DataFrame(cols, index=range(len(dom_frame)))


def _prepare(hh, code) -> dict:
    """Numerator/denominator arrays of one indicator (NaN outside its answering population)."""
    zh, en, unit, flags, pops, complement = INDICATORS[code]
    status = pd.Series(hh["registry_status"].to_numpy(dtype=object))
    in_pop = np.ones(len(hh), bool) if pops is None else status.isin(list(pops)).fillna(False).to_numpy(bool)
    if code == "identification_accuracy":
        # error = wrong inclusion among poor + missed among non-registered
        f_wi = hh["wrong_inclusion"].astype("boolean")
        f_m = hh["missed"].astype("boolean")
        is_poor = status.eq("poor").fillna(False).to_numpy(bool)
        flag = f_wi.where(is_poor, f_m)
    else:
        flag = hh[flags[0]].astype("boolean")
    answered = in_pop & flag.notna().to_numpy(bool)
    f = flag.fillna(False).to_numpy(bool) & answered
    size = pd.to_numeric(hh["hh_size"], errors="coerce").fillna(0).to_numpy(float)
    unit_size = size if unit == "person" else np.ones(len(hh))
    # rows outside the population are NaN: the engine treats them as outside the domain (R subset)
    y = np.where(answered, unit_size * f, np.nan)
    x = np.where(answered, unit_size, np.nan)
    return {"y": y, "x": x, "answered": answered, "f": f, "in_pop": in_pop, "size": size}


def _batch_estimate(des, preps: dict, by, level, dom_frame) -> dict:
    """Every indicator's ratio in one engine call (na_rm: each population is its own domain)."""
    codes = [c for c, p in preps.items() if p["answered"].any()]
    out = {}
    if not codes:
        return out
    ys, xs = [], []
    for i, c in enumerate(codes):
        des.data[f"_y{i}"] = preps[c]["y"]
        des.data[f"_x{i}"] = preps[c]["x"]
        ys.append(f"_y{i}")
        xs.append(f"_x{i}")
    res = des.estimate(ys, denominator=xs, by=by or None, ci_method="wald", level=level, na_rm=True)
    for i, c in enumerate(codes):
        out[c] = _align(res[res["variable"] == ys[i]], dom_frame, by)
    return out


def _rate_rows(hh, res, code, by, level, ci_method, dom_codes, dom_frame, n_dom, deff_ref=None, prep=None):
    """One indicator over every domain: estimate, se, CI (zero-event bound), counts."""
    from evalkit.estimation.ci import normalise_method, proportion_ci

    zh, en, unit, flags, pops, complement = INDICATORS[code]
    prep = prep or _prepare(hh, code)
    answered, f, in_pop, size = prep["answered"], prep["f"], prep["in_pop"], prep["size"]
    n_hh = np.bincount(dom_codes, weights=answered.astype(float), minlength=n_dom)
    n_p = np.bincount(dom_codes, weights=size * answered, minlength=n_dom)
    n_ev = np.bincount(dom_codes, weights=f.astype(float), minlength=n_dom)
    n_missing = np.bincount(dom_codes, weights=(in_pop & ~answered).astype(float), minlength=n_dom)
    if res is not None:
        p = res["estimate"].to_numpy(float)
        se = res["se"].to_numpy(float)
        df = res["df"].to_numpy(float)
    else:
        p = se = df = np.full(n_dom, np.nan)
    p = np.where(n_hh > 0, p, np.nan)
    method = normalise_method(ci_method or default_ci_method(code))
    # effective count for the exact bound at 0 or 1 events: households in the population,
    # divided by the design effect of the same rate measured where events occur (deff_ref)
    lo, hi, boundary = proportion_ci(p, se, df, np.maximum(n_hh, 1e-9), method=method, level=level)
    if deff_ref is not None and np.isfinite(deff_ref) and deff_ref > 1 and boundary.any():
        n_eff = np.maximum(n_hh / deff_ref, 1e-9)
        lo_b, hi_b, _ = proportion_ci(p, se, df, n_eff, method=method, level=level)
        lo, hi = np.where(boundary, lo_b, lo), np.where(boundary, hi_b, hi)
    lo = np.where(n_hh > 0, lo, np.nan)
    hi = np.where(n_hh > 0, hi, np.nan)
    # household-level design effect of this rate (used as deff_ref for zero-event domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff_hh = se ** 2 / (p * (1 - p) / n_hh)
    est, cl, ch = p, lo, hi
    if complement:
        est, cl, ch = 1 - p, 1 - hi, 1 - lo
    out = _rows(code, zh, en, dom_frame, est, se, cl, ch, level, method, df, n_hh, n_p)
    extra = pd.DataFrame({"n_events": n_ev.astype(np.int64), "n_item_missing": n_missing.astype(np.int64),
                          "deff_household": deff_hh, "rate": p})
    return out, extra


def _poverty_incidence(hh, des, by, level, dom_codes, dom_frame, n_dom, totals, parts, ci_method=None,
                       deff_ref=None):
    """(P + r_m·N_nr + r_e·N_ex)/N per domain with the linearized variance of both rates.

    ``totals``: DataFrame aligned with dom_frame: persons_poor, persons_not_registered,
    persons_exit, persons_all. ``parts``: {'missed_rate': (rows, extra), 'wrong_exit_rate': ...}.
    """
    from evalkit.estimation.ci import normalise_method, proportion_ci, t_quantile

    w = des.data[des.weight].to_numpy(float)
    size = pd.to_numeric(hh["hh_size"], errors="coerce").fillna(0).to_numpy(float)
    status = pd.Series(hh["registry_status"].to_numpy(dtype=object))
    N = totals["persons_all"].to_numpy(float)
    z = np.zeros(len(hh))
    comp = {}
    zero_var = np.zeros(n_dom)
    n_pop = np.zeros(n_dom)
    for code, flag, pops, Ncol in (("missed_rate", "missed", ("not_registered",), "persons_not_registered"),
                                   ("wrong_exit_rate", "wrong_exit", EXIT_STATUSES, "persons_exit")):
        rows, extra = parts[code]
        r = extra["rate"].to_numpy(float)
        in_pop = status.isin(list(pops)).fillna(False).to_numpy(bool)
        fl = hh[flag].astype("boolean")
        answered = in_pop & fl.notna().to_numpy(bool)
        f = fl.fillna(False).to_numpy(bool) & answered
        ys, xs = size * f, size * answered
        Xhat = np.bincount(dom_codes, weights=w * xs, minlength=n_dom)
        Nc = totals[Ncol].to_numpy(float)
        coef = np.where(Xhat > 0, Nc / np.where(N > 0, N, np.nan) / np.where(Xhat > 0, Xhat, np.nan), 0.0)
        rr = np.nan_to_num(r)
        z += coef[dom_codes] * (ys - rr[dom_codes] * xs)
        comp[code] = (np.where(np.isfinite(r), r, 0.0), Nc)
        n_pop += np.bincount(dom_codes, weights=answered.astype(float), minlength=n_dom)
        # zero-event domains: the design variance of that rate is 0; add the variance implied
        # by its exact upper bound, ((hi − 0)/t)², so the interval stays honest (§4 of the method)
        hi = rows["ci_high"].to_numpy(float)
        ev = extra["n_events"].to_numpy(float)
        q = t_quantile(rows["df"].to_numpy(float), level)
        add = np.where((ev == 0) & np.isfinite(hi) & (q > 0), (Nc / np.where(N > 0, N, np.nan) * hi / q) ** 2, 0.0)
        zero_var += np.nan_to_num(add)
    res = _align(_design_estimate(des, z, None, by, level, statistic="total"), dom_frame, by)
    se_lin = res["se"].to_numpy(float)
    df = res["df"].to_numpy(float)
    P = totals["persons_poor"].to_numpy(float)
    (rm, Nnr), (re, Nex) = comp["missed_rate"], comp["wrong_exit_rate"]
    with np.errstate(invalid="ignore", divide="ignore"):
        est = (P + rm * Nnr + re * Nex) / N
    se = np.sqrt(se_lin ** 2 + zero_var)
    method = normalise_method(ci_method or default_ci_method("poverty_incidence"))
    if method == "wald":
        q = t_quantile(df, level)
        lo = np.clip(est - q * se, 0.0, 1.0)
        hi = np.clip(est + q * se, 0.0, 1.0)
    else:
        # PI = a + c·π with a = P/N, c = (N_nr + N_ex)/N and π ∈ [0, 1] the share of wrongly classified
        # persons among non-registered + exited persons: a proportion, so its interval can be
        # asymmetric like the rare rates it is made of (Korn–Graubard by default; methodology §4)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = P / N
            c = (Nnr + Nex) / N
            pi_ = np.clip((est - a) / c, 0.0, 1.0)
            se_pi = se / c
        lo_p, hi_p, boundary = proportion_ci(pi_, se_pi, df, np.maximum(n_pop, 1e-9), method=method, level=level)
        if deff_ref and np.isfinite(deff_ref) and deff_ref > 1 and boundary.any():
            lo_b, hi_b, _ = proportion_ci(pi_, se_pi, df, np.maximum(n_pop / deff_ref, 1e-9), method=method,
                                          level=level)
            lo_p, hi_p = np.where(boundary, lo_b, lo_p), np.where(boundary, hi_b, hi_p)
        lo, hi = a + c * lo_p, a + c * hi_p
    n_hh = np.bincount(dom_codes, minlength=n_dom)
    n_p = np.bincount(dom_codes, weights=size, minlength=n_dom)
    zh, en = INDICATORS["poverty_incidence"][:2]
    with np.errstate(invalid="ignore", divide="ignore"):
        pi_hat = (est - P / N) / ((Nnr + Nex) / N)
        deff_pi = (se / ((Nnr + Nex) / N)) ** 2 / (pi_hat * (1 - pi_hat) / n_pop)
    out = _rows("poverty_incidence", zh, en, dom_frame, est, se, lo, hi, level, method, df, n_hh, n_p)
    extra = pd.DataFrame({"n_events": np.bincount(dom_codes, weights=(
        hh["missed"].fillna(False).to_numpy(bool) | hh["wrong_exit"].fillna(False).to_numpy(bool)).astype(float),
        minlength=n_dom).astype(np.int64), "n_item_missing": 0, "deff_household": deff_pi, "rate": est})
    return out, extra


def _threshold_frame(thresholds, rules: RuleSet) -> pd.DataFrame | None:
    if thresholds is False:
        return None
    if thresholds is None:
        from evalkit.indicators.lines import thresholds as lookup

        if rules.province_code is None:
            return None
        return lookup(rules.year, rules.province_code)
    if isinstance(thresholds, dict):
        return pd.DataFrame([(k, float(v[0]), v[1]) for k, v in thresholds.items()],
                            columns=["indicator", "threshold", "rule"])
    return pd.DataFrame(thresholds)[["indicator", "threshold", "rule"]]


def compute(hh: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """Estimate every indicator of ``spec['indicators']`` on classified households ``hh``.

    Returns (table, verdicts or None, extra) — the Results content. ``spec`` holds: design
    (SurveyDesign kwargs), by (domain columns), level, ci_method (None/str/dict),
    indicators, thresholds (DataFrame or None), totals (registry person totals by domain,
    for poverty_incidence), include_total, verdict_by.
    """
    design = spec["design"]
    level = float(spec.get("level", 0.95))
    by_full = list(spec.get("by") or [])
    levels = [by_full] if not spec.get("include_total", True) or not by_full else [[], by_full]
    ci = spec.get("ci_method")
    tables, extras = [], []
    des = _work_design(hh, design, by_full)
    deff_ref: dict = {}
    rate_codes = [c for c in spec["indicators"] if c != "poverty_incidence"]
    if "poverty_incidence" in spec["indicators"]:
        rate_codes += [c for c in ("missed_rate", "wrong_exit_rate") if c not in rate_codes]
    preps = {c: _prepare(hh, c) for c in rate_codes}
    for by in levels:
        dom_codes, dom_frame, n_dom = _domains(hh, by)
        parts = {}
        use_ref = deff_ref if by else {}  # zero-event bound borrows the province design effect
        batch = _batch_estimate(des, preps, by, level, dom_frame)
        for code in rate_codes:
            m = ci.get(code) if isinstance(ci, dict) else ci
            parts[code] = _rate_rows(hh, batch.get(code), code, by, level, m, dom_codes, dom_frame, n_dom,
                                     use_ref.get(code), preps[code])
            if not by:  # province-level design effect → bound for zero-event domains
                dh = parts[code][1]["deff_household"].iloc[0]
                deff_ref[code] = float(dh) if np.isfinite(dh) else 1.0
        if "poverty_incidence" in spec["indicators"]:
            tot = spec.get("totals")
            if tot is None:
                raise RuleError("综合贫困发生率需要登记库人口总数 / poverty_incidence needs registry totals: "
                                "use county_exit_check(responses, registry).")
            if by:
                tkey = tot[tot["_level"] == "domain"]
                totals = tkey.set_axis(_key(tkey, by), axis=0).reindex(_key(dom_frame, by)).reset_index(drop=True)
            else:
                totals = tot[tot["_level"] == "total"].reset_index(drop=True)
            m = ci.get("poverty_incidence") if isinstance(ci, dict) else ci
            parts["poverty_incidence"] = _poverty_incidence(hh, des, by, level, dom_codes, dom_frame, n_dom,
                                                            totals, parts, m, use_ref.get("poverty_incidence"))
            if not by:
                dh = parts["poverty_incidence"][1]["deff_household"].iloc[0]
                deff_ref["poverty_incidence"] = float(dh) if np.isfinite(dh) else 1.0
        for code in spec["indicators"]:
            rows, extra = parts[code]
            for c in by_full:
                if c not in rows.columns:
                    rows[c] = pd.NA
            tables.append(rows)
            extras.append(pd.concat([rows[["indicator", *by_full]].reset_index(drop=True),
                                     extra.reset_index(drop=True)], axis=1))
    table = pd.concat(tables, ignore_index=True)
    extra = pd.concat(extras, ignore_index=True)
    # domain label columns (e.g. county_name) right after their code
    for c, name_col in spec.get("name_columns", {}).items():
        names = hh.drop_duplicates(c).set_index(c)[name_col]
        table[name_col] = table[c].map(names)
    thr = spec.get("thresholds")
    if thr is not None and len(thr):
        t = thr.set_index("indicator")
        table["threshold"] = table["indicator"].map(t["threshold"]).astype(float)
        table["threshold_rule"] = table["indicator"].map(t["rule"])
        table["decision"] = D.decide(table["estimate"], table["ci_low"], table["ci_high"],
                                     table["threshold"].fillna(np.nan), table["threshold_rule"].fillna("<"))
        # decisions are per evaluated unit: no decision where there is no threshold
    else:
        table["threshold"] = np.nan
        table["threshold_rule"] = None
        table["decision"] = None
    extra["decision_reason"] = D.reasons(table["estimate"], table["ci_low"], table["ci_high"], table["threshold"],
                                         table["threshold_rule"].fillna("<"), table["decision"], level)
    dom_cols = by_full + [v for v in spec.get("name_columns", {}).values()]
    table = table[["indicator", "label", "label_en", *dom_cols, *TABLE_COLUMNS[3:]]]
    verdicts = None
    vb = spec.get("verdict_by")
    if vb and thr is not None:
        sub = table[table[vb].notna() & table["threshold"].notna()]
        rows = []
        for key, g in sub.groupby(vb, sort=True):
            dec = D.overall(g["decision"].tolist())
            bad = g.loc[g["decision"] == "fail", "label"].tolist()
            unclear = g.loc[g["decision"] == "inconclusive", "label"].tolist()
            reason = ("四项指标全部达标" if dec == "pass" else
                      ("不达标：" + "、".join(bad) if dec == "fail" else "无法判定：" + "、".join(unclear)))
            row = {vb: key}
            for nc in spec.get("name_columns", {}).values():
                row[nc] = g[nc].iloc[0]
            row.update(decision=dec, n_pass=int((g["decision"] == "pass").sum()),
                       n_fail=int((g["decision"] == "fail").sum()),
                       n_inconclusive=int((g["decision"] == "inconclusive").sum()), reason=reason)
            rows.append(row)
        verdicts = pd.DataFrame(rows)
    return table, verdicts, extra


def _name_columns(hh, by):
    out = {}
    for c in by or []:
        if c.endswith("_code"):
            n = c[:-5] + "_name"
            if n in hh.columns:
                out[c] = n
    return out


def _meta(rules, level, sample=None, **more):
    man = getattr(sample, "manifest", None) if sample is not None else None
    meta = {"rules": rules.to_dict(), "year": rules.year, "province_code": rules.province_code,
            "line": rules.exit_standard.line, "level": level, "sample_manifest": man}
    meta.update(more)
    return meta


# ---------------------------------------------------------------------------- public
def two_rates_one_degree(responses, rules: RuleSet | None = None, by=None, *, level: float = 0.95,
                         ci_method=None, indicators=TWO_RATES, members=None, survey_date=None,
                         thresholds=False, include_total: bool = True, lonely_psu: str | None = None):
    """两率一度: identification accuracy (with 错评率, 漏评率), exit accuracy (with 错退率),
    satisfaction — design-based estimates with CIs → :class:`~evalkit.indicators.results.Results`.

    ``responses``: a ``Responses`` (``.data``, ``.design``, ``.members``). ``by``: domain
    columns (e.g. ``["county_code"]``); the province total is included unless
    ``include_total=False``. ``ci_method``: None (defaults: Korn–Graubard for rare rates,
    logit for satisfaction), one method for all, or a dict per indicator. ``lonely_psu``
    overrides the design's rule for strata with one responding PSU (R's options).
    """
    from evalkit.indicators.results import Results

    data, mem, spec, sample = _unpack(responses, members)
    if lonely_psu is not None:
        spec = {**spec, "lonely_psu": lonely_psu}
    rules = _resolve_rules(rules, data, sample=sample)
    by = [by] if isinstance(by, str) else list(by or [])
    hh = _classified(data, mem, rules, survey_date)
    rspec = {"kind": "two_rates_one_degree", "design": spec, "by": by, "level": level, "ci_method": ci_method,
             "indicators": list(indicators), "include_total": include_total,
             "thresholds": _threshold_frame(thresholds, rules), "name_columns": _name_columns(hh, by)}
    table, verdicts, extra = compute(hh, rspec)
    return Results(table, verdicts=verdicts, meta=_meta(rules, level, sample, kind="two_rates_one_degree"),
                   households=hh, spec=rspec,
                   extra=extra, rules=rules)


def registry_totals(registry, by=("county_code",)) -> pd.DataFrame:
    """Registry person totals (constants of the poverty incidence) by domain and in total:
    persons_poor, persons_not_registered, persons_exit (exited + exiting), persons_all."""
    hh = registry.households
    size = pd.to_numeric(hh["hh_size"], errors="coerce").fillna(0).astype(float)
    st = pd.Series(hh["registry_status"].to_numpy(dtype=object), index=hh.index)
    f = pd.DataFrame({"persons_poor": size * st.eq("poor").fillna(False).to_numpy(bool),
                      "persons_not_registered": size * st.eq("not_registered").fillna(False).to_numpy(bool),
                      "persons_exit": size * st.isin(EXIT_STATUSES).fillna(False).to_numpy(bool),
                      "persons_all": size})
    by = list(by or [])
    parts = []
    if by:
        g = f.groupby([hh[c].astype("string") for c in by]).sum().reset_index()
        g["_level"] = "domain"
        parts.append(g)
    t = f.sum().to_frame().T
    t["_level"] = "total"
    for c in by:
        t[c] = pd.NA
    parts.append(t)
    return pd.concat(parts, ignore_index=True)


def county_exit_check(responses, registry, rules: RuleSet | None = None, *, by="county_code",
                      level: float = 0.95, ci_method=None, thresholds=None, members=None,
                      survey_date=None, include_total: bool = True, indicators=THREE_RATES,
                      lonely_psu: str | None = None):
    """三率一度 per county: poverty_incidence, wrong_exit_rate, missed_rate, recognition_rate,
    each with its threshold (central/western by province, data/thresholds.csv) and a decision
    pass/fail/inconclusive, plus ``Results.verdicts`` (a county exits only if all four pass).

    ``registry``: the ``Registry`` the sample was drawn from — its person totals by status are
    the known constants of the poverty incidence.
    """
    from evalkit.indicators.results import Results

    data, mem, spec, sample = _unpack(responses, members)
    if lonely_psu is not None:
        spec = {**spec, "lonely_psu": lonely_psu}
    rules = _resolve_rules(rules, data, registry=registry, sample=sample)
    by = [by] if isinstance(by, str) else list(by or [])
    hh = _classified(data, mem, rules, survey_date or registry.meta.get("survey_date"))
    totals = registry_totals(registry, by)
    thr = _threshold_frame(thresholds, rules)
    if thr is None:
        raise RuleError("县退出检查需要阈值 / county_exit_check needs thresholds: give the province in the "
                        "rules or pass thresholds={indicator: (value, rule)}.")
    rspec = {"kind": "county_exit_check", "design": spec, "by": by, "level": level, "ci_method": ci_method,
             "indicators": list(indicators), "include_total": include_total, "thresholds": thr,
             "totals": totals, "name_columns": _name_columns(hh, by), "verdict_by": by[0] if by else None}
    table, verdicts, extra = compute(hh, rspec)
    meta = _meta(rules, level, sample, kind="county_exit_check",
                 registry_fingerprint=getattr(registry, "fingerprint", None),
                 population=totals)
    return Results(table, verdicts=verdicts, meta=meta, households=hh, spec=rspec, extra=extra, rules=rules)
