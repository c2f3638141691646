"""Threshold decisions (阈值判定) — DESIGN.md "Threshold decisions".

``pass`` when the whole confidence interval lies on the good side of the threshold;
``fail`` when the point estimate is on the bad side *and* the interval excludes the
threshold; otherwise ``inconclusive``. The rule ``"<"`` means good values are below the
threshold (错退率 < 2 %), ``">="`` means good values are at or above it (认可度 ≥ 90 %).
Every decision comes with the numbers that led to it (docs/methodology/indicators.md §5).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import RuleError

DECISIONS = ("pass", "fail", "inconclusive")
DECISION_LABELS = {
    "pass": ("达标", "pass"),
    "fail": ("不达标", "fail"),
    "inconclusive": ("无法判定", "inconclusive"),
}
RULES = ("<", ">=")


def decide(estimate, ci_low, ci_high, threshold, rule) -> np.ndarray:
    """Vectorised decision per row: 'pass' / 'fail' / 'inconclusive', or None where there is
    no threshold (or no estimate: an indicator that could not be estimated is never 'pass')."""
    est = np.asarray(estimate, dtype=float)
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), est.shape)
    rule = np.broadcast_to(np.asarray(rule, dtype=object), est.shape)
    bad_rules = set(pd.unique(rule[~pd.isna(thr)].astype(str))) - set(RULES) if thr.size else set()
    if bad_rules:
        raise RuleError(f"未知的阈值规则 unknown threshold rule(s) {sorted(bad_rules)}; use '<' or '>='.")
    below = rule == "<"
    with np.errstate(invalid="ignore"):
        good_ci = np.where(below, hi < thr, lo >= thr)
        bad_est = np.where(below, est >= thr, est < thr)
        excl = np.where(below, lo > thr, hi < thr)
    out = np.where(good_ci, "pass", np.where(bad_est & excl, "fail", "inconclusive")).astype(object)
    out[np.isnan(thr)] = None
    out[~np.isnan(thr) & (np.isnan(est) | np.isnan(lo) | np.isnan(hi))] = "inconclusive"
    return out


def _pct(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "NA"
    return f"{x * 100:.2f}%"


def reasons(estimate, ci_low, ci_high, threshold, rule, decision, level=0.95) -> np.ndarray:
    """One sentence per row (Chinese, then English) with the numbers behind the decision."""
    est, lo, hi, thr = (np.asarray(a, dtype=float) for a in (estimate, ci_low, ci_high, threshold))
    rule = np.broadcast_to(np.asarray(rule, dtype=object), est.shape)
    dec = np.asarray(decision, dtype=object)
    lev = np.broadcast_to(np.asarray(level, dtype=float), est.shape)
    out = []
    for e, a, b, t, r, d, lv in zip(est, lo, hi, thr, rule, dec, lev):
        if d is None or (isinstance(d, float) and np.isnan(d)):
            out.append(f"无阈值 no threshold: 估计 estimate {_pct(e)}")
            continue
        ci = f"{lv * 100:g}%置信区间 CI [{_pct(a)}, {_pct(b)}]"
        good = f"低于 below {_pct(t)}" if r == "<" else f"不低于 at least {_pct(t)}"
        if np.isnan(e):
            out.append(f"无法估计（样本中无该人群）no estimate (no sampled units in this population) → 无法判定 inconclusive")
        elif d == "pass":
            out.append(f"估计 {_pct(e)}，{ci} 全部{good} → 达标 / whole CI on the good side → pass")
        elif d == "fail":
            out.append(f"估计 {_pct(e)} 未达标准（应{good}），{ci} 不含阈值 → 不达标 / estimate on the bad side "
                       "and CI excludes the threshold → fail")
        else:
            out.append(f"估计 {_pct(e)}，{ci} 包含阈值 {_pct(t)} → 无法判定，需扩大样本或复核 / CI contains the "
                       "threshold → inconclusive (larger sample or review needed)")
    return np.array(out, dtype=object)


def overall(decisions: pd.Series) -> str:
    """County verdict: 'pass' only if every indicator passes; 'fail' if any fails;
    otherwise 'inconclusive' (DOMAIN.md §2: any failed indicator blocks the exit)."""
    d = [x for x in decisions]
    if any(x == "fail" for x in d):
        return "fail"
    if d and all(x == "pass" for x in d):
        return "pass"
    return "inconclusive"


def decision_label(d, lang: str = "zh") -> str:
    pair = DECISION_LABELS.get(d)
    if pair is None:
        return "无阈值" if lang == "zh" else "no threshold"
    return pair[0] if lang == "zh" else pair[1]
