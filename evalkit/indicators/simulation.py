"""Repeated-sampling check of the indicator estimators against a synthetic registry's truth.

A deliberately simple, self-contained two-stage design (villages by SRS within county ×
village-type strata, then households by SRS within village × registry-status cells, fpc at
both stages) so the check depends only on the registry, the rules and the estimation engine.
Answers are the registry's hidden truth (a perfect interview), so what is measured is the
sampling behaviour of the estimators and intervals: bias and coverage
(docs/methodology/indicators.md §6). ``benchmarks/bench_coverage.py`` runs the large version.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_TAKE = {"exited": 12, "exiting": 4, "poor": 4, "not_registered": 10}


@dataclass
class SimResponses:
    """Responses-like container (data, members, design) built without files."""

    data: pd.DataFrame
    members: pd.DataFrame
    design: object
    sample: object = None


def draw_simple_sample(registry, seed: int, villages_per_stratum: int = 6, take: dict | None = None) -> pd.DataFrame:
    """Households of a two-stage stratified sample with weights and per-stage fpc columns.

    Selection uses a random key per unit from a seeded Generator over units sorted by id, so the
    sample does not depend on the registry's row order.
    """
    take = dict(DEFAULT_TAKE if take is None else take)
    rng = np.random.default_rng(seed)
    hh = registry.households
    vil = (hh[["village_code", "county_code", "village_type"]].drop_duplicates("village_code")
           .sort_values("village_code").reset_index(drop=True))
    vil["stratum"] = vil["county_code"].astype(str) + "|" + vil["village_type"].astype(str)
    vil["_key"] = rng.random(len(vil))
    vil["N_vill"] = vil.groupby("stratum")["village_code"].transform("size").astype(float)
    vil["_rank"] = vil.groupby("stratum")["_key"].rank(method="first")
    chosen = vil[vil["_rank"] <= villages_per_stratum]
    n_vill = chosen.groupby("stratum")["village_code"].transform("size").astype(float)
    chosen = chosen.assign(n_vill=n_vill.to_numpy())
    sub = hh[hh["village_code"].isin(chosen["village_code"])].sort_values("household_id").reset_index(drop=True)
    sub["cell"] = sub["village_code"].astype(str) + "|" + sub["registry_status"].astype(str)
    sub["_key"] = rng.random(len(sub))
    sub["N_cell"] = sub.groupby("cell")["household_id"].transform("size").astype(float)
    sub["_rank"] = sub.groupby("cell")["_key"].rank(method="first")
    k = sub["registry_status"].map(take).fillna(0).to_numpy(float)
    s = sub[sub["_rank"].to_numpy() <= k].copy()
    s["n_cell"] = s.groupby("cell")["household_id"].transform("size").astype(float)
    s = s.merge(chosen[["village_code", "stratum", "N_vill", "n_vill"]], on="village_code", how="left")
    s["weight"] = (s["N_vill"] / s["n_vill"]) * (s["N_cell"] / s["n_cell"])
    return s.drop(columns=["_key", "_rank"]).reset_index(drop=True)


DESIGN_SPEC = {"weight": "weight", "strata": ["stratum", "cell"], "psu": ["village_code", "household_id"],
               "fpc": ["N_vill", "N_cell"]}


def responses_from_truth(registry, sample_households: pd.DataFrame, design: dict | None = None) -> SimResponses:
    """Perfect-interview answers for the sampled households (truth answers + true roster)."""
    from evalkit.estimation.design import SurveyDesign
    from evalkit.indicators.rules import member_ages

    truth = registry.truth
    answer_cols = [c for c in truth.columns if c not in (
        "two_assurances_three_guarantees", "is_eligible", "meets_exit_standard", "negative_hit",
        "wrong_exit", "missed", "wrong_inclusion", "satisfied", "recognises")]
    ans = truth.loc[sample_households["household_id"].to_numpy(), answer_cols].reset_index(drop=True)
    # the interview's answers replace the registry's recorded values (income, size …)
    base = sample_households.drop(columns=[c for c in answer_cols if c in sample_households.columns])
    data = pd.concat([base.reset_index(drop=True), ans], axis=1)
    mem = registry.members[registry.members["household_id"].isin(data["household_id"])].copy()
    mem["age"] = member_ages(mem, registry.meta.get("survey_date"))
    return SimResponses(data=data, members=mem, design=SurveyDesign(data, **(design or DESIGN_SPEC)))


def coverage_simulation(registry, n_reps: int = 100, seed: int = 1, villages_per_stratum: int = 6,
                        take: dict | None = None, level: float = 0.95, county: bool = True,
                        progress=None) -> pd.DataFrame:
    """Repeat sample → answers → ``county_exit_check`` + ``two_rates_one_degree``; return one row
    per (rep, indicator, domain) with estimate, CI, truth and whether the CI covers it."""
    from evalkit.indicators.rates import ALL, county_exit_check
    from evalkit.indicators.rules import RuleSet

    truth = registry.true_rates()
    truth["county_code"] = truth["county_code"].astype("string")
    rules = RuleSet.default(registry.meta["year"], registry.meta["province_code"])
    seeds = np.random.SeedSequence(seed).generate_state(n_reps)
    rows = []
    t0 = time.perf_counter()
    for rep, s in enumerate(seeds):
        smp = draw_simple_sample(registry, int(s), villages_per_stratum, take)
        resp = responses_from_truth(registry, smp)
        res = county_exit_check(resp, registry, rules, by="county_code" if county else None, level=level,
                                indicators=ALL)
        t = res.table
        cc = t["county_code"].astype("string") if "county_code" in t else pd.Series(pd.NA, index=t.index, dtype="string")
        rows.append(pd.DataFrame({"rep": rep, "indicator": t["indicator"].to_numpy(),
                                  "county_code": cc.to_numpy(), "estimate": t["estimate"].to_numpy(float),
                                  "se": t["se"].to_numpy(float), "ci_low": t["ci_low"].to_numpy(float),
                                  "ci_high": t["ci_high"].to_numpy(float), "ci_method": t["ci_method"].to_numpy(),
                                  "decision": t["decision"].to_numpy(), "n_households": t["n_households"].to_numpy()}))
        if progress:
            progress(rep, time.perf_counter() - t0)
    out = pd.concat(rows, ignore_index=True)
    out["level_"] = np.where(out["county_code"].isna(), "province", "county")
    tv = truth.rename(columns={"value": "truth", "level": "level_"})[["indicator", "level_", "county_code", "truth"]]
    tv.loc[tv["level_"] == "province", "county_code"] = pd.NA
    key_o = out["indicator"] + "|" + out["level_"] + "|" + out["county_code"].fillna("")
    key_t = tv["indicator"] + "|" + tv["level_"] + "|" + tv["county_code"].fillna("")
    out["truth"] = key_o.map(pd.Series(tv["truth"].to_numpy(), index=key_t.to_numpy()))
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out.rename(columns={"level_": "level"})


def summarise(sim: pd.DataFrame) -> pd.DataFrame:
    """Per indicator × level (county rows pooled): reps, mean estimate, truth, bias in SEs of the
    mean, empirical SD vs mean SE, coverage (and its min/max over counties)."""
    g = sim.dropna(subset=["estimate"])
    rows = []
    for (ind, lev), d in g.groupby(["indicator", "level"], sort=False):
        bias = d["estimate"] - d["truth"]
        by_dom = d.groupby(d["county_code"].fillna("P"))
        # bias test per domain: mean error / (sd / sqrt(R)); report the largest |z|
        def zscore(x):
            err = (x["estimate"] - x["truth"]).mean()
            sd = x["estimate"].std(ddof=1)
            if not sd > 1e-9:  # estimates never varied (no event ever sampled): use the reported SE
                sd = x["se"].mean()
            if abs(err) < 1e-12:
                return 0.0
            return err / (sd / np.sqrt(len(x))) if sd > 1e-9 else np.nan

        z = by_dom.apply(zscore, include_groups=False)
        cov_dom = by_dom["covered"].mean()
        rows.append({"indicator": ind, "level": lev, "domains": by_dom.ngroups, "reps": int(by_dom.size().max()),
                     "truth_mean": d["truth"].mean(), "estimate_mean": d["estimate"].mean(),
                     "mean_bias": bias.mean(), "max_abs_bias_z": float(np.abs(z).max()),
                     "sd_over_se": float((by_dom["estimate"].std(ddof=1) / by_dom["se"].mean()).median()),
                     "coverage": d["covered"].mean(), "coverage_min": cov_dom.min(), "coverage_max": cov_dom.max()})
    return pd.DataFrame(rows)
