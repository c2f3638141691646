"""Small hand-made registries for exact sampling tests (no dependence on the synthetic province)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit as ek
from evalkit.registry.registry import Registry
from evalkit.sampling.plan import SamplingPlan

STATUSES = ["poor", "exited", "exiting", "not_registered"]


def make_registry(n_counties=3, villages_per_county=6, seed=0, hh_range=(8, 30), suspect_rate=0.0) -> Registry:
    """Province 52 with counties × townships × villages; household counts vary by village, statuses mixed."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_counties):
        county = f"5201{c + 1:02d}"
        for v in range(villages_per_county):
            town = f"{county}{v // 3 + 1:03d}"
            village = f"{town}{v + 1:03d}"
            vtype = "poor" if v % 3 != 2 else "non_poor"
            n = int(rng.integers(*hh_range))
            for h in range(n):
                status = STATUSES[int(rng.choice(4, p=[0.15, 0.35, 0.1, 0.4]))]
                rows.append({
                    "household_id": f"{village}{h + 1:04d}",
                    "province_code": "520000000000", "city_code": "520100000000",
                    "county_code": county + "000000", "township_code": town + "000",
                    "village_code": village,
                    "province_name": "贵州省", "city_name": "贵阳市", "county_name": f"第{c + 1}县",
                    "township_name": f"第{v // 3 + 1}乡", "village_name": f"第{v + 1}村",
                    "village_type": vtype, "registry_status": status,
                    "hh_size": int(rng.integers(1, 7)),
                    "monitoring": (["unstable_exited", "marginal", None, None, None][int(rng.integers(0, 5))]),
                    "head_name": f"户主{h}", "head_id_number": "52010219800101" + f"{h:04d}"[-4:],
                    "suspect": bool(rng.random() < suspect_rate),
                })
    df = pd.DataFrame(rows)
    df["county_code"] = df["county_code"].str[:6] + "000000"
    return Registry(df, meta={"year": 2019, "province_code": "52"})


@pytest.fixture
def small_registry():
    return make_registry()


@pytest.fixture
def tiny_registry():
    return make_registry(n_counties=1, villages_per_county=5, hh_range=(4, 9), seed=3)


@pytest.fixture
def make_reg():
    """The registry factory itself (test modules cannot import conftest under importlib mode)."""
    return make_registry


# households per status and village in the shared small sample
HH = {"poor": 2, "exited": 3, "exiting": 1, "not_registered": 3}


@pytest.fixture
def household_sizes():
    return dict(HH)


@pytest.fixture
def sample(small_registry):
    """County-exit sample of the small registry (2 poor + 1 non-poor villages per county, 2 reserves)."""
    plan = SamplingPlan.county_exit_check(poor_villages=2, non_poor_villages=1, households=HH, reserves=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ek.draw_sample(small_registry, plan, seed=5)
