"""`SurveyDesign`: a data frame plus the columns that describe how it was sampled.

The design is declared once (weights, strata, PSUs per stage, fpc per stage) and every
estimate reuses it. Semantics are those of R ``svydesign(ids=~a+b, strata=~s, fpc=~f1+f2,
weights=~w, nest=TRUE)``; see docs/methodology/estimation.md §1.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from evalkit.errors import DesignError

LONELY_OPTIONS = ("fail", "remove", "adjust", "certainty", "average")


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _codes(values) -> np.ndarray:
    """Integer codes 0..k-1 in sorted order of the values (row-order independent)."""
    s = pd.Series(values)
    try:
        codes, _ = pd.factorize(s, sort=True)
    except TypeError:   # mixed types (e.g. 101 and "101a"): order by their text
        codes, _ = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.int64)


def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Codes of the pair (a, b), ordered lexicographically (a first)."""
    nb = int(b.max()) + 1 if b.size else 1
    key = a.astype(np.int64) * nb + b
    codes, _ = pd.factorize(key, sort=True)   # hash + sort of the uniques only
    return codes.astype(np.int64, copy=False)


@dataclass
class Stage:
    """Index structure of one sampling stage, all arrays vectorised over rows/units/groups.

    ``group`` = the stratum at this stage nested in the parent unit (R's ``strata[, k]``),
    ``unit`` = the sampled unit at this stage (R's nested ``ids[, k]``).
    """

    k: int
    row_unit: np.ndarray     # (n,) unit code; units are numbered so groups are contiguous
    row_group: np.ndarray    # (n,) group code
    unit_group: np.ndarray   # (U,) group of each unit (non-decreasing)
    n_units: int
    n_groups: int
    n_g: np.ndarray          # (G,) sampled units in group (R fpc$sampsize)
    N_g: np.ndarray          # (G,) population units (inf when no fpc)
    f_g: np.ndarray          # (G,) 1 - n/N (R: (N-n)/N), 1 without fpc
    mult_g: np.ndarray       # (G,) product of ancestors' sampling fractions n/N
    group_start: np.ndarray  # (G,) index of each group's first unit (units contiguous per group)
    parent_g: np.ndarray     # (G,) parent unit code at stage k-1 (0 at stage 0)
    n_parents: int
    labels_g: pd.DataFrame   # (G,) stratum label (and parent) for messages


class SurveyDesign:
    """A sample with its design: weights, strata, PSUs (per stage) and fpc (per stage).

    ``SurveyDesign(data, weight, strata=None, psu=None, fpc=None, lonely_psu="fail")``
    takes column names (lists per stage for multistage designs). PSU ids need not be
    unique across strata (R ``nest=TRUE``). ``fpc`` holds population counts (values ≥ 1)
    or sampling fractions (all values ≤ 1), constant within each stratum of its stage.
    """

    def __init__(self, data: pd.DataFrame, weight: str, strata=None, psu=None, fpc=None,
                 lonely_psu: str = "fail"):
        if isinstance(data, SurveyDesign):
            data = data.data
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"SurveyDesign needs a pandas DataFrame, got {type(data).__name__}. "
                              "调查设计需要 DataFrame。")
        if lonely_psu not in LONELY_OPTIONS:
            raise DesignError(f"lonely_psu={lonely_psu!r} is not one of {LONELY_OPTIONS} "
                              "（单一 PSU 层的处理方式无效）")
        self._data = data
        self.weight = weight
        self.strata = _as_list(strata)
        self.psu = _as_list(psu)
        self.fpc = _as_list(fpc)
        self.lonely_psu = lonely_psu
        self._check_columns()
        if len(self.strata) > max(1, len(self.psu)):
            raise DesignError(f"strata={self.strata} has more stages than psu={self.psu}; "
                              "give one strata column per stage at most.")
        if len(self.fpc) > max(1, len(self.psu)):
            raise DesignError(f"fpc={self.fpc} has more stages than psu={self.psu}; "
                              "give one fpc column per sampling stage.")

    # ------------------------------------------------------------------ basics
    @property
    def data(self) -> pd.DataFrame:
        """The sample data (one row per final unit)."""
        return self._data

    @property
    def spec(self) -> dict:
        """Keyword arguments that re-create this design on another frame."""
        def one(v):
            return None if not v else (v[0] if len(v) == 1 else list(v))
        return {"weight": self.weight, "strata": one(self.strata), "psu": one(self.psu),
                "fpc": one(self.fpc), "lonely_psu": self.lonely_psu}

    def _check_columns(self):
        df = self._data
        for role, cols in (("weight", [self.weight]), ("strata", self.strata), ("psu", self.psu),
                           ("fpc", self.fpc)):
            for c in cols:
                if c not in df.columns:
                    raise DesignError(f"column '{c}' ({role}) is not in the data; columns are "
                                      f"{list(df.columns)[:30]}. 数据中没有设计变量列 '{c}'。")
                if df[c].isna().any():
                    rows = np.flatnonzero(df[c].isna().to_numpy())[:5]
                    raise DesignError(
                        f"column '{c}' ({role}) has {int(df[c].isna().sum())} missing values "
                        f"(first at data rows {[int(r) + 2 for r in rows]}, header = row 1). "
                        f"设计变量 '{c}' 有缺失值；请补齐后再估计。")
        w = df[self.weight]
        if not pd.api.types.is_numeric_dtype(w) or pd.api.types.is_bool_dtype(w):
            raise DesignError(f"column '{self.weight}' (weight) must be numeric, got {w.dtype}. "
                              "权数列必须是数值。")
        wv = w.to_numpy(dtype=float)
        if not np.all(np.isfinite(wv)) or (wv < 0).any():
            bad = np.flatnonzero(~np.isfinite(wv) | (wv < 0))
            raise DesignError(
                f"column '{self.weight}' (weight) has {bad.size} negative or infinite values, e.g. "
                f"{float(wv[bad[0]])!r} at data row {int(bad[0]) + 2} (header = row 1). 权数不能为负或无穷。")
        for c in self.fpc:
            if not pd.api.types.is_numeric_dtype(df[c]):
                raise DesignError(f"column '{c}' (fpc) must be numeric, got {df[c].dtype}.")
            v = df[c].to_numpy(dtype=float)
            if (v <= 0).any():
                i = int(np.flatnonzero(v <= 0)[0])
                raise DesignError(f"column '{c}' (fpc) must be > 0; row {i + 2} has {float(v[i])!r}. "
                                  "fpc（总体单位数或抽样比）必须为正。")
        if len(self.fpc) and len(self.psu) == 0 and len(self.fpc) > 1:
            raise DesignError("several fpc columns need as many psu columns (one per stage).")

    @property
    def n(self) -> int:
        return len(self._data)

    # ------------------------------------------------------------------ structure
    @cached_property
    def weights(self) -> np.ndarray:
        return self._data[self.weight].to_numpy(dtype=float)

    @cached_property
    def stages(self) -> list[Stage]:
        """Per-stage index structure (stage 0 always; later stages only with fpc, as R)."""
        df = self._data
        n = len(df)
        n_stages = max(1, len(self.psu))
        psu_codes = [_codes(df[c]) for c in self.psu] if self.psu else [np.arange(n, dtype=np.int64)]
        strata_codes = [_codes(df[c]) for c in self.strata]
        # R: later stages contribute only when fpc is given for them (and all earlier stages)
        n_var_stages = 1 if not self.fpc else min(len(self.fpc), n_stages)
        out: list[Stage] = []
        parent_path = None  # unit code of the previous stage (nested path)
        mult_row = np.ones(n)
        for k in range(n_var_stages):
            s_code = strata_codes[min(k, len(strata_codes) - 1)] if strata_codes else np.zeros(n, np.int64)
            group = s_code if parent_path is None else _combine(parent_path, s_code)
            unit = _combine(group, psu_codes[k])
            # nested path includes every earlier stratum and PSU (R nest=TRUE)
            G = int(group.max()) + 1
            U = int(unit.max()) + 1
            first_row_of_unit = np.zeros(U, np.int64)
            first_row_of_unit[unit[::-1]] = np.arange(n)[::-1]
            unit_group = group[first_row_of_unit]
            n_g = np.bincount(unit_group, minlength=G).astype(float)
            first_row_of_group = np.zeros(G, np.int64)
            first_row_of_group[group[::-1]] = np.arange(n)[::-1]
            if k < len(self.fpc):
                fcol = self.fpc[k]
                fv = df[fcol].to_numpy(dtype=float)
                gmin = pd.Series(fv).groupby(group).min().to_numpy()
                gmax = pd.Series(fv).groupby(group).max().to_numpy()
                if np.any(gmin != gmax):
                    g = int(np.flatnonzero(gmin != gmax)[0])
                    lab = self._group_label(k, first_row_of_group[g])
                    raise DesignError(f"fpc column '{fcol}' varies within {lab} "
                                      f"({gmin[g]!r} vs {gmax[g]!r}); it must be one value per "
                                      "stratum. 同一层内 fpc 取值必须相同。")
                all_frac = bool(np.all(fv <= 1))
                N_g = n_g / gmax if all_frac else gmax.copy()
                if np.any(N_g < n_g * (1 - 1e-12)):
                    g = int(np.flatnonzero(N_g < n_g * (1 - 1e-12))[0])
                    lab = self._group_label(k, first_row_of_group[g])
                    raise DesignError(
                        f"fpc column '{fcol}' says {lab} has {N_g[g]:g} units in the population but "
                        f"{int(n_g[g])} were sampled (fpc smaller than the number of sampled PSUs). "
                        "fpc（总体单位数）小于样本单位数，请检查。")
                with np.errstate(invalid="ignore"):   # N = inf: with replacement, f = 1
                    f_g = np.where(np.isinf(N_g), 1.0, (N_g - n_g) / N_g)
            else:
                N_g = np.full(G, np.inf)
                f_g = np.ones(G)
            mult_g = mult_row[first_row_of_group]
            parent_g = (np.zeros(G, np.int64) if parent_path is None
                        else parent_path[first_row_of_group])
            n_par = 1 if parent_path is None else int(parent_path.max()) + 1
            group_start = np.searchsorted(unit_group, np.arange(G))
            out.append(Stage(k=k, row_unit=unit, row_group=group, unit_group=unit_group,
                             n_units=U, n_groups=G, n_g=n_g, N_g=N_g, f_g=f_g, mult_g=mult_g,
                             group_start=group_start,
                             parent_g=parent_g, n_parents=n_par,
                             labels_g=pd.DataFrame({"first_row": first_row_of_group})))
            # multiplier for the next stage: this stage's sampling fraction n/N of the group
            frac = np.where(np.isinf(N_g), 0.0, n_g / np.where(np.isinf(N_g), 1.0, N_g))
            mult_row = mult_row * frac[group]
            parent_path = unit
        return out

    @cached_property
    def psu_index(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """(row → first-stage PSU code, row → first-stage stratum code, #PSU, #strata)."""
        st = self.stages[0]   # stage-1 groups are the strata, units the (nested) PSUs
        return st.row_unit, st.row_group, st.n_units, st.n_groups

    def _group_label(self, k: int, row: int) -> str:
        parts = []
        if self.strata:
            c = self.strata[min(k, len(self.strata) - 1)]
            parts.append(f"stratum {c}={self._data[c].iloc[row]}")
        if k > 0 and self.psu:
            parts.append(f"within {self.psu[k - 1]}={self._data[self.psu[k - 1]].iloc[row]}")
        return (" ".join(parts) or "the sample") + f" at stage {k + 1}"

    def lonely_groups(self) -> list[str]:
        """Labels of strata (per stage) holding a single sampled unit that is not a census."""
        out = []
        for st in self.stages:
            bad = np.flatnonzero((st.n_g == 1) & (st.f_g >= 1e-7))
            for g in bad[:20]:
                out.append(self._group_label(st.k, int(st.labels_g["first_row"].iloc[g])))
            if bad.size > 20:
                out.append(f"… and {bad.size - 20} more at stage {st.k + 1}")
        return out

    @property
    def degf(self) -> int:
        """Design degrees of freedom: #PSUs − #strata (rows with non-zero weight, as R degf)."""
        u, s, _, _ = self.psu_index
        keep = self.weights != 0
        return int(np.unique(u[keep]).size - np.unique(s[keep]).size)

    # ------------------------------------------------------------------ API
    def estimate(self, y, denominator=None, by=None, ci_method="logit", level=0.95,
                 variance="taylor", lonely_psu=None, replicates=None, seed=None,
                 statistic="mean", **kwargs) -> pd.DataFrame:
        """Design-based estimates (mean / proportion / ratio / total) by domain; see ek.estimate."""
        from evalkit.estimation.estimate import estimate_design

        return estimate_design(self, y, denominator=denominator, by=by, ci_method=ci_method,
                               level=level, variance=variance, lonely_psu=lonely_psu,
                               replicates=replicates, seed=seed, statistic=statistic, **kwargs)

    def with_data(self, frame: pd.DataFrame) -> "SurveyDesign":
        """The same design declaration applied to another frame (e.g. with derived columns).

        The frame is treated as read-only afterwards: domain indexes are cached on the design.
        """
        return SurveyDesign(frame, **self.spec)

    def __repr__(self) -> str:
        u, s, n_psu, n_str = self.psu_index
        parts = [f"SurveyDesign: {self.n:,} rows, weight='{self.weight}'"]
        parts.append(f"  strata: {self.strata or '(none)'} ({n_str} strata)")
        parts.append(f"  psu:    {self.psu or '(rows)'} ({n_psu} first-stage units)")
        parts.append(f"  fpc:    {self.fpc or '(none: first stage with replacement)'}")
        parts.append(f"  df = {n_psu - n_str} (#PSUs − #strata); lonely_psu='{self.lonely_psu}'")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        u, s, n_psu, n_str = self.psu_index
        rows = [("行数 rows", f"{self.n:,}"), ("权数 weight", self.weight),
                ("分层 strata", f"{self.strata or '—'} ({n_str})"),
                ("初级单元 PSU", f"{self.psu or '—'} ({n_psu})"),
                ("有限总体校正 fpc", f"{self.fpc or '—'}"),
                ("自由度 df", f"{n_psu - n_str}"), ("单一PSU层 lonely_psu", self.lonely_psu)]
        body = "".join(f"<tr><th style='text-align:left'>{a}</th><td>{b}</td></tr>" for a, b in rows)
        return f"<table><caption>SurveyDesign 调查设计</caption>{body}</table>"
