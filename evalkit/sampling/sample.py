"""`Sample`: the selected households with their design, manifest, reserves and replacements.

Contract: docs/contracts.md §5. Weighting, replacement and nonresponse rules:
docs/methodology/sampling.md §5–§6.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import DesignError, PlanError

REASONS = {
    "away": ("外出", "away / migrated for work"),
    "refused": ("拒访", "refused"),
    "not_found": ("查无此户", "household not found"),
    "moved": ("搬迁", "moved"),
    "dissolved": ("户已消亡", "household dissolved (death, merged)"),
    "unable": ("无法接受访问", "unable to be interviewed (illness …)"),
    "other": ("其他", "other"),
}
_REASON_BY_ZH = {zh: code for code, (zh, _) in REASONS.items()}
REPLACEMENT_COLUMNS = ["household_id", "replaced_by", "reason", "reason_label", "cell", "time"]


def _empty_replacements() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REPLACEMENT_COLUMNS})


class Sample:
    """Households drawn by :func:`evalkit.draw_sample`.

    households : one row per selected household, main and reserve (contracts §5).
    manifest : seed, plan, registry fingerprint, evalkit version, created time, warnings, sample hash.
    replacements : household_id, replaced_by, reason, reason_label, cell, time.
    teams / team_roster : after :meth:`assign_teams`.
    """

    def __init__(self, households: pd.DataFrame, manifest: dict | None = None, plan=None,
                 replacements: pd.DataFrame | None = None, teams: pd.DataFrame | None = None,
                 team_roster: pd.DataFrame | None = None):
        self.households = households
        self.manifest = dict(manifest or {})
        self._plan = plan
        self.replacements = _empty_replacements() if replacements is None else replacements
        self.teams = teams
        self.team_roster = team_roster

    # ------------------------------------------------------------------ views
    @property
    def plan(self):
        if self._plan is None and "plan" in self.manifest:
            from evalkit.sampling.plan import SamplingPlan

            self._plan = SamplingPlan.from_dict(self.manifest["plan"])
        return self._plan

    @property
    def n_stages(self) -> int:
        return sum(1 for c in self.households.columns if c.startswith("pi_"))

    @property
    def main(self) -> pd.DataFrame:
        return self.households[self.households["role"] == "main"]

    @property
    def active(self) -> pd.DataFrame:
        return self.households[self.households["active"].astype(bool)]

    @property
    def design_spec(self) -> dict:
        """Keyword arguments of the SurveyDesign this sample carries (methodology §5)."""
        fpc = self.households.loc[self.households["active"].astype(bool), "design_fpc"]
        return {"weight": "weight", "strata": "design_stratum", "psu": "design_psu",
                "fpc": "design_fpc" if np.isfinite(fpc).any() else None}

    @property
    def design(self):
        """``SurveyDesign`` over the active households (main, or reserves that replaced one)."""
        SurveyDesign = _survey_design_class()
        return SurveyDesign(self.active.reset_index(drop=True), **self.design_spec)

    def __len__(self) -> int:
        return int(self.households["active"].sum())

    def summary(self) -> pd.DataFrame:
        """Main/reserve households and Σ weights by county × final-stage stratum."""
        hh = self.households
        by = [c for c in ("county_code", "county_name") if c in hh.columns] + [f"stratum_{self.n_stages}"]
        g = hh.assign(main=hh["role"].eq("main"), reserve=hh["role"].eq("reserve"),
                      w=np.where(hh["role"].eq("main"), hh["weight"], 0.0))
        return (g.groupby(by, observed=True, dropna=False)
                 .agg(main=("main", "sum"), reserve=("reserve", "sum"), weight_sum=("w", "sum"))
                 .reset_index())

    def __repr__(self) -> str:
        hh = self.households
        nm = int((hh["role"] == "main").sum())
        nr = int((hh["role"] == "reserve").sum())
        parts = [f"<Sample 样本: {nm:,} main households (主样本), {nr:,} reserves (备选)"]
        for k in range(1, self.n_stages):
            parts.append(f"{hh.loc[hh['role'] == 'main', f'unit_{k}'].nunique():,} stage-{k} units")
        parts.append(f"Σweight {hh.loc[hh['role'] == 'main', 'weight'].sum():,.0f}")
        parts.append(f"seed {self.manifest.get('seed')}, plan {self.manifest.get('plan', {}).get('name')}")
        if len(self.replacements):
            parts.append(f"{len(self.replacements)} replacements")
        return ", ".join(parts) + ">"

    def _repr_html_(self) -> str:
        return (f"<p>{self.__repr__().strip('<>')}</p>"
                + self.summary().head(30).to_html(index=False))

    # ------------------------------------------------------------------ replacement
    def replace(self, household_id, reason: str, time: str | None = None) -> str:
        """Replace an active household that cannot be interviewed by the next reserve (备选户) of the
        same final-stage cell in rank order; records the reason. Returns the reserve's household_id.

        Weights: methodology §6 — the cell's design weight total is kept; ``respondent_design``
        spreads it over the cell's respondents.
        """
        hh = self.households
        code = _REASON_BY_ZH.get(reason, reason)
        if code not in REASONS:
            raise PlanError(f"unknown replacement reason {reason!r}; use one of "
                            + ", ".join(f"{c} ({zh})" for c, (zh, _) in REASONS.items()) + " / 替换原因无效。")
        idx = np.flatnonzero(hh["household_id"].astype(str).to_numpy() == str(household_id))
        if len(idx) == 0:
            raise PlanError(f"household {household_id} is not in the sample (该户不在样本中).")
        i = idx[0]
        if not bool(hh.at[i, "active"]):
            raise PlanError(f"household {household_id} is not active (already replaced, or an unused reserve) "
                            f"/ 该户当前不在有效样本中。")
        cell = hh.at[i, "cell"]
        used = set(self.replacements["replaced_by"].astype(str)) | set(self.replacements["household_id"].astype(str))
        cand = hh[(hh["cell"] == cell) & (hh["role"] == "reserve") & ~hh["active"].astype(bool)
                  & ~hh["household_id"].astype(str).isin(used)].sort_values("rank")
        if cand.empty:
            raise PlanError(f"no reserve household left in cell {cell} for {household_id} "
                            f"(本村本层备选户已用完); record it as nonresponse instead.")
        j = cand.index[0]
        hh.loc[i, "active"] = False
        hh.loc[j, "active"] = True
        row = {"household_id": str(household_id), "replaced_by": str(hh.at[j, "household_id"]),
               "reason": code, "reason_label": REASONS[code][0], "cell": str(cell),
               "time": time or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        self.replacements = pd.concat([self.replacements, pd.DataFrame([row])], ignore_index=True)
        return row["replaced_by"]

    # ------------------------------------------------------------------ nonresponse
    def respondent_frame(self, household_ids) -> pd.DataFrame:
        """Responding households with ``weight_final``: design weights adjusted for nonresponse within
        final-stage cells, collapsing a cell without respondents into its parent unit, then the parent's
        parent … (methodology §6). Σ weight_final equals Σ main design weights in every adjustment class."""
        hh = self.households
        ids = pd.Index(pd.Series(list(household_ids), dtype="string").dropna().unique())
        known = pd.Index(hh["household_id"].astype("string"))
        unknown = ids.difference(known)
        if len(unknown):
            raise DesignError(f"{len(unknown)} responding households are not in the sample (e.g. "
                              f"{list(unknown[:5])}) / 这些受访户不在样本中。")
        resp = known.isin(ids)
        main = hh["role"].eq("main").to_numpy()
        w = hh["weight"].to_numpy(float)
        K = self.n_stages
        levels = [f"unit_{k}" for k in range(K - 1, 0, -1)] + [None]
        mass = np.where(main, w, 0.0)  # design mass the respondents must carry
        key = pd.factorize(hh["cell"].astype(str))[0]
        G = int(key.max()) + 1
        m_g = np.bincount(key, weights=mass, minlength=G)
        r_g = np.bincount(key, weights=np.where(resp, w, 0.0), minlength=G)
        ok = r_g > 0
        final = np.where(resp, w * np.where(ok, m_g / np.where(ok, r_g, 1.0), 0.0)[key], 0.0)
        pending = np.where(ok[key], 0.0, mass)
        level_used = np.full(len(hh), "cell", dtype=object)
        for lev in levels:
            if pending.sum() <= 0:
                break
            key = np.zeros(len(hh), np.int64) if lev is None else pd.factorize(hh[lev].astype(str))[0]
            G = int(key.max()) + 1
            p_g = np.bincount(key, weights=pending, minlength=G)
            h_g = np.bincount(key, weights=final, minlength=G)
            ok = (h_g > 0) & (p_g > 0)
            factor = np.where(ok, (h_g + p_g) / np.where(h_g > 0, h_g, 1.0), 1.0)
            final = final * factor[key]
            level_used = np.where(resp & ok[key], lev or "all", level_used)
            pending = np.where(h_g[key] > 0, 0.0, pending)
        if pending.sum() > 0:
            raise DesignError("no responding households at all (没有受访户): cannot adjust weights.")
        out = hh[resp].copy()
        out["weight_final"] = final[resp]
        out["nonresponse_class"] = level_used[resp]
        return out.reset_index(drop=True)

    def respondent_design(self, household_ids):
        """``SurveyDesign`` over the responding households with ``weight_final`` (contracts §5)."""
        frame = self.respondent_frame(household_ids)
        spec = dict(self.design_spec)
        spec["weight"] = "weight_final"
        if isinstance(spec.get("strata"), str) and isinstance(spec.get("psu"), str):
            frame = collapse_lonely_strata(frame, spec["strata"], spec["psu"],
                                           spec.get("fpc") if isinstance(spec.get("fpc"), str) else None)
        if spec.get("fpc") and not np.isfinite(frame["design_fpc"]).any():
            spec["fpc"] = None
        return _survey_design_class()(frame, **spec)

    # ------------------------------------------------------------------ fieldwork
    def assign_teams(self, teams, **kwargs):
        """Assign villages to survey teams with avoidance (回避); see :mod:`evalkit.sampling.fieldwork`."""
        from evalkit.sampling.fieldwork import assign_teams

        return assign_teams(self, teams, **kwargs)

    def to_field_lists(self, out_dir, **kwargs):
        """One xlsx per team (sheet per village) and a tablet preload CSV; see fieldwork."""
        from evalkit.sampling.fieldwork import to_field_lists

        return to_field_lists(self, out_dir, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, directory) -> Path:
        """Write households.parquet, manifest.json, replacements.csv (and teams) to ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.households.to_parquet(d / "households.parquet", index=False, **_parquet_options(self.households))
        (d / "manifest.json").write_text(json.dumps(self.manifest, ensure_ascii=False, indent=2, default=str),
                                         encoding="utf-8")
        self.replacements.to_csv(d / "replacements.csv", index=False, encoding="utf-8")
        if self.teams is not None:
            self.teams.to_csv(d / "teams.csv", index=False, encoding="utf-8")
        if self.team_roster is not None:
            self.team_roster.to_json(d / "team_roster.json", orient="records", force_ascii=False)
        return d


def _parquet_options(frame: pd.DataFrame) -> dict:
    """Writer options for the sample file: min/max statistics for the numeric columns only (text
    statistics of 400 000 rows cost more than the rest of the write and serve no query here) and no
    dictionary attempt for the columns whose values are all distinct (household_id, the last stage's
    unit). The data written are unchanged."""
    names = [str(c) for c in frame.columns]  # as pyarrow names the columns
    text = {str(c) for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)
            or isinstance(frame[c].dtype, pd.CategoricalDtype)}
    units = sorted((c for c in names if c.startswith("unit_") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    distinct = {"household_id", *units[-1:]}
    return {"write_statistics": [c for c in names if c not in text],
            "use_dictionary": [c for c in names if c not in distinct]}


def load_sample(directory) -> Sample:
    """Read a sample written by :meth:`Sample.save`."""
    d = Path(directory)
    if not (d / "households.parquet").exists() or not (d / "manifest.json").exists():
        raise PlanError(f"{d}: not a saved sample (需要 households.parquet 与 manifest.json).")
    households = pd.read_parquet(d / "households.parquet")
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    repl = None
    if (d / "replacements.csv").exists():
        repl = pd.read_csv(d / "replacements.csv", dtype=str, keep_default_na=False)
        if repl.empty:
            repl = _empty_replacements()
    teams = pd.read_csv(d / "teams.csv", dtype=str) if (d / "teams.csv").exists() else None
    roster = pd.read_json(d / "team_roster.json", orient="records", dtype=False) \
        if (d / "team_roster.json").exists() else None
    return Sample(households, manifest=manifest, replacements=repl, teams=teams, team_roster=roster)


def _survey_design_class():
    try:
        from evalkit.estimation.design import SurveyDesign
    except ImportError as exc:  # pragma: no cover - until the estimation module lands
        raise DesignError("evalkit.estimation.design.SurveyDesign is not available yet "
                          f"(估计模块尚未安装): {exc}") from None
    return SurveyDesign


def collapse_lonely_strata(frame: pd.DataFrame, stratum: str, psu: str, fpc: str | None) -> pd.DataFrame:
    """Merge design strata left with a single responding PSU (after nonresponse) with their
    sibling strata under the same parent unit — label ``<parent>|合并层`` — moving up one level
    when a stratum has no siblings (collapsed strata, Wolter 2007 §2.5; methodology §6).

    A stratum whose population is a single PSU (fpc = 1) is a certainty stratum, not a lonely
    one. The merged stratum's fpc is the sum of the merged strata's population counts (infinite
    when any of them is sampled with replacement), which can only make variances larger.
    Loops run over strata (a few thousand at most), never over households.
    """
    from evalkit.sampling.draw import COLLAPSED

    out = frame.copy()
    labels = out[stratum].astype(str).to_numpy(object)
    psus = out[psu].astype(str).to_numpy(object)
    pop = out[fpc].to_numpy(float) if fpc else np.full(len(out), np.inf)
    while True:
        g = pd.DataFrame({"s": labels, "p": psus, "N": pop})
        per = g.groupby("s", sort=True).agg(n=("p", "nunique"), N=("N", "first"))
        lonely = per.index[(per["n"] == 1) & ~(per["N"] <= 1)]
        lonely = [lab for lab in lonely if "|" in lab]
        if not lonely:
            break
        parent = pd.Series([lab.rsplit("|", 1)[0] for lab in per.index], index=per.index)
        siblings = parent.value_counts()
        new_label = {}
        for lab in lonely:
            par = parent[lab]
            if siblings[par] >= 2:  # merge every stratum of that parent
                for sib in parent.index[parent == par]:
                    new_label[sib] = f"{par}|{COLLAPSED}"
            else:  # alone under its parent: climb one level and try again
                new_label[lab] = par
        moved = pd.Series(labels).map(new_label)
        changed = moved.notna().to_numpy()
        merged = np.where(changed, moved.to_numpy(object), labels)
        if fpc:
            # population of a merged stratum: sum of its parts' counts (inf if any part is inf)
            moved_strata = per.loc[list(new_label), "N"]
            totals = moved_strata.groupby([new_label[lab] for lab in moved_strata.index]).sum()
            pop = np.where(changed, pd.Series(merged).map(totals).to_numpy(float), pop)
        labels = merged
    out[stratum] = pd.array(labels, dtype="string")
    if fpc:
        out[fpc] = pop
    return out
