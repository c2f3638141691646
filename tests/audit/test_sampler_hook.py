"""CrossCheck.mark → a `suspect` column the sampler stratifies on: flagged households are
over-sampled and the design weights still add up to each stratum's population."""
from __future__ import annotations

import numpy as np
import pytest

import evalkit as ek


def test_oversampling_suspect_households_keeps_weights_correct():
    pytest.importorskip("evalkit.sampling.draw")
    from evalkit.audit.synthetic import department_lists

    reg = ek.synthetic_registry(seed=1, n_counties=2, households_per_county=(150, 200))
    syn = department_lists(reg, seed=3, per_rule=6, noise=5, with_names=0)
    marked = ek.cross_check(reg, syn.lists).mark(reg)
    N = marked.households["suspect"].value_counts()
    assert 0 < N[True] < N[False]
    plan = ek.SamplingPlan([ek.Stage("household_id", method="srs", strata=["suspect"],
                                     n={"True": 12, "False": 40})])
    s = ek.draw_sample(marked, plan, seed=1)
    main = s.households[s.households["role"] == "main"]
    g = main.groupby("suspect")["weight"].agg(["size", "sum"])
    # Horvitz–Thompson: within each stratum the weights add up to its population
    assert g.loc[True, "sum"] == pytest.approx(N[True]) and g.loc[False, "sum"] == pytest.approx(N[False])
    # and the suspect households are sampled at a (much) higher rate
    assert 12 / N[True] > 2 * 40 / N[False]
    assert np.allclose(main.loc[main["suspect"], "weight"], N[True] / 12)
