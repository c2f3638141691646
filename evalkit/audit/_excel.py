"""Write several DataFrames to one xlsx, one sheet each, readable in Excel (frozen header,
filters, sensible column widths)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalkit.errors import ReportError

MAX_ROWS = 1_048_575


def write_sheets(path, sheets: dict[str, pd.DataFrame]) -> Path:
    """Write ``sheets`` ({name: frame}) to ``path``; a frame larger than Excel's row limit is
    an error rather than a silent truncation."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, df in sheets.items():
        if len(df) > MAX_ROWS:
            raise ReportError(f"{path.name}: sheet '{name}' has {len(df):,} rows, more than Excel allows "
                              f"({MAX_ROWS:,}); export it as CSV/Parquet instead.")
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                    out[c] = out[c].dt.tz_localize(None)
                elif str(out[c].dtype).startswith("string"):
                    out[c] = out[c].astype(object)
            sheet = name[:31]
            out.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            if len(out.columns):
                ws.auto_filter.ref = ws.dimensions
            for i, c in enumerate(out.columns, start=1):
                sample = out[c].head(200).astype(str).str.len()
                width = max(len(str(c)) * 1.6, float(sample.max()) if len(sample) else 0)
                ws.column_dimensions[ws.cell(1, i).column_letter].width = min(max(8, width * 1.1), 60)
    return path
