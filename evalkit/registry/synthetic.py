"""Synthetic demo province (演示省) with a known hidden truth.

A made-up prefecture (青山州, code 5290) in a western province (code 52): counties →
townships → villages → households → members, with realistic distributions and registry
errors seeded at county-varying rates (错评, 错退, 漏评: 0–4 %), so that some counties pass
and some fail the exit thresholds. Everything is vectorised: the default province
(10 counties, ~400 k households, ~1.4 M persons) builds in seconds.

The truth (what a perfect interview would record, in questionnaire variable names, plus
the true flags) is kept in ``Registry.truth``, never in ``Registry.households``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from evalkit.registry.registry import Registry
from evalkit.registry.truth import CAR_VALUE_LIMIT, truth_flags

PROVINCE_CODE = "52"
PROVINCE_NAME = "演示省"
CITY_CODE = "5290"
CITY_NAME = "青山州"
# national poverty line (元/person/year, current prices) used for the synthetic truth;
# must agree with evalkit/indicators/data/poverty_lines.csv for province 52.
NATIONAL_LINE = {2016: 2952.0, 2017: 2952.0, 2018: 2995.0, 2019: 3218.0, 2020: 4000.0}

_C1 = list("青云白松柳梅竹兰岚雾峰溪石丰安永宁明清德")
_C2 = list("坪峪岗川湾岭塘垭洞坝源桥林阳江河山溪冲湖")
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
_GIVEN = list("国华建明永红丽平志金秀英玉兰春海军伟芳桂德文学林成荣强军燕霞云凤芬敏静宇杰鹏涛斌超浩婷琳欣怡")
_SIZE_P = np.array([0.08, 0.18, 0.20, 0.22, 0.15, 0.09, 0.05, 0.03])
_CAUSES = np.array(["illness", "disability", "education", "disaster", "lack_land", "lack_water",
                    "lack_skills", "lack_labour", "lack_capital", "poor_transport",
                    "lack_motivation", "other"])
_CAUSE_P = np.array([0.25, 0.10, 0.08, 0.03, 0.05, 0.02, 0.15, 0.12, 0.10, 0.03, 0.05, 0.02])


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default text dtype


def _text(values) -> pd.Series:
    """Text column built through Arrow (3× faster than pandas' inference for millions of rows)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=pa.string())
    return pd.Series(arr, dtype=_STR)


def _digits(values: np.ndarray) -> pa.Array:
    """Integers as decimal text (no padding), via Arrow."""
    return pa.array(values).cast(pa.string())


def _concat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*[p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.array(p, type=pa.string())
                                         for p in parts], "")


def _names(rng, n: int) -> np.ndarray:
    """Random Chinese names: surname + one or two given-name characters."""
    sur = rng.choice(_SURNAMES, n)
    g1 = rng.choice(_GIVEN, n)
    g2 = np.where(rng.random(n) < 0.6, rng.choice(_GIVEN, n), "")
    return np.asarray(_concat(sur, g1, g2).to_numpy(zero_copy_only=False), dtype=object)


_C3 = list("家口子坡沟寨屯堡庄营坳垄田湾院寺庙场圩铺")


def _place_names(rng, n: int, suffix: str, taken: set, pools=(_C1, _C2)) -> list[str]:
    """``n`` distinct random place names (two characters + suffix) not in ``taken``."""
    first, second = pools
    if n > len(first) * len(second) - len(taken):
        raise ValueError(f"cannot make {n} distinct names ending in {suffix}")
    out = []
    while len(out) < n:
        name = rng.choice(first) + rng.choice(second) + suffix
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _county_parameters(rng, n_counties: int) -> pd.DataFrame:
    """County-varying true error rates and population shares (some pass, some fail)."""
    def spread(lo, hi):
        v = np.linspace(lo, hi, n_counties)
        return rng.permutation(v)

    return pd.DataFrame({
        "p_wrong_exit": spread(0.0005, 0.04),
        "p_missed": spread(0.0005, 0.035),
        "p_wrong_incl": spread(0.005, 0.05),
        "registered_share": spread(0.18, 0.32),
        "poor_share_of_registered": spread(0.02, 0.10),
        "exiting_share_of_registered": spread(0.03, 0.10),
        "p_satisfied": spread(0.88, 0.98),
        "p_recognise": spread(0.86, 0.98),
    })


def synthetic_registry(seed: int = 0, n_counties: int = 10, year: int = 2019,
                       households_per_county=(30_000, 50_000)) -> Registry:
    """Build the demo province. ``households_per_county`` is a (low, high) range; use a
    small one (e.g. ``(800, 1200)``) for fast tests."""
    if year not in NATIONAL_LINE:
        raise ValueError(f"year must be one of {sorted(NATIONAL_LINE)}")
    rng = np.random.default_rng(seed)
    line = NATIONAL_LINE[year]
    survey_date = pd.Timestamp(f"{year + 1}-01-15")
    lo, hi = households_per_county
    cp = _county_parameters(rng, n_counties)

    # ---------------------------------------------------------------- geography
    taken: set = set()
    county_names = _place_names(rng, n_counties, "县", taken)
    county_codes = [f"{CITY_CODE}{i + 1:02d}000000" for i in range(n_counties)]
    n_hh_county = rng.integers(lo, hi + 1, n_counties)
    village_rows = []
    for c in range(n_counties):
        target = n_hh_county[c]
        mean_village = 220 if target >= 5000 else max(20, target // 12)
        n_vill = max(4, int(round(target / mean_village)))
        sizes = rng.lognormal(np.log(mean_village), 0.35, n_vill)
        sizes = np.maximum(8, np.round(sizes / sizes.sum() * target)).astype(int)
        n_town = max(2, min(15, n_vill // 15 + 2))
        town_of = np.sort(rng.integers(0, n_town, n_vill))
        local: set = set()  # township and village names are unique within a county
        town_names = _place_names(rng, n_town, "镇" if c % 2 == 0 else "乡", local)
        vill_names = _place_names(rng, n_vill, "村", local, pools=(_C1 + _C2, _C3))
        vtype = np.where(rng.random(n_vill) < 0.3, "poor", "non_poor")
        seq = np.zeros(n_town, dtype=int)
        for v in range(n_vill):
            t = town_of[v]
            seq[t] += 1
            village_rows.append((c, county_codes[c][:6], county_names[c], t, town_names[t],
                                 seq[t], vill_names[v], vtype[v], sizes[v]))
    vil = pd.DataFrame(village_rows, columns=["c", "c6", "county_name", "t", "township_name", "vseq",
                                              "village_name", "village_type", "n_hh"])
    vil["township_code"] = vil["c6"] + (vil["t"] + 1).map("{:03d}".format) + "000"
    vil["village_code"] = vil["c6"] + (vil["t"] + 1).map("{:03d}".format) + vil["vseq"].map("{:03d}".format)
    vil["county_code"] = vil["c6"] + "000000"

    # ---------------------------------------------------------------- households
    n = int(vil["n_hh"].sum())
    vi = np.repeat(np.arange(len(vil)), vil["n_hh"].to_numpy())
    within = np.arange(n) - np.repeat(np.cumsum(vil["n_hh"].to_numpy()) - vil["n_hh"].to_numpy(), vil["n_hh"].to_numpy())
    c_of = vil["c"].to_numpy()[vi]
    poor_village = (vil["village_type"].to_numpy()[vi] == "poor")
    reg_share = cp["registered_share"].to_numpy()[c_of] * np.where(poor_village, 1.7, 0.7)
    u = rng.random(n)
    registered = u < reg_share
    u2 = rng.random(n)
    p_poor = cp["poor_share_of_registered"].to_numpy()[c_of]
    p_exiting = cp["exiting_share_of_registered"].to_numpy()[c_of]
    status = np.where(~registered, "not_registered",
                      np.where(u2 < p_poor, "poor", np.where(u2 < p_poor + p_exiting, "exiting", "exited")))
    size = rng.choice(np.arange(1, 9), n, p=_SIZE_P)
    vcode_int = vil["village_code"].astype("int64").to_numpy()
    hid_int = vcode_int[vi] * 10_000 + within + 1
    household_id = np.asarray(_digits(hid_int).to_numpy(zero_copy_only=False), dtype=object)

    # ---------------------------------------------------------------- intended truth
    is_exit = np.isin(status, ["exited", "exiting"])
    is_poor = status == "poor"
    is_nonreg = status == "not_registered"
    r = rng.random(n)
    want_wrong_exit = is_exit & (r < cp["p_wrong_exit"].to_numpy()[c_of])
    want_missed = is_nonreg & (r < cp["p_missed"].to_numpy()[c_of])
    want_wrong_incl = is_poor & (r < cp["p_wrong_incl"].to_numpy()[c_of])
    # how an intended "not meeting the standard" shows: low income (70 %) or a 2A3G gap
    low_income_way = rng.random(n) < 0.7
    fail_2a3g = (want_wrong_exit | want_missed) & ~low_income_way
    low_income = ((want_wrong_exit | want_missed) & low_income_way) | (is_poor & ~want_wrong_incl & (rng.random(n) < 0.85))
    # remaining poor who are genuinely poor by 2A3G rather than income
    fail_2a3g |= is_poor & ~want_wrong_incl & ~low_income
    incl_by_negative = want_wrong_incl & (rng.random(n) < 0.6)
    incl_by_income = want_wrong_incl & ~incl_by_negative

    income_pc = np.where(
        low_income, line * rng.uniform(0.45, 0.97, n),
        np.where(incl_by_income, line * rng.uniform(2.2, 4.0, n),
                 np.where(is_nonreg, line * np.maximum(1.1, rng.lognormal(np.log(3.2), 0.45, n)),
                          line * np.maximum(1.08, rng.lognormal(np.log(1.7), 0.3, n)))))
    # poor households not wrongly included: if their income is above the line keep it below 2×line
    income_pc = np.where(is_poor & ~incl_by_income, np.minimum(income_pc, line * 1.9), income_pc)
    shares = rng.dirichlet([6.0, 2.5, 0.3, 0.6, 0.8, 0.7, 0.4], n)
    # dibao mostly for low-income registered households
    shares[:, 3] *= np.where(low_income & registered, 1.5, 0.2)
    shares[:, 4] *= rng.uniform(0.3, 1.5, n)  # pension
    shares /= shares.sum(axis=1, keepdims=True)
    part_names = ["income_wage", "income_business", "income_property", "income_dibao",
                  "income_pension", "income_subsidy", "income_other_transfer"]

    def yn(mask):
        return np.where(mask, "yes", "no")

    # which 2A3G item fails (education handled through members below)
    item = rng.choice(np.array(["food", "clothing", "education", "medical", "housing", "water"]), n,
                      p=[0.08, 0.05, 0.17, 0.25, 0.3, 0.15])
    item = np.where(fail_2a3g, item, "")
    water_bad = rng.integers(0, 4, n)
    appraisal = rng.choice(np.array(["A", "B", "C", "D", "not_appraised"]), n, p=[0.55, 0.33, 0.05, 0.02, 0.05])
    renovated = np.isin(appraisal, ["C", "D", "not_appraised"])  # fine houses: gaps fixed
    appraisal = np.where(item == "housing", rng.choice(np.array(["C", "D"]), n), appraisal)
    renovated = np.where(item == "housing", False, renovated)

    neg_kind = rng.choice(np.array(["payroll", "cadre", "car", "property", "business"]), n,
                          p=[0.3, 0.15, 0.25, 0.15, 0.15])
    # non-registered eligible-but-excluded households (negative list) and realistic cars
    nonreg_eligible_excluded = is_nonreg & ~want_missed & (rng.random(n) < 0.004)
    has_neg = incl_by_negative | nonreg_eligible_excluded
    low_income |= nonreg_eligible_excluded
    income_pc = np.where(nonreg_eligible_excluded, line * rng.uniform(0.5, 0.95, n), income_pc)
    total = income_pc * size
    parts = np.floor(shares * total[:, None])
    parts[:, 0] += np.round(total - parts.sum(axis=1))  # wage takes the rounding remainder
    neg_kind = np.where(has_neg, neg_kind, "")
    small_car = (~has_neg) & (rng.random(n) < np.where(is_nonreg, 0.12, 0.03))
    neg_car = (neg_kind == "car") | small_car
    car_value = np.where(neg_kind == "car", rng.uniform(CAR_VALUE_LIMIT, 150_000, n),
                         np.where(small_car, rng.uniform(3_000, CAR_VALUE_LIMIT - 1, n), np.nan)).round(0)

    regd = ~is_nonreg
    sat_p = cp["p_satisfied"].to_numpy()[c_of]
    rec_p = cp["p_recognise"].to_numpy()[c_of]
    sat_u = rng.random(n)
    satisfaction = np.where(sat_u < sat_p * 0.45, "very_satisfied",
                            np.where(sat_u < sat_p, "satisfied",
                                     rng.choice(np.array(["neutral", "dissatisfied", "very_dissatisfied"]), n,
                                                p=[0.7, 0.22, 0.08])))
    def near(base):  # item-specific satisfaction correlated with the overall one
        alt = rng.choice(np.array(list(("very_satisfied", "satisfied", "neutral", "dissatisfied"))), n,
                         p=[0.4, 0.45, 0.1, 0.05])
        return np.where(rng.random(n) < 0.8, base, alt)

    rec_u = rng.random(n)
    recognition = np.where(rec_u < rec_p * 0.6, "recognise",
                           np.where(rec_u < rec_p, "basically",
                                    rng.choice(np.array(["not_recognise", "unsure"]), n, p=[0.5, 0.5])))
    measures_pool = np.array(["industry", "employment", "education", "medical", "social_security", "finance"])
    m1 = rng.choice(measures_pool, n)
    m2 = rng.choice(measures_pool, n)
    measures = np.where(m1 == m2, m1, np.char.add(np.char.add(m1, " "), m2))

    answers = pd.DataFrame({"hh_size": size}, index=pd.Index(household_id, name="household_id"))
    for j, name in enumerate(part_names):
        answers[name] = parts[:, j]
    answers["income_per_capita"] = parts.sum(axis=1) / size
    answers["food_ok"] = yn(item != "food")
    answers["food_protein"] = yn((item != "food") & (rng.random(n) < 0.93))
    answers["clothing_ok"] = yn(item != "clothing")
    answers["medical_insured"] = yn(~((item == "medical") & (rng.random(n) < 0.5)))
    answers["medical_access"] = yn(~((item == "medical") & (answers["medical_insured"].to_numpy() == "yes")))
    answers["housing_appraisal"] = appraisal
    answers["housing_renovated"] = yn(renovated)
    for k, w in enumerate(("water_quantity", "water_quality", "water_access", "water_reliability")):
        answers[w] = yn(~((item == "water") & (water_bad == k)))
    answers["neg_payroll"] = yn(neg_kind == "payroll")
    answers["neg_cadre"] = yn(neg_kind == "cadre")
    answers["neg_car"] = yn(neg_car)
    answers["car_value"] = car_value
    answers["neg_property"] = yn(neg_kind == "property")
    answers["neg_business"] = yn(neg_kind == "business")
    answers["assist_visited"] = np.where(regd, yn(rng.random(n) < 0.95), None)
    answers["assist_measures"] = np.where(regd, measures, None)
    answers["knows_card"] = np.where(regd, yn(rng.random(n) < 0.9), None)
    answers["knows_procedure"] = yn(rng.random(n) < np.where(regd, 0.85, 0.6))
    answers["satisfaction"] = np.where(regd, satisfaction, None)
    answers["sat_team"] = np.where(regd, near(satisfaction), None)
    answers["sat_cadre"] = np.where(regd, near(satisfaction), None)
    answers["recognition"] = recognition

    # ---------------------------------------------------------------- members
    members = _members(rng, household_id, size, vil["county_code"].to_numpy()[vi], survey_date,
                       want_dropout=(item == "education"), poor=registered)
    # households meant to fail education but with no child aged 6–15: fail housing instead
    kids = members.loc[members["schooling"] == "dropout", "household_id"]
    no_child = (item == "education") & ~pd.Index(household_id).isin(pd.Index(kids))
    answers.loc[no_child, "housing_appraisal"] = "D"
    answers.loc[no_child, "housing_renovated"] = "no"

    heads = members[members["relation"] == "head"].set_index("household_id")
    registration_year = np.where(registered, rng.choice([2014, 2015, 2016], n, p=[0.7, 0.2, 0.1]), -1)
    exit_year = np.where(status == "exited", np.minimum(year, registration_year + rng.integers(1, 6, n)), -1)
    exit_year = np.where((status == "exited") & (exit_year <= registration_year), registration_year + 1, exit_year)
    monitoring = np.where((status == "exited") & (rng.random(n) < 0.05), "unstable_exited",
                          np.where(is_nonreg & (rng.random(n) < 0.015), "marginal",
                                   np.where(rng.random(n) < 0.003, "sudden_hardship", None)))
    # registry-recorded income: noisy truth; wrong exits were recorded above the line
    reg_income_pc = answers["income_per_capita"].to_numpy() * rng.uniform(0.9, 1.1, n)
    reg_income_pc = np.where(is_exit & (answers["income_per_capita"].to_numpy() <= line),
                             line * rng.uniform(1.05, 1.4, n), reg_income_pc)
    reg_scale = reg_income_pc * size / np.maximum(parts.sum(axis=1), 1)
    reg_parts = np.round(parts * reg_scale[:, None])
    hh = pd.DataFrame({
        "household_id": _text(household_id),
        "province_code": PROVINCE_CODE + "0" * 10,
        "city_code": CITY_CODE + "0" * 8,
        "county_code": _text(vil["county_code"].to_numpy()[vi]),
        "township_code": _text(vil["township_code"].to_numpy()[vi]),
        "village_code": _text(vil["village_code"].to_numpy()[vi]),
        "province_name": PROVINCE_NAME,
        "city_name": CITY_NAME,
        "county_name": _text(vil["county_name"].to_numpy()[vi]),
        "township_name": _text(vil["township_name"].to_numpy()[vi]),
        "village_name": _text(vil["village_name"].to_numpy()[vi]),
        "village_type": _text(vil["village_type"].to_numpy()[vi]),
        "registry_status": _text(status),
        "registration_year": pd.array(np.where(registration_year > 0, registration_year, pd.NA), dtype="Int64"),
        "exit_year": pd.array(np.where(exit_year > 0, exit_year, pd.NA), dtype="Int64"),
        "hh_size": pd.array(size, dtype="Int64"),
        "income_per_capita": np.round(reg_parts.sum(axis=1) / size, 2),
        "income_wage": reg_parts[:, 0],
        "income_business": reg_parts[:, 1],
        "income_property": reg_parts[:, 2],
        "income_transfer": reg_parts[:, 3:].sum(axis=1),
        "poverty_cause": _text(np.where(registered, rng.choice(_CAUSES, n, p=_CAUSE_P), None)),
        "monitoring": _text(monitoring),
        "head_name": heads["name"].reindex(household_id).to_numpy(),
        "head_id_number": heads["id_number"].reindex(household_id).to_numpy(),
        "phone": _text(_digits(rng.choice(np.array([138, 139, 158, 187, 186, 159]), n) * 10**8
                               + rng.integers(0, 10**8, n))),
        "assisting_cadre": _text(np.where(registered, _names(rng, n), None)),
    })

    answers.index = answers.index.astype(str)
    status_s = pd.Series(status, index=answers.index)
    flags = truth_flags(answers, members, status_s, line, survey_date)
    truth = answers.join(flags.drop(columns=["income_per_capita"]))
    meta = {
        "name": f"{PROVINCE_NAME}{CITY_NAME}（合成演示数据）",
        "synthetic": True, "seed": seed, "year": year, "province_code": PROVINCE_CODE,
        "poverty_line": line, "survey_date": survey_date.date().isoformat(),
        "sources": [f"synthetic_registry(seed={seed}, n_counties={n_counties}, year={year})"],
        "county_parameters": cp.assign(county_code=county_codes, county_name=county_names),
    }
    return Registry(hh, members, truth=truth, meta=meta)


def _members(rng, household_id, size, county_code, survey_date, want_dropout, poor) -> pd.DataFrame:
    """Vectorised roster: head, spouse, children/grandchildren, sometimes a parent."""
    m = int(size.sum())
    hh_of = np.repeat(np.arange(len(size)), size)
    pos = np.arange(m) - np.repeat(np.cumsum(size) - size, size)
    sz = size[hh_of]
    head_age = rng.integers(26, 76, len(size))
    ha = head_age[hh_of]
    is_head = pos == 0
    is_spouse = (pos == 1) & (rng.random(m) < 0.88)
    is_parent = (~is_head) & (~is_spouse) & (pos == sz - 1) & (sz >= 5) & (ha < 50)
    grand = (ha >= 55) & (rng.random(m) < 0.5)
    child_age = np.where(grand, rng.integers(0, 16, m), rng.integers(0, np.maximum(1, ha - 19), m))
    age = np.where(is_head, ha,
                   np.where(is_spouse, np.clip(ha + rng.integers(-5, 4, m), 18, 95),
                            np.where(is_parent, np.clip(ha + rng.integers(22, 32, m), 45, 99), child_age)))
    relation = np.where(is_head, "head", np.where(is_spouse, "spouse", np.where(
        is_parent, "parent", np.where(grand, "grandchild", np.where(pos == 1, "sibling", "child")))))
    head_male = rng.random(len(size)) < 0.85
    sex_male = np.where(is_head, head_male[hh_of], np.where(is_spouse, ~head_male[hh_of], rng.random(m) < 0.52))
    sex = np.where(sex_male, "male", "female")
    health_u = rng.random(m)
    illness_boost = np.where(poor[hh_of], 2.0, 1.0)
    health = np.where(health_u < 0.03 * illness_boost, "serious",
                      np.where(health_u < 0.15 * illness_boost, "chronic", "healthy"))
    dis_u = rng.random(m)
    disability = np.where(dis_u < 0.02, "severe", np.where(dis_u < 0.06, "mild", "none"))
    labour = np.where(age < 16, "none", np.where(
        (disability == "severe") | (health == "serious"), "unable",
        np.where(age > 65, np.where(rng.random(m) < 0.5, "weak", "none"),
                 np.where((health == "chronic") | (disability == "mild") | (age > 60), "weak", "able"))))
    schooling = np.full(m, "not_student", dtype=object)
    schooling[age < 6] = "preschool"
    schooling[(age >= 6) & (age <= 11)] = "primary"
    schooling[(age >= 12) & (age <= 14)] = "junior"
    schooling[age == 15] = np.where(rng.random(int((age == 15).sum())) < 0.5, "junior", "senior")
    sr = rng.random(m)
    schooling[(age >= 16) & (age <= 18) & (sr < 0.6)] = "senior"
    schooling[(age >= 19) & (age <= 22) & (sr < 0.25)] = "college"
    compulsory = (age >= 6) & (age <= 15)
    special = compulsory & (disability == "severe")
    schooling[special] = np.where(rng.random(int(special.sum())) < 0.5, "home_schooling", "unable")
    # intended education failures: the first compulsory-age child drops out
    cand = compulsory & ~special & want_dropout[hh_of]
    first = cand & (pd.Series(cand.astype(int)).groupby(hh_of).cumsum().to_numpy() == 1)
    schooling[first] = "dropout"

    # birth date such that the completed age at the survey date is exactly `age`
    anchor = pd.to_datetime(pd.DataFrame({"year": survey_date.year - age, "month": survey_date.month,
                                          "day": survey_date.day}))
    birth = anchor - pd.to_timedelta(rng.integers(1, 365, m), unit="D")

    hid = np.asarray(household_id)
    hid_int = np.asarray(pa.array(hid, type=pa.string()).cast(pa.int64()))
    person_id = _digits(hid_int[hh_of] * 100 + pos + 1)
    ymd = (birth.dt.year * 10_000 + birth.dt.month * 100 + birth.dt.day).to_numpy().astype(np.int64)
    county6 = np.asarray(county_code).astype("U6").astype(np.int64)[hh_of]
    # sequence code: unique within (county, birth date, sex), from a random start; odd = male
    sexbit = np.where(sex_male, 1, 0)
    group = pd.factorize(county6 * 10**9 + ymd * 10 + sexbit)[0]
    rank = pd.Series(group).groupby(group).cumcount().to_numpy()
    start = rng.integers(0, 400, group.max() + 1)[group]
    seq = ((start + rank) % 500) * 2 + sexbit
    first17 = county6 * 10**11 + ymd * 1000 + seq
    digits = (first17[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    check = np.array(list("10X98765432"))[(digits @ np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])) % 11]
    ids = _concat(_digits(first17), check)
    family = rng.choice(_SURNAMES, len(size))[hh_of]
    given = _concat(rng.choice(_GIVEN, m), np.where(rng.random(m) < 0.6, rng.choice(_GIVEN, m), ""))
    surname = np.where(np.isin(relation, ["head", "child", "grandchild", "sibling"]), family,
                       rng.choice(_SURNAMES, m))
    names = _concat(surname, given)
    return pd.DataFrame({
        "person_id": _text(person_id),
        "household_id": _text(_digits(hid_int[hh_of])),
        "name": _text(names),
        "relation": _text(relation),
        "sex": _text(sex),
        "birth_date": birth.to_numpy(),
        "id_number": _text(ids),
        "health": _text(health),
        "disability": _text(disability),
        "labour": _text(labour),
        "schooling": _text(schooling.astype(str)),
    })
