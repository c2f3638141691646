"""Validation rules of the household registry (建档立卡数据校验规则).

Every rule is a small vectorised function ``check_<name>(households, members=None,
source=None, **options) -> DataFrame`` returning *issue rows* in the format of
``Registry.issues`` (``file, row, household_id, column, value, severity, check, message``).
The functions work on tables already in the canonical schema (``evalkit.registry.schema``)
and never read files, so the data-quality report of the audit reuses them as they are.

``source`` tells where each row came from so issues point at the spreadsheet row a field
coordinator sees (header = row 1): ``None`` (generated data: file and row are NA), a file
name (one file, rows in order), a :class:`Source`, or a dict ``{"households": Source,
"members": Source}``.

:func:`validate` runs a set of rules and returns all issues; the rules named in
:data:`FATAL_CHECKS` make a registry unusable (it cannot be sampled or traced) and
:func:`raise_fatal` turns their rows into one readable :class:`~evalkit.errors.RegistryError`.
Rules and thresholds are documented in ``docs/methodology/registry.md``.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from evalkit.counting import counts as count_codes
from evalkit.errors import RegistryError
from evalkit.hashing import column_key, hash_column
from evalkit.registry import schema

from evalkit.registry.registry import ISSUE_COLUMNS  # the one definition of the issue table
from evalkit.threads import parallel

#: Rules whose findings make the registry unusable: ``read_registry`` raises on them.
FATAL_CHECKS = (
    "household_id_missing",     # a household that cannot be identified cannot be sampled/traced
    "duplicate_household_id",   # the sampling unit must be unique
    "registry_status_invalid",  # the stratum of the household is unknown
    "admin_code_invalid",       # the household cannot be placed in county/village
    "hh_size_missing",          # person rates need the number of persons
    "person_id_missing",        # members that cannot be identified
    "duplicate_person_id",
)

#: Rules that look at every person's ID number or birth date; ``checks="fast"`` skips them.
SLOW_CHECKS = (
    "id_number", "duplicate_persons", "age_schooling", "id_consistency",
)

MAX_LISTED = 20  # rows quoted in a fatal error message


# ======================================================================================
# Where rows come from
# ======================================================================================
@dataclass(frozen=True)
class Source:
    """Provenance of the rows of one table: consecutive blocks of rows, one per file, in
    the order the files were concatenated. ``row`` numbers are spreadsheet rows
    (``first_row`` = 2: the header is row 1), unless ``row_numbers`` gives the spreadsheet
    row of every table row explicitly (files with title rows above the header or skipped
    empty rows)."""

    files: tuple = ()
    counts: tuple = ()
    first_row: int = 2
    row_numbers: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def single(cls, name: str, n: int) -> "Source":
        return cls((str(name),), (int(n),))

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """File name and spreadsheet row of each (0-based) table position."""
        positions = np.asarray(positions, dtype=np.int64)
        if not self.files:
            return (np.full(len(positions), None, dtype=object),
                    pd.array([pd.NA] * len(positions), dtype="Int64"))
        ends = np.cumsum(self.counts)
        starts = ends - np.asarray(self.counts)
        k = np.searchsorted(ends, positions, side="right")
        k = np.minimum(k, len(self.files) - 1)
        files = np.asarray(self.files, dtype=object)[k]
        if self.row_numbers is not None:
            return files, pd.array(np.asarray(self.row_numbers)[positions], dtype="Int64")
        rows = positions - starts[k] + self.first_row
        return files, pd.array(rows, dtype="Int64")


def _table_source(source, table: str) -> Source | None:
    if source is None:
        return None
    if isinstance(source, Source):
        return source if table == "households" else None
    if isinstance(source, str):  # one household file (resolved with the table length)
        return source if table == "households" else None
    if isinstance(source, dict):
        return source.get(table)
    raise TypeError(f"source must be None, a file name, a Source or a dict, not {type(source)}")


# ======================================================================================
# Building issue rows
# ======================================================================================
_EMPTY = pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})


def empty_issues() -> pd.DataFrame:
    """An issues table with no rows."""
    return _EMPTY.copy(deep=False)


def _display(values, column: str | None) -> np.ndarray:
    """Values as text for the issues table; ID numbers and phones masked (privacy)."""
    s = pd.Series(values).reset_index(drop=True)
    col = (schema.HOUSEHOLD.get(column) or schema.MEMBER.get(column)) if column else None
    if col is not None and col.sensitive and len(s):
        from evalkit.registry import idnumber

        s = s.astype("string")
        s = idnumber.mask_phone(s) if column == "phone" else idnumber.mask(s)
    out = s.astype(object)
    missing = s.isna().to_numpy()
    out = np.where(missing, None, out.map(str).to_numpy() if len(out) else out.to_numpy())
    return out


def make_issues(table: pd.DataFrame, mask_or_positions, *, source=None, table_name="households",
                column: str | None, value=None, severity: str, check: str, message,
                household_id=None) -> pd.DataFrame:
    """Issue rows for the rows of ``table`` selected by a boolean mask or positions.

    ``value`` defaults to ``table[column]``; ``message`` is one string or one per row;
    ``household_id`` defaults to the table's ``household_id`` column.
    """
    sel = np.asarray(mask_or_positions)
    pos = np.flatnonzero(sel) if sel.dtype == bool else sel.astype(np.int64)
    n = len(pos)
    if n == 0:
        return empty_issues()
    src = _table_source(source, table_name)
    if isinstance(src, str):
        src = Source.single(src, len(table))
    files, rows = src.locate(pos) if src is not None else Source().locate(pos)
    if value is None:
        vals = table[column].iloc[pos] if column in table.columns else [None] * n
    elif np.ndim(value) == 0:
        vals = [value] * n
    else:
        vals = value
    if household_id is None:
        hid = (table["household_id"].iloc[pos].to_numpy(dtype=object)
               if "household_id" in table.columns else np.full(n, None, dtype=object))
    else:
        hid = np.asarray(household_id, dtype=object)
    msg = np.asarray(message, dtype=object) if np.ndim(message) else np.full(n, message, dtype=object)
    hid = np.where(pd.isna(hid), None, hid)
    obj = lambda x: pd.Series(x if np.ndim(x) else [x] * n, dtype=object)  # noqa: E731
    return pd.DataFrame({
        "file": obj(files), "row": pd.Series(rows), "household_id": obj(hid), "column": obj(column),
        "value": obj(_display(vals, column)), "severity": obj(severity), "check": obj(check),
        "message": obj(msg),
    })


def _concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty_issues()
    out = pd.concat(frames, ignore_index=True)
    return out[ISSUE_COLUMNS]


def _lbl(column: str) -> str:
    """'贫困户属性 (registry_status)' — how a column is named in messages."""
    return f"{schema.label(column)} ({column})"


# ======================================================================================
# Fast vectorised helpers (used by the reader too)
# ======================================================================================
_CACHE: dict | None = None
_CACHE_LOCK = threading.Lock()


class _Entry:
    """One memoised value; its lock makes concurrent rules compute it once."""
    __slots__ = ("arr", "lock", "value", "done")

    def __init__(self, arr):
        self.arr = arr  # keep the array alive so its buffer addresses (the key) stay unique
        self.lock = threading.Lock()
        self.value = None
        self.done = False


@contextmanager
def caching():
    """Within this block, derived arrays of a column (its pyarrow form, its admin codes as
    integers) are computed once and shared by all rules; cleared on exit."""
    global _CACHE
    outer = _CACHE is not None
    if not outer:
        _CACHE = {}
    try:
        yield
    finally:
        if not outer:
            _CACHE = None


def _cached(kind: str, s: pd.Series, compute):
    """``compute(s)``, memoised inside :func:`caching` on the column's data buffers (so a
    re-wrapped column that shares memory hits the cache). Safe when rules run in parallel
    threads (:func:`validate`): each value is computed once, the others wait for it."""
    cache = _CACHE
    if cache is None:
        return compute(s)
    key = (kind,) + column_key(s)
    with _CACHE_LOCK:
        entry = cache.get(key)
        if entry is None:
            entry = cache[key] = _Entry(s.array)
    if not entry.done:
        with entry.lock:  # a computation only asks for other (lower) kinds: no lock cycle
            if not entry.done:
                entry.value = compute(s)
                entry.done = True
    return entry.value


def cached(kind: str, s: pd.Series):
    """The value memoised for ``kind`` of ``s`` inside the current :func:`caching` block, or None
    when it was not computed (never computes)."""
    cache = _CACHE
    if cache is None:
        return None
    entry = cache.get((kind,) + column_key(s))
    return entry.value if entry is not None and entry.done else None


def _arrow(s: pd.Series):
    """The pyarrow array behind a string Series (one chunk), or None."""
    return _cached("arrow", s, _arrow_uncached)


def _arrow_uncached(s: pd.Series):
    """pyarrow ChunkedArray of a string Series (zero-copy for pandas' arrow-backed strings)."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover
        return None
    if not pd.api.types.is_string_dtype(s.dtype):
        return None
    try:
        arr = pa.array(s.array) if hasattr(s.array, "__arrow_array__") else pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if not isinstance(arr, pa.ChunkedArray):
        arr = pa.chunked_array([arr])
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return arr


def _hash64(s: pd.Series) -> np.ndarray:
    """uint64 key per value: equal values have equal keys (``evalkit.hashing.hash_column``, read
    straight from the Arrow buffers); callers confirm candidate duplicates on the values."""
    return _cached("hash64", s, hash_column)


def duplicated_all(s: pd.Series) -> np.ndarray:
    """Boolean mask of every row whose (non-missing) value occurs more than once.

    Sort-based on 64-bit value hashes (a sort of integers beats a hash table of ten million
    strings); exact, because candidate duplicates are confirmed on the values themselves.
    """
    n = len(s)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    keys = _hash64(s) if n > 50_000 else None
    if keys is None:
        notna = s.notna().to_numpy()
        out[notna] = s[notna].duplicated(keep=False).to_numpy()
        return out
    keys = keys.view(np.int64)  # only equality matters, and numpy sorts int64 faster than uint64
    srt = np.sort(keys)
    same = srt[1:] == srt[:-1]
    if not same.any():
        return out
    cand = np.isin(keys, np.unique(srt[1:][same])) & s.notna().to_numpy()  # missing: not duplicates
    out[cand] = s[cand].duplicated(keep=False).to_numpy()
    return out


def isin(s: pd.Series, values) -> np.ndarray:
    """``s.isin(values)`` as a boolean array; for arrow-backed strings against a large set
    (e.g. household IDs) it runs in pyarrow (pandas loops in Python there)."""
    arr = _arrow(s)
    if arr is not None and isinstance(values, pd.Series) and len(values) > 64:
        import pyarrow as pa
        import pyarrow.compute as pc

        vals = pd.Series(values.dropna().unique(), dtype=object).astype(str)
        vset = pa.array(vals.to_numpy(dtype=object), type=arr.type)
        return pc.fill_null(pc.is_in(arr, value_set=vset), False).to_numpy()
    return s.isin(values).to_numpy(bool)


def in_codes(s: pd.Series, codes) -> np.ndarray:
    """Boolean array: value is one of ``codes`` (a small list); memoised inside
    :func:`caching`, since the reader and several rules ask the same question."""
    codes = tuple(codes)
    return _cached("in:" + "|".join(codes), s,
                   lambda x: per_value(x, lambda v: v.isin(list(codes)).to_numpy(bool), fill=False))


def household_index(households: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Position in ``households`` of each member's household (-1 when absent); one hash
    join (pyarrow ``index_in`` for arrow strings), shared by the member rules."""
    return _cached("hhindex", members["household_id"],
                   lambda s: _household_index(households["household_id"], s))


def _household_index(hh_ids: pd.Series, mem_hid: pd.Series) -> np.ndarray:
    a, ref = _arrow(mem_hid), _arrow(hh_ids)
    if a is not None and ref is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        ref = ref.cast(a.type) if ref.type != a.type else ref
        pos = pc.index_in(a, value_set=ref.combine_chunks() if isinstance(ref, pa.ChunkedArray) else ref)
        return pc.fill_null(pos, -1).to_numpy().astype(np.int64)
    return pd.Index(hh_ids.astype(object)).get_indexer(mem_hid.astype(object)).astype(np.int64)


_POW10 = np.array([10 ** k for k in range(13)], dtype=np.int64)


def admin_ints(s: pd.Series) -> np.ndarray:
    """12-digit admin codes as int64 (-1 where missing or not exactly 12 ASCII digits)."""
    return _cached("admin", s, _admin_ints_uncached)


def per_value(s: pd.Series, func, fill):
    """``func`` (Series → array, one value per row) evaluated on the distinct values only when
    ``s`` is Categorical and gathered back by code (``fill`` where missing); else ``func(s)``."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        res = np.asarray(func(pd.Series(s.cat.categories.astype(str))))
        # code -1 (missing) indexes the appended last slot; fancy indexing with the small integer
        # codes needs no full-length index copy
        return np.append(res, np.asarray([fill], dtype=res.dtype))[s.array.codes]
    return np.asarray(func(s))


def distinct(s: pd.Series) -> pd.Series:
    """The distinct non-missing values of ``s`` (for a Categorical: the categories in use, found
    by counting codes rather than hashing values)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        from evalkit.counting import used

        in_use = used(s.array.codes, len(s.cat.categories))
        return pd.Series(s.cat.categories[in_use].astype(str))
    return pd.Series(s.dropna().unique())


def _admin_ints_uncached(s: pd.Series) -> np.ndarray:
    n = len(s)
    if n == 0:
        return np.zeros(0, np.int64)
    if isinstance(s.dtype, pd.CategoricalDtype):  # parse the distinct codes only
        return per_value(s, _admin_ints_uncached, fill=-1)
    if pd.api.types.is_integer_dtype(s.dtype) and not s.isna().any():
        v = s.to_numpy(np.int64)
        return np.where((v >= 10 ** 11) & (v < 10 ** 12), v, -1)
    arr = _arrow(s)
    if arr is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # one strict parse; the range test below rejects signs and leading zeros
            v = pc.fill_null(pc.cast(arr, pa.int64()), -1).to_numpy()
            return np.where((v >= 10 ** 11) & (v < 10 ** 12), v, -1)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        ok = pc.and_(pc.equal(pc.binary_length(arr), 12), pc.ascii_is_decimal(arr))
        ok = pc.fill_null(ok, False)
        okn = ok.to_numpy()
        out = np.full(n, -1, dtype=np.int64)
        if okn.any():
            out[okn] = pc.cast(arr.filter(ok), pa.int64()).to_numpy()
        return np.where(out >= 10 ** 11, out, -1)
    t = s.astype("string")
    ok = t.str.fullmatch(r"[1-9]\d{11}").fillna(False).to_numpy(bool)
    out = np.full(n, -1, dtype=np.int64)
    if ok.any():
        out[ok] = t[ok].astype("int64").to_numpy()
    return out


# ======================================================================================
# Household rules
# ======================================================================================
def check_household_id(households, members=None, source=None) -> pd.DataFrame:
    """Missing household IDs (户编号为空) and duplicate household IDs (户编号重复) — both fatal:
    the household is the sampling unit and must be uniquely identified."""
    hh = households
    if "household_id" not in hh.columns:
        return empty_issues()
    hid = hh["household_id"]
    missing = hid.isna().to_numpy()
    arr = _arrow(hid)
    if arr is not None:  # '' (the reader strips spaces): byte length 0, read off the offsets
        import pyarrow.compute as pc

        missing = missing | pc.fill_null(pc.equal(pc.binary_length(arr), 0), False).to_numpy()
    elif pd.api.types.is_string_dtype(hid.dtype):  # '' or spaces only
        blank = hid.str.len().eq(0) if hid.dtype != object else hid.astype(str).str.strip().eq("")
        missing = missing | blank.fillna(False).to_numpy(bool)
    out = [make_issues(hh, missing, source=source, column="household_id", severity="error",
                       check="household_id_missing",
                       message="户编号为空：无法识别该户，请补填户编号 / household ID is empty: fill it in")]
    dup = duplicated_all(hid) & ~missing
    if dup.any():
        counts = hid[dup].map(hid[dup].value_counts())
        msg = ("户编号重复（出现 " + counts.astype(str).to_numpy(dtype=object) +
               " 次），每户只能有一行 / duplicate household ID (appears " +
               counts.astype(str).to_numpy(dtype=object) + " times): keep one row per household")
        out.append(make_issues(hh, dup, source=source, column="household_id", severity="error",
                               check="duplicate_household_id", message=msg))
    return _concat(out)


def check_registry_status(households, members=None, source=None) -> pd.DataFrame:
    """Registry status (贫困户属性) missing or not one of poor/exited/exiting/not_registered —
    fatal: the status is the stratum, a household without it cannot be sampled."""
    from evalkit.registry.aliases import accepted_codes

    hh = households
    if "registry_status" not in hh.columns:
        return empty_issues()
    s = hh["registry_status"]
    bad = ~in_codes(s, schema.REGISTRY_STATUS)
    if not bad.any():
        return empty_issues()
    missing = s.isna().to_numpy()
    msg = np.where(missing[bad],
                   "贫困户属性为空 / registry status is empty",
                   "贫困户属性取值无法识别 / unknown registry status")
    msg = msg.astype(object) + f" — 可用取值 accepted: {accepted_codes('registry_status')}"
    return make_issues(hh, bad, source=source, column="registry_status", severity="error",
                       check="registry_status_invalid", message=msg)


def check_codes(households, members=None, source=None) -> pd.DataFrame:
    """Optional code columns (村类型, 致贫原因, 监测对象类别; in members 与户主关系, 性别, 健康,
    残疾, 劳动能力, 在校生状况) holding a value outside the code list — error, not fatal
    (the reader then blanks the cell; the value stays in the issue)."""
    from evalkit.registry.aliases import accepted_codes

    out = []
    for table_name, table, cols in (("households", households, schema.HOUSEHOLD_COLUMNS),
                                    ("members", members, schema.MEMBER_COLUMNS)):
        if table is None:
            continue
        for col in cols:
            if col.dtype != "code" or col.name == "registry_status" or col.name not in table.columns:
                continue
            s = table[col.name]
            bad = s.notna().to_numpy() & ~in_codes(s, schema.CODES[col.codes])
            if bad.any():
                out.append(make_issues(
                    table, bad, source=source, table_name=table_name, column=col.name,
                    severity="error", check="code_invalid",
                    message=f"{_lbl(col.name)} 取值无法识别，已置空 / unknown value, set to empty — "
                            f"可用取值 accepted: {accepted_codes(col.codes)}"))
    return _concat(out)


def check_admin_codes(households, members=None, source=None) -> pd.DataFrame:
    """Administrative codes that are not 12 digits with the right level structure
    (a village code must end in a non-zero 3-digit village part, a county code in
    000000000 …), or missing in a required level (province, county, village) — fatal:
    the household cannot be placed in the sampling frame."""
    hh = households
    out = []
    prev = 0
    for level in schema.ADMIN_LEVELS:
        col = f"{level}_code"
        k = schema.ADMIN_DIGITS[level]
        if col in hh.columns:
            notna = hh[col].notna().to_numpy()
            required = schema.HOUSEHOLD[col].required

            def problem(values, k=k, prev=prev):  # 0 fine, 1 not 12 digits, 2 wrong level
                v = _admin_ints_uncached(values)
                # digits after the level are 0 and the level's own digits are not all 0
                # (for v ≥ 0 with v % unit == 0: own part == 0 ⟺ v % 10**(12-prev) == 0)
                own_zero = (v % _POW10[12 - prev] == 0) if prev else (v == 0)
                wrong = (v % _POW10[12 - k] != 0) | own_zero
                return np.where(v >= 0, np.where(wrong, 2, 0), 1).astype(np.int8)

            if isinstance(hh[col].dtype, pd.CategoricalDtype):  # judge the distinct codes first
                fine = (problem(pd.Series(hh[col].cat.categories.astype(str))) == 0).all()
                if fine and not (required and (hh[col].array.codes < 0).any()):
                    prev = k
                    continue
            code = per_value(hh[col], problem, fill=1)
            bad = np.where(code == 1, notna | required, code == 2)
            if bad.any():
                v = np.where(code[bad] == 1, -1, 0)
                what = np.where(~notna[bad], "为空 / is empty",
                                np.where(v < 0, "不是12位数字 / is not a 12-digit code",
                                         f"不是{schema.label(col)[:-2]}级代码（前{k}位有效、其后为0）"
                                         f" / is not a {level}-level code"))
                out.append(make_issues(hh, bad, source=source, column=col, severity="error",
                                       check="admin_code_invalid",
                                       message=_lbl(col) + " " + what.astype(object)))
        prev = k
    return _concat(out)


def check_admin_nesting(households, members=None, source=None) -> pd.DataFrame:
    """Each admin code nested in the one above it (村代码前6位 = 县代码前6位 …) — error.
    Compared on integer codes, so ten million rows cost a few array operations."""
    hh = households
    present = [lvl for lvl in schema.ADMIN_LEVELS if f"{lvl}_code" in hh.columns]
    out = []

    def prefix(values, unit):  # the first k digits as an integer (-1 when not a 12-digit code)
        v = _admin_ints_uncached(values)
        return np.where(v >= 0, v // unit, -1)

    for child, parent in zip(present[1:], present[:-1]):
        k = schema.ADMIN_DIGITS[parent]
        unit = _POW10[12 - k]
        bad = _not_nested_categorical(hh[f"{child}_code"], hh[f"{parent}_code"], lambda x: prefix(x, unit))
        if bad is None:
            c = per_value(hh[f"{child}_code"], lambda x: prefix(x, unit), fill=-1)
            p = per_value(hh[f"{parent}_code"], lambda x: prefix(x, unit), fill=-1)
            bad = (c >= 0) & (p >= 0) & (c != p)
        if bad.any():
            msg = (f"{_lbl(child + '_code')} 不属于 {_lbl(parent + '_code')}（前{k}位应相同）: "
                   + hh[parent + "_code"].iloc[np.flatnonzero(bad)].astype(str).to_numpy(dtype=object)
                   + f" / {child} code is not inside its {parent} code")
            out.append(make_issues(hh, bad, source=source, column=f"{child}_code",
                                   severity="error", check="admin_not_nested", message=msg))
    return _concat(out)


def _not_nested_categorical(child: pd.Series, parent: pd.Series, prefix):
    """Rows whose child code's prefix differs from their parent code's, for two Categorical columns
    in the usual case (every category a valid code, parent prefixes distinct): each child category
    names the parent category it must sit in, and one gather of small codes and one comparison per
    row decide. None when that case does not hold (the caller compares prefixes row by row)."""
    if not (isinstance(child.dtype, pd.CategoricalDtype) and isinstance(parent.dtype, pd.CategoricalDtype)):
        return None
    cp = np.asarray(prefix(pd.Series(child.cat.categories.astype(str))))
    pp = np.asarray(prefix(pd.Series(parent.cat.categories.astype(str))))
    if (cp < 0).any() or (pp < 0).any() or len(np.unique(pp)) != len(pp):
        return None
    pcodes = parent.array.codes
    ccodes = child.array.codes
    # the parent category each child category must be in; -2 where no parent category has its prefix
    # (then every row of that child with a parent given is wrong); the appended slot is for code -1
    order = np.argsort(pp)
    at = np.clip(np.searchsorted(pp[order], cp), 0, len(pp) - 1)
    expected = np.where(pp[order][at] == cp, order[at], -2) if len(pp) else np.full(len(cp), -2)
    dtype = np.promote_types(pcodes.dtype, np.int8)
    expected = np.append(expected, -1).astype(dtype)
    bad = expected[ccodes] != pcodes
    if (ccodes.min(initial=0) < 0) or (pcodes.min(initial=0) < 0):
        bad &= (ccodes >= 0) & (pcodes >= 0)
    return bad


def check_village_consistency(households, members=None, source=None) -> pd.DataFrame:
    """One village, one village type (贫困村/非贫困村): households of the same village code
    with different ``village_type`` — error on every such household (the village stratum
    is ambiguous)."""
    hh = households
    if not {"village_code", "village_type"} <= set(hh.columns):
        return empty_issues()
    t = hh["village_type"]
    # 1 poor, 2 non-poor, 0 anything else (judged once per distinct value for a Categorical)
    tcode = per_value(t, lambda x: np.select([x.eq("poor").to_numpy(bool, na_value=False),
                                              x.eq("non_poor").to_numpy(bool, na_value=False)],
                                             [1, 2], 0).astype(np.int8), fill=np.int8(0))
    vc = hh["village_code"]
    if isinstance(vc.dtype, pd.CategoricalDtype):  # count (village, type) pairs: one bincount
        codes = vc.array.codes
        m = len(vc.cat.categories)
        # pair = 3·(code + 1) + type: code −1 (missing) lands in the first row, dropped below
        pair = codes.astype(np.int32 if 3 * (m + 1) < 2 ** 31 else np.int64)
        pair += 1
        pair *= 3
        pair += tcode
        counts = count_codes(pair, 3 * (m + 1)).reshape(m + 1, 3)[1:]
        both = (counts[:, 1] > 0) & (counts[:, 2] > 0)
        if not both.any():
            return empty_issues()
        bad = (codes >= 0) & (tcode > 0) & np.append(both, False)[codes]
        return make_issues(hh, bad, source=source, column="village_type", severity="error",
                           check="village_type_inconsistent", message=_VILLAGE_TYPE_MSG)
    v = admin_ints(vc)
    has = (v >= 0) & (tcode > 0)
    if not has.any():
        return empty_issues()
    key = np.sort(v[has] * 4 + tcode[has])  # sorting beats hashing for int64 keys
    pairs = key[np.r_[True, key[1:] != key[:-1]]]
    vil_of_pair = pairs // 4
    multi = np.unique(vil_of_pair[1:][vil_of_pair[1:] == vil_of_pair[:-1]])
    if len(multi) == 0:
        return empty_issues()
    bad = has & np.isin(v, multi)
    return make_issues(hh, bad, source=source, column="village_type", severity="error",
                       check="village_type_inconsistent", message=_VILLAGE_TYPE_MSG)


_VILLAGE_TYPE_MSG = ("同一村代码下村类型不一致（既有贫困村又有非贫困村）/ "
                     "households of one village disagree on the village type")


def check_hh_size(households, members=None, source=None, max_size: int = 20) -> pd.DataFrame:
    """Household size (家庭人口数): missing — fatal (person rates need it); below 1 — error;
    above ``max_size`` — warning."""
    hh = households
    if "hh_size" not in hh.columns:
        return empty_issues()
    col = hh["hh_size"]
    if pd.api.types.is_integer_dtype(col.dtype):  # the canonical Int64: compare the integers as they are
        missing = col.isna().to_numpy()
        v = col.to_numpy(dtype=np.int64, na_value=1)
    else:
        s = pd.to_numeric(col, errors="coerce")
        missing = s.isna().to_numpy()
        v = s.to_numpy(dtype=float, na_value=np.nan)
    return _concat([
        make_issues(hh, missing, source=source, column="hh_size", severity="error",
                    check="hh_size_missing",
                    message="家庭人口数为空或不是整数 / household size is empty or not a whole number"),
        make_issues(hh, v < 1, source=source, column="hh_size", severity="error",
                    check="hh_size_range", message="家庭人口数小于1 / household size below 1"),
        make_issues(hh, v > max_size, source=source, column="hh_size", severity="warning",
                    check="hh_size_range",
                    message=f"家庭人口数大于{max_size}，请核实 / household size above {max_size}: check"),
    ])


def check_exit_year(households, members=None, source=None, year: int | None = None,
                    first_year: int = 2013) -> pd.DataFrame:
    """脱贫年度 present iff the household has exited: exited without exit year — error;
    poor or not registered with an exit year — warning (返贫 households may keep an old
    one); exit year before the registration year, after the evaluation ``year``, or
    before ``first_year`` (建档立卡 began in 2014) — error."""
    hh = households
    if not {"registry_status", "exit_year"} <= set(hh.columns):
        return empty_issues()
    st = hh["registry_status"]
    ey = pd.to_numeric(hh["exit_year"], errors="coerce").to_numpy(float, na_value=np.nan)
    has = ~np.isnan(ey)
    exited = st.eq("exited").fillna(False).to_numpy(bool)
    other = st.isin(["poor", "not_registered"]).to_numpy(bool)
    out = [
        make_issues(hh, exited & ~has, source=source, column="exit_year", severity="error",
                    check="exit_year_missing",
                    message="已脱贫户缺少脱贫年度 / exited household without exit year"),
        make_issues(hh, other & has, source=source, column="exit_year", severity="warning",
                    check="exit_year_unexpected",
                    message="非已脱贫户填写了脱贫年度（返贫户？请核实）/ exit year given for a "
                            "household that has not exited (returned to poverty?)"),
    ]
    if "registration_year" in hh.columns:
        ry = pd.to_numeric(hh["registration_year"], errors="coerce").to_numpy(float, na_value=np.nan)
        before = has & ~np.isnan(ry) & (ey < ry)
        out.append(make_issues(
            hh, before, source=source, column="exit_year", severity="error",
            check="exit_before_registration",
            message="脱贫年度早于识别年度 " + pd.Series(ry[before]).map(lambda x: f"{x:.0f}")
                    .to_numpy(dtype=object) + " / exit year before registration year"))
    late = has & (ey > year) if year is not None else np.zeros(len(hh), bool)
    early = has & (ey < first_year)
    out.append(make_issues(hh, late | early, source=source, column="exit_year", severity="error",
                           check="exit_year_range",
                           message=f"脱贫年度不在 {first_year}–{year or '…'} 之间 / exit year outside "
                                   f"{first_year}–{year or '…'}"))
    return _concat(out)


def check_income(households, members=None, source=None, rtol: float = 0.01,
                 atol_per_person: float = 1.0) -> pd.DataFrame:
    """人均纯收入 × 家庭人口数 vs the sum of the income components (工资性 + 生产经营性 +
    财产性 + 转移性): a difference above ``max(rtol × |total|, atol_per_person × hh_size)``
    — warning. Rows where all components are missing are not compared; a missing
    component among present ones counts as 0. Negative per-capita income — warning."""
    hh = households
    comps = [c for c in schema.INCOME_COMPONENTS if c in hh.columns]
    out = []
    if "income_per_capita" not in hh.columns:
        return empty_issues()
    pc_ = pd.to_numeric(hh["income_per_capita"], errors="coerce").to_numpy(float, na_value=np.nan)
    out.append(make_issues(hh, pc_ < 0, source=source, column="income_per_capita",
                           severity="warning", check="income_negative",
                           message="人均纯收入为负，请核实 / negative per-capita net income: check"))
    if comps and "hh_size" in hh.columns:
        size = pd.to_numeric(hh["hh_size"], errors="coerce").to_numpy(float, na_value=np.nan)
        parts = np.column_stack([pd.to_numeric(hh[c], errors="coerce").to_numpy(float, na_value=np.nan)
                                 for c in comps])
        any_part = ~np.isnan(parts).all(axis=1)
        sum_parts = np.nansum(parts, axis=1)
        total = pc_ * size
        tol = np.maximum(rtol * np.abs(total), atol_per_person * size)
        diff = total - sum_parts
        bad = any_part & ~np.isnan(total) & (np.abs(diff) > tol)
        if bad.any():
            msg = ("人均纯收入×人口 = " + pd.Series(total[bad]).map("{:.0f}".format).to_numpy(dtype=object)
                   + " 与各项收入之和 " + pd.Series(sum_parts[bad]).map("{:.0f}".format).to_numpy(dtype=object)
                   + " 不一致 / per-capita income × household size differs from the sum of income components")
            out.append(make_issues(hh, bad, source=source, column="income_per_capita",
                                   severity="warning", check="income_components", message=msg))
    return _concat(out)


def check_monitoring(households, members=None, source=None) -> pd.DataFrame:
    """Monitoring category consistent with status: 脱贫不稳定户 must have exited (or be
    exiting); 边缘易致贫户 must not be a registered poor household — warning."""
    hh = households
    if not {"monitoring", "registry_status"} <= set(hh.columns):
        return empty_issues()
    m, st = hh["monitoring"], hh["registry_status"]
    bad1 = (m.eq("unstable_exited") & ~st.isin(["exited", "exiting"])).fillna(False).to_numpy(bool)
    bad2 = (m.eq("marginal") & st.isin(list(schema.REGISTERED_STATUSES))).fillna(False).to_numpy(bool)
    return _concat([
        make_issues(hh, bad1, source=source, column="monitoring", severity="warning",
                    check="monitoring_status",
                    message="脱贫不稳定户但不是已脱贫户 / unstable-exited monitoring but status is not exited"),
        make_issues(hh, bad2, source=source, column="monitoring", severity="warning",
                    check="monitoring_status",
                    message="边缘易致贫户却是建档立卡户 / marginal monitoring but registered household"),
    ])


# ======================================================================================
# ID numbers and persons
# ======================================================================================
def _id_validity(ids: pd.Series) -> np.ndarray:
    """True where a non-missing ID number passes GB 11643 (shape, birth date, check digit)."""
    return _cached("idvalid", ids, _id_validity_uncached)


def _id_validity_uncached(ids: pd.Series) -> np.ndarray:
    from evalkit.registry import idnumber

    notna = ids.notna().to_numpy()
    ok = np.ones(len(ids), dtype=bool)
    if notna.any():
        ok[notna] = idnumber.is_valid(ids[notna]).to_numpy(bool)
    return ok


def check_id_number(households, members=None, source=None) -> pd.DataFrame:
    """Resident ID numbers (户主身份证号, 成员身份证号) failing GB 11643-1999: wrong length or
    characters, impossible birth date, or wrong check character — error. Values are
    masked in the issue (privacy)."""
    out = []
    for table_name, table, col in (("households", households, "head_id_number"),
                                   ("members", members, "id_number")):
        if table is None or col not in table.columns:
            continue
        bad = ~_id_validity(table[col])
        out.append(make_issues(table, bad, source=source, table_name=table_name, column=col,
                               severity="error", check="id_number_invalid",
                               message="身份证号校验不通过（GB 11643：位数、出生日期或校验码错误）/ "
                                       "ID number fails the GB 11643 check (length, birth date or "
                                       "check character)"))
    return _concat(out)


def check_duplicate_persons(households, members=None, source=None) -> pd.DataFrame:
    """The same ID number in two or more households (拆户/空挂户 suspicion) — error on every
    row involved (household heads and members); the same ID twice in one household —
    warning. Uses household heads' IDs when there is no member table."""
    tables = []
    if "head_id_number" in households.columns:
        tables.append((0, households, "head_id_number", None))
    if members is not None and "id_number" in members.columns:
        tables.append((1, members, "id_number", household_index(households, members)))
    if not tables:
        return empty_issues()
    keep = _suspect_person_rows(tables, len(households))
    parts = []
    for (t, table, col, _hx), rows in zip(tables, keep):
        rows = np.flatnonzero(table[col].notna().to_numpy()) if rows is None else rows
        parts.append(pd.DataFrame({"id": table[col].iloc[rows].to_numpy(dtype=object),
                                   "hid": table["household_id"].iloc[rows].to_numpy(dtype=object),
                                   "t": t, "pos": rows}))
    allp = pd.concat(parts, ignore_index=True)
    if not len(allp):
        return empty_issues()
    dup = allp["id"].duplicated(keep=False).to_numpy()
    cand = allp[dup]
    if not len(cand):
        return empty_issues()
    pairs = cand.drop_duplicates(["id", "hid"])
    n_hh = pairs.groupby("id")["hid"].size()
    cand = cand.assign(n_hh=cand["id"].map(n_hh).to_numpy())
    # a head listed in the member table of their own household is not a duplicate
    within = cand[cand["n_hh"] == 1]
    within = within[within["t"] == 1]
    within = within[within.duplicated(["id", "hid"], keep=False)]
    across = cand[cand["n_hh"] > 1]
    out = []
    hh_list = across.groupby("id")["hid"].agg(lambda x: "、".join(sorted(set(map(str, x)))))
    for t, table_name, table, col in ((0, "households", households, "head_id_number"),
                                      (1, "members", members, "id_number")):
        a = across[across["t"] == t]
        if len(a):
            msg = ("同一身份证号出现在多户（" + a["id"].map(hh_list).to_numpy(dtype=object)
                   + "），疑似拆户/空挂户 / the same person appears in several households")
            out.append(make_issues(table, a["pos"].to_numpy(), source=source, table_name=table_name,
                                   column=col, severity="error", check="person_in_two_households",
                                   message=msg))
        w = within[within["t"] == t]
        if len(w):
            out.append(make_issues(table, w["pos"].to_numpy(), source=source, table_name=table_name,
                                   column=col, severity="warning", check="duplicate_person_in_household",
                                   message="同一户内身份证号重复 / the same ID number twice in one household"))
    return _concat(out)


def _suspect_person_rows(tables, n_households: int):
    """Pre-filter of :func:`check_duplicate_persons` on 64-bit keys: for each table the
    positions of rows whose ID might be shared across households or repeated among one
    household's members (a superset: the caller decides exactly on the strings), or None
    per table when the fast path does not apply. A head listed again in their own
    household's member table is not suspect — that is the normal case."""
    keys, hhp, is_mem, tab, pos = [], [], [], [], []
    for k, (t, table, col, hx) in enumerate(tables):
        s = table[col]
        notna = s.notna().to_numpy()
        rows = np.flatnonzero(notna)
        h = _hash64(s if notna.all() else s.iloc[rows].reset_index(drop=True))
        if h is None:
            return [None] * len(tables)
        keys.append(h)
        if hx is None:
            hhp.append(rows)
        else:  # unknown household: a household of its own (never equal to another)
            hp = hx[rows]
            hhp.append(np.where(hp >= 0, hp, -2 - np.arange(len(rows))))
        is_mem.append(np.full(len(rows), t == 1))
        tab.append(np.full(len(rows), k))
        pos.append(rows)
    keys, hhp = np.concatenate(keys), np.concatenate(hhp)
    is_mem, tab, pos = np.concatenate(is_mem), np.concatenate(tab), np.concatenate(pos)
    if len(keys) < 2:
        return [np.zeros(0, np.int64) for _ in tables]
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    starts = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(sk)])
    h_sorted = hhp[order]
    hmin = np.minimum.reduceat(h_sorted, starts)
    hmax = np.maximum.reduceat(h_sorted, starts)
    nmem = np.add.reduceat(is_mem[order].astype(np.int64), starts)
    suspect = (sizes > 1) & ((hmin != hmax) | (nmem > 1))
    rows = order[np.repeat(suspect, sizes)]
    return [np.sort(pos[rows][tab[rows] == k]) for k in range(len(tables))]


# ======================================================================================
# Member rules
# ======================================================================================
def check_person_id(households, members=None, source=None) -> pd.DataFrame:
    """Members: missing person ID (人员编号为空) or duplicate person ID — fatal."""
    if members is None or "person_id" not in members.columns:
        return empty_issues()
    pid = members["person_id"]
    missing = pid.isna().to_numpy()
    dup = duplicated_all(pid) & ~missing
    return _concat([
        make_issues(members, missing, source=source, table_name="members", column="person_id",
                    severity="error", check="person_id_missing",
                    message="人员编号为空 / person ID is empty"),
        make_issues(members, dup, source=source, table_name="members", column="person_id",
                    severity="error", check="duplicate_person_id",
                    message="人员编号重复 / duplicate person ID"),
    ])


def check_member_household(households, members=None, source=None) -> pd.DataFrame:
    """Members whose household ID is empty or not in the household table — error
    (the person cannot be linked to a sampled household)."""
    if members is None or "household_id" not in members.columns:
        return empty_issues()
    hid = members["household_id"]
    bad = household_index(households, members) < 0
    msg = np.where(hid.isna().to_numpy()[bad], "成员的户编号为空 / member has no household ID",
                   "成员的户编号不在户表中 / member's household ID is not in the household table")
    return make_issues(members, bad, source=source, table_name="members", column="household_id",
                       severity="error", check="member_without_household", message=msg)


def check_member_count(households, members=None, source=None) -> pd.DataFrame:
    """家庭人口数 (hh_size) vs the number of members listed for the household — warning
    on the household row (the number found is in the message)."""
    if members is None or "hh_size" not in households.columns:
        return empty_issues()
    pos = household_index(households, members)
    n = np.bincount(pos[pos >= 0], minlength=len(households)).astype(float)
    size = pd.to_numeric(households["hh_size"], errors="coerce").to_numpy(float, na_value=np.nan)
    bad = ~np.isnan(size) & (size != n)
    msg = ("家庭人口数与成员表人数（" + pd.Series(n[bad]).map("{:.0f}".format).to_numpy(dtype=object)
           + " 人）不一致 / household size differs from the number of members listed")
    return make_issues(households, bad, source=source, column="hh_size", severity="warning",
                       check="hh_size_mismatch", message=msg)


def check_head_count(households, members=None, source=None) -> pd.DataFrame:
    """Each household with members has exactly one head (与户主关系 = 户主) — warning on the
    household row when it has none or several."""
    if members is None or "relation" not in members.columns:
        return empty_issues()
    pos = household_index(households, members)
    is_head = members["relation"].eq("head").fillna(False).to_numpy(bool)
    nh = np.bincount(pos[(pos >= 0) & is_head], minlength=len(households))
    has_members = np.bincount(pos[pos >= 0], minlength=len(households)) > 0
    bad = has_members & (nh != 1)
    msg = ("成员表中户主人数为 " + pd.Series(nh[bad]).map("{:.0f}".format).to_numpy(dtype=object)
           + "，应为1 / the member list should have exactly one head")
    return make_issues(households, bad, source=source, column="household_id", severity="warning",
                       check="head_count", message=msg)


def _reference_date(year, reference_date) -> pd.Timestamp:
    if reference_date is not None:
        return pd.Timestamp(reference_date)
    if year is not None:
        return pd.Timestamp(f"{int(year)}-12-31")
    return pd.Timestamp.today().normalize()


def _birth(members: pd.DataFrame) -> pd.Series:
    """Birth date from ``birth_date``, else decoded from the ID number."""
    for col in ("birth_date", "id_number"):
        if col in members.columns:
            return _cached("birth", members[col], lambda _s: _birth_uncached(members))
    return pd.Series(pd.NaT, index=members.index, dtype="datetime64[ns]")


def _birth_uncached(members: pd.DataFrame) -> pd.Series:
    from evalkit.registry import idnumber

    b = (pd.to_datetime(members["birth_date"], errors="coerce") if "birth_date" in members.columns
         else pd.Series(pd.NaT, index=members.index))
    if "id_number" in members.columns and b.isna().any():
        miss = b.isna()
        b = b.copy()
        b[miss] = idnumber.birth_date(members.loc[miss, "id_number"])
    return b


def ages(members: pd.DataFrame, reference_date) -> np.ndarray:
    """Completed years of age at ``reference_date`` (NaN when the birth date is unknown)."""
    b = _birth(members)
    ref = pd.Timestamp(reference_date)
    y = b.dt.year.to_numpy(float, na_value=np.nan)
    md = (b.dt.month * 100 + b.dt.day).to_numpy(float, na_value=np.nan)
    return ref.year - y - (md > ref.month * 100 + ref.day)


def check_age_schooling(households, members=None, source=None, year=None,
                        reference_date=None) -> pd.DataFrame:
    """Age vs schooling: a member aged 6–15 (义务教育阶段, ``schema.COMPULSORY_AGES``) at the
    reference date recorded as 失学辍学 or 非在校生 — warning (送教上门 and 因身体原因不具备学习
    条件 are accepted). Birth after ``reference_date`` (or, when only ``year`` is known,
    after 31 December of the following year: fieldwork runs into it) or age above 120 — error.
    Ages at ``reference_date``, else 31 December of ``year``, else today."""
    if members is None:
        return empty_issues()
    ref = _reference_date(year, reference_date)
    age = ages(members, ref)
    lo, hi = schema.COMPULSORY_AGES
    # births after the snapshot are impossible; with only a year known the survey may run
    # into the next year, so the limit is then 31 December of the following year
    limit = pd.Timestamp(reference_date) if reference_date is not None else (
        pd.Timestamp(f"{int(year) + 1}-12-31") if year is not None else ref)
    future = (_birth(members) > limit).to_numpy(bool)
    out = [make_issues(members, future | (age > 120), source=source, table_name="members",
                       column="birth_date" if "birth_date" in members.columns else "id_number",
                       severity="error", check="birth_date_invalid",
                       message=f"出生日期不合理（晚于{limit.date()}或年龄超过120岁）/ implausible birth date "
                               f"(after {limit.date()} or older than 120)")]
    if "schooling" in members.columns:
        bad = ((age >= lo) & (age <= hi)
               & members["schooling"].isin(["dropout", "not_student"]).to_numpy(bool))
        msg = (pd.Series(age[bad]).map("{:.0f}".format).to_numpy(dtype=object)
               + f" 岁义务教育阶段儿童未在校 / child of compulsory-school age ({lo}–{hi}) not in school")
        out.append(make_issues(members, bad, source=source, table_name="members", column="schooling",
                               severity="warning", check="age_schooling", message=msg))
    return _concat(out)


def check_id_consistency(households, members=None, source=None) -> pd.DataFrame:
    """Birth date and sex recorded for a member agree with those encoded in a valid ID
    number (digits 7–14 = birth date; digit 17 odd = male) — warning."""
    if members is None or "id_number" not in members.columns:
        return empty_issues()
    ids = members["id_number"]
    valid = ids.notna().to_numpy() & _id_validity(ids)
    out = []
    if not valid.any():
        return empty_issues()
    digits = _id_digits(ids, valid)  # YYYYMMDD of birth and the sequence digit, as integers
    if "birth_date" in members.columns:
        b = pd.to_datetime(members["birth_date"], errors="coerce")
        ymd = (b.dt.year * 10_000 + b.dt.month * 100 + b.dt.day).to_numpy(float, na_value=np.nan)
        bad = valid & ~np.isnan(ymd) & (ymd != digits[0])
        out.append(make_issues(members, bad, source=source, table_name="members", column="birth_date",
                               severity="warning", check="id_birth_mismatch",
                               message="出生日期与身份证号不一致 / birth date differs from the ID number"))
    if "sex" in members.columns:
        id_sex = np.where(digits[1] % 2 == 1, "male", "female")
        sex = members["sex"]
        bad = valid & sex.notna().to_numpy() & (sex.to_numpy(dtype=object) != id_sex)
        out.append(make_issues(members, bad, source=source, table_name="members", column="sex",
                               severity="warning", check="id_sex_mismatch",
                               message="性别与身份证号不一致 / sex differs from the ID number"))
    return _concat(out)


def _id_digits(ids: pd.Series, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth date digits (7–14) as the integer YYYYMMDD and the 17th digit of valid
    18-character ID numbers (NaN elsewhere) — integer slices, no date parsing."""
    n = len(ids)
    ymd, seq = np.full(n, np.nan), np.full(n, np.nan)
    rows = np.flatnonzero(valid)
    sub = ids.iloc[rows]
    if not pd.api.types.is_string_dtype(sub.dtype) or sub.dtype == object:
        sub = sub.astype(_str_dtype_local())
    arr = _arrow(sub)
    if arr is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        ymd[rows] = pc.cast(pc.utf8_slice_codeunits(arr, 6, 14), pa.int64()).to_numpy()
        seq[rows] = pc.cast(pc.utf8_slice_codeunits(arr, 16, 17), pa.int64()).to_numpy()
    else:
        ymd[rows] = sub.str[6:14].astype("int64").to_numpy()
        seq[rows] = sub.str[16].astype("int64").to_numpy()
    return ymd, seq


def _str_dtype_local():
    from evalkit.registry.aliases import _str_dtype

    return _str_dtype()


# ======================================================================================
# Running the rules
# ======================================================================================
#: name -> rule, in the order they run. Names are what ``checks=`` selects.
CHECKS: dict[str, Callable[..., pd.DataFrame]] = {
    "household_id": check_household_id,
    "registry_status": check_registry_status,
    "admin_codes": check_admin_codes,
    "admin_nesting": check_admin_nesting,
    "village_consistency": check_village_consistency,
    "codes": check_codes,
    "hh_size": check_hh_size,
    "exit_year": check_exit_year,
    "income": check_income,
    "monitoring": check_monitoring,
    "person_id": check_person_id,
    "member_household": check_member_household,
    "member_count": check_member_count,
    "head_count": check_head_count,
    "id_number": check_id_number,
    "duplicate_persons": check_duplicate_persons,
    "age_schooling": check_age_schooling,
    "id_consistency": check_id_consistency,
}

_OPTIONS = {"exit_year": ("year",), "age_schooling": ("year", "reference_date")}


def select_checks(checks="all") -> list[str]:
    """Names of the rules to run: ``"all"``, ``"fast"`` (all but :data:`SLOW_CHECKS`) or
    an iterable of names from :data:`CHECKS`."""
    if checks == "all" or checks is None:
        return list(CHECKS)
    if checks == "fast":
        return [c for c in CHECKS if c not in SLOW_CHECKS]
    names = [checks] if isinstance(checks, str) else list(checks)
    unknown = [c for c in names if c not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; available: {list(CHECKS)}")
    return names


def validate(households: pd.DataFrame, members: pd.DataFrame | None = None, source=None, *,
             checks="all", year: int | None = None, reference_date=None) -> pd.DataFrame:
    """Run the validation rules on canonical tables and return every issue found
    (fatal ones included: see :data:`FATAL_CHECKS` and :func:`raise_fatal`)."""
    with caching():
        return _validate(households, members, source, checks, year, reference_date)


def _validate(households, members, source, checks, year, reference_date) -> pd.DataFrame:
    names = select_checks(checks)

    def run(name):
        kwargs = {}
        if "year" in _OPTIONS.get(name, ()):
            kwargs["year"] = year
        if "reference_date" in _OPTIONS.get(name, ()):
            kwargs["reference_date"] = reference_date
        return CHECKS[name](households, members, source, **kwargs)

    rows = len(households) + (0 if members is None else len(members))
    if not parallel(rows) or len(names) < 2:  # threads would only add overhead
        return _concat([run(name) for name in names])
    # results are taken in rule order (and the first rule in that order that raises is the
    # error reported), so the issue table is the same as when run one after another
    with ThreadPoolExecutor(2, thread_name_prefix="evalkit-validate") as ex:
        return _concat(list(ex.map(run, names)))



def fatal(issues: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``issues`` produced by fatal rules."""
    return issues[issues["check"].isin(FATAL_CHECKS)]


def format_issues(issues: pd.DataFrame, limit: int = MAX_LISTED) -> str:
    """Readable lines 'file, row N, column 'c': value 'v' — message' (first ``limit``)."""
    from evalkit.errors import where

    lines = []
    for r in issues.head(limit).itertuples(index=False):
        row = None if pd.isna(r.row) else int(r.row)
        val = "" if r.value is None else f"value '{r.value}' — "
        lines.append(f"  {where(r.file, row, r.column)}{val}{r.message}")
    if len(issues) > limit:
        lines.append(f"  … and {len(issues) - limit} more (另有 {len(issues) - limit} 处)")
    return "\n".join(lines)


def raise_fatal(issues: pd.DataFrame, context: str = "registry") -> None:
    """Raise one :class:`RegistryError` summarising the fatal issues (up to
    :data:`MAX_LISTED` rows per rule, with file, row, column and value); no-op if none."""
    bad = fatal(issues)
    if not len(bad):
        return
    parts = [f"{context}: {len(bad)} fatal problem(s) — the registry cannot be used until they "
             f"are fixed (存在 {len(bad)} 处严重错误，修正后才能使用):"]
    for check, grp in bad.groupby("check", sort=False):
        parts.append(f"[{check}] {len(grp)} row(s):")
        parts.append(format_issues(grp))
    raise RegistryError("\n".join(parts))


__all__ = [
    "ISSUE_COLUMNS", "FATAL_CHECKS", "SLOW_CHECKS", "CHECKS", "Source", "validate", "select_checks",
    "fatal", "raise_fatal", "format_issues", "make_issues", "empty_issues", "caching",
    "duplicated_all", "admin_ints", "isin", "in_codes", "household_index", "ages",
    *sorted(n for n in list(globals()) if n.startswith("check_")),
]
