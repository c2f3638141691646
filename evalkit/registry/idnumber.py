"""Resident ID numbers (居民身份证号码, GB 11643-1999): normalise, validate, mask.

Vectorised over pandas Series so registries of millions of persons validate in seconds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.array(list("10X98765432"))
_CHECK_BYTES = np.frombuffer(b"10X98765432", dtype=np.uint8)
_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"ｘ": "X", "Ｘ": "X", "x": "X"})


def _bytes_matrix(values: pd.Series, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) uint8 matrix of the UTF-8 bytes of the values that are exactly ``width``
    bytes long, read from the Arrow buffers without Python strings; other rows are zeros.
    Returns (matrix, mask of rows filled)."""
    arr = pa.array(values.astype("str").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    fits = pc.fill_null(pc.equal(pc.binary_length(arr), width), False)
    ok = fits.to_numpy(zero_copy_only=False)
    out = np.zeros((len(values), width), dtype=np.uint8)
    if ok.any():
        sub = arr.filter(fits)
        offset_type = np.int64 if pa.types.is_large_string(sub.type) else np.int32
        offsets = np.frombuffer(sub.buffers()[1], dtype=offset_type)[sub.offset: sub.offset + len(sub) + 1]
        data = np.frombuffer(sub.buffers()[2], dtype=np.uint8)
        out[ok] = data[offsets[0]: offsets[-1]].reshape(-1, width)
    return out, ok


def _digits(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Digit values of an ASCII byte matrix and a mask of rows that are all digits."""
    d = matrix.astype(np.int64) - 48
    return d.clip(0, 9), ((d >= 0) & (d <= 9)).all(axis=1)


def check_digit(first17: pd.Series) -> pd.Series:
    """GB 11643 check character for 17-digit strings (NA where not 17 digits)."""
    m, ok = _bytes_matrix(first17, 17)
    d, all_digits = _digits(m)
    ok &= all_digits
    out = pd.Series(pd.NA, index=first17.index, dtype="string")
    if ok.any():
        out[ok] = _CHECK[(d[ok] @ _WEIGHTS) % 11]
    return out


def normalise(ids: pd.Series) -> pd.Series:
    """Canonical 18-character form: strip spaces, full-width digits → ASCII, lower x → X,
    old 15-digit numbers upgraded (insert '19' before the birth year, append the check).

    Values that cannot be normalised are returned stripped but otherwise unchanged, so
    :func:`is_valid` can report them.
    """
    s = ids.astype("string").str.strip().str.replace(r"\s+", "", regex=True)
    s = s.map(lambda v: v.translate(_FULLWIDTH) if isinstance(v, str) else v).astype("string")
    s = s.str.upper()
    old = s.str.fullmatch(r"\d{15}").fillna(False)
    if old.any():
        first17 = s[old].str[:6] + "19" + s[old].str[6:]
        s[old] = first17 + check_digit(first17)
    return s


def is_valid(ids: pd.Series) -> pd.Series:
    """True where an (already normalised) ID has 18 characters (17 digits then a digit or X),
    a real birth date from 1890 on, and the right check character (GB 11643-1999 §6)."""
    m, ok = _bytes_matrix(ids, 18)
    d, all_digits = _digits(m[:, :17])
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month = d[:, 10] * 10 + d[:, 11]
    day = d[:, 12] * 10 + d[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last_day = _MONTH_DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    date_ok = (year >= 1890) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last_day)
    check_ok = m[:, 17] == _CHECK_BYTES[(d @ _WEIGHTS) % 11]
    return pd.Series(ok & all_digits & date_ok & check_ok, index=ids.index)


def birth_date(ids: pd.Series) -> pd.Series:
    """Birth date encoded in 18-digit IDs (NaT where not decodable)."""
    s = ids.astype("string")
    return pd.to_datetime(s.str[6:14], format="%Y%m%d", errors="coerce")


def mask(ids: pd.Series, keep_start: int = 6, keep_end: int = 4) -> pd.Series:
    """Mask all but the first ``keep_start`` and last ``keep_end`` characters:
    ``520102199001011234`` → ``520102********1234``; values too short to keep both ends
    are masked entirely."""
    s = ids.astype("string")
    n = s.str.len()
    stars = (n - keep_start - keep_end).fillna(0).astype(int)
    long_enough = (stars > 0).fillna(False)
    out = s.str[:keep_start] + stars.map(lambda k: "*" * k) + s.str[-keep_end:]
    out = out.where(long_enough, n.fillna(0).astype(int).map(lambda k: "*" * k))
    return out.where(s.notna())


def mask_phone(phones: pd.Series) -> pd.Series:
    """``13812345678`` → ``138****5678``."""
    s = phones.astype("string").str.strip()
    return (s.str[:3] + "****" + s.str[-4:]).where(s.str.len() >= 7, s)
