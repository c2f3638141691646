"""Write questionnaires/household.xlsx and village.xlsx from evalkit/questionnaire/variables.py.

The form logic lives in ``evalkit/questionnaire/forms.py``; run this script after changing it
or ``variables.py`` and commit the xlsx (tests/questionnaire/test_forms.py fails when stale):

    python questionnaires/build_forms.py [OUT_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

from evalkit.questionnaire.forms import build

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
