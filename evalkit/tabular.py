"""Read one tabular file of any supported kind into a DataFrame of strings-as-given.

Shared by the registry reader, questionnaire ingestion and the audit's department lists:
CSV/TXT (UTF-8, UTF-8 with BOM, GB18030/GBK detected), XLSX/XLS (one or all sheets),
Parquet, SPSS .sav and Stata .dta (value labels applied, and kept in ``value_labels``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.errors import EvalkitError

SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq", ".sav", ".zsav", ".dta")
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class TableFile:
    """A table read from ``path`` (and ``sheet``), with how it was decoded."""

    frame: pd.DataFrame
    path: Path
    sheet: str | None = None
    encoding: str | None = None
    value_labels: dict = field(default_factory=dict)  # column -> {stored value: label}
    column_labels: dict = field(default_factory=dict)  # column -> variable label

    @property
    def name(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name


def detect_encoding(path: Path, sample_bytes: int = 1 << 20) -> str:
    """'utf-8-sig' when the bytes decode as UTF-8 (with or without BOM), else 'gb18030'
    (a superset of GBK and GB2312) when they decode as that; otherwise an error."""
    raw = Path(path).read_bytes()[:sample_bytes]
    for enc in ENCODINGS:
        try:
            raw.decode(enc)
            return enc
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the sample boundary is not a decoding failure
            if len(raw) == sample_bytes and exc.start >= len(raw) - 4:
                return enc
            continue
    raise EvalkitError(
        f"{Path(path).name}: the text is neither UTF-8 nor GBK/GB18030. "
        "Save it again from Excel as 'CSV UTF-8' and retry."
    )


def detect_separator(path: Path, encoding: str) -> str:
    """The field separator of a delimited text file, read from its header line: the most
    frequent of comma, tab, semicolon and vertical bar (comma when none occurs)."""
    with open(path, encoding=encoding, newline="") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def read_table(path, sheet=None, dtype_str: bool = True, dictionary=None) -> TableFile:
    """Read ``path`` (one sheet for Excel: ``sheet`` name/index, default the first).

    With ``dtype_str`` (default) CSV/Excel cells are read as text so codes such as
    ``520102001001`` or ID numbers keep their leading zeros and digits; typed formats
    (Parquet, SAV, DTA) keep their types. ``dictionary`` names Parquet text columns to read
    as pandas Categorical straight from the file's dictionary pages (codes, counties,
    villages: a fraction of the time and memory of ten million separate strings).
    """
    p = Path(path)
    if not p.exists():
        raise EvalkitError(f"{p}: file not found. Check the path (找不到文件).")
    ext = p.suffix.lower()
    if ext not in SUPPORTED:
        raise EvalkitError(
            f"{p.name}: unsupported file type '{ext}'. Supported: {', '.join(SUPPORTED)}."
        )
    try:
        if ext in (".csv", ".txt", ".tsv"):
            enc = detect_encoding(p)
            sep = "\t" if ext == ".tsv" else detect_separator(p, enc)
            frame = pd.read_csv(p, encoding=enc, dtype=str if dtype_str else None, keep_default_na=False,
                                na_values=[""], sep=sep, engine="c")
            return TableFile(frame, p, encoding=enc)
        if ext in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(p, sheet_name=0 if sheet is None else sheet,
                                  dtype=str if dtype_str else None)
            sheet_name = sheet if isinstance(sheet, str) else None
            return TableFile(frame, p, sheet=sheet_name)
        if ext in (".parquet", ".pq"):
            return TableFile(_read_parquet(p, dictionary), p)
        import pyreadstat

        reader = pyreadstat.read_sav if ext in (".sav", ".zsav") else pyreadstat.read_dta
        frame, meta = reader(str(p), apply_value_formats=True, formats_as_category=False)
        labels = {var: meta.value_labels.get(lab, {}) for var, lab in meta.variable_to_label.items()}
        col_labels = dict(zip(meta.column_names, meta.column_labels or []))
        return TableFile(frame, p, value_labels=labels, column_labels=col_labels)
    except EvalkitError:
        raise
    except Exception as exc:  # pragma: no cover - message path
        raise EvalkitError(f"{p.name}: could not be read as {ext} ({exc}).") from exc


def _read_parquet(path: Path, dictionary=None) -> pd.DataFrame:
    """Parquet → DataFrame; the ``dictionary`` text columns come back as Categorical."""
    if not dictionary:
        return pd.read_parquet(path)
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = {f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
    table = pq.read_table(path, read_dictionary=[c for c in dictionary if c in text])
    return table.to_pandas()


def read_all_sheets(path) -> list[TableFile]:
    """Every sheet of an Excel workbook, as text."""
    p = Path(path)
    sheets = pd.read_excel(p, sheet_name=None, dtype=str)
    return [TableFile(df, p, sheet=name) for name, df in sheets.items()]
