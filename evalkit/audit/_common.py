"""Helpers shared by the audit modules: fast ID keys, header mapping, value parsing.

ID numbers are normalised with :mod:`evalkit.registry.idnumber` (the only implementation of
the GB 11643 rules). For speed, values already in canonical 18-character form skip the
per-value normalisation (an Arrow-vectorised shape test), and join keys are int64 numbers
(``first 17 digits × 11 + check``) so that joins of 10 M × 10 M rows are integer hash joins.
See docs/methodology/audit.md §1.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from evalkit.registry import idnumber
from evalkit.registry.registry import ISSUE_COLUMNS

_CANON = r"[0-9]{17}[0-9X]"
CHUNK = 500_000  # rows per block in prepare_ids
ARROW_STR = "string[pyarrow]"


def prepare_ids(values: pd.Series, validate: bool = False):
    """Normalise ID numbers once and derive everything the joins need.

    Returns ``(norm, keys, status)``: canonical 18-character Arrow strings
    (``idnumber.normalise``; values already canonical skip the per-value work), int64 join
    keys (``int(first17) * 11 + check``, X = 10; -1 when not of canonical shape) and, with
    ``validate``, a status per value: 'missing' | 'unusable' (not 17 digits + check) |
    'bad_check' (wrong GB 11643 check character or impossible birth date) | 'ok'.
    """
    if len(values) > CHUNK:  # bounded temporaries: far fewer page faults on 10 M rows
        parts = [prepare_ids(values.iloc[k:k + CHUNK], validate) for k in range(0, len(values), CHUNK)]
        norm = pd.concat([p[0] for p in parts])
        return (norm, np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]) if validate else None)
    import pyarrow as pa
    import pyarrow.compute as pc

    s = values.astype(ARROW_STR)
    canon = s.str.fullmatch(_CANON).fillna(False).to_numpy(bool)
    present = s.notna().to_numpy(bool)
    rest = ~canon & present
    if rest.any():
        s = s.copy()
        s[rest] = idnumber.normalise(s[rest]).astype(ARROW_STR)
        canon[rest] = s[rest].str.fullmatch(_CANON).fillna(False).to_numpy(bool)
    keys = np.full(len(s), -1, dtype=np.int64)
    all_canon = bool(canon.all())
    if canon.any():
        arr = pa.array(s if all_canon else s[canon])
        first = pc.cast(pc.utf8_slice_codeunits(arr, 0, 17), pa.int64()).to_numpy()
        last = pc.utf8_slice_codeunits(arr, 17, 18)
        chk = pc.cast(pc.if_else(pc.equal(last, "X"), "10", last), pa.int64()).to_numpy()
        if all_canon:
            keys = first * 11 + chk
        else:
            keys[canon] = first * 11 + chk
    status = None
    if validate:
        status = np.full(len(s), "ok", dtype=object)
        status[~canon] = "unusable"
        blank = ~present
        if rest.any():  # empty strings are never canonical: test only the rest
            blank[rest] = (s[rest].str.len() == 0).fillna(True).to_numpy(bool)
        status[blank] = "missing"
        if canon.any():
            c = s if all_canon else s[canon]
            ok_check = (idnumber.check_digit(c.str[:17]) == c.str[17]).fillna(False).to_numpy(bool)
            # birth dates (YYYYMMDD, from the integer key) parsed once per distinct value with the
            # library's parser; plausibility as in idnumber.is_valid (a real date, year >= 1890)
            ymd = (keys[canon] // 11 // 1000) % 100_000_000
            uniq, inv = np.unique(ymd, return_inverse=True)
            born = idnumber.birth_date(pd.Series(uniq).map("000000{:08d}".format))
            ok_birth = (born.notna() & (born.dt.year >= 1890)).to_numpy(bool)[inv]
            idx = np.flatnonzero(canon)
            status[idx[~(ok_check & ok_birth)]] = "bad_check"
    return s, keys, status


def normalise_ids(values: pd.Series) -> pd.Series:
    """Canonical 18-character IDs (``idnumber.normalise``) as Arrow strings."""
    return prepare_ids(values)[0]


def id_keys(norm: pd.Series) -> np.ndarray:
    """int64 join keys of (normalised) IDs; -1 where not of canonical shape."""
    return prepare_ids(norm)[1]


class KeyIndex:
    """Sorted int64 keys of the registry persons: each list is joined by binary search
    (``np.searchsorted``) — a sort-merge join built once for all lists, duplicates kept."""

    def __init__(self, keys: np.ndarray):
        pos = np.flatnonzero(keys >= 0)
        order = np.argsort(keys[pos], kind="stable")
        self.sorted_keys = keys[pos][order]
        self.positions = pos[order]

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(record positions, person positions) of every key match."""
        rpos = np.flatnonzero(keys >= 0)
        rk = keys[rpos]
        lo = np.searchsorted(self.sorted_keys, rk, "left")
        hi = np.searchsorted(self.sorted_keys, rk, "right")
        cnt = hi - lo
        hit = cnt > 0
        rpos, lo, cnt = rpos[hit], lo[hit], cnt[hit]
        total = int(cnt.sum())
        r = np.repeat(rpos, cnt)
        offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        p = self.positions[np.repeat(lo, cnt) + offs]
        return r, p


def others(n: int, used) -> np.ndarray:
    """Positions 0..n-1 not in ``used`` (a boolean mask: faster than np.setdiff1d)."""
    keep = np.ones(n, bool)
    keep[np.asarray(used, dtype=np.int64)] = False
    return np.flatnonzero(keep)


def normalise_names(names: pd.Series) -> pd.Series:
    """Names for matching: NFKC (full-width → half-width), no spaces, one kind of middle dot."""
    s = names.astype(ARROW_STR).str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    return s.str.replace(r"[•・．.‧∙⋅]", "·", regex=True)


def header_key(h) -> str:
    """Header text for matching: NFKC, no spaces, lower case, no brackets or units."""
    t = unicodedata.normalize("NFKC", str(h)).strip().lower()
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"[(（\[【].*?[)）\]】]", "", t)
    return t


_WAN = re.compile(r"万")


def parse_number(values: pd.Series, scale: float = 1.0) -> tuple[pd.Series, np.ndarray]:
    """Numbers as people type them: '85,000', '85000元', '8.5万', '８５０００'. Returns
    (float Series, bool array of non-empty values that could not be read)."""
    if pd.api.types.is_numeric_dtype(values):
        v = values.astype(float) * scale
        return v, np.zeros(len(values), bool)
    s = values.astype(ARROW_STR).str.normalize("NFKC").str.strip()
    s = s.str.replace(r"[,\s]", "", regex=True).str.replace(r"(元|rmb|cny|¥)", "", regex=True, case=False)
    wan = s.str.endswith("万").fillna(False).to_numpy(bool)
    s = s.str.replace("万", "", regex=False)
    v = pd.to_numeric(s, errors="coerce").astype(float)
    v = v * np.where(wan, 10_000.0, 1.0) * scale
    empty = s.isna().to_numpy(bool) | (s.fillna("") == "").to_numpy(bool)
    bad = v.isna().to_numpy(bool) & ~empty
    return v, bad


def parse_date(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates as people type them: 2018-03-01, 2018/3/1, 20180301, 2018年3月1日, 2018.3.1."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, np.zeros(len(values), bool)
    s = values.astype(ARROW_STR).str.normalize("NFKC").str.strip()
    s = s.str.replace(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", regex=True)
    s = s.str.replace(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})", r"\1-\2-\3", regex=True)
    s = s.str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)
    s = s.str.replace(r"\s.*$", "", regex=True)  # Excel's '2018-03-01 00:00:00'
    d = pd.to_datetime(s.astype(object), format="%Y-%m-%d", errors="coerce")
    empty = s.isna().to_numpy(bool) | (s.fillna("") == "").to_numpy(bool)
    bad = d.isna().to_numpy(bool) & ~empty
    return d, bad


def issues_frame(file, row, household_id, column, value, severity, check, message) -> pd.DataFrame:
    """An issues table in the contract's columns from arrays/scalars of equal length."""
    n = max((len(x) for x in (file, row, household_id, column, value, severity, check, message)
             if isinstance(x, (pd.Series, np.ndarray, list))), default=1)

    def col(x):
        if isinstance(x, (pd.Series, np.ndarray, list)):
            return pd.Series(np.asarray(x, dtype=object))
        return pd.Series([x] * n, dtype=object)

    data = dict(zip(ISSUE_COLUMNS, (file, row, household_id, column, value, severity, check, message)))
    return pd.DataFrame({k: col(v) for k, v in data.items()})[ISSUE_COLUMNS]


def concat_issues(frames) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})
    return pd.concat(frames, ignore_index=True)[ISSUE_COLUMNS]


def html_table(title: str, lines: list[str], frame: pd.DataFrame | None = None, max_rows: int = 20) -> str:
    body = "".join(f"<li>{ln}</li>" for ln in lines)
    tab = "" if frame is None else frame.head(max_rows).to_html(index=False, border=0)
    return f"<div><strong>{title}</strong><ul>{body}</ul>{tab}</div>"
