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
from evalkit.threads import parallel

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
    dict_cols = [f.name for f in table.schema if pa.types.is_dictionary(f.type)
                 and (pa.types.is_string(f.type.value_type) or pa.types.is_large_string(f.type.value_type))]
    if not dict_cols:
        return table.to_pandas()
    if parallel(table.num_rows):  # the columns are independent: convert them on two threads
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2, thread_name_prefix="evalkit-parquet") as ex:
            cat_jobs = [ex.submit(categorical_from_dictionary, table.column(c)) for c in dict_cols]
            rest = table.drop_columns(dict_cols).to_pandas()
            cats = dict(zip(dict_cols, (job.result() for job in cat_jobs)))
    else:
        rest = table.drop_columns(dict_cols).to_pandas()  # other columns, and the index pandas stored
        cats = {c: categorical_from_dictionary(table.column(c)) for c in dict_cols}
    del table
    data = {c: (pd.Series(cats[c], name=c, index=rest.index, copy=False) if c in cats else rest[c])
            for c in schema.names if c in cats or c in rest.columns}
    return pd.DataFrame(data, index=rest.index, copy=False)


def categorical_from_dictionary(column) -> pd.Categorical:
    """A dictionary-encoded Arrow text column (a dictionary per row group, as a Parquet read gives) →
    pandas Categorical with *sorted* text categories, written in one pass: each distinct dictionary
    is looked up once among the sorted union of all of them (``pyarrow.compute.index_in``) and the
    chunk's indices are gathered through that lookup straight into the narrowest integer codes (no
    unified dictionary, no intermediate int32 copy, no second remap to sorted order)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c for c in column.chunks if len(c)]
    dicts = []  # distinct dictionaries, in order; consecutive chunks of a row group share one
    which = []
    for c in chunks:
        if not dicts or not (c.dictionary is dicts[-1] or c.dictionary.equals(dicts[-1])):
            dicts.append(c.dictionary)
        which.append(len(dicts) - 1)
    value_type = column.type.value_type
    every = pa.concat_arrays([d.cast(value_type) for d in dicts]) if dicts else pa.array([], value_type)
    union = pc.unique(every).drop_null()
    union = union.take(pc.sort_indices(union))  # UTF-8 byte order = code point order = str order
    try:
        str_dtype = pd.StringDtype(na_value=np.nan)
        categories = pd.Index(pd.array(union, dtype=str_dtype))  # from the Arrow buffers, no Python str
    except TypeError:  # pragma: no cover - pandas < 2.1
        categories = pd.Index(union.to_pylist(), dtype=object)
    k = len(categories)
    dtype = np.int8 if k < 2 ** 7 - 1 else np.int16 if k < 2 ** 15 - 1 else np.int32
    # every dictionary looked up in one pass (one hash table of the union, not one per dictionary)
    lut_all = pc.fill_null(pc.index_in(every, value_set=union), -1).to_numpy().astype(dtype)
    ends = np.cumsum([len(d) for d in dicts]).tolist()
    luts = [lut_all[a:b] for a, b in zip([0] + ends[:-1], ends)]
    codes = np.empty(len(column), dtype=dtype)
    pos = 0
    for c, w in zip(chunks, which):
        m = len(c)
        ind = c.indices
        raw = np.frombuffer(ind.buffers()[1], dtype=ind.type.to_pandas_dtype())[ind.offset: ind.offset + m]
        out = codes[pos: pos + m]
        if not len(luts[w]):  # an empty dictionary: every value of the chunk is missing
            out[:] = -1
            pos += m
            continue
        np.take(luts[w], raw, out=out, mode="clip" if ind.null_count else "raise")
        if ind.null_count:
            out[~np.asarray(ind.is_valid().to_numpy(zero_copy_only=False), dtype=bool)] = -1
        pos += m
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories), validate=False)


def take_rows(s: pd.Series, positions) -> pd.Series:
    """``s.take(positions)`` (same values, index and name). An Arrow-backed column read from Parquet
    comes in many chunks, and pyarrow's take on a chunked array first joins every chunk into one
    copy (ten million identifiers: 240 MB and 0.4 s); here each chunk is taken from on its own and
    the pieces are joined, so the cost follows the rows taken (methodology/registry.md §3)."""
    import numpy as np

    arr = getattr(s.array, "_pa_array", None)
    if arr is None or arr.num_chunks <= 1 or len(positions) == 0:
        return s.take(positions)
    import pyarrow as pa

    pos = np.asarray(positions)
    if pos.dtype.kind not in "iu":
        raise TypeError(f"positions must be integers, not {pos.dtype}")
    n = len(s)
    pos = pos.astype(np.int64, copy=False)
    if pos.min() < -n or pos.max() >= n:
        raise IndexError(f"positions out of bounds for a column of {n} rows")
    pos = np.where(pos < 0, pos + n, pos) if pos.min() < 0 else pos
    lengths = np.array([len(c) for c in arr.chunks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    chunk = np.searchsorted(starts, pos, side="right") - 1
    ordered = bool((chunk[1:] >= chunk[:-1]).all())
    # a stable sort of small chunk numbers (int16: numpy's radix sort) groups positions by chunk
    order = None if ordered else np.argsort(chunk.astype(np.int16 if len(lengths) < 2 ** 15 else np.int32),
                                            kind="stable")
    pos_o, chunk_o = (pos, chunk) if ordered else (pos[order], chunk[order])
    bounds = np.searchsorted(chunk_o, np.arange(len(lengths) + 1))
    pieces = [arr.chunk(i).take(pa.array(pos_o[bounds[i]: bounds[i + 1]] - starts[i]))
              for i in range(len(lengths)) if bounds[i + 1] > bounds[i]]
    taken = pa.concat_arrays(pieces)
    if order is not None:  # back to the order asked for
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        taken = taken.take(pa.array(inverse))
    return pd.Series(_arrow_backed(s.array, pa.chunked_array([taken])), index=s.index.take(pos), name=s.name)


def _arrow_backed(like, chunked):
    """A pandas array of ``like``'s type and dtype holding the pyarrow ``chunked`` array."""
    if isinstance(like.dtype, pd.ArrowDtype):
        return pd.arrays.ArrowExtensionArray(chunked)
    try:
        return type(like)(chunked, dtype=like.dtype)  # the string arrays of pandas ≥ 2.3
    except TypeError:  # pragma: no cover - older pandas: the class fixes the dtype
        return type(like)(chunked)


def read_all_sheets(path) -> list[TableFile]:
    """Every sheet of an Excel workbook, as text."""
    p = Path(path)
    sheets = pd.read_excel(p, sheet_name=None, dtype=str)
    return [TableFile(df, p, sheet=name) for name, df in sheets.items()]
