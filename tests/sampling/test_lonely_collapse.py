"""Strata left with one responding PSU after nonresponse are collapsed with their siblings."""
import numpy as np
import pandas as pd

from evalkit.sampling.sample import collapse_lonely_strata


def test_collapse_by_hand():
    f = pd.DataFrame({
        "s": ["V1|exited", "V1|poor", "V1|poor", "V1|poor", "V2|exited", "V3|poor", "V3|exited", "V3|exited"],
        "p": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "N": [10.0, 5.0, 5.0, 5.0, 1.0, np.inf, np.inf, np.inf],
    })
    out = collapse_lonely_strata(f, "s", "p", "N")
    # V1|exited had one respondent out of 10: merged with V1|poor, population 10 + 5
    assert out["s"].tolist()[:4] == ["V1|合并层"] * 4
    assert out["N"].tolist()[:4] == [15.0] * 4
    # a stratum whose whole population is one unit is a certainty stratum: untouched
    assert out.loc[4, "s"] == "V2|exited" and out.loc[4, "N"] == 1.0
    # with-replacement strata merge too and stay with replacement
    assert out["s"].tolist()[5:] == ["V3|合并层"] * 3 and np.isinf(out["N"].iloc[5:]).all()
    # input untouched, rows and order kept
    assert f.loc[0, "s"] == "V1|exited" and len(out) == len(f)


def test_no_lonely_no_change():
    f = pd.DataFrame({"s": ["A|x", "A|x", "A|y", "A|y"], "p": list("abcd"), "N": [4.0, 4, 9, 9]})
    pd.testing.assert_frame_equal(collapse_lonely_strata(f, "s", "p", "N").astype({"s": object}),
                                  f.astype({"s": object}))


def test_respondent_design_survives_heavy_nonresponse():
    """The case that stopped county_exit_check by default: one respondent left in a cell."""
    import warnings

    import evalkit as ek

    warnings.simplefilter("ignore")
    reg = ek.synthetic_registry(seed=5, n_counties=2, households_per_county=(3000, 4000))
    s = ek.draw_sample(reg, ek.SamplingPlan.county_exit_check(), seed=1)
    main = s.households[s.households["role"] == "main"]
    # keep exactly one respondent in every cell that had several: many lonely strata
    keep = main.groupby("cell")["household_id"].first()
    rest = main[~main["household_id"].isin(keep)].sample(frac=0.5, random_state=0)["household_id"]
    d = s.respondent_design(list(keep) + list(rest))
    assert d.data["design_stratum"].astype(str).str.endswith("合并层").any()
    design = ek.SurveyDesign(d.data.assign(one=1.0), **d.spec)
    est = ek.estimate(design, "one", statistic="total")  # raised DesignError (lonely PSU) before
    assert np.isclose(est["estimate"].iloc[0], main["weight"].sum())
    assert np.isfinite(est["se"].iloc[0]) and est["se"].iloc[0] >= 0


def test_manifest_carries_year_and_province():
    import warnings

    import evalkit as ek

    warnings.simplefilter("ignore")
    reg = ek.synthetic_registry(seed=5, n_counties=2, households_per_county=(800, 900))
    s = ek.draw_sample(reg, ek.SamplingPlan.county_exit_check(), seed=1)
    assert (s.manifest["year"], s.manifest["province_code"], s.manifest["survey_date"]) == (2019, "52", "2020-01-15")
