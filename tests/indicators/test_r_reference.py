"""Province-level indicators on the tiny design against R `survey` 4.1 (svyciprop with
method="beta" = Korn–Graubard, method="logit"; svycontrast for the poverty incidence).
Values produced by tests/indicators/reference/tiny_design.R and committed in tiny_design_R.csv,
so no R is needed to run this test."""
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from evalkit.indicators.rates import ALL, county_exit_check

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("_ind_tiny_r", HERE / "test_rates.py")
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)


def test_against_r_survey():
    ref = pd.read_csv(HERE / "reference" / "tiny_design_R.csv").set_index("indicator")
    res = county_exit_check(T.responses(), T.registry(), T.RULES, indicators=ALL)
    t = res.table[res.table["county_code"].isna()].set_index("indicator")
    acc = t.loc[["identification_accuracy"]].rename(index={"identification_accuracy": "identification_error"})
    acc = acc.assign(estimate=1 - acc["estimate"], ci_low=1 - acc["ci_high"], ci_high=1 - acc["ci_low"])
    t = pd.concat([t, acc])
    for ind, r in ref.iterrows():
        got = t.loc[ind]
        # logit rows: R's point estimate comes from an iterative glm fit (agrees to ~1e-10)
        tol = 1e-12 if r["method"] != "logit" else 1e-9
        assert got["estimate"] == pytest.approx(r["estimate"], rel=tol), ind
        assert got["se"] == pytest.approx(r["se"], rel=1e-9), ind
        if r["method"] != "linearization":
            assert got["ci_method"] == r["method"], ind
            assert got["ci_low"] == pytest.approx(r["ci_low"], rel=1e-7, abs=1e-15), ind
            assert got["ci_high"] == pytest.approx(r["ci_high"], rel=1e-7), ind
