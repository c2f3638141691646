"""Vectorised 64-bit value hashing for the registry fingerprint: one hash per cell, equal for
equal content whatever its pandas/Arrow representation, identical on any machine and library
version — so ``Registry.fingerprint`` of 10 M households takes 0.5–1 s instead of 16 s with
pandas' per-object hashing, and means the same everywhere (docs/methodology/registry.md §4).

The algorithm (all arithmetic on unsigned 64-bit integers, modulo 2**64)::

    mix64(z)  = splitmix64 finaliser:  z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
                                       z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31
    G         = 0x9E3779B97F4A7C15     (the golden-ratio increment of splitmix64)
    seed(t)   = t * G                  kind tags t: 1 missing, 2 text, 3 integer, 4 float,
                                       5 bool, 6 datetime, 7 timedelta, 8 row
    missing   = mix64(seed(1))         None, NaN, pd.NA, NaT — one constant for every kind
    text      = mix64(seed(2) ^ L) + sum_{j<k} mix64(w_j ^ (j+1)*G)
                L = number of UTF-8 bytes, k = ceil(L/8), w_j = bytes [8j, 8j+8) read as a
                little-endian uint64, the last one zero-padded
    integer   = mix64(seed(3) ^ v)     v as 64-bit two's complement (int8 … int64, Int64, …)
    float     = mix64(seed(4) ^ bits(v + 0.0))   IEEE-754 binary64 bits (-0.0 → +0.0); NaN missing
    bool      = mix64(seed(5) ^ v)     v = 0 or 1
    datetime  = mix64(seed(6) ^ ns)    nanoseconds since 1970-01-01 UTC, whatever the unit
    timedelta = mix64(seed(7) ^ ns)
    row       = r := seed(8); for each column hash h, in the order given: r := (r ^ h) * G

Text is read from the Arrow buffers (string/large_string, chunked, sliced): blocks of values of
one byte length as zero-copy strided views of the data buffer; other blocks from an aligned
copy of their bytes, word j of each value gathered at its offset and masked to its length.
Categorical columns hash their categories once and take them by code, integers of a small
range a table of their range, runs of equal fixed-width text (codes sorted by village) one value
per run: always with the same result as hashing each value. Blocks of
``_ROWS`` rows keep every scratch array small; large frames use a few threads (numpy releases
the GIL), which changes nothing in the result.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from evalkit.threads import available_cpus

__all__ = ["hash_column", "row_hashes", "mix64", "mix64_array", "MISSING", "KnownHashes", "column_key"]

_M64 = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(G)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_U1, _U64 = np.uint64(1), np.uint64(64)

_ROWS = 1 << 17   # rows per block
_BYTES = 1 << 22  # at most this many bytes of variable-length text copied at once
_MAX_THREADS = 4


def mix64(z: int) -> int:
    """The splitmix64 finaliser on one Python int."""
    z &= _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _seed(tag: int) -> int:
    return (tag * G) & _M64


MISSING_TAG, TEXT, INTEGER, FLOAT, BOOL, DATETIME, TIMEDELTA, ROW = range(1, 9)
#: hash of every missing value (None, NaN, pd.NA, NaT), whatever the column's kind
MISSING = mix64(_seed(MISSING_TAG))
_MISSING = np.uint64(MISSING)


def _word_key(j: int) -> np.uint64:
    return np.uint64(((j + 1) * G) & _M64)


def mix64_array(z: np.ndarray) -> np.ndarray:
    """mix64 in place on a uint64 array (wrap-around arithmetic); returns ``z``."""
    with np.errstate(over="ignore"):
        return _mix_(z, np.empty_like(z))


def _mix_(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """mix64 in place on a uint64 array (``tmp``: scratch of the same length)."""
    np.right_shift(z, _S30, out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    np.multiply(z, _C1, out=z)
    np.right_shift(z, _S27, out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    np.multiply(z, _C2, out=z)
    np.right_shift(z, _S31, out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    return z


def _keyed(values: np.ndarray, tag: int) -> np.ndarray:
    """mix64(seed(tag) ^ values) of a small uint64 array (a new array)."""
    z = np.bitwise_xor(values.astype(np.uint64), np.uint64(_seed(tag)))
    with np.errstate(over="ignore"):
        return _mix_(z, np.empty_like(z))


def column_key(s: pd.Series) -> tuple:
    """Identity of a column's memory: the addresses of its Arrow buffers (so every pandas wrapper of
    the same Arrow data has the same key), else the id of its array. Equal keys mean equal values
    as long as the memory is kept alive (Arrow buffers are never changed in place)."""
    arr = s.array
    pa_arr = getattr(arr, "_pa_array", None)
    if pa_arr is not None:
        return ("arrow", len(pa_arr)) + tuple((b.address if b is not None else 0, c.offset)
                                              for c in pa_arr.chunks for b in c.buffers())
    return ("array", id(arr), len(arr))


class KnownHashes:
    """:func:`hash_column` results already computed for some Arrow-backed columns (the registry
    checks hash ``household_id`` to find duplicates), reused by :func:`row_hashes` (the fingerprint)
    and by the draw's permanent random numbers while the column still holds the very same Arrow
    memory; a column changed since gets hashed again. Only Arrow memory qualifies: it is never
    written in place, so the key (its buffer addresses, kept alive here) cannot go stale."""

    def __init__(self):
        self._items: dict = {}

    def add(self, s: pd.Series, values: np.ndarray) -> None:
        if getattr(s.array, "_pa_array", None) is None or len(values) != len(s):
            return
        self._items[column_key(s)] = (values, s.array)

    def get(self, s: pd.Series):
        """The hashes of ``s`` (uint64 per row, read-only use) or None."""
        if not self._items or getattr(s.array, "_pa_array", None) is None:
            return None
        item = self._items.get(column_key(s))
        return None if item is None else item[0]

    def __len__(self) -> int:
        return len(self._items)


class _Scratch:
    """Scratch arrays of one worker: ``u(i, m)`` uint64, ``i(i, m)`` int64, ``words(n)``."""

    def __init__(self, m):
        self._u = [np.empty(m, dtype=np.uint64) for _ in range(7)]
        self._i = [np.empty(m, dtype=np.int64) for _ in range(4)]
        self._w = np.empty(0, dtype="<u8")

    def u(self, k, m):
        return self._u[k][:m]

    def i(self, k, m):
        return self._i[k][:m]

    def words(self, n):
        if len(self._w) < n:
            self._w = np.empty(max(n, 2 * len(self._w)), dtype="<u8")
        return self._w[:n]


# ======================================================================================
# Column hashers: ``fill(a, b, out, sc)`` writes the hashes of rows [a, b) into ``out``.
# ======================================================================================
class _Const:
    def __init__(self, value):
        self.value = np.uint64(value)

    def fill(self, a, b, out, sc):
        out[:] = self.value


class _Given:
    """Hashes known already (``KnownHashes``)."""

    def __init__(self, values):
        self.values = values

    def fill(self, a, b, out, sc):
        out[:] = self.values[a:b]


class _Table:
    """out = table[codes], MISSING where a code is negative (Categorical: -1) or ``missing``."""

    def __init__(self, codes, table, offset=0, missing=None):
        self.codes, self.offset, self.missing = codes, offset, missing
        self.table = np.append(np.asarray(table, dtype=np.uint64), _MISSING)  # never empty
        self.negative = offset == 0 and len(codes) and int(codes.min()) < 0

    def fill(self, a, b, out, sc):
        codes = self.codes[a:b]
        if self.offset:
            codes = np.subtract(codes, self.offset, out=sc.i(0, b - a), casting="unsafe")
        np.take(self.table, codes, out=out, mode="clip")  # ("clip": threads run in parallel)
        for m in (self.missing[a:b] if self.missing is not None else None,
                  self.codes[a:b] < 0 if self.negative else None):
            if m is not None and m.any():
                out[m] = _MISSING


class _Keyed:
    """out = mix64(seed ^ bits), MISSING where ``missing``."""

    def __init__(self, bits, tag, missing=None):
        self.bits, self.seed, self.missing = bits, np.uint64(_seed(tag)), missing

    def fill(self, a, b, out, sc):
        np.bitwise_xor(self.bits[a:b], self.seed, out=out)
        _mix_(out, sc.u(0, b - a))
        if self.missing is not None:
            m = self.missing[a:b]
            if m.any():
                out[m] = _MISSING


class _Text:
    """UTF-8 text (or bytes) of Arrow string/binary arrays, read from their buffers."""

    def __init__(self, chunks):
        self.chunks = [_TextChunk(c) for c in chunks if len(c)]
        self.starts = np.cumsum([0] + [c.n for c in self.chunks])

    def fill(self, a, b, out, sc):
        i = int(np.searchsorted(self.starts, a, side="right")) - 1
        while a < b:
            c, s = self.chunks[i], int(self.starts[i])
            e = min(b, s + c.n)
            c.fill(a - s, e - s, out[: e - a], sc)
            out, a, i = out[e - a:], e, i + 1


def _words_hash(words, shift, width, out, sc):
    """Text hash of values of ``width`` bytes from their words (views or arrays, one per word
    j); ``shift``: the last word's right shift still to apply, or None."""
    m = len(out)
    out[:] = np.uint64(mix64(_seed(TEXT) ^ width))
    word, tmp = sc.u(1, m), sc.u(0, m)
    for j, v in enumerate(words):
        if shift is not None and j == len(words) - 1:
            np.right_shift(v, shift, out=word)
            np.bitwise_xor(word, _word_key(j), out=word)
        else:
            np.bitwise_xor(v, _word_key(j), out=word)
        np.add(out, _mix_(word, tmp), out=out)


def _run_starts(x, width, m):
    """Rows where a run of equal values starts, or None when runs are short: ``x`` holds the
    m values of ``width`` bytes back to back, so a value equals the one before when its bytes
    equal the bytes ``width`` earlier (compared in units of up to 8 bytes; checked on the first
    rows first, so that unsorted columns pay next to nothing)."""
    if m < 1024:
        return None
    unit = next(u for u in (8, 4, 2, 1) if width % u == 0)
    x = x.view(f"<u{unit}")
    per = width // unit
    for rows in (128, m):
        diff = np.flatnonzero(x[per: rows * per] != x[: (rows - 1) * per])
        if len(diff) > rows * per // 16:
            return None
    changed = diff // per  # sorted
    if len(changed):
        changed = changed[np.concatenate([[True], changed[1:] != changed[:-1]])]
    if len(changed) > m // 16:
        return None
    return np.concatenate([[0], changed + 1])


_TABLE_WORDS = 32  # values up to 256 bytes: length terms from a table


@functools.lru_cache(maxsize=None)
def _length_table(kmax: int) -> np.ndarray:
    """T[L] = mix64(seed(text) ^ L) - sum_{ceil(L/8) <= j < kmax} mix64(0 ^ key_j) for
    L = 0 … 8·kmax: the length term of a value of L bytes, less the terms its zero words get
    when every value of a block is taken to kmax words."""
    tail = [0] * (kmax + 1)
    for j in range(kmax - 1, -1, -1):
        tail[j] = (tail[j + 1] + mix64(int(_word_key(j)))) & _M64
    return np.array([(mix64(_seed(TEXT) ^ L) - tail[(L + 7) // 8]) & _M64
                     for L in range(8 * kmax + 1)], dtype=np.uint64)


class _TextChunk:
    """One Arrow string/binary array; its offsets and data buffers viewed without copying."""

    def __init__(self, arr):
        import pyarrow as pa

        t = arr.type
        if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
            arr = arr.cast(pa.large_binary())
            t = arr.type
        self.n = n = len(arr)
        validity, offsets, data = arr.buffers()[:3]
        wide = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
        item = 8 if wide else 4
        self.offsets = np.frombuffer(offsets, dtype="<i8" if wide else "<i4", count=n + 1,
                                     offset=arr.offset * item).astype(np.int64, copy=False)
        self.data = (np.frombuffer(data, dtype=np.uint8) if data is not None and data.size
                     else np.zeros(0, dtype=np.uint8))
        self.missing = None
        if arr.null_count:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            self.missing = ~bits[arr.offset: arr.offset + n].astype(bool)

    def fill(self, a, b, out, sc):
        m = b - a
        lengths = np.subtract(self.offsets[a + 1: b + 1], self.offsets[a:b], out=sc.i(2, m))
        lmin, lmax = int(lengths.min()), int(lengths.max())
        if lmin == lmax:
            self._fixed(int(self.offsets[a]), lmax, out, sc)
        else:
            self._variable(a, b, lengths, lmin, lmax, out, sc)
        if self.missing is not None:
            miss = self.missing[a:b]
            if miss.any():
                out[miss] = _MISSING

    # ---------------------------------------------------------------- one byte length
    def _strided(self, start, width, m):
        return np.ndarray(shape=(m,), dtype="<u8", buffer=self.data, offset=start,
                          strides=(width,))

    def _fixed(self, base, width, out, sc):
        """Values of ``width`` bytes from ``base`` on: word j of every value is one strided,
        zero-copy view of the data buffer (the last, partial word: the value's last 8 bytes
        shifted right, or for values under 8 bytes 8 bytes masked)."""
        m = len(out)
        if width == 0:
            out[:] = np.uint64(mix64(_seed(TEXT)))
            return
        q, r = divmod(width, 8)
        words = [self._strided(base + 8 * j, width, m) for j in range(q)]
        shift = None
        if r and width > 8:
            words.append(self._strided(base + width - 8, width, m))
            shift = np.uint64(8 * (8 - r))
        elif r:
            if base + (m - 1) * width + 8 <= self.data.size:
                src = self._strided(base, width, m)
            else:  # the last loads would run past the buffer: a padded copy
                pad = np.zeros(m * width + 8, dtype=np.uint8)
                pad[: m * width] = self.data[base: base + m * width]
                src = np.ndarray(shape=(m,), dtype="<u8", buffer=pad, strides=(width,))
            words.append(src & np.uint64((1 << (8 * r)) - 1))
        starts = _run_starts(self.data[base: base + m * width], width, m)
        if starts is None:
            _words_hash(words, shift, width, out, sc)
            return
        # values sorted into runs (codes of a registry sorted by village): one hash per run
        h = np.empty(len(starts), dtype=np.uint64)
        _words_hash([v[starts] for v in words], shift, width, h, _Scratch(len(starts)))
        out[:] = np.repeat(h, np.diff(np.append(starts, m)))

    # ---------------------------------------------------------------- variable length
    def _variable(self, a, b, lengths, lmin, lmax, out, sc):
        o0, o1 = int(self.offsets[a]), int(self.offsets[b])
        m = b - a
        if o1 - o0 > _BYTES and m > 1:  # bounded copies: split the block
            h = m // 2
            self.fill(a, a + h, out[:h], sc)
            self.fill(a + h, b, out[h:], sc)
            return
        tmp = sc.u(0, m)
        kmax = (lmax + 7) >> 3
        # the block's bytes in an aligned buffer A of little-endian words, zero-padded by
        # kmax + 2 words; the 8 bytes at p = 8q + r are (A[q] >> 8r) | (A[q+1] << (64 - 8r))
        nbytes = o1 - o0
        A = sc.words((nbytes + 7) // 8 + kmax + 2)
        u8 = A.view(np.uint8)
        u8[:nbytes] = self.data[o0:o1]
        u8[nbytes:] = 0
        if kmax > _TABLE_WORDS or kmax * m > 2 * ((int(lengths.sum()) + 7 * m) >> 3) + m:
            np.bitwise_xor(lengths.view(np.uint64), np.uint64(_seed(TEXT)), out=out)
            _mix_(out, tmp)
            self._ragged(A, self.offsets[a:b] - o0, lengths, out)
            return
        # every value taken to kmax words, the zero words' terms taken off with the length term
        np.take(_length_table(kmax), lengths, out=out, mode="clip")
        q, t, sh = sc.i(0, m), sc.i(1, m), sc.i(3, m)
        r8, l8, cur, nxt, hi, w = (sc.u(k, m) for k in (1, 2, 3, 4, 5, 6))
        np.subtract(self.offsets[a:b], o0, out=q)
        np.bitwise_and(q, 7, out=t)
        np.left_shift(t.view(np.uint64), np.uint64(3), out=r8)
        np.subtract(_U64, r8, out=l8)
        np.right_shift(q, 3, out=q)
        np.take(A, q, out=cur, mode="clip")
        np.left_shift(lengths, 3, out=t)  # 8·L
        for j in range(kmax):
            np.add(q, 1, out=q)
            np.take(A, q, out=nxt, mode="clip")
            np.right_shift(cur, r8, out=w)
            np.left_shift(nxt, l8, out=hi)  # a shift by 64 (r = 0) gives 0 in numpy
            np.bitwise_or(w, hi, out=w)
            if lmin < 8 * (j + 1):  # some values end in this word: keep their bytes only,
                # w << s >> s with s = 64·(j+1) - 8·L (0 for a full word)
                np.subtract(np.int64(64 * (j + 1)), t, out=sh)
                np.maximum(sh, 0, out=sh)  # over 64 (no byte in this word): shifted out
                np.left_shift(w, sh.view(np.uint64), out=w)
                np.right_shift(w, sh.view(np.uint64), out=w)
            np.bitwise_xor(w, _word_key(j), out=w)
            np.add(out, _mix_(w, tmp), out=out)
            cur, nxt = nxt, cur

    @staticmethod
    def _ragged(A, pos, lengths, out):
        """Lengths far apart (a few long values): every word of every value once, as one flat
        stream, summed per value by a cumulative sum (in blocks of words)."""
        k = (lengths + 7) >> 3
        total = int(k.sum())
        word_start = np.concatenate([[0], np.cumsum(k)])
        acc = np.zeros(len(k), dtype=np.uint64)
        for t0 in range(0, total, _ROWS):
            t1 = min(total, t0 + _ROWS)
            flat = np.arange(t0, t1, dtype=np.int64)
            row = np.searchsorted(word_start, flat, side="right") - 1
            j = flat - word_start[row]
            p = pos[row] + 8 * j
            q, r8 = p >> 3, ((p & 7) << 3).astype(np.uint64)
            w = np.right_shift(A[q], r8) | np.left_shift(A[q + 1], _U64 - r8)
            sh = np.maximum(64 * (j + 1) - 8 * lengths[row], 0).astype(np.uint64)
            w = np.right_shift(np.left_shift(w, sh), sh)
            w ^= (j.astype(np.uint64) + _U1) * _G
            _mix_(w, np.empty_like(w))
            cs = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(w, dtype=np.uint64)])
            r0, r1 = int(row[0]), int(row[-1]) + 1
            lo = np.clip(word_start[r0:r1], t0, t1) - t0
            hi = np.clip(word_start[r0 + 1: r1 + 1], t0, t1) - t0
            acc[r0:r1] += cs[hi] - cs[lo]
        np.add(out, acc, out=out)


# ======================================================================================
# dtype dispatch
# ======================================================================================
def _arrow_chunks(s: pd.Series):
    """The Arrow string/binary chunks of a text Series (zero-copy when Arrow-backed)."""
    import pyarrow as pa

    arr = s.array
    if hasattr(arr, "__arrow_array__") and (
            isinstance(s.dtype, pd.ArrowDtype)
            or (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow")):
        got = arr.__arrow_array__()
    else:
        got = pa.array(s.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    return got.chunks if isinstance(got, pa.ChunkedArray) else [got]


def _is_text_arrow(t) -> bool:
    import pyarrow as pa

    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_string_view(t)
            or pa.types.is_binary_view(t))


def _hasher(s: pd.Series):
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return _Table(s.array.codes, hash_column(pd.Series(dt.categories)))
    if isinstance(dt, pd.StringDtype):
        return _Text(_arrow_chunks(s))
    if isinstance(dt, pd.ArrowDtype):
        import pyarrow as pa

        t = dt.pyarrow_dtype
        if _is_text_arrow(t):
            return _Text(_arrow_chunks(s))
        if pa.types.is_dictionary(t):
            return _hasher(s.astype("category"))
        if pa.types.is_integer(t):
            return _hasher(s.astype("Int64"))
        if pa.types.is_floating(t):
            return _hasher(s.astype("Float64"))
        if pa.types.is_boolean(t):
            return _hasher(s.astype("boolean"))
        return _hasher(s.astype(object))
    if dt == object:
        return _object_hasher(s)
    if pd.api.types.is_bool_dtype(dt):
        missing = s.isna().to_numpy()
        codes = s.to_numpy(dtype=np.int8, na_value=0)
        codes[missing] = -1
        return _Table(codes, _keyed(np.arange(2), BOOL))
    if pd.api.types.is_integer_dtype(dt):
        return _int_hasher(s)
    if pd.api.types.is_float_dtype(dt):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(v)
        bits = (v + 0.0).astype("<f8", copy=False).view("<u8")  # -0.0 + 0.0 == +0.0
        return _Keyed(bits, FLOAT, missing if missing.any() else None)
    if isinstance(dt, pd.DatetimeTZDtype):
        return _hasher(s.dt.tz_convert(None))  # the UTC instant
    if pd.api.types.is_datetime64_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt):
        v = s.to_numpy()
        i8 = v.view(np.int64)
        missing = i8 == np.iinfo(np.int64).min  # NaT
        factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[np.datetime_data(v.dtype)[0]]
        with np.errstate(over="ignore"):
            ns = i8.astype(np.uint64) * np.uint64(factor)
        tag = DATETIME if pd.api.types.is_datetime64_dtype(dt) else TIMEDELTA
        return _Keyed(ns, tag, missing if missing.any() else None)
    return _hasher(s.astype(object))


def _int_hasher(s: pd.Series):
    missing = s.isna().to_numpy() if s.hasnans else None
    unsigned = pd.api.types.is_unsigned_integer_dtype(s.dtype)
    v = s.to_numpy(dtype=np.uint64 if unsigned else np.int64,
                   **({} if missing is None else {"na_value": 0}))
    present = v if missing is None else v[~missing]
    if len(present):
        lo, hi = int(present.min()), int(present.max())
        if hi - lo < max(1 << 16, len(v) // 8) and (not unsigned or hi < 2**63):
            # a small range (household size, years): hash each possible value once
            table = _keyed(np.arange(lo, hi + 1, dtype=np.int64).astype(np.uint64), INTEGER)
            return _Table(v.view(np.int64) if unsigned else v, table, offset=lo, missing=missing)
    return _Keyed(v.astype(np.uint64), INTEGER, missing)


def _object_hasher(s: pd.Series):
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "bytes"):
        import pyarrow as pa

        typ = pa.large_string() if kind == "string" else pa.large_binary()
        return _Text([pa.array(s.to_numpy(dtype=object), type=typ, from_pandas=True)])
    if kind == "empty":
        return _Const(MISSING)
    if kind == "integer":
        return _hasher(s.astype("Int64"))
    if kind in ("floating", "mixed-integer-float", "decimal"):
        return _hasher(s.astype("Float64"))
    if kind == "boolean":
        return _hasher(s.astype("boolean"))
    if kind in ("datetime", "datetime64", "date"):
        return _hasher(pd.to_datetime(s))
    if kind in ("timedelta", "timedelta64"):
        return _hasher(pd.to_timedelta(s))
    # anything else (mixed kinds, periods, …): the text of each value
    return _hasher(s.map(str, na_action="ignore").astype(object))


# ======================================================================================
# Public functions
# ======================================================================================
def _threads(n: int) -> int:
    return max(1, min(_MAX_THREADS, available_cpus(), n // (4 * _ROWS)))


def _run(n: int, work) -> None:
    """``work(a, b)`` over [0, n) in a few contiguous parts, one thread each."""
    k = _threads(n)
    if k == 1:
        work(0, n)
        return
    cuts = [(n * i // k) // _ROWS * _ROWS for i in range(k)] + [n]
    with ThreadPoolExecutor(k) as ex:
        list(ex.map(work, cuts[:-1], cuts[1:]))


def hash_column(values) -> np.ndarray:
    """One 64-bit hash (``np.uint64``) per value of ``values`` (a Series or array-like).

    Equal content gives equal hashes whatever the representation: Arrow- or Python-backed
    strings, object columns of str, Categorical; int64 and Int64; any datetime unit. Missing
    values hash to ``MISSING``. The algorithm is in this module's docstring."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    n = len(s)
    out = np.empty(n, dtype=np.uint64)
    if not n:
        return out
    h = _hasher(s.reset_index(drop=True))

    def work(a0, b0):
        sc = _Scratch(min(n, _ROWS))
        with np.errstate(over="ignore"):
            for a in range(a0, b0, _ROWS):
                b = min(b0, a + _ROWS)
                h.fill(a, b, out[a:b], sc)

    _run(n, work)
    return out


def row_hashes(frame: pd.DataFrame, columns=None, known: KnownHashes | None = None) -> np.ndarray:
    """One 64-bit hash per row of ``frame`` over ``columns`` (default: all) in the order given:
    r = seed(row); r = (r ^ hash_column(c)) * G for each column c — not commutative, so
    swapping the values of two columns changes the row hash. Column hashes in ``known`` are
    used as they are (the same numbers, not computed again)."""
    columns = list(frame.columns if columns is None else columns)
    n = len(frame)
    out = np.empty(n, dtype=np.uint64)
    if not n:
        return out
    given = [known.get(frame[c]) if known else None for c in columns]
    hashers = [_Given(g) if g is not None else _hasher(frame[c].reset_index(drop=True))
               for c, g in zip(columns, given)]
    seed = np.uint64(_seed(ROW))

    def work(a0, b0):
        sc = _Scratch(min(n, _ROWS))
        buf = np.empty(min(n, _ROWS), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for a in range(a0, b0, _ROWS):
                b = min(b0, a + _ROWS)
                r, h = out[a:b], buf[: b - a]
                r[:] = seed
                for hasher in hashers:
                    hasher.fill(a, b, h, sc)
                    np.bitwise_xor(r, h, out=r)
                    np.multiply(r, _G, out=r)

    _run(n, work)
    return out
