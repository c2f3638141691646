"""Permanent random numbers (永久随机数): one uniform per unit derived from (seed, unit id).

The number depends only on the seed, a salt naming the stage, and the unit's identifier, so the
same registry content, plan and seed give the same sample whatever the row order of the file and on
any machine (docs/methodology/sampling.md §2).

Version 2 (the default since evalkit 0.2): the id's 64-bit text hash (``evalkit.hashing``, read
straight from the Arrow buffers) mixed twice with a 128-bit key from BLAKE2b(seed, salt) through the
splitmix64 finaliser. Version 1 (evalkit 0.1): SipHash-2-4 of the id (pandas' implementation) keyed by
BLAKE2b(seed, salt); kept so that samples drawn with 0.1 still verify. A sample's manifest records
its version.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

_SCALE = 2.0 ** -53
#: PRN version used for new draws (recorded in the manifest)
PRN_VERSION = 2
PRN_DESCRIPTION = {
    1: "SipHash-2-4 keyed by BLAKE2b(seed, stage) over unit id (evalkit-prn/v1)",
    2: "splitmix64(splitmix64(texthash(id) ^ k1) ^ k2), (k1, k2) = BLAKE2b-128(seed, stage) (evalkit-prn/v2)",
}


def version_of(description: str | None) -> int:
    """PRN version named in a manifest's ``prn`` entry (1 when the entry predates versions)."""
    for v in sorted(PRN_DESCRIPTION, reverse=True):
        if description and f"evalkit-prn/v{v}" in description:
            return v
    return 1


def hash_key(seed: int, salt: str) -> str:
    """16-character key for SipHash derived from (seed, salt) by BLAKE2b (stable across machines; v1)."""
    digest = hashlib.blake2b(f"evalkit-prn/v1/{int(seed)}/{salt}".encode("utf-8"), digest_size=8)
    return digest.hexdigest()


def key_pair(seed: int, salt: str) -> tuple[np.uint64, np.uint64]:
    """(k1, k2): the two little-endian 64-bit halves of BLAKE2b-128("evalkit-prn/v2/{seed}/{salt}")."""
    digest = hashlib.blake2b(f"evalkit-prn/v2/{int(seed)}/{salt}".encode("utf-8"), digest_size=16).digest()
    return (np.uint64(int.from_bytes(digest[:8], "little")),
            np.uint64(int.from_bytes(digest[8:], "little")))


def _as_text(ids) -> pd.Series:
    s = ids.reset_index(drop=True) if isinstance(ids, pd.Series) else pd.Series(np.asarray(ids, dtype=object))
    if isinstance(s.dtype, pd.CategoricalDtype):
        if pd.api.types.is_string_dtype(s.cat.categories.dtype):
            return s
        s = s.astype(object)
    if s.dtype == object:
        if len(s) and pd.api.types.infer_dtype(s, skipna=False) != "string":
            s = s.astype(str)
    elif not pd.api.types.is_string_dtype(s.dtype):
        s = s.astype(str)
    return s


def prn(ids, seed: int, salt: str = "", version: int = PRN_VERSION) -> np.ndarray:
    """Uniform(0, 1) permanent random numbers for unit identifiers ``ids`` (array-like of str).

    Identical ids get identical numbers; values lie strictly inside (0, 1). Ids are compared as
    strings, so ``7`` and ``"7"`` get the same number.
    """
    s = _as_text(ids)
    if len(s) == 0:
        return np.empty(0, dtype=float)
    if version == 1:
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        h = pd.util.hash_pandas_object(s, index=False, hash_key=hash_key(seed, salt),
                                       categorize=False).to_numpy(dtype=np.uint64)
    elif version == 2:
        from evalkit.hashing import hash_column

        return prn_from_hashes(hash_column(s), seed, salt, copy=False)
    else:
        raise ValueError(f"unknown PRN version {version!r} (known: {sorted(PRN_DESCRIPTION)})")
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _SCALE


def prn_from_hashes(hashes: np.ndarray, seed: int, salt: str = "", *, copy: bool = True) -> np.ndarray:
    """Version-2 permanent random numbers from the ids' ``evalkit.hashing.hash_column`` values
    (what ``prn(ids, seed, salt)`` computes from them): lets the draw reuse the hashes the registry
    checks made instead of gathering and hashing the id strings again."""
    from evalkit.hashing import mix64_array

    k1, k2 = key_pair(seed, salt)
    h = np.array(hashes, dtype=np.uint64, copy=True) if copy else hashes
    h ^= k1
    mix64_array(h)
    h ^= k2
    mix64_array(h)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _SCALE


def prn_scalar(key: str, seed: int, salt: str = "", version: int = PRN_VERSION) -> float:
    """One permanent random number (e.g. the random start of a systematic draw in one stratum)."""
    return float(prn([key], seed, salt, version)[0])
