"""Simulated fieldwork (模拟入户调查): exports exactly as a tablet server would write them.

``simulate_fieldwork(sample, registry, out_dir, seed)`` interviews the sample's active
households, answering from the synthetic registry's hidden truth (``registry.truth``, roster
from ``registry.members`` with ages at ``registry.meta['survey_date']``), with nonresponse,
field replacement by reserves in rank order, and — when ``error_rate > 0`` — realistic
errors (typos in codes, out-of-range values, missing answers, mistyped IDs, duplicate and
conflicting submissions, rushed interviews). It writes ODK-Central-style CSVs:
household (``group-question`` headers, KEY), roster (PARENT_KEY) and village. With
``error_rate=0`` reading them back gives no errors and the truth (docs/methodology/questionnaire.md §6).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import ResponseError
from evalkit.questionnaire import variables as V

DISPOSITION_P = {"absent": 0.55, "refused": 0.3, "not_found": 0.15}
ERROR_KINDS = ("code_typo", "out_of_range", "missing_answer", "id_typo", "duplicate", "conflict",
               "short_interview", "age_typo")


def _fmt_time(t: pd.Series) -> pd.Series:
    return t.dt.strftime("%Y-%m-%dT%H:%M:%S.000+08:00")


def _num_text(x: pd.Series) -> pd.Series:
    """Numbers as an export writes them: whole values without '.0', others with full precision."""
    v = pd.to_numeric(x, errors="coerce").astype(float)
    out = pd.Series(None, index=x.index, dtype=object)
    ok = v.notna()
    whole = ok & (v % 1 == 0)
    out[whole] = v[whole].astype(np.int64).astype(str)
    out[ok & ~whole] = v[ok & ~whole].map(repr)
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV through Arrow's writer (much faster than pandas' at 100,000 rows); every
    column as text, blanks empty, quotes only where needed — as a tablet server writes."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = {}
    for c in frame.columns:
        v = frame[c]
        txt = v.astype(object).where(v.notna(), None)
        try:
            cols[str(c)] = pa.array(txt.to_numpy(object), type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers or timestamps left in the column
            cols[str(c)] = pa.array(txt.map(lambda x: None if x is None else str(x)).to_numpy(object),
                                    type=pa.string())
    pacsv.write_csv(pa.table(cols), path, pacsv.WriteOptions(quoting_style="needed"))


def _key(rng, n) -> np.ndarray:
    hexes = rng.integers(0, 16, size=(n, 32))
    chars = np.array(list("0123456789abcdef"))[hexes]
    s = ["".join(r) for r in chars]  # n strings, built once per run
    return np.array([f"uuid:{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}" for h in s], dtype=object)


def _ages(members: pd.DataFrame, survey_date) -> np.ndarray:
    sd = pd.Timestamp(survey_date)
    b = pd.to_datetime(members["birth_date"])
    age = sd.year - b.dt.year - ((b.dt.month > sd.month) | ((b.dt.month == sd.month) & (b.dt.day > sd.day)))
    return age.to_numpy(np.int64)


def _blank_not_relevant(frame: pd.DataFrame, questions: pd.DataFrame, numeric, context=None) -> pd.DataFrame:
    """Clear answers the form's skip logic hides (as the tablet does)."""
    from evalkit.questionnaire.expressions import Evaluator

    ev_frame = frame if context is None else pd.concat([frame, context], axis=1)
    ev = Evaluator(ev_frame, numeric=numeric)
    for q in questions.to_dict("records"):
        if q["relevant_full"] and q["name"] in frame.columns:
            rel = ev.boolean(q["relevant_full"])
            frame.loc[~rel, q["name"]] = None
            ev._cache.pop(q["name"], None)
    return frame


def simulate_fieldwork(sample, registry, out_dir, seed: int, error_rate: float = 0.02,
                       nonresponse: float = 0.05, *, replace: bool = True, form=None,
                       start_date=None) -> list[Path]:
    """Write simulated tablet exports for ``sample`` into ``out_dir``; returns their paths
    (household CSV, roster CSV, village CSV). A log of what was injected is written to
    ``out_dir/simulation_log.json`` (not returned: it is not an export)."""
    from evalkit.questionnaire.forms import default_form
    from evalkit.questionnaire.xlsform import Questionnaire, read_questionnaire

    if registry.truth is None or registry.members is None:
        raise ResponseError("simulate_fieldwork needs a synthetic registry with hidden truth and members "
                            "(ek.synthetic_registry) / 需要带真值的合成名册。")
    if not 0 <= error_rate < 1 or not 0 <= nonresponse < 1:
        raise ResponseError("error_rate and nonresponse must be in [0, 1).")
    form = form if isinstance(form, Questionnaire) else read_questionnaire(form or default_form("household"))
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shh = sample.households if hasattr(sample, "households") else sample
    shh = shh.assign(household_id=shh["household_id"].astype(str)).sort_values(
        ["cell", "rank", "household_id"] if {"cell", "rank"} <= set(shh.columns) else ["household_id"])
    shh = shh.reset_index(drop=True)
    survey_date = pd.Timestamp(start_date or registry.meta.get("survey_date", "2020-01-15"))

    # ------------------------------------------------------------ who is visited, who answers
    n = len(shh)
    u_resp = rng.random(n)
    fails = u_resp < nonresponse
    active = shh["active"].astype(bool).to_numpy() if "active" in shh else (shh["role"] == "main").to_numpy()
    reserve = (shh["role"] == "reserve").to_numpy() if "role" in shh else np.zeros(n, bool)
    cell = shh["cell"].astype(str).to_numpy() if "cell" in shh else np.full(n, "all")
    visited = active.copy()
    replaces = np.full(n, None, dtype=object)
    if replace and reserve.any():
        # each failed active household is replaced by the next reserve of its cell (rank order);
        # a reserve that fails is in turn replaced by the next one
        res = pd.DataFrame({"i": np.flatnonzero(reserve), "cell": cell[reserve]})
        queue = {c: list(g["i"]) for c, g in res.groupby("cell", sort=False)}
        failed_cells = pd.Series(cell[active & fails]).value_counts()  # only cells that need reserves
        for c in failed_cells.index:
            pending = list(np.flatnonzero(active & fails & (cell == c)))
            q = queue.get(c, [])
            while pending and q:
                who = pending.pop(0)
                j = q.pop(0)
                visited[j] = True
                replaces[j] = shh.at[who, "household_id"]
                if fails[j]:
                    pending.append(j)
    disp = np.where(visited & fails, rng.choice(np.array(list(DISPOSITION_P)), n, p=list(DISPOSITION_P.values())),
                    "completed")
    rec = shh[visited].copy()
    rec["disposition"] = disp[visited]
    rec["replaces"] = replaces[visited]
    done = (rec["disposition"] == "completed").to_numpy()

    # ------------------------------------------------------------ identification
    teams = getattr(sample, "teams", None)
    if isinstance(teams, pd.DataFrame) and len(teams) and "village_code" in rec:
        rec["team"] = rec["village_code"].map(teams.drop_duplicates("village_code").set_index("village_code")["team"])
    if "team" not in rec or rec["team"].isna().all():
        codes = rec["county_code"] if "county_code" in rec else pd.Series("0", index=rec.index)
        rec["team"] = "T" + pd.Series(pd.factorize(codes.astype(str), sort=True)[0] + 1, index=rec.index).map("{:02d}".format)
    rec["team"] = rec["team"].fillna("T00").astype(str)
    rec["enumerator"] = rec["team"] + "-" + pd.Series(rng.integers(1, 5, len(rec)), index=rec.index).astype(str)
    vil = rec["village_code"].astype(str) if "village_code" in rec else pd.Series("v", index=rec.index)
    vcodes, vuniq = pd.factorize(vil, sort=True)
    day = survey_date + pd.to_timedelta(vcodes % 20, unit="D")
    start = day + pd.to_timedelta(8 * 60 + rng.integers(0, 9 * 60, len(rec)), unit="min")
    minutes = np.where(done, np.clip(rng.normal(48, 10, len(rec)), 22, 120), rng.uniform(2, 8, len(rec)))
    rec["start"] = pd.Series(start, index=rec.index)
    rec["end"] = rec["start"] + pd.to_timedelta(np.round(minutes * 60), unit="s")
    # village centre from a seeded draw per village; households within ~400 m
    v_lat = 24.6 + rng.random(len(vuniq)) * 4.0
    v_lon = 104.0 + rng.random(len(vuniq)) * 5.0
    rec["gps_lat"] = np.round(v_lat[vcodes] + rng.normal(0, 0.0025, len(rec)), 6)
    rec["gps_lon"] = np.round(v_lon[vcodes] + rng.normal(0, 0.0025, len(rec)), 6)
    rec["hh_type"] = rec["registry_status"].astype(str) if "registry_status" in rec else "not_registered"
    rec["consent"] = np.where(done, "yes", None)

    # ------------------------------------------------------------ answers from the truth
    truth = registry.truth
    answer_names = [v.name for v in V.HOUSEHOLD_VARS
                    if v.group != "id" and v.kind != "calculate" and v.name in truth.columns]
    ans = truth.reindex(rec["household_id"])[answer_names].set_axis(rec.index)
    missing_truth = ans["hh_size"].isna().to_numpy() & done
    if missing_truth.any():
        raise ResponseError(f"{int(missing_truth.sum())} sampled households have no row in registry.truth "
                            "(sample and registry do not belong together).")
    # yes/no items the synthetic truth does not model: answered "yes" by 90 % of households
    for v in V.HOUSEHOLD_VARS:
        if v.group != "id" and v.kind == "select_one" and v.choices == "yes_no" and v.name not in truth.columns:
            ans[v.name] = np.where(rng.random(len(ans)) < 0.9, "yes", "no")
            answer_names.append(v.name)
    for c in answer_names:
        ans.loc[~done, c] = None
    hh = pd.concat([rec[["household_id", "enumerator", "team", "start", "end", "gps_lat", "gps_lon", "hh_type",
                         "replaces", "disposition", "consent"]], ans], axis=1)
    qs = form.fields("")
    numeric = set(form.questions.loc[form.questions["kind"].isin(["integer", "decimal"]), "name"])
    text = hh.copy()
    for c in text.columns:
        if c in numeric or c in ("gps_lat", "gps_lon"):
            text[c] = _num_text(text[c])
        elif c in ("start", "end"):
            text[c] = _fmt_time(text[c])
        else:
            text[c] = text[c].astype(object).where(text[c].notna(), None)
    text = _blank_not_relevant(text, qs, numeric)
    # the tablet's calculations
    parts = hh[list(V.INCOME_PARTS)].astype(float)
    text["income_transfer"] = _num_text(parts[list(V.TRANSFER_PARTS)].sum(axis=1, min_count=1))
    total = parts.sum(axis=1, min_count=1)
    text["income_total"] = _num_text(total)
    text["income_per_capita"] = _num_text(total / hh["hh_size"].astype(float))
    text["KEY"] = _key(rng, len(text))

    # ------------------------------------------------------------ roster
    mem = registry.members
    ids_done = text.loc[done, "household_id"]
    m = mem[mem["household_id"].astype(str).isin(set(ids_done))].copy()
    m["household_id"] = m["household_id"].astype(str)
    m = m.sort_values(["household_id", "person_id"] if "person_id" in m else ["household_id"], kind="stable")
    m["age"] = _ages(m, registry.meta.get("survey_date", survey_date))
    m["member_index"] = m.groupby("household_id").cumcount() + 1
    able = m["labour"].isin(["able", "weak"]).to_numpy() if "labour" in m else np.ones(len(m), bool)
    m["work_away"] = np.where((m["age"] >= 16) & able & (rng.random(len(m)) < 0.35), "yes", "no")
    key_of = pd.Series(text["KEY"].to_numpy(), index=text["household_id"].to_numpy())
    key_of = key_of[~key_of.index.duplicated()]
    mcols = [v.name for v in V.MEMBER_VARS]
    roster = m[["household_id", *[c for c in mcols if c in m.columns]]].copy()
    roster["age"] = roster["age"].astype(str)
    roster["member_index"] = roster["member_index"].astype(str)
    ctx = text.set_index("household_id").loc[roster["household_id"], ["disposition", "consent", "hh_type"]]
    ctx.index = roster.index
    roster = _blank_not_relevant(roster, form.fields("member"), numeric | {"age"}, context=ctx)
    roster["PARENT_KEY"] = roster["household_id"].map(key_of)
    roster["KEY"] = roster["PARENT_KEY"] + "/roster/member[" + roster["member_index"] + "]"

    # ------------------------------------------------------------ errors
    log = {"seed": seed, "error_rate": error_rate, "nonresponse": nonresponse,
           "households_visited": int(len(text)), "completed": int(done.sum()),
           "replacements": int(pd.notna(rec["replaces"]).sum()), "errors": {}}
    extra_rows = []
    if error_rate > 0:
        n_done = int(done.sum())
        hit = np.flatnonzero(done)[rng.random(n_done) < error_rate]
        kinds = rng.choice(np.array(ERROR_KINDS), len(hit))
        for kind in ERROR_KINDS:
            idx = text.index[hit[kinds == kind]]
            log["errors"][kind] = int(len(idx))
            if not len(idx):
                continue
            if kind == "code_typo":
                text.loc[idx, "food_ok"] = "yse"
            elif kind == "out_of_range":
                text.loc[idx, "income_wage"] = "-" + text.loc[idx, "income_wage"].fillna("1").astype(str).str.lstrip("-")
                text.loc[idx, "income_wage"] = np.where(text.loc[idx, "income_wage"] == "-0", "-1",
                                                        text.loc[idx, "income_wage"])
            elif kind == "missing_answer":
                text.loc[idx, "water_quality"] = None
            elif kind == "id_typo":
                text.loc[idx, "household_id"] = text.loc[idx, "household_id"].astype(str) + "9"
            elif kind == "duplicate":
                extra_rows.append(text.loc[idx].copy())
            elif kind == "conflict":
                dup = text.loc[idx].copy()
                dup["income_wage"] = _num_text(pd.to_numeric(dup["income_wage"], errors="coerce") + 1000)
                dup["KEY"] = _key(rng, len(dup))
                extra_rows.append(dup)
            elif kind == "short_interview":
                text.loc[idx, "end"] = _fmt_time(pd.to_datetime(text.loc[idx, "start"].str[:19]) + pd.Timedelta(minutes=6))
            elif kind == "age_typo":
                hid = set(text.loc[idx, "household_id"])
                first = roster[roster["household_id"].isin(hid)].groupby("household_id").head(1).index
                roster.loc[first, "age"] = "150"
    if extra_rows:
        text = pd.concat([text, *extra_rows], ignore_index=True)
    # submissions arrive in time order, not sample order
    text = text.iloc[np.argsort(rng.random(len(text)), kind="stable")].reset_index(drop=True)

    # ------------------------------------------------------------ write the exports (ODK Central layout)
    form_id = form.form_id
    group_of = dict(zip(form.questions["name"], form.questions["group"]))
    hh_out = pd.DataFrame({"SubmissionDate": text["end"]})
    for q in form.questions.to_dict("records"):
        name = q["name"]
        if q["repeat"] or q["kind"] == "none":
            continue
        if name in ("start", "end"):
            hh_out[name] = text[name]
        elif name == "gps":
            g = group_of["gps"]
            hh_out[f"{g}-gps-Latitude"] = text["gps_lat"].where(text["disposition"].notna())
            hh_out[f"{g}-gps-Longitude"] = text["gps_lon"]
            hh_out[f"{g}-gps-Altitude"] = _num_text(pd.Series(rng.normal(1100, 80, len(text)).round(0)))
            hh_out[f"{g}-gps-Accuracy"] = "5.0"
        else:
            hh_out[f"{group_of[name]}-{name}".replace("/", "-")] = text.get(name)
    hh_out["meta-instanceID"] = text["KEY"]
    hh_out["KEY"] = text["KEY"]
    ro = pd.DataFrame({c: roster[c] for c in mcols if c in roster.columns})
    ro.columns = [f"{group_of[c]}-{c}".replace("/", "-") for c in ro.columns]
    ro["PARENT_KEY"], ro["KEY"] = roster["PARENT_KEY"].to_numpy(), roster["KEY"].to_numpy()
    ro = ro.iloc[np.argsort(rng.random(len(ro)), kind="stable")]
    p_hh = out / f"{form_id}.csv"
    p_ro = out / f"{form_id}-member.csv"
    _write_csv(hh_out, p_hh)
    _write_csv(ro, p_ro)
    paths = [p_hh, p_ro]
    p_vi = _write_villages(shh, registry, out, rng)
    if p_vi is not None:
        paths.append(p_vi)
    (out / "simulation_log.json").write_text(json.dumps(log, ensure_ascii=False, indent=2), encoding="utf-8")
    return paths


def _write_villages(shh, registry, out: Path, rng) -> Path | None:
    """One village-cadre interview per sampled village, counts from the registry."""
    if "village_code" not in shh:
        return None
    reg = registry.households
    vcodes = np.sort(shh["village_code"].astype(str).unique())
    r = reg[reg["village_code"].astype(str).isin(set(vcodes))]
    g = r.groupby(r["village_code"].astype(str))
    st = r["registry_status"]
    counts = pd.DataFrame({
        "n_households": g.size(),
        "n_persons": g["hh_size"].sum().astype(int),
        "n_registered_households": st.ne("not_registered").groupby(r["village_code"].astype(str)).sum(),
        "n_poor_households": st.eq("poor").groupby(r["village_code"].astype(str)).sum(),
        "n_exited_households": st.isin(["exited", "exiting"]).groupby(r["village_code"].astype(str)).sum(),
    }).reindex(vcodes)
    vt = (r.drop_duplicates("village_code").set_index(r.drop_duplicates("village_code")["village_code"].astype(str))
          ["village_type"].reindex(vcodes) if "village_type" in r else pd.Series("non_poor", index=vcodes))
    k = len(vcodes)
    yn = lambda p: np.where(rng.random(k) < p, "yes", "no")  # noqa: E731
    poor = (vt == "poor").to_numpy()
    team = shh.drop_duplicates("village_code").set_index(shh.drop_duplicates("village_code")["village_code"].astype(str))
    start = pd.Timestamp(registry.meta.get("survey_date", "2020-01-15")) + pd.to_timedelta(
        8 * 60 + rng.integers(0, 60, k), unit="min")
    work_team = np.where(poor, "yes", yn(0.3))
    v = pd.DataFrame({
        "start": _fmt_time(pd.Series(start)),
        "end": _fmt_time(pd.Series(start + pd.to_timedelta(rng.integers(30, 70, k), unit="min"))),
        "id-village_code": vcodes,
        "id-respondent_role": rng.choice(np.array(["secretary", "director", "accountant"]), k, p=[0.6, 0.3, 0.1]),
        "id-enumerator": "V-" + pd.Series(rng.integers(1, 9, k)).astype(str),
        "id-team": "T00" if "team" not in team else team["team"].reindex(vcodes).fillna("T00").to_numpy(),
        "infrastructure-road_hardened": yn(0.97), "infrastructure-bus_access": yn(0.8),
        "infrastructure-power_grid": yn(0.97), "infrastructure-broadband": yn(0.9),
        "infrastructure-piped_water": yn(0.85), "infrastructure-clinic": yn(0.95),
        "infrastructure-village_doctor": yn(0.93),
        "economy-collective_income": np.round(rng.lognormal(np.log(50_000), 0.8, k), -2),
        "counts-n_households": counts["n_households"].astype(int).to_numpy(),
        "counts-n_persons": counts["n_persons"].astype(int).to_numpy(),
        "counts-n_registered_households": counts["n_registered_households"].astype(int).to_numpy(),
        "counts-n_poor_households": counts["n_poor_households"].astype(int).to_numpy(),
        "counts-n_exited_households": counts["n_exited_households"].astype(int).to_numpy(),
        "assistance_team-work_team": work_team,
        "assistance_team-work_team_size": np.where(work_team == "yes", rng.integers(2, 6, k).astype(str), None),
        "assistance_team-first_secretary": np.where(poor, "yes", yn(0.4)),
    })
    v["KEY"] = _key(rng, k)
    p = out / "evalkit_village.csv"
    _write_csv(v, p)
    return p
