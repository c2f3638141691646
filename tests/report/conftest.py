"""Small hand-made objects honouring docs/contracts.md §5–§7, so report tests need no
other module. Every number the tests assert is computed by hand from these tables."""
from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

import matplotlib

matplotlib.use("Agg")

COUNTIES = [("520101000000", "甲县"), ("520102000000", "乙县"), ("520103000000", "丙县")]


def _row(ind, label, label_en, code, name, est, lo, hi, thr, rule, dec, nh, np_):
    return dict(indicator=ind, label=label, label_en=label_en, county_code=code, county_name=name,
                estimate=est, se=(hi - lo) / 4, ci_low=lo, ci_high=hi, level=0.95,
                ci_method="korn-graubard" if thr == 0.02 else "logit", df=10, n_households=nh,
                n_persons=np_, threshold=thr, threshold_rule=rule, decision=dec)


def make_results_table() -> pd.DataFrame:
    rows = [
        # wrong_exit_rate: province + 3 counties: pass, fail, inconclusive
        _row("wrong_exit_rate", "错退率", "wrong exit rate", None, None, 0.012, 0.006, 0.019, 0.02, "<", "pass", 600, 2400),
        _row("wrong_exit_rate", "错退率", "wrong exit rate", *COUNTIES[0], 0.004, 0.001, 0.012, 0.02, "<", "pass", 200, 800),
        _row("wrong_exit_rate", "错退率", "wrong exit rate", *COUNTIES[1], 0.060, 0.035, 0.095, 0.02, "<", "fail", 200, 800),
        _row("wrong_exit_rate", "错退率", "wrong exit rate", *COUNTIES[2], 0.0, 0.0, 0.031, 0.02, "<", "inconclusive", 200, 800),
        # recognition_rate: threshold 90 %, rule >=
        _row("recognition_rate", "群众认可度", "recognition rate", None, None, 0.93, 0.91, 0.95, 0.90, ">=", "pass", 900, 3600),
        _row("recognition_rate", "群众认可度", "recognition rate", *COUNTIES[0], 0.95, 0.92, 0.97, 0.90, ">=", "pass", 300, 1200),
        _row("recognition_rate", "群众认可度", "recognition rate", *COUNTIES[1], 0.88, 0.84, 0.91, 0.90, ">=", "inconclusive", 300, 1200),
        _row("recognition_rate", "群众认可度", "recognition rate", *COUNTIES[2], 0.80, 0.75, 0.85, 0.90, ">=", "fail", 300, 1200),
        # satisfaction: no threshold
        _row("satisfaction", "群众满意度", "satisfaction", None, None, 0.91, 0.88, 0.94, np.nan, None, None, 600, 2400),
        _row("satisfaction", "群众满意度", "satisfaction", *COUNTIES[0], 0.92, 0.88, 0.95, np.nan, None, None, 200, 800),
    ]
    t = pd.DataFrame(rows)
    t["decision"] = t["decision"].astype(object).where(t["decision"].notna(), None)
    return t


class FakeResults:
    def __init__(self, table, verdicts=None, meta=None, appeals=None):
        self.table = table
        self.verdicts = verdicts
        self.meta = meta or {}
        self._appeals = appeals

    def explain(self, indicator):
        """Like Results.explain: flagged households of one indicator with rule and status."""
        flag = {"wrong_exit_rate": "wrong_exit", "missed_rate": "missed",
                "wrong_inclusion_rate": "wrong_inclusion"}[indicator]
        a = self._appeals
        return a[a["flag"] == flag].reset_index(drop=True)


@pytest.fixture
def results():
    verdicts = pd.DataFrame({
        "county_code": [c for c, _ in COUNTIES], "county_name": [n for _, n in COUNTIES],
        "decision": ["pass", "fail", "inconclusive"],
    })
    appeals = pd.DataFrame({
        "household_id": ["H001", "H002", "H003"], "county_code": ["520102000000", "520102000000", "520101000000"],
        "flag": ["wrong_exit", "wrong_exit", "missed"],
        "rule_zh": ["已脱贫但未达退出标准：收入", "已脱贫但未达退出标准：住房", "非建档立卡户符合识别标准"],
        "evidence": ["人均纯收入 2,500 元 (收入线 3,218)", "housing_appraisal=D", "人均纯收入 2,000 元"],
        "appeal_status": ["initial", "final", "initial"],
    })
    meta = {"seed": 20250601, "registry_fingerprint": "ab" * 32, "evalkit_version": "0.1.0",
            "year": 2019, "province_code": "52", "level": 0.95, "population_persons": 123456}
    return FakeResults(make_results_table(), verdicts=verdicts, meta=meta, appeals=appeals)


def make_sample_households() -> pd.DataFrame:
    """12 main households (2 per county × {exited, not_registered}) + 2 reserves, one used."""
    rows = []
    k = 0
    for code, name in COUNTIES:
        for status, w in (("exited", 10.0), ("not_registered", 30.0)):
            for _ in range(2):
                k += 1
                rows.append(dict(household_id=f"H{k:03d}", county_code=code, county_name=name,
                                 village_code=code[:9] + "001", registry_status=status, hh_size=4,
                                 village_type="poor", role="main", active=True, weight=w, pi=1 / w))
    rows.append(dict(household_id="R001", county_code=COUNTIES[0][0], county_name=COUNTIES[0][1],
                     village_code=COUNTIES[0][0][:9] + "001", registry_status="exited", hh_size=3,
                     village_type="poor", role="reserve", active=True, weight=np.nan, pi=np.nan))
    rows.append(dict(household_id="R002", county_code=COUNTIES[0][0], county_name=COUNTIES[0][1],
                     village_code=COUNTIES[0][0][:9] + "001", registry_status="exited", hh_size=3,
                     village_type="poor", role="reserve", active=False, weight=np.nan, pi=np.nan))
    return pd.DataFrame(rows)


@pytest.fixture
def sample():
    return types.SimpleNamespace(households=make_sample_households(),
                                 manifest={"seed": 20250601, "registry_fingerprint": "ab" * 32})


@pytest.fixture
def responses():
    hh = make_sample_households()
    # H001 refused (replaced by R001); H005 absent; everybody else completed.
    done = hh[~hh["household_id"].isin(["H001", "H005", "R002"])].copy()
    n = len(done)
    sat = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "satisfied", "very_satisfied",
           "satisfied", "neutral", "satisfied", "very_satisfied", "satisfied"]
    rec = ["recognise", "basically", "not_recognise", "recognise", "unsure", "recognise",
           "recognise", "basically", "recognise", "recognise", "basically"]
    done["satisfaction"] = [s if st != "not_registered" else None for s, st in zip(sat[:n], done["registry_status"])]
    done["recognition"] = rec[:n]
    done["income_per_capita"] = [2500.0, 3100.0, 9000.0, 5200.0, 4000.0, 3218.0, 12000.0, 2000.0, 7000.0, 3000.0, 15000.0][:n]
    done["weight_final"] = done["weight"].fillna(10.0) * 1.0
    nonresponse = pd.DataFrame({"household_id": ["H001", "H005"], "disposition": ["refused", "absent"]})
    return types.SimpleNamespace(data=done.reset_index(drop=True), nonresponse=nonresponse,
                                 issues=pd.DataFrame(columns=["file", "row", "household_id", "column", "value",
                                                              "severity", "check", "message"]))


@pytest.fixture
def registry():
    # 100 households: 25 exited, 75 not_registered (weights 10/30 reproduce 25 %/75 % exactly? see test)
    hh = pd.DataFrame({"household_id": [f"X{i}" for i in range(100)],
                       "registry_status": ["exited"] * 25 + ["not_registered"] * 75,
                       "county_code": "520101000000", "hh_size": 4})
    return types.SimpleNamespace(households=hh)
