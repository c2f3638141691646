"""`evalkit estimate` on a hand-made saved sample + ingest folder: the CSV it writes holds the
same numbers as the Python API (which test_rates.py checks against hand formulas)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.cli import main
from evalkit.indicators.rates import two_rates_one_degree

_spec = importlib.util.spec_from_file_location("_ind_tiny_cli", Path(__file__).with_name("test_rates.py"))
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)


def _saved(tmp_path):
    data, mem = T._answers()
    hh = data[["household_id", "county_code", "county_name", "registry_status", "hh_size"]].copy()
    hh["pi_1"] = 1.0 / data["w"]
    hh["weight"] = data["w"].to_numpy(float)
    hh["unit_1"] = data["psu"]
    hh["stratum_1"] = data["stratum"]
    hh["cell"] = data["psu"]
    hh["role"] = "main"
    hh["active"] = True
    hh["design_stratum"] = data["stratum"]
    hh["design_psu"] = data["psu"]
    hh["design_fpc"] = np.inf
    sdir = tmp_path / "sample"
    sdir.mkdir()
    hh.to_parquet(sdir / "households.parquet", index=False)
    (sdir / "manifest.json").write_text(json.dumps({"seed": 1}), encoding="utf-8")
    idir = tmp_path / "ingest"
    idir.mkdir()
    data.drop(columns=["w", "stratum", "psu"]).to_parquet(idir / "data.parquet", index=False)
    mem.to_parquet(idir / "members.parquet", index=False)
    return sdir, idir


def test_cli_estimate_writes_the_api_numbers(tmp_path, capsys):
    sdir, idir = _saved(tmp_path)
    out = tmp_path / "out"
    rc = main(["estimate", str(idir), "--sample", str(sdir), "--year", "2019", "--province", "52",
               "--by", "", "--out", str(out)])
    assert rc == 0
    got = pd.read_csv(out / "results.csv")
    want = two_rates_one_degree(T.responses(), T.RULES).table
    assert list(got["indicator"]) == list(want["indicator"])
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], want["se"], rtol=1e-10)
    assert (out / "results_two_rates.xlsx").exists()
    assert "错退率" in capsys.readouterr().out
    # appeals file: overturn h02 and h10 → no wrong exit left
    pd.DataFrame({"household_id": ["h02", "h10"], "outcome": ["overturned", "改判"]}).to_csv(
        tmp_path / "appeals.csv", index=False)
    rc = main(["estimate", str(idir), "--sample", str(sdir), "--year", "2019", "--province", "52", "--by", "",
               "--appeals", str(tmp_path / "appeals.csv"), "--out", str(out)])
    assert rc == 0
    got = pd.read_csv(out / "results.csv").set_index("indicator")
    assert got.loc["wrong_exit_rate", "estimate"] == 0.0
    assert got.loc["exit_accuracy", "estimate"] == 1.0


def test_cli_estimate_needs_a_year(tmp_path, capsys):
    sdir, idir = _saved(tmp_path)
    rc = main(["estimate", str(idir), "--sample", str(sdir), "--out", str(tmp_path / "o")])
    assert rc == 1
    assert "--year" in capsys.readouterr().err
