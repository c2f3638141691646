"""``draw_sample``: apply a :class:`SamplingPlan` to a registry with a seed → :class:`Sample`.

Every stage is vectorised over all its strata at once; unit order never matters because groups and
ties are ordered by sorted identifiers and randomness comes from permanent random numbers
(methodology §2–§3). The design carried for variance estimation is described in methodology §5.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from evalkit.counting import counts, sorted_codes, used
from evalkit.errors import PlanError
from evalkit.registry.validate import duplicated_all
from evalkit.sampling.plan import SamplingPlan, Stage
from evalkit.sampling.prn import PRN_DESCRIPTION, PRN_VERSION, prn, prn_from_hashes
from evalkit.sampling.select import select_in_groups
from evalkit.threads import parallel
from evalkit.sampling.size import allocate_grouped, allocation_measure
from evalkit.tabular import take_rows

# registry columns copied into Sample.households when present (contracts §5)
BASE_COLUMNS = (
    "household_id", "province_code", "city_code", "county_code", "township_code", "village_code",
    "province_name", "city_name", "county_name", "township_name", "village_name",
    "village_type", "registry_status", "hh_size", "monitoring", "head_name", "head_id_number", "phone",
)
NA_LABEL = "NA"


class PlanWarning(UserWarning):
    """A plan could not be applied exactly as written (take-all, empty stratum …); recorded in the manifest."""


def _stratum_label_for_key(key) -> str:
    if isinstance(key, tuple):
        return "/".join(_stratum_label_for_key(k) for k in key)
    if key is None or (isinstance(key, float) and np.isnan(key)):
        return NA_LABEL
    return str(key)


def _per_group(value, labels: np.ndarray, default, what: str, stage: Stage) -> np.ndarray:
    """Look up an int/float/dict parameter for each group's stratum label."""
    if isinstance(value, dict):
        table = {_stratum_label_for_key(k): v for k, v in value.items()}
        fallback = table.get("*", table.get("default", None))
        missing = sorted({lab for lab in labels if lab not in table}) if fallback is None else []
        if missing:
            raise PlanError(
                f"stage '{stage.unit}': {what} names no value for strata {missing[:8]} (dict keys: "
                f"{sorted(table)[:8]}); add them or a '*' entry / 分层 {missing[:8]} 未指定{what}。")
        return np.array([float(table.get(lab, fallback)) for lab in labels], float)
    if value is None:
        return np.full(len(labels), float(default))
    return np.full(len(labels), float(value))


def _categorical_codes(values: pd.Series):
    """(codes, uniques) of a Categorical column with the categories present, in sorted order: an
    integer remap (a scatter to mark the codes in use + gather), no hashing of the values."""
    cats = values.cat.categories
    codes = values.array.codes
    C = len(cats)
    has_na = bool(len(codes)) and int(codes.min()) < 0
    present = used(codes, C)
    ordered = cats.is_monotonic_increasing
    if ordered and not has_na and present.all():
        return codes, cats  # the canonical registry's case: already sorted codes, no gather
    order = np.argsort(np.asarray(cats.astype(str), dtype=object), kind="stable") \
        if not ordered else np.arange(C)
    keep = order[present[order]]
    remap = np.full(C + 1, -1, np.int32 if C < 2 ** 31 - 1 else np.int64)  # -1 (missing) → last slot
    remap[keep] = np.arange(len(keep))
    return remap[codes], cats[keep]


def _unit_codes(values: pd.Series, sort: bool = True):
    """Factorisation; sorted (codes independent of row order) except for the final stage, where
    order only breaks exact PRN ties, which are detected and then redone sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(values.cat.categories):
        codes, uniques = _categorical_codes(values)
        return codes, uniques, bool((codes < 0).any())
    codes, uniques = pd.factorize(values, sort=sort, use_na_sentinel=True)
    if (codes < 0).any():
        return codes, uniques, True
    return codes, uniques, False


def draw_sample(registry, plan: SamplingPlan, seed: int, *, created: str | None = None,
                prn_version: int = PRN_VERSION, _sorted_final: bool = False):
    """Draw a multi-stage sample (抽样) from ``registry`` by ``plan`` with random ``seed``.

    Returns a :class:`evalkit.sampling.sample.Sample` holding one row per selected household (main
    and reserve) with per-stage units, strata, inclusion probabilities, weights and the design.
    The same registry content, plan and seed always give the same sample (any row order, any machine).
    ``prn_version`` selects the permanent-random-number algorithm (``prn.py``; verify passes the
    version a saved manifest records, so samples drawn by older evalkit versions still re-derive).
    """
    from evalkit import __version__
    from evalkit.sampling.sample import Sample

    if isinstance(plan, dict):
        plan = SamplingPlan.from_dict(plan)
    if not isinstance(plan, SamplingPlan):
        raise PlanError(f"plan must be a SamplingPlan (or dict), got {type(plan).__name__}.")
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise PlanError(f"seed must be an integer (随机种子须为整数), got {seed!r}.") from None
    hh = registry.households if hasattr(registry, "households") else registry
    plan.check_registry(hh)
    if len(hh) == 0:
        raise PlanError("the registry has no households (名册为空).")
    warn_msgs: list[str] = []
    # the registry fingerprint (for the manifest) is computed on a second thread while the
    # stages are drawn: both only read the households, and the hashing and sorts release the GIL
    fp_job = _Fingerprint(registry)
    try:
        out = _draw(hh, plan, seed, prn_version, _sorted_final, warn_msgs,
                    known=getattr(registry, "_known_hashes", None))
    finally:
        fp_job.join()  # never leave the thread behind, whatever happened
    fingerprint = fp_job.result()
    if out is None:  # exact PRN ties or a duplicated id: redo on the sorted path
        return draw_sample(registry, plan, seed, created=created, prn_version=prn_version,
                           _sorted_final=True)
    manifest = {
        "seed": seed,
        "plan": plan.to_dict(),
        "registry_fingerprint": fingerprint,
        "registry_fingerprint_version": 2,
        "registry_households": int(len(hh)),
        "evalkit_version": __version__,
        "created": created or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "n_main": int((out["role"] == "main").sum()),
        "n_reserve": int((out["role"] == "reserve").sum()),
        "warnings": warn_msgs,
        "sample_hash": sample_hash(out),
        "sample_hash_version": SAMPLE_HASH_VERSION,
        "prn": PRN_DESCRIPTION[prn_version],
    }
    # the evaluation year, province and survey date travel with the sample, so the poverty
    # line and thresholds can be looked up from a saved sample alone
    reg_meta = getattr(registry, "meta", None) or {}
    for key in ("year", "province_code", "survey_date"):
        if reg_meta.get(key) is not None:
            manifest[key] = reg_meta[key]
    for m in warn_msgs:
        warnings.warn(m, PlanWarning, stacklevel=2)
    return Sample(out, manifest=manifest, plan=plan)


class _Fingerprint:
    """``registry.fingerprint``, computed on a background thread when it is not known yet and the
    registry is large (``evalkit.threads.parallel``; None for a bare DataFrame); ``result()`` waits for it and re-raises its
    error in the caller's thread."""

    def __init__(self, registry):
        self.registry, self.thread, self.box = registry, None, {}
        if not hasattr(type(registry), "fingerprint") or "fingerprint" in vars(registry) \
                or not parallel(len(registry.households)):
            return
        import threading

        self.thread = threading.Thread(target=self._work, name="evalkit-fingerprint", daemon=True)
        self.thread.start()

    def _work(self):
        try:
            self.box["value"] = self.registry.fingerprint
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self.box["error"] = exc

    def join(self):
        if self.thread is not None:
            self.thread.join()

    def result(self):
        if self.thread is None:  # small, known already, or a bare DataFrame: no thread was started
            return self.registry.fingerprint if hasattr(type(self.registry), "fingerprint") else None
        self.join()
        if "error" in self.box:
            raise self.box["error"]
        return self.box["value"]


def _draw(hh, plan, seed, prn_version, _sorted_final, warn_msgs, known=None):
    """The stages of ``draw_sample``: Sample.households, or None when the draw must be redone on
    the sorted path (exact PRN ties, duplicated ids). ``known``: id hashes the registry checks made
    (``evalkit.hashing.KnownHashes``), from which a final SRS stage takes its random numbers
    without gathering the id text of every household in the selected villages."""
    scope = None  # registry rows still in play (None while that is every row, in order)
    prev_uids = None  # unit ids of the previous stage (parent labels)
    parent_codes = None  # per row in scope, the previous stage's unit code (None at stage 1)

    def col_in_scope(name):
        return hh[name] if scope is None else take_rows(hh[name], scope)

    K = len(plan.stages)
    rec: list[dict] = []  # per stage, arrays aligned with scope
    for k, st in enumerate(plan.stages, 1):
        one_per_row = k == K and not _sorted_final
        unit_hash = _known_unit_hashes(hh, st, known, scope, prn_version) if one_per_row else None
        if unit_hash is not None:
            # one unit per row, none missing, hashes known: unit i is row i of the scope, and its
            # label is read (in _assemble) for the selected rows only
            ucodes = np.arange(len(unit_hash), dtype=np.int64)
            uids, has_na = None, False
        elif one_per_row:
            unit_s = col_in_scope(st.unit)
            # final stage: one row per household, no factorisation needed; duplicated ids show up as
            # exact PRN ties or duplicated output rows and are then re-checked on the sorted path
            has_na = bool(unit_s.isna().any())
            ucodes = np.arange(len(unit_s), dtype=np.int64)
            uids = pd.Index(unit_s.array if not has_na else unit_s.fillna("").array)
            if has_na:
                ucodes = np.where(unit_s.isna().to_numpy(), -1, ucodes)
        else:
            unit_s = col_in_scope(st.unit)
            ucodes, uids, has_na = _unit_codes(unit_s, sort=True)
        if has_na:
            bad = np.flatnonzero(ucodes < 0)[:5] + 2
            raise PlanError(f"column '{st.unit}' is empty in {int((ucodes < 0).sum())} registry rows "
                            f"(e.g. rows {bad.tolist()}) / 单位编码缺失，无法抽样。")
        U = len(ucodes) if uids is None else len(uids)
        n_rows = len(hh) if scope is None else len(scope)
        if k == K and U != n_rows:
            dup = unit_s.to_numpy()[np.flatnonzero(np.bincount(ucodes)[ucodes] > 1)[:5]]
            raise PlanError(f"household_id is not unique in the registry (e.g. {list(dup)}) / 户编号重复。")
        # each unit must lie within one parent unit (with one row per unit it trivially does)
        if parent_codes is None:
            u_parent = np.zeros(U, np.int64)
        elif one_per_row:
            u_parent = parent_codes.astype(np.int64, copy=False)
        else:
            u_parent, bad = _per_unit(parent_codes, ucodes, U)
            if bad.any():
                ex = uids[np.unique(ucodes[bad])[:5]]
                raise PlanError(f"units of '{st.unit}' lie in several '{plan.stages[k - 2].unit}' units "
                                f"(e.g. {list(ex)}): stages must be nested / 各阶段单位须逐级嵌套。")
            u_parent = u_parent.astype(np.int64, copy=False)
        # strata: constant within unit
        s_code_u = np.zeros(U, np.int64)
        s_labels_u = None  # no strata: every unit in the stratum ''
        if st.strata:
            parts = []
            for col in st.strata:
                c, uniq = _factorize_labels(col_in_scope(col))
                cu, badrow = _per_unit(c, ucodes, U)
                if badrow.any():
                    ex = uids[np.unique(ucodes[badrow])[:5]]
                    raise PlanError(
                        f"stratum column '{col}' varies within units of '{st.unit}' (e.g. {list(ex)}); a unit "
                        f"must belong to one stratum / 分层变量在同一抽样单位内取值不一致。")
                s_code_u = s_code_u * (len(uniq) + 1) + cu
                parts.append(np.asarray(uniq, dtype=object)[cu])
            s_labels_u = parts[0].astype(object)
            for p in parts[1:]:
                s_labels_u = s_labels_u + "/" + p.astype(object)
        # groups = parent × stratum, codes in sorted order (row-order independent)
        gkey = u_parent * (s_code_u.max() + 1) + s_code_u if st.strata else u_parent
        gcodes, gkeys = sorted_codes(gkey)
        G = len(gkeys)
        g_first = np.empty(G, np.int64)
        g_first[gcodes[::-1]] = np.arange(U)[::-1]
        g_stratum = s_labels_u[g_first] if s_labels_u is not None else np.full(G, "", dtype=object)
        g_parent_code = u_parent[g_first]
        if prev_uids is None:
            g_parent = np.full(G, "", dtype=object)
        else:
            g_parent = np.asarray(prev_uids, dtype=object)[g_parent_code].astype(str).astype(object)
        s_lab = np.where(g_stratum == "", "*", g_stratum).astype(object)
        g_label = np.where(g_parent == "", s_lab, g_parent + "|" + s_lab).astype(object)
        N_g = np.bincount(gcodes, minlength=G)
        # size measure
        size_u = None
        if st.method in ("pps", "pps_systematic"):
            if st.size == "households":
                size_u = counts(ucodes, U).astype(float)
            elif st.size == "persons":
                size_u = counts(ucodes, U, weights=pd.to_numeric(col_in_scope("hh_size"), errors="coerce")
                                .to_numpy(float))
            else:
                col = pd.to_numeric(col_in_scope(st.size), errors="coerce").to_numpy(float)
                if np.isnan(col).any():
                    rows = np.flatnonzero(np.isnan(col))[:5]
                    raise PlanError(f"size column '{st.size}' is missing or not numeric in "
                                    f"{int(np.isnan(col).sum())} rows (e.g. household "
                                    f"{list(col_in_scope('household_id').to_numpy()[rows])}) / 规模指标缺失。")
                size_u = counts(ucodes, U, weights=col)
            from evalkit.sampling.pps import check_sizes
            check_sizes(size_u, uids, f"stage '{st.unit}' (size '{st.size}')")
        # sample size per group
        n_g = _group_sizes(st, g_stratum, g_parent_code, N_g, size_u, gcodes, warn_msgs, k)
        take_all = n_g > N_g
        if take_all.any():
            ex = [str(x) for x in g_label[take_all][:3]]
            warn_msgs.append(f"stage {k} ({st.unit}): {int(take_all.sum())} strata have fewer units than the "
                             f"sample size and are taken whole (e.g. {ex}) / {int(take_all.sum())} 个层单位数不足，全部抽取。")
        n_g = np.minimum(n_g, N_g).astype(np.int64)
        zero = (n_g == 0) & (N_g > 0)
        if zero.any():
            warn_msgs.append(f"stage {k} ({st.unit}): {int(zero.sum())} strata get no sample (n = 0), their "
                             f"units cannot be drawn (e.g. {[str(x) for x in g_label[zero][:3]]}) / 样本量为 0 的层。")
        # permanent random numbers and systematic starts
        if uids is None:
            u = prn_from_hashes(unit_hash, seed, f"stage{k}:{st.unit}", copy=False)  # a fresh array already
        else:
            u = prn(pd.Series(uids.array if isinstance(uids, pd.Index) else uids), seed, f"stage{k}:{st.unit}",
                    prn_version)
        start = None
        sort_code = None
        if st.method in ("systematic", "pps_systematic"):
            start = prn(pd.Series(g_label.astype(str)), seed, f"start{k}:{st.unit}", prn_version)
            sort_code = _sort_codes(col_in_scope, st, ucodes, U)
        sel = select_in_groups(st.method, gcodes, n_g, u, size=size_u, sort_code=sort_code, start=start,
                               n_reserve=int(st.reserves) if k == K else 0, tiebreak=None,
                               exact_pi=st.exact_pi)
        if sel.ties and k == K and U > 1 and not _sorted_final:
            # exact PRN ties within a group (probability ~1e-7 per draw): re-rank on sorted ids
            return None
        keep_u = sel.selected | (sel.reserve if k == K else False)
        kept_all = bool(np.all(keep_u))  # every unit kept (take-all stage): every row stays
        keep_rows = None if kept_all else keep_u[ucodes]
        for r in rec:
            r["ucode"] = r["ucode"] if kept_all else r["ucode"][keep_rows]
        rc = ucodes if kept_all else ucodes[keep_rows]
        rec.append({"ucode": rc, "uids": uids, "unit": st.unit, "gcode_u": gcodes, "g_label": g_label, "g_stratum": g_stratum,
                    "pi_u": sel.pi, "N_g": N_g, "n_g": n_g, "rank_u": sel.rank, "reserve_u": sel.reserve})
        if not kept_all:
            scope = np.flatnonzero(keep_rows) if scope is None else scope[keep_rows]
        prev_uids = uids
        parent_codes = rc

    out = _assemble(hh, np.arange(len(hh)) if scope is None else scope, rec, plan)
    if not _sorted_final and duplicated_all(out["household_id"]).any():
        return None
    return out


def _known_unit_hashes(hh, st: Stage, known, scope, prn_version):
    """The hashes of the final stage's unit ids for the rows in scope, when the registry checks
    computed them (``known``) and the fast path applies: an SRS or take-all stage (their only use of
    the ids is the random number), PRN version 2, no id missing. Else None (the ids are gathered)."""
    if known is None or prn_version != 2 or st.method not in ("srs", "all") or st.unit not in hh.columns:
        return None
    col = hh[st.unit]
    h = known.get(col)
    if h is None or col.array._pa_array.null_count:
        return None
    return h.copy() if scope is None else h[scope]


def _factorize_labels(values: pd.Series):
    """Sorted codes and string labels of a stratum/sort column (missing → 'NA')."""
    if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(values.cat.categories):
        c, uniq = _categorical_codes(values)
        if (c < 0).any():
            c = np.where(c < 0, len(uniq), c)
            labels = np.array([str(x) for x in uniq] + [NA_LABEL], dtype=object)
            order = np.argsort(labels, kind="stable")
            remap = np.empty(len(labels), np.int64)
            remap[order] = np.arange(len(labels))
            return remap[c], labels[order]
        return c, np.asarray(uniq, dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(values.dtype) \
            or pd.api.types.is_integer_dtype(values.dtype):
        c, uniq = pd.factorize(values, sort=True, use_na_sentinel=True)
        labels = np.array([str(x) for x in uniq] + [NA_LABEL], dtype=object)
        c = np.where(c < 0, len(uniq), c)
        order = np.argsort(labels, kind="stable")
        remap = np.empty(len(labels), np.int64)
        remap[order] = np.arange(len(labels))
        return remap[c], labels[order]
    c, uniq = pd.factorize(values.astype("string").fillna(NA_LABEL), sort=True)
    return c, np.asarray(uniq, dtype=object)


def _per_unit(values: np.ndarray, ucodes: np.ndarray, U: int):
    """(value of each unit, mask of the rows whose value differs from their unit's): one scatter
    and one gather, for columns that must be constant within a unit (parent unit, stratum). When the
    mask is empty every row agrees, so which row's value was kept does not matter."""
    per_unit = np.zeros(U, values.dtype)
    per_unit[ucodes] = values
    return per_unit, per_unit[ucodes] != values


def _sort_codes(col_in_scope, st: Stage, ucodes, U) -> np.ndarray:
    """Unit order for systematic methods: by the sort columns, then by unit id. A sort column that
    varies within a unit counts by its smallest value there (whatever the row order)."""
    keys = [np.arange(U)]  # unit codes are already sorted ids: final tiebreak
    for col in reversed(st.sort):
        c, _ = _factorize_labels(col_in_scope(col))
        per_unit = np.full(U, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(per_unit, ucodes, c)
        keys.append(per_unit)
    order = np.lexsort(keys)
    code = np.empty(U, np.int64)
    code[order] = np.arange(U)
    return code


def _group_sizes(st: Stage, g_stratum, g_parent_code, N_g, size_u, gcodes, warn_msgs, k) -> np.ndarray:
    """n per group from the stage's n / fraction / allocation, bounds applied."""
    labels = np.where(g_stratum == "", "*", g_stratum).astype(str)
    present = set(labels)
    for what in ("n", "fraction", "min_n", "max_n"):
        val = getattr(st, what)
        if isinstance(val, dict):
            unused = sorted({_stratum_label_for_key(key) for key in val} - present - {"*", "default"})
            if unused:
                warn_msgs.append(f"stage {k} ({st.unit}): {what} names strata with no units in the frame "
                                 f"{unused[:8]} (empty strata; check spelling) / 这些层在名册中没有单位。")
    if st.method == "all":
        return N_g.astype(float)
    min_n = _per_group(st.min_n, labels, 0, "min_n", st)
    max_n = _per_group(st.max_n, labels, np.inf, "max_n", st)
    if st.fraction is not None:
        f = _per_group(st.fraction, labels, 0, "fraction", st)
        n = np.ceil(f * N_g - 1e-9)
        return np.clip(n, np.minimum(min_n, N_g), max_n)
    if st.allocation == "fixed":
        n = _per_group(st.n, labels, 0, "n", st)
        return np.maximum(np.minimum(n, max_n), min_n)
    # allocate a total per parent across its strata
    pcodes, _ = pd.factorize(g_parent_code, sort=True)
    P = int(pcodes.max()) + 1
    measure = allocation_measure(st.allocation, N_g, labels, st.rates, st.power)
    total = np.full(P, float(st.n))
    cap_total = np.bincount(pcodes, weights=np.minimum(N_g, max_n), minlength=P)
    short = total > cap_total
    if short.any():
        warn_msgs.append(f"stage {k} ({st.unit}): {int(short.sum())} parent units have fewer units than n={st.n}; "
                         f"all are taken / 上级单位内单位数不足，全部抽取。")
    order_key = pd.factorize(labels, sort=True)[0]
    return allocate_grouped(pcodes, N_g, total, measure, min_n, max_n, order_key).astype(float)


def _assemble(hh, rows, rec, plan) -> pd.DataFrame:
    """Build Sample.households (contracts §5) with design columns (methodology §5)."""
    cols = [c for c in BASE_COLUMNS if c in hh.columns]
    extra = []
    for st in plan.stages:
        extra += [c for c in [*st.strata, *st.sort] if c not in cols and c not in extra and c in hh.columns]
    K = len(rec)
    # deterministic order (content-defined, never row order): stage units in id order, then the cell,
    # main before reserve, rank. Codes of stages < K are sorted-id codes; ranks are unique in a cell.
    last = rec[-1]
    sort_keys = [last["rank_u"][last["ucode"]], last["reserve_u"][last["ucode"]].astype(np.int8),
                 last["gcode_u"][last["ucode"]]] + [rec[k]["ucode"] for k in range(K - 2, -1, -1)]
    order = np.lexsort(sort_keys)
    rows = rows[order]
    rec = [dict(r, ucode=r["ucode"][order]) for r in rec]
    registry_cols = cols + extra

    def take_registry_columns():
        return {c: take_rows(hh[c], rows).reset_index(drop=True) for c in registry_cols}

    # the registry's columns are taken on a second thread while the design columns are built here
    # (the takes release the GIL); a final stage with one unit per row reads its labels from them
    pool = ThreadPoolExecutor(1, thread_name_prefix="evalkit-assemble") if parallel(len(rows)) else None
    try:
        taken = pool.submit(take_registry_columns) if pool is not None else None
        return _assemble_columns(hh, rows, rec, plan, K, taken, take_registry_columns)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _assemble_columns(hh, rows, rec, plan, K, taken, take_registry_columns) -> pd.DataFrame:
    pis, fpcs = [], []
    unit_dicts, unit_codes, group_dicts, group_codes = [], [], [], []
    new = {}
    lazy = None  # (k, unit) of a final stage whose labels come from the registry columns
    for k, r in enumerate(rec, 1):
        uc = r["ucode"]
        gc = r["gcode_u"][uc]
        if r["uids"] is None:  # one unit per row (_known_unit_hashes): labelled below, from the rows taken
            lazy = (k, r["unit"])
            u_dict, uc_label = None, np.arange(len(rows))
            new[f"unit_{k}"] = None  # keeps the column order
        else:
            u_dict, uc_label = _str_array(r["uids"]), uc
            new[f"unit_{k}"] = _take_str(u_dict, uc_label)
        g_dict = _str_array(r["g_label"])
        s_dict = _str_array(np.where(np.asarray(r["g_stratum"], dtype=object) == "", "*", r["g_stratum"]))
        pi_k = r["pi_u"][uc]
        fpc_k = r["N_g"][gc].astype(float)
        new[f"stratum_{k}"] = _take_str(s_dict, gc)
        new[f"pi_{k}"] = pi_k
        new[f"fpc_{k}"] = fpc_k
        pis.append(pi_k)
        fpcs.append(fpc_k)
        unit_dicts.append(u_dict)
        unit_codes.append(uc_label)
        group_dicts.append(g_dict)
        group_codes.append(gc)
    pis = np.vstack(pis)
    pi = np.prod(pis, axis=0)
    new["pi"] = pi
    new["weight"] = 1.0 / pi
    last = rec[-1]
    final_reserve = last["reserve_u"][last["ucode"]]
    new["cell"] = _take_str(group_dicts[-1], group_codes[-1])
    new["rank"] = last["rank_u"][last["ucode"]].astype(np.int64)
    new["role"] = _text_column(["main", "reserve"], final_reserve.astype(np.int8))
    new["active"] = ~final_reserve
    # design: first non-certainty stage is the PSU stage (ultimate cluster), methodology §5
    noncert = pis < 1.0 - 1e-12
    kstar = np.where(noncert.any(axis=0), noncert.argmax(axis=0), K - 1)
    idx = np.arange(len(rows))
    new["design_stratum"] = _take_stage(group_dicts, group_codes, kstar)
    new["design_psu"] = None  # below, once every stage's unit labels are known
    f_star = np.vstack(fpcs)[kstar, idx]
    equal_last = plan.stages[-1].method in ("srs", "systematic", "all")
    exact_fpc = (kstar == K - 1) & (equal_last | ~noncert.any(axis=0))
    new["design_fpc"] = np.where(exact_fpc, f_star, np.inf)
    registry = taken.result() if taken is not None else take_registry_columns()
    if lazy is not None:
        k, unit = lazy
        labels = registry[unit] if unit in registry else take_rows(hh[unit], rows)
        unit_dicts[k - 1] = _str_array(labels.array)
        new[f"unit_{k}"] = _take_str(unit_dicts[k - 1], unit_codes[k - 1])
    new["design_psu"] = _take_stage(unit_dicts, unit_codes, kstar)
    new["design_stratum"] = _collapse_lonely(new["design_stratum"], new["design_psu"], new["design_fpc"],
                                             ~final_reserve, [g for g in group_dicts], kstar)
    data = dict(registry)
    data.update((k, v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in new.items())
    return pd.DataFrame(data, copy=False)


COLLAPSED = "合并层"


def _collapse_lonely(stratum: pd.Series, psu: pd.Series, fpc: np.ndarray, main: np.ndarray, group_dicts,
                     kstar) -> pd.Series:
    """Merge a with-replacement design stratum holding a single sampled PSU with the other such strata
    of the same parent unit (label ``<parent>|合并层``), so its variance can be estimated
    (collapsed strata, Wolter 2007 §2.5; methodology §5). Strata still alone stay as they are."""
    wr = np.isinf(fpc) & main
    if not wr.any():
        return stratum
    codes, labels = pd.factorize(stratum, sort=True)
    labels = np.asarray(labels, dtype=object)
    pcodes = pd.factorize(psu)[0]
    P = int(pcodes.max()) + 1
    pairs = np.unique(codes[wr].astype(np.int64) * P + pcodes[wr])
    n_psu = np.bincount(pairs // P, minlength=len(labels))
    lonely = np.flatnonzero(n_psu == 1)
    if not len(lonely):
        return stratum
    parent = np.array([lab.rsplit("|", 1)[0] if "|" in lab else "" for lab in labels], dtype=object)
    has_wr = n_psu > 0
    lonely_parents = set(parent[lonely])
    merge = has_wr & np.isin(parent, list(lonely_parents))
    # merge only where the parent has ≥ 2 with-replacement strata (otherwise nothing to merge with)
    counts = pd.Series(merge).groupby(parent).transform("sum").to_numpy()
    merge &= counts >= 2
    if not merge.any():
        return stratum
    new_labels = labels.copy()
    new_labels[merge] = np.where(parent[merge] == "", COLLAPSED, parent[merge] + "|" + COLLAPSED)
    out = pd.Series(new_labels[codes], dtype="string")
    return out


def _str_array(values):
    """Arrow string array of unit or group labels (uses the Arrow buffer when there is one)."""
    import pyarrow as pa

    if isinstance(values, pd.Index):
        values = values.array
    if hasattr(values, "__arrow_array__"):
        arr = values.__arrow_array__()
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return arr.cast(pa.string())
    return pa.array(np.asarray(values, dtype=object).astype(str), type=pa.string())


def _take_str(dictionary, codes) -> pd.Series:
    """dictionary[codes] as a pandas string column (no per-row Python objects)."""
    import pyarrow as pa

    arr = dictionary.take(pa.array(np.asarray(codes, dtype=np.int64)))
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([arr]), dtype=pd.StringDtype("pyarrow")), copy=False)


#: the dtype pandas gives a column of Python text: 'str' (Arrow-backed) from pandas 3, else object
_TEXT_DTYPE = pd.Series(["x"]).dtype


def _text_column(labels, codes) -> pd.Series:
    """labels[codes] as the column pandas would build from the same Python strings (same dtype),
    taken in Arrow when that is the storage: 400 000 roles in 7 ms instead of 90 ms."""
    import pyarrow as pa

    if isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "pyarrow":
        arr = pa.array(list(labels), pa.large_string()).take(pa.array(np.asarray(codes)))
        return pd.Series(pd.array(arr, dtype=_TEXT_DTYPE), copy=False)
    return pd.Series(np.asarray(list(labels), dtype=object)[np.asarray(codes)])


def _take_stage(dicts, codes, kstar) -> pd.Series:
    """Per row, the label of stage ``kstar[row]``: one take from the stages' concatenated labels."""
    import pyarrow as pa

    offsets = np.cumsum([0] + [len(d) for d in dicts[:-1]])
    allcodes = np.vstack(codes) + offsets[:, None]
    pick = allcodes[kstar, np.arange(allcodes.shape[1])]
    return _take_str(pa.concat_arrays(dicts), pick)


#: sample-hash algorithm used for new manifests (``sample_hash_version``; absent = 1)
SAMPLE_HASH_VERSION = 2


def sample_hash(households: pd.DataFrame, version: int = SAMPLE_HASH_VERSION) -> str:
    """sha256 over the sorted 64-bit row hashes of (household_id, role, rank, pi rounded to 1e-12):
    what verify compares; independent of the row order of the saved file. Version 2 hashes rows with
    ``evalkit.hashing.row_hashes`` (text read from the Arrow buffers); version 1 (evalkit 0.1) with
    pandas' ``hash_pandas_object``."""
    df = pd.DataFrame({
        "household_id": households["household_id"].astype("string").to_numpy(dtype=object)
        if version == 1 else households["household_id"].reset_index(drop=True),
        "role": households["role"].astype("string").to_numpy(dtype=object)
        if version == 1 else households["role"].reset_index(drop=True),
        "rank": households["rank"].to_numpy(np.int64),
        "pi": np.round(households["pi"].to_numpy(float) * 1e12).astype(np.int64),
    })
    if version == 1:
        rows = pd.util.hash_pandas_object(df, index=False, categorize=False).to_numpy(np.uint64)
    elif version == 2:
        from evalkit.hashing import row_hashes

        rows = row_hashes(df)
    else:
        raise ValueError(f"unknown sample-hash version {version!r}")
    return hashlib.sha256(np.sort(rows).tobytes()).hexdigest()
