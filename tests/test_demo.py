"""`evalkit demo` end to end on a small province: exit code, every output, and numbers that
agree with an independent recomputation from the files it wrote."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evalkit.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import io
    from contextlib import redirect_stdout

    out = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["demo", "--out", str(out), "--counties", "3", "--households", "800", "1200"])
    return rc, out, buf.getvalue()


@pytest.mark.slow
def test_demo_writes_everything(demo):
    rc, out, printed = demo
    assert rc == 0
    for rel in ("registry.parquet", "registry_summary.csv", "plan.yaml", "sample/households.parquet",
                "sample/manifest.json", "ingest/issues.csv", "ingest/nonresponse.csv",
                "results/county_exit_check.csv", "results/two_rates_one_degree.csv", "results/verdicts.csv",
                "results/truth_vs_estimate.csv", "report/report.html", "report/assessment.xlsx",
                "report/figures/forest_wrong_exit_rate.png", "report/figures/income_exited.svg"):
        assert (out / rel).exists(), rel
    assert any((out / "field_lists").rglob("*.xlsx"))
    assert any((out / "exports").glob("*.csv"))
    # it says where everything went
    assert str((out / "report" / "report.html").resolve()) in printed
    assert "真实 truth" in printed


@pytest.mark.slow
def test_demo_numbers_recompute_from_its_files(demo):
    """Re-read the sample and exports the demo wrote and recompute: identical estimates."""
    import evalkit as ek

    rc, out, _ = demo
    sample = ek.load_sample(out / "sample")
    reg = ek.synthetic_registry(seed=7, n_counties=3, households_per_county=(800, 1200))
    assert sample.manifest["registry_fingerprint"] == reg.fingerprint
    resp = ek.read_responses(sorted((out / "exports").glob("*.csv")), sample=sample)
    res = ek.county_exit_check(resp, reg, ek.RuleSet.default(reg.year, reg.meta["province_code"]),
                               lonely_psu="adjust")
    saved = pd.read_csv(out / "results" / "county_exit_check.csv", dtype={"county_code": str})
    a = res.table.assign(c=res.table["county_code"].astype("string").fillna("")).set_index(["indicator", "c"])
    b = saved.assign(c=saved["county_code"].fillna("")).set_index(["indicator", "c"])
    for col in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(b.loc[a.index, col].to_numpy(float), a[col].to_numpy(float), rtol=1e-12, atol=1e-15)
    # the truth column is the synthetic province's exact value
    cmp = pd.read_csv(out / "results" / "truth_vs_estimate.csv", dtype={"county_code": str})
    truth = reg.true_rates()
    prov = truth[truth["level"] == "province"].set_index("indicator")["value"]
    got = cmp[cmp["county_code"].isna()].set_index("indicator")["truth"]
    np.testing.assert_allclose(got.to_numpy(float), prov.reindex(got.index).to_numpy(float), rtol=1e-12)
    # the manifest is on the report's first page
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    first = html[: html.index("</section>")]
    assert sample.manifest["registry_fingerprint"] in first
    assert re.search(r"20250601", first)
