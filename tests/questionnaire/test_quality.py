"""QC checks with hand-computed expectations."""
import math

import numpy as np
import pandas as pd
import pytest

from evalkit.questionnaire import quality
from evalkit.questionnaire.ingest import read_responses

from qn_helpers import valid_row


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"household_id": [f"H{i}" for i in range(n)], "source_file": "f.csv", "source_row": list(range(2, n + 2))}
    return pd.DataFrame({**base, **cols})


def test_short_and_negative_durations():
    t0 = pd.Timestamp("2020-01-15 09:00")
    d = frame(start=[t0] * 3, end=[t0 + pd.Timedelta(minutes=m) for m in (10, 40, -5)])
    out = pd.concat(quality.short_interviews(d, min_minutes=15))
    assert out[["row", "check", "severity", "value"]].values.tolist() == [
        [2, "short_interview", "warning", "10.0"], [4, "negative_duration", "error", "-5.0"]]


def test_flat_enumerator_entropy_ratio_by_hand():
    codes = ["very_satisfied", "satisfied", "neutral"]
    sat = ["satisfied"] * 12 + codes * 4 + codes * 4          # A constant; B and C uniform over 3 codes
    d = frame(enumerator=["A"] * 12 + ["B"] * 12 + ["C"] * 12, satisfaction=sat)
    out = pd.concat(quality.flat_enumerators(d, items=["satisfaction"], min_interviews=10, max_ratio=0.25))
    assert set(out["value"]) == {"A"} and len(out) == 12
    # overall distribution: satisfied 20/36, the other two 8/36 each; A's entropy is 0 -> ratio 0 %
    p = np.array([20, 8, 8]) / 36
    h_all = -(p * np.log(p)).sum()
    assert h_all == pytest.approx(0.9950, abs=1e-4)   # 20/36·ln(36/20) + 2·8/36·ln(36/8)
    assert "0%" in out["message"].iloc[0]
    # B and C alone: each has the overall entropy, ratio exactly 1 -> flagged only above 1
    bc = d[d["enumerator"] != "A"]
    assert quality.flat_enumerators(bc, items=["satisfaction"], max_ratio=0.99) == []
    assert len(pd.concat(quality.flat_enumerators(bc, items=["satisfaction"], max_ratio=1.01))) == 24
    # with A present, B's ratio is ln(3) / h_all = 1.104
    assert math.log(3) / h_all == pytest.approx(1.1041, abs=1e-4)


def test_gps_far_from_village_median():
    d = frame(village_code=["V1"] * 5, gps_lat=[26.0, 26.0, 26.0, 26.0, 26.1], gps_lon=[106.0] * 5)
    out = pd.concat(quality.gps_outliers(d, max_km=5))
    assert out["household_id"].tolist() == ["H4"]
    # 0.1 degree of latitude = 6371.0088 km * pi / 1800 = 11.12 km
    assert "11.1 km" in out["message"].iloc[0]
    assert quality.gps_outliers(d, max_km=12) == []


def test_income_parts_not_summing_and_roster_size():
    d = frame(income_wage=[100.0, 100.0], income_business=[0.0, 0.0], income_property=[0.0, 0.0],
              income_dibao=[50.0, 50.0], income_pension=[0.0, 0.0], income_subsidy=[0.0, 0.0],
              income_other_transfer=[0.0, 0.0], hh_size=[1, 3],
              _reported_total=[150.0, 160.0], _reported_transfer=[50.0, 50.0], _reported_pc=[150.0, 50.0])
    out = pd.concat(quality.income_consistency(d))
    # H1: parts sum to 150 not 160 (total) and 150 / 3 = 50 (per capita is fine)
    assert out[["household_id", "column"]].values.tolist() == [["H1", "income_total"]]
    assert "150.0" in out["message"].iloc[0]
    members = pd.DataFrame({"household_id": ["H0", "H1", "H1"], "age": [30, 30, 12],
                            "schooling": ["not_student", "not_student", "college"],
                            "source_file": "m.csv", "source_row": [2, 3, 4]})
    out = pd.concat(quality.roster_consistency(d, members))
    assert out[["household_id", "check"]].values.tolist() == [["H1", "roster_size"], ["H1", "age_schooling"]]


def test_qc_findings_point_at_the_export_row(tmp_path):
    rows = [valid_row("H1"), valid_row("H2", end="2020-01-15T09:05:00.000+08:00", income_total="99")]
    p = tmp_path / "hh.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    r = read_responses(p)
    got = r.issues.set_index("check")
    assert got.loc["short_interview", ["file", "row", "column"]].tolist() == ["hh.csv", 3, "end"]
    assert got.loc["income_sum", ["row", "column", "value"]].tolist() == [3, "income_total", "99.0"]
    # QC never changes the data: the parts' sum is used
    assert r.data.set_index("household_id").at["H2", "income_total"] == 11000


def test_roster_needs_exactly_one_head():
    d = frame(hh_size=[2, 2, 1])
    members = pd.DataFrame({"household_id": ["H0", "H0", "H1", "H1", "H2"],
                            "relation": ["head", "spouse", "head", "head", "child"],
                            "source_file": "m.csv", "source_row": [2, 3, 4, 5, 6]})
    out = pd.concat(quality.roster_consistency(d, members))
    heads = out[out["check"] == "roster_head"]
    assert heads[["household_id", "value"]].values.tolist() == [["H1", "2"], ["H2", "0"]]
