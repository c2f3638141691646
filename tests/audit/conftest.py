"""Hand-made registries for the audit tests (tiny, explicit, every value visible)."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import C1, C2, TEXTBOOK_18, gb_id  # noqa: E402

from evalkit.registry.registry import Registry  # noqa: E402


@pytest.fixture
def ids():
    return {
        "P1": TEXTBOOK_18,                       # head of H1 (poor), check character X
        "P2": gb_id("52010219850202002"),        # spouse in H1
        "P3": gb_id("52010219900303003"),        # head of H2 (exited)
        "P4": gb_id("52010219700404004"),        # head of H3 (not registered)
        "P5": gb_id("52010319600505005"),        # head of H4 (poor, county 2)
        "P6": gb_id("52010320100606006"),        # child in H4 (born 2010)
    }


@pytest.fixture
def registry(ids):
    hh = pd.DataFrame({
        "household_id": ["H1", "H2", "H3", "H4"],
        "county_code": [C1, C1, C1, C2], "county_name": ["甲县", "甲县", "甲县", "乙县"],
        "township_code": [C1[:9] + "000"] * 3 + [C2[:9] + "000"],
        "village_code": [C1[:9] + "001"] * 3 + [C2[:9] + "001"],
        "village_name": ["一村"] * 3 + ["二村"],
        "registry_status": ["poor", "exited", "not_registered", "poor"],
        "hh_size": [2, 1, 1, 2],
        "head_name": ["张三", "王五", "赵六", "钱七"],
        "head_id_number": [ids["P1"], ids["P3"], ids["P4"], ids["P5"]],
    })
    mem = pd.DataFrame({
        "person_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
        "household_id": ["H1", "H1", "H2", "H3", "H4", "H4"],
        "name": ["张三", "李四", "王五", "赵六", "钱七", "钱小八"],
        "relation": ["head", "spouse", "head", "head", "head", "child"],
        "birth_date": pd.to_datetime(["1949-12-31", "1985-02-02", "1990-03-03", "1970-04-04",
                                      "1960-05-05", "2010-06-06"]),
        "id_number": [ids[p] for p in ("P1", "P2", "P3", "P4", "P5", "P6")],
    })
    return Registry(hh, mem, meta={"year": 2019})
