"""Reading registries (读取建档立卡数据): ``read_registry`` turns one or several files (CSV in
UTF-8/UTF-8-BOM/GB18030, XLSX, Parquet, SAV, DTA — read by :mod:`evalkit.tabular`) into a
validated :class:`~evalkit.registry.registry.Registry` in the canonical schema.

Steps (docs/methodology/registry.md §1): map headers and codes (:mod:`.aliases`), normalise
admin codes to 12-digit strings, coerce types, run the rules of :mod:`.validate`, raise
``RegistryError`` on fatal problems, keep every row and report the rest in
``Registry.issues`` with the file name and spreadsheet row (header = row 1).
Everything is vectorised; code look-ups run on distinct values only, and a Parquet file
already in canonical form passes through without per-row Python or needless copies.
"""
from __future__ import annotations

import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError, RegistryError
from evalkit.hashing import KnownHashes
from evalkit.registry import aliases, schema
from evalkit.registry.headers import _TABLES  # canonical columns of each table
from evalkit.registry.headers import CATEGORICAL_KINDS as _CATEGORICAL_KINDS  # held as Categorical
from evalkit.registry import validate as V
from evalkit.threads import parallel

_STR = aliases._str_dtype()
_DATE = pd.Series([pd.Timestamp("2000-01-01")]).dtype  # datetime64[us] on pandas 3, [ns] before


# ======================================================================================
# Public entry point
# ======================================================================================
def read_registry(path_or_paths, members=None, *, year: int | None = None, checks="all",
                  reference_date=None, name: str | None = None):
    """Read, map, coerce and validate a household registry (and optionally its members).

    Parameters
    ----------
    path_or_paths : a path, a DataFrame, or a list of them (e.g. one file per county);
        files are concatenated in the order given.
    members : path(s) or DataFrame(s) of the member table (人员表), or None.
    year : evaluation year (meta["year"]); used by the exit-year and age checks.
    checks : "all" (default), "fast" (skips the per-person ID-number, duplicate-person,
        age and ID-consistency rules, for very large registries) or a list of rule names
        from ``evalkit.registry.validate.CHECKS``.
    reference_date : date at which ages are computed (default 31 Dec of ``year``).
    name : a name for the registry (meta["name"]).

    Returns a ``Registry``; raises ``RegistryError`` naming file, row, column and value when
    a fatal rule fails (``validate.FATAL_CHECKS``), or when a required column is missing.
    """
    with V.caching():
        return _read_registry(path_or_paths, members, year, checks, reference_date, name)


def stored_meta(path_or_paths) -> dict:
    """evalkit meta (year, province_code, poverty_line, …) stored by ``Registry.to_parquet``
    in the Parquet files given, or {} for other inputs."""
    import json

    import pyarrow.parquet as pq

    paths = path_or_paths if isinstance(path_or_paths, (list, tuple)) else [path_or_paths]
    out: dict = {}
    for p in paths:
        if isinstance(p, (str, Path)) and str(p).lower().endswith((".parquet", ".pq")) and Path(p).is_file():
            raw = (pq.read_schema(p).metadata or {}).get(b"evalkit")
            if raw:
                out = {**json.loads(raw.decode("utf-8")), **out}
    return out


def _read_registry(path_or_paths, members, year, checks, reference_date, name):
    from evalkit.registry.registry import Registry

    stored = stored_meta(path_or_paths)
    if year is None:
        year = stored.get("year")
    # with a member table, 家庭人口数 may be absent: it is then the number of members listed
    hh, hh_src, hh_info, hh_issues = _read_table_set(
        path_or_paths, "households", optional=("hh_size",) if members is not None else ())
    mem = mem_src = None
    mem_info, mem_issues = [], []
    if members is not None:
        mem, mem_src, mem_info, mem_issues = _read_table_set(members, "members")
    source = {"households": hh_src, "members": mem_src}

    derived = sorted(c for c in _derivable(hh.columns) if c not in hh.columns)
    hh, issues_h = canonicalise(hh, "households", source)
    if mem is not None:
        mem, issues_m = canonicalise(mem, "members", source)
        if "hh_size" not in hh.columns:
            pos = V.household_index(hh, mem)
            counts = np.bincount(pos[pos >= 0], minlength=len(hh))
            hh.insert(list(hh.columns).index("registry_status") + 1, "hh_size",
                      pd.array(counts, dtype="Int64"))
            derived.append("hh_size")
    else:
        issues_m = V.empty_issues()

    known = KnownHashes()  # identifier hashes the duplicate checks computed: the fingerprint reuses them
    with V.caching():
        found = V.validate(hh, mem, source, checks=checks, year=year, reference_date=reference_date)
        for table, col in ((hh, "household_id"), (mem, "person_id")):
            hashes = V.cached("hash64", table[col]) if table is not None and col in table.columns else None
            if hashes is not None:
                known.add(table[col], hashes)
    issues = V._concat([*hh_issues, *mem_issues, issues_h, issues_m, found])
    # a value that failed type coercion is reported once, with its original text
    issues = issues.drop_duplicates(["file", "row", "household_id", "column", "check"], keep="first")
    if derived:  # a code derived from a bad village code is not a second problem
        key = issues["file"].astype(str) + ":" + issues["row"].astype(str)
        admin = issues["check"].eq("admin_code_invalid")
        on_derived = issues["column"].isin(derived)
        issues = issues[~(admin & on_derived & key.isin(key[admin & ~on_derived]))]
    files = ", ".join(dict.fromkeys(i["file"] for i in hh_info + mem_info))
    V.raise_fatal(issues, context=files or "registry")

    hh = _blank_invalid_codes(hh, "households")
    if mem is not None:
        mem = _blank_invalid_codes(mem, "members")
    meta = {
        **stored,
        "sources": hh_info + mem_info,
        "year": year,
        "name": name or stored.get("name"),
        "checks": V.select_checks(checks),
        "derived_columns": derived,
    }
    if "province_code" in hh.columns:
        prov = np.unique(V.admin_ints(V.distinct(hh["province_code"])) // 10 ** 10)
        prov = prov[prov > 0]
        if len(prov) == 1:
            meta["province_code"] = str(int(prov[0]))
    issues = issues.reset_index(drop=True)
    reg = Registry(hh, mem, issues=issues, meta=meta)
    reg._known_hashes = known
    return reg


# ======================================================================================
# Reading and concatenating files
# ======================================================================================
def _as_list(x) -> list:
    """Paths, DataFrames, directories (every supported file in it, sorted by name) and
    glob patterns ('county_*.csv') as one ordered list."""
    from evalkit.tabular import SUPPORTED

    items = [x] if isinstance(x, (str, Path, pd.DataFrame)) else list(x)
    out = []
    for it in items:
        if isinstance(it, pd.DataFrame):
            out.append(it)
            continue
        p = Path(it)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in SUPPORTED
                           and not f.name.startswith(("~$", ".")))
            if not found:
                raise RegistryError(f"{p}: the folder holds no table file ({', '.join(SUPPORTED)}).")
            out.extend(found)
        elif not p.exists() and any(ch in str(it) for ch in "*?["):
            found = sorted(Path(g) for g in __import__("glob").glob(str(it)))
            if not found:
                raise RegistryError(f"{it}: no file matches this pattern (没有匹配的文件).")
            out.extend(found)
        else:
            out.append(p)
    return out


def read_one(item, table: str = "households", label: str | None = None):
    """Read one file (or take one DataFrame) and map its headers.

    Returns ``(frame, info, issues)``: the frame with canonical column names (unknown
    columns kept as they are), ``info`` (file, format, encoding, rows, header mapping) and
    file-level issues (a header meaning a column already present)."""
    from evalkit import tabular

    if isinstance(item, pd.DataFrame):
        frame, fname, info = item, label or f"<{table} DataFrame>", {"format": "DataFrame"}
    else:
        path = Path(item)
        try:
            tf = tabular.read_table(path, dictionary=_dictionary_columns(path, table))
        except RegistryError:
            raise
        except EvalkitError as exc:
            raise RegistryError(str(exc)) from exc
        frame, fname = tf.frame, tf.name
        info = {"path": str(path), "format": path.suffix.lower().lstrip("."),
                "encoding": tf.encoding, "sheet": tf.sheet}
    issues = []
    rows = None  # spreadsheet row of each frame row, when not simply 2, 3, …
    if info["format"] in _TEXT_FORMATS:
        frame, rows, header_row = _find_header(frame, table)
        if header_row > 1:
            info["header_row"] = header_row
        empty = frame.isna().all(axis=1).to_numpy()
        if empty.any():  # blank lines between blocks or at the end of a sheet
            keep = ~empty
            rows = (np.arange(len(frame)) + 2 if rows is None else rows)[keep]
            frame = frame[keep].reset_index(drop=True)
            info["empty_rows_skipped"] = int(empty.sum())
            issues.append(pd.DataFrame([{
                "file": fname, "row": pd.NA, "household_id": None, "column": None, "value": None,
                "severity": "info", "check": "empty_rows_skipped",
                "message": f"跳过 {int(empty.sum())} 个空行 / {int(empty.sum())} empty row(s) skipped"}]))
    info["row_numbers"] = rows
    frame = frame.rename(columns=lambda c: str(c).strip() if isinstance(c, str) else c)
    rename, dups = aliases.map_headers(frame.columns, table)
    for header, canon, first in dups:
        issues.append(pd.DataFrame([{
            "file": fname, "row": pd.NA, "household_id": None, "column": str(header),
            "value": None, "severity": "warning", "check": "duplicate_header",
            "message": f"表头“{header}”与“{first}”都表示 {V._lbl(canon)}，使用“{first}”，"
                       f"“{header}”按原名保留 / header '{header}' also means {canon}; "
                       f"'{first}' is used, '{header}' is kept under its own name"}]))
    if rename:
        frame = frame.rename(columns=rename)
    info.update({"file": fname, "table": table, "rows": int(len(frame)),
                 "columns": {str(k): v for k, v in rename.items()}})
    return frame, info, issues


def _dictionary_columns(path: Path, table: str) -> list | None:
    """Headers of a Parquet file that map to admin-code or code columns: read as Categorical."""
    if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
        return None
    import pyarrow.parquet as pq

    from evalkit.registry.headers import dictionary_columns

    return dictionary_columns(pq.read_schema(path).names, table)


_TEXT_FORMATS = ("csv", "txt", "tsv", "xlsx", "xlsm", "xls")
_HEADER_SCAN = 10


def _find_header(frame: pd.DataFrame, table: str):
    """Government exports often put a title (XX县建档立卡户信息表) and notes above the real
    header. If the first row does not hold the required columns but one of the next
    ``_HEADER_SCAN`` rows does, use that row as the header. Returns (frame, spreadsheet
    row numbers of the data rows or None, spreadsheet row of the header)."""
    required = {c.name for c in _TABLES[table] if c.required}

    def score(names):
        lookup = aliases._HEADERS[table]
        found = {lookup.get(aliases.header_key(n)) for n in names if isinstance(n, str)}
        found |= _derivable(found) if table == "households" else set()
        return len(required & found)

    best = score(frame.columns)
    if best == len(required):
        return frame, None, 1
    for i in range(min(_HEADER_SCAN, len(frame))):
        cells = frame.iloc[i].tolist()
        sc = score(cells)
        if sc == len(required) or (sc > best and sc >= 2):
            header_row = i + 2  # frame row i is spreadsheet row i + 2
            names = [str(c).strip() if isinstance(c, str) else f"col{j + 1}" for j, c in enumerate(cells)]
            body = frame.iloc[i + 1:].reset_index(drop=True)
            body.columns = names
            return body, np.arange(len(body)) + header_row + 1, header_row
    return frame, None, 1


def _derivable(columns) -> set[str]:
    """Admin code columns that can be derived from a more detailed code present."""
    have = [lvl for lvl in schema.ADMIN_LEVELS if f"{lvl}_code" in columns]
    if not have:
        return set()
    finest = max(have, key=lambda lvl: schema.ADMIN_DIGITS[lvl])
    return {f"{lvl}_code" for lvl in schema.ADMIN_LEVELS
            if schema.ADMIN_DIGITS[lvl] < schema.ADMIN_DIGITS[finest]}


def _check_required(frame, table: str, fname: str, optional=()) -> None:
    cols = _TABLES[table]
    derivable = _derivable(frame.columns) if table == "households" else set()
    derivable |= set(optional)
    missing = [c.name for c in cols if c.required and c.name not in frame.columns
               and c.name not in derivable]
    if not missing:
        return
    lines = [f"{fname}: required column(s) missing from the {table} table "
             f"(缺少必需的列): {', '.join(missing)}.",
             "Rename a column to one of the accepted headers (可用的表头):"]
    for m in missing:
        lines.append(f"  {m}: {' / '.join(aliases.accepted_headers(m, table))}")
    lines.append(f"Columns found (文件中的列): {', '.join(map(str, frame.columns))}")
    raise RegistryError("\n".join(lines))


def _read_table_set(items, table: str, optional=()):
    """Read and concatenate the files of one table; returns frame, Source, infos, issues."""
    frames, infos, issues = [], [], []
    items = _as_list(items)
    if not items:
        raise RegistryError(f"no {table} file given (未提供文件).")
    for k, item in enumerate(items):
        label = f"<{table} DataFrame {k + 1}>" if len(items) > 1 else None
        frame, info, iss = read_one(item, table, label)
        _check_required(frame, table, info["file"], optional)
        frames.append(frame)
        infos.append(info)
        issues.extend(iss)
    if len(frames) == 1:
        frame = frames[0]
    else:
        frames = [_harmonise(f) for f in frames]
        frame = pd.concat(frames, ignore_index=True, sort=False)
    row_numbers = None
    if any(i.get("row_numbers") is not None for i in infos):
        row_numbers = np.concatenate([
            i["row_numbers"] if i.get("row_numbers") is not None else np.arange(i["rows"]) + 2
            for i in infos]).astype(np.int64)
    for i in infos:
        i.pop("row_numbers", None)
    src = V.Source(tuple(i["file"] for i in infos), tuple(i["rows"] for i in infos),
                   row_numbers=row_numbers)
    return frame, src, infos, issues


def _harmonise(frame: pd.DataFrame) -> pd.DataFrame:
    """Before concatenating files of different kinds: categoricals as plain values."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if cats:
        frame = frame.assign(**{c: frame[c].astype(object) for c in cats})
    return frame


# ======================================================================================
# Canonical form
# ======================================================================================
def canonicalise(frame: pd.DataFrame, table: str = "households", source=None):
    """Put a frame whose headers are already canonical into canonical form: 12-digit admin
    codes (derived from the village code when a higher level is absent), mapped codes,
    typed numbers and dates, normalised ID numbers; canonical columns first, unknown
    columns kept after them. Returns ``(frame, issues)`` where issues are values that
    could not be converted (reported with their original text, then set to empty)."""
    cols = _TABLES[table]
    with _text_worker(frame, cols) as text:
        return _canonicalise(frame, table, source, cols, text)


@contextmanager
def _text_worker(frame: pd.DataFrame, cols):
    """Text columns (identifiers, names, ID numbers) prepared on a second thread for large tables
    while the admin codes, codes and numbers are converted on this one — the Arrow and numpy work
    of both releases the GIL. Yields ``{column: future}`` (empty for small tables)."""
    names = [c.name for c in cols if c.dtype == "str" and c.name in frame.columns]
    if not names or not parallel(len(frame)):
        yield {}
        return
    with ThreadPoolExecutor(1, thread_name_prefix="evalkit-canonical") as ex:
        yield {name: ex.submit(_to_text, frame[name], name) for name in names}


def _canonicalise(frame, table, source, cols, text):
    issues = []
    new = {}
    if table == "households":
        new.update(_admin_columns(frame))
    for col in cols:
        if col.name not in frame.columns or col.dtype == "admin":
            continue
        s = frame[col.name]
        if col.dtype == "str":
            new[col.name] = text[col.name].result() if col.name in text else _to_text(s, col.name)
        elif col.dtype == "code":
            new[col.name] = _to_code(s, col.codes)
        elif col.dtype in ("int", "float"):
            out, bad = _to_number(s, integer=col.dtype == "int", year_like=col.name.endswith("_year"))
            new[col.name] = out
            if bad.any():
                check = "hh_size_missing" if col.name == "hh_size" else "type_invalid"
                issues.append(V.make_issues(
                    frame, bad, source=source, table_name=table, column=col.name, value=s[bad],
                    severity="error", check=check,
                    message=f"{V._lbl(col.name)} 不是{'整数' if col.dtype == 'int' else '数字'}，已置空 / "
                            f"not a {'whole ' if col.dtype == 'int' else ''}number, set to empty"))
        elif col.dtype == "date":
            out, bad = _to_date(s)
            new[col.name] = out
            if bad.any():
                issues.append(V.make_issues(
                    frame, bad, source=source, table_name=table, column=col.name, value=s[bad],
                    severity="error", check="type_invalid",
                    message=f"{V._lbl(col.name)} 不是日期（应如 1990-01-31），已置空 / not a date, set to empty"))
    for col in cols:  # one text dtype everywhere ('str'; pd.NA-flavoured strings converted)
        if col.name not in new:
            continue
        if col.dtype in _CATEGORICAL_KINDS:
            new[col.name] = as_category(new[col.name])
        elif col.dtype == "str":
            t = new[col.name]
            if _STR is not object and t.dtype != _STR and (pd.api.types.is_string_dtype(t.dtype)):
                new[col.name] = t.astype(_STR)
    canon = [c.name for c in cols if c.name in new or c.name in frame.columns]
    rest = [c for c in frame.columns if c not in canon]
    data = {c: (new[c] if c in new else frame[c]) for c in canon}
    data.update({c: frame[c] for c in rest})
    out = pd.DataFrame(data, index=frame.index, copy=False) if data else frame
    if not isinstance(out.index, pd.RangeIndex) or out.index.start != 0:
        out = out.reset_index(drop=True)
    return out, V._concat(issues)


def as_category(s: pd.Series) -> pd.Series:
    """Text column → Categorical with sorted text categories (the canonical form of admin-code
    and code columns: one small dictionary and an integer code per row)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if cats.dtype == _STR and cats.is_monotonic_increasing and not s.cat.ordered:
            return s
        return map_categories(s, lambda c: c)
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    codes = codes.astype(np.int32 if len(uniques) < 2 ** 31 - 1 else np.int64)
    cat = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(uniques, dtype=_STR)),
                                    validate=False)
    return pd.Series(cat, index=s.index, name=s.name, copy=False)


def map_categories(s: pd.Series, func) -> pd.Series:
    """Apply ``func`` (Series of text → Series of text, missing allowed) to the distinct values of a
    Categorical column only and rebuild it: categories that map to the same text merge, a missing
    result becomes a missing value. Ten million rows cost one integer gather."""
    cats = pd.Series(s.cat.categories, dtype=_STR)
    mapped = func(cats.reset_index(drop=True))
    mapped = pd.Series(mapped, dtype=_STR).reset_index(drop=True)
    new_codes, uniques = pd.factorize(mapped, sort=True, use_na_sentinel=True)
    if (not s.cat.ordered and len(uniques) == len(cats) and (new_codes == np.arange(len(cats))).all()
            and s.cat.categories.dtype == _STR
            and (np.asarray(uniques, dtype=object) == cats.to_numpy(dtype=object)).all()):
        return s  # already canonical: sorted, distinct, unchanged
    codes = s.array.codes
    remap = np.append(new_codes, -1).astype(codes.dtype if len(uniques) < np.iinfo(codes.dtype).max
                                               else np.int64)
    dtype = pd.CategoricalDtype(pd.Index(uniques, dtype=_STR))
    cat = pd.Categorical.from_codes(remap[codes], dtype=dtype, validate=False)
    return pd.Series(cat, index=s.index, name=s.name, copy=False)


def _blank_invalid_codes(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Optional code columns: values outside the code list (already reported) → NA."""
    upd = {}
    for col in _TABLES[table]:
        if col.dtype != "code" or col.name == "registry_status" or col.name not in frame.columns:
            continue
        s = frame[col.name]
        if isinstance(s.dtype, pd.CategoricalDtype) and \
                pd.Series(s.cat.categories).isin(list(schema.CODES[col.codes])).all():
            continue  # every category is a valid code: no row to blank
        bad = s.notna().to_numpy() & ~V.in_codes(s, schema.CODES[col.codes])
        if bad.any():
            upd[col.name] = s.where(~bad)
    return frame.assign(**upd) if upd else frame


# ----------------------------------------------------------------------------- admin codes
_ADMIN_LENGTHS = (2, 4, 6, 9)


def _admin_text(value):
    """One raw admin code → 12-digit text (shorter codes of a whole level padded with
    zeros: 520102 → 520102000000; 520102001001.0 → 520102001001); raw text if impossible."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating))
                                                 and float(value).is_integer()):
        s = str(int(value))
    else:
        s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))
        if not s:
            return None
        if re.fullmatch(r"\d+\.0*", s):
            s = s.split(".")[0]
        elif re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", s):
            f = float(s)
            s = str(int(f)) if f.is_integer() else s
    if s.isdigit() and s.isascii():
        if len(s) in _ADMIN_LENGTHS:
            return s + "0" * (12 - len(s))
    return s


def normalise_admin(s: pd.Series) -> pd.Series:
    """Admin codes as 12-digit strings. Already-canonical text passes through untouched;
    integers are padded arithmetically; other values are normalised per distinct value."""
    if len(s) == 0:
        return s.astype(_STR)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return map_categories(s, normalise_admin)
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        finite = ~np.isnan(v)
        ints = np.where(finite, v, 0)
        integral = finite & (ints == np.floor(ints)) & (ints > 0) & (ints < 1e12)
        if integral.sum() == finite.sum():
            iv = ints.astype(np.int64)
            nd = np.floor(np.log10(np.maximum(iv, 1))).astype(np.int64) + 1
            pad = np.isin(nd, _ADMIN_LENGTHS)
            iv = np.where(pad, iv * V._POW10[np.clip(12 - nd, 0, 12)], iv)
            text = pd.Series(iv, index=s.index).astype(_STR)
            return text.where(finite)
    arr = V._arrow(s)
    if arr is not None:
        if (V.admin_ints(s) >= 0).all():
            return s
    codes, uniques = _factorize(s)
    mapped = [_admin_text(u) for u in uniques] + [None]
    return pd.Series(aliases._take_text(mapped, np.where(codes < 0, len(uniques), codes)),
                     index=s.index, name=s.name)


def _factorize(s: pd.Series):
    """(codes, uniques); a categorical column already is factorised."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.array.codes, s.cat.categories
    return pd.factorize(s, use_na_sentinel=True)


def _admin_columns(frame: pd.DataFrame) -> dict:
    """Normalised admin code columns, higher levels derived from the finest one when absent."""
    out = {}
    have = [lvl for lvl in schema.ADMIN_LEVELS if f"{lvl}_code" in frame.columns]
    for lvl in have:
        out[f"{lvl}_code"] = normalise_admin(frame[f"{lvl}_code"])
    if have:
        finest = max(have, key=lambda lvl: schema.ADMIN_DIGITS[lvl])
        fine = out[f"{finest}_code"]
        todo = [lvl for lvl in schema.ADMIN_LEVELS if f"{lvl}_code" not in out
                and schema.ADMIN_DIGITS[lvl] < schema.ADMIN_DIGITS[finest]]
        categorical = isinstance(fine.dtype, pd.CategoricalDtype)
        ints = V.admin_ints(fine) if todo and not categorical else None
        enc = _dictionary(fine) if todo and not categorical else None
        invalid = ints is not None and (ints < 0).any()
        for lvl in todo:
            k = schema.ADMIN_DIGITS[lvl]
            unit = V._POW10[12 - k]
            if categorical:  # parents of the distinct codes only
                out[f"{lvl}_code"] = map_categories(fine, lambda c, unit=unit: _parent_text(c, unit))
                continue
            parent = np.where(ints >= 0, (ints // unit) * unit, -1)
            if enc is not None:  # parents of the distinct codes, gathered (no per-row text work)
                import pyarrow as pa
                import pyarrow.compute as pc

                dic, ind = enc
                dtext = pc.binary_join_element_wise(pc.utf8_slice_codeunits(dic, 0, k),
                                                    pa.scalar("0" * (12 - k), type=dic.type),
                                                    pa.scalar("", type=dic.type))
                derived = pd.Series(pc.take(dtext, ind).to_pandas(), index=frame.index).astype(_STR)
            else:
                derived = pd.Series(parent, index=frame.index).astype(_STR)
            derived = derived.where(ints >= 0) if invalid else derived
            V._cached("admin", derived, lambda _s, p=parent: p)  # rules reuse these integers
            out[f"{lvl}_code"] = derived
    return out


def _parent_text(codes: pd.Series, unit) -> pd.Series:
    """12-digit text of the higher-level code of each valid 12-digit code (missing otherwise)."""
    ints = V._admin_ints_uncached(codes)
    parent = pd.Series((ints // unit) * unit, index=codes.index).astype(_STR)
    return parent.where(ints >= 0)


def _dictionary(s: pd.Series):
    """(distinct values, indices) of an arrow-backed text column, or None."""
    arr = V._arrow(s)
    if arr is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    comb = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    enc = pc.dictionary_encode(comb)
    return enc.dictionary, enc.indices


# ----------------------------------------------------------------------------- text & codes
def _to_text(s: pd.Series, name: str) -> pd.Series:
    """Text column: numbers read as floats lose their '.0'; keys are stripped; ID numbers
    normalised (full-width digits, lower-case x, 15-digit → 18-digit)."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(v)
        if (v[ok] == np.floor(v[ok])).all() and (np.abs(v[ok]) < 2 ** 53).all():
            s = pd.Series(np.where(ok, v, 0).astype(np.int64), index=s.index).astype(_STR).where(ok)
        else:
            s = s.astype(_STR)
    elif isinstance(s.dtype, pd.CategoricalDtype):
        codes, cats = _factorize(s)
        text = [None if pd.isna(c) else str(c) for c in cats] + [None]
        s = pd.Series(aliases._take_text(text, np.where(codes < 0, len(cats), codes)), index=s.index)
    elif not pd.api.types.is_string_dtype(s.dtype):
        s = s.astype(_STR)
    elif s.dtype == object:
        s = s.astype(_STR)
    if name in ("household_id", "person_id", "phone"):
        s = _strip_keys(s)
    if name in ("head_id_number", "id_number"):
        s = _normalise_ids(s)
    return s


_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # what str.strip removes below 0x80
_FIRST_SUSPECT = _ASCII_SPACE.copy()
_FIRST_SUSPECT[[0xC2, 0xE1, 0xE2, 0xE3]] = True  # lead bytes of U+0085/U+00A0, U+1680…U+205F, U+3000
_LAST_SUSPECT = _ASCII_SPACE.copy()
_LAST_SUSPECT[0x80:] = True  # any multi-byte character at the end: checked exactly


def _strip_keys(s: pd.Series) -> pd.Series:
    """Identifier text stripped of surrounding whitespace, '' → missing. Only values whose first or
    last byte could be whitespace (read off the Arrow buffers) go through ``str.strip``."""
    arr = V._arrow(s)
    if arr is None:
        s = s.str.strip()
        return s.where(s != "")
    import pyarrow as pa

    flags = []
    for chunk in arr.chunks:
        m = len(chunk)
        if m == 0:
            continue
        off_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offs = np.frombuffer(chunk.buffers()[1], dtype=off_type)[chunk.offset: chunk.offset + m + 1]
        data = chunk.buffers()[2]
        data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        if not len(data):  # every value empty (or missing)
            flags.append(np.ones(m, bool))
            continue
        if len(data) < 2 ** 31 - 1:  # positions as int32: half the memory to touch
            start = offs[:-1].astype(np.int32)
            last_pos = offs[1:].astype(np.int32)
            last_pos -= 1
        else:
            start, last_pos = offs[:-1], offs[1:] - 1
        # an empty value's positions may point outside the data: clipped, and flagged anyway
        flag = _FIRST_SUSPECT[data.take(start, mode="clip")]
        flag |= _LAST_SUSPECT[data.take(last_pos, mode="clip")]
        flag |= last_pos < start  # empty value
        flags.append(flag)
    flag = np.concatenate(flags) if flags else np.zeros(0, bool)
    flag &= s.notna().to_numpy()
    if not flag.any():
        return s
    idx = np.flatnonzero(flag)
    fixed = s.iloc[idx].str.strip()
    fixed = fixed.where(fixed != "")
    if not fixed.ne(s.iloc[idx]).fillna(True).any():
        return s
    out = s.copy()
    out.iloc[idx] = fixed.to_numpy(dtype=object)
    return out


def _normalise_ids(s: pd.Series) -> pd.Series:
    """idnumber.normalise, applied only to values not already in canonical 18-character form."""
    from evalkit.registry import idnumber

    arr = V._arrow(s)
    if arr is not None:
        import pyarrow.compute as pc

        # 18 ASCII digits, or 17 digits and a final 'X' (regex-free: ~10× faster)
        len18 = pc.equal(pc.binary_length(arr), 18)
        canon = pc.fill_null(pc.and_(len18, pc.ascii_is_decimal(arr)), True).to_numpy()
        todo = ~canon
        if todo.any():  # the few with a final X: look at their first 17 characters
            idx = np.flatnonzero(todo)
            sub = arr.take(idx)
            x_ok = pc.and_(pc.and_(pc.equal(pc.binary_length(sub), 18), pc.ends_with(sub, "X")),
                           pc.ascii_is_decimal(pc.utf8_slice_codeunits(sub, 0, 17)))
            todo[idx[pc.fill_null(x_ok, False).to_numpy()]] = False
    else:
        todo = (~s.astype("string").str.fullmatch(r"\d{17}[\dX]").fillna(True)).to_numpy(bool)
    if not todo.any():
        return s
    out = s.copy()
    fixed = idnumber.normalise(s[todo])
    out[todo] = fixed.where(fixed != "").astype(_STR)
    return out


def _to_code(s: pd.Series, codes: str) -> pd.Series:
    """Map aliases to canonical codes; unknown values kept as text (validation reports
    them; the reader blanks them afterwards, or raises for registry_status)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return map_categories(s, lambda c: _to_code(c, codes))
    mapped, unknown = aliases.map_codes(s, codes)
    if unknown.any():
        mapped = mapped.astype(object)
        mapped[unknown] = s[unknown].astype(str).str.strip().to_numpy(dtype=object)
        mapped = mapped.astype(_STR)
    return mapped


# ----------------------------------------------------------------------------- numbers & dates
_NUM_JUNK = re.compile(r"[,，\s元人户岁%％]|\(.*?\)")


def _clean_number(value, year_like: bool):
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if s == "" or s.lower() in aliases.MISSING_TOKENS or s in ("无", "否"):
        return None, True
    if year_like:
        m = re.match(r"^(\d{4})(年|$|[-/.]\d)", s)
        if m:
            return float(m.group(1)), True
    s = _NUM_JUNK.sub("", s)
    try:
        return float(s), True
    except ValueError:
        return None, False


def _to_number(s: pd.Series, integer: bool, year_like: bool = False):
    """Numbers from any input; returns (Series, bad mask of values that are not numbers or,
    for integer columns, not whole). Integer columns become nullable Int64."""
    n = len(s)
    bad = np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.astype(float) if not pd.api.types.is_integer_dtype(s.dtype) else s
    else:
        v = pd.to_numeric(s, errors="coerce")
        failed = (v.isna() & s.notna()).to_numpy(bool)
        if failed.any():
            v = v.astype(float).copy()
            sub = s[failed]
            codes, uniques = pd.factorize(sub)
            parsed = [_clean_number(u, year_like) for u in uniques]
            vals = np.array([np.nan if p[0] is None else p[0] for p in parsed] + [np.nan])
            okv = np.array([p[1] for p in parsed] + [True])
            idx = np.where(codes < 0, len(uniques), codes)
            v.iloc[np.flatnonzero(failed)] = vals[idx]
            bad[np.flatnonzero(failed)] = ~okv[idx]
    if integer:
        if pd.api.types.is_integer_dtype(v.dtype):  # already whole numbers (a typed file): no float pass
            return v.astype("Int64"), bad
        f = v.to_numpy(dtype=float, na_value=np.nan)
        frac = ~np.isnan(f) & (f != np.floor(f))
        if frac.any():
            bad |= frac
            f = np.where(frac, np.nan, f)
        out = pd.Series(pd.array(np.where(np.isnan(f), 0, f).astype(np.int64), dtype="Int64"), index=s.index, copy=False)
        out[np.isnan(f)] = pd.NA
        return out, bad
    return v.astype(float), bad


def _parse_date_text(value):
    if isinstance(value, (pd.Timestamp,)) or hasattr(value, "year"):
        return pd.Timestamp(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return None
    s = s.split(" ")[0].split("T")[0]
    if re.fullmatch(r"\d{5}(\.0)?", s):  # Excel serial day number
        return pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(s)))
    if re.fullmatch(r"\d{8}(\.0)?", s):
        s = f"{s[:4]}-{s[4:6]}-{s[6:8]}"
    s = re.sub(r"[年月/.]", "-", s).replace("日", "").strip("-")
    if re.fullmatch(r"\d{4}-\d{1,2}", s):
        s += "-1"
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s)
    if not m:
        return pd.NaT
    try:
        return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return pd.NaT


def _to_date(s: pd.Series):
    """Dates from text such as 1990-01-31, 1990/1/31, 19900131, 1990年1月31日, 1990.01
    (→ 1 January… first of the month) or Excel day numbers; (Series, bad mask)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype(_DATE), np.zeros(len(s), bool)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = [_parse_date_text(u) for u in uniques]
    vals = pd.array([pd.NaT if p is None else p for p in parsed] + [pd.NaT], dtype=_DATE)
    bad_u = np.array([p is not None and pd.isna(p) for p in parsed] + [False])
    idx = np.where(codes < 0, len(uniques), codes)
    return pd.Series(vals.take(idx), index=s.index, name=s.name), bad_u[idx]
