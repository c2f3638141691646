"""Permanent random numbers (永久随机数): one uniform per unit derived from (seed, unit id).

The number depends only on the seed, a salt naming the stage, and the unit's identifier, so the
same registry content, plan and seed give the same sample whatever the row order of the file and on
any machine (docs/methodology/sampling.md §2). Hashing is SipHash-2-4 over the UTF-8 bytes of the id
(pandas' C implementation, vectorised) keyed by a BLAKE2b digest of (seed, salt).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

_SCALE = 2.0 ** -53


def hash_key(seed: int, salt: str) -> str:
    """16-character key for SipHash derived from (seed, salt) by BLAKE2b (stable across machines)."""
    digest = hashlib.blake2b(f"evalkit-prn/v1/{int(seed)}/{salt}".encode("utf-8"), digest_size=8)
    return digest.hexdigest()


def prn(ids, seed: int, salt: str = "") -> np.ndarray:
    """Uniform(0, 1) permanent random numbers for unit identifiers ``ids`` (array-like of str).

    Identical ids get identical numbers; values lie strictly inside (0, 1). Ids are compared as
    strings, so ``7`` and ``"7"`` get the same number.
    """
    s = ids.reset_index(drop=True) if isinstance(ids, pd.Series) else pd.Series(np.asarray(ids, dtype=object))
    if len(s) == 0:
        return np.empty(0, dtype=float)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if s.dtype == object:
        if pd.api.types.infer_dtype(s, skipna=False) != "string":
            s = s.astype(str)
    elif not pd.api.types.is_string_dtype(s.dtype):
        s = s.astype(str)
    h = pd.util.hash_pandas_object(s, index=False, hash_key=hash_key(seed, salt),
                                   categorize=False).to_numpy(dtype=np.uint64)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _SCALE


def prn_scalar(key: str, seed: int, salt: str = "") -> float:
    """One permanent random number (e.g. the random start of a systematic draw in one stratum)."""
    return float(prn([key], seed, salt)[0])
