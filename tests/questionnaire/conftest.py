"""Fixtures of the questionnaire tests; helpers live in qn_helpers.py (put on sys.path here)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def write_csv(tmp_path):
    def _w(df, name="hh.csv", encoding="utf-8"):
        p = tmp_path / name
        df.to_csv(p, index=False, encoding=encoding)
        return p
    return _w
