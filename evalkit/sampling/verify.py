"""``verify_sample``: re-derive a saved sample from its manifest (seed, plan) and the registry, and
report every difference — so anyone holding the registry can check a third-party sample was drawn as
declared, not hand-picked (methodology §8)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DIFF_COLUMNS = ["kind", "household_id", "field", "saved", "expected", "where", "message"]


@dataclass
class VerifyReport:
    """``ok`` is True when the saved sample (and field lists, if present) equal the re-derived one."""

    ok: bool
    differences: pd.DataFrame
    checked: dict = field(default_factory=dict)

    def summary(self) -> str:
        head = ("样本核验通过 / sample verified: identical to the re-derived sample" if self.ok else
                f"样本核验未通过 / sample does NOT match: {len(self.differences)} differences")
        lines = [head] + [f"  {k}: {v}" for k, v in self.checked.items()]
        if not self.ok:
            counts = self.differences["kind"].value_counts()
            lines += [f"  {k}: {v}" for k, v in counts.items()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<VerifyReport ok={self.ok}, {len(self.differences)} differences>\n" + self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{self.summary()}</pre>" + self.differences.head(50).to_html(index=False)


def verify_sample(sample_dir, registry, field_lists=None) -> VerifyReport:
    """Re-draw from ``registry`` with the seed and plan in ``sample_dir``'s manifest and compare.

    Compares the registry fingerprint, every household's presence, role, rank and inclusion
    probability, the manifest's sample hash, and (if present: ``field_lists`` or
    ``<sample_dir>/field_lists``) the households listed in the field-list workbooks.
    """
    from evalkit.sampling.draw import draw_sample, sample_hash
    from evalkit.sampling.prn import version_of
    from evalkit.sampling.fieldwork import read_field_lists
    from evalkit.sampling.sample import Sample, load_sample

    saved = sample_dir if isinstance(sample_dir, Sample) else load_sample(sample_dir)
    diffs: list[dict] = []
    m = saved.manifest
    checked = {"seed": m.get("seed"), "plan": (m.get("plan") or {}).get("name")}
    if int(m.get("registry_fingerprint_version", 1)) == 1 and m.get("registry_fingerprint"):
        fp = legacy_fingerprint(registry)  # a manifest written by evalkit 0.1
    else:
        fp = getattr(registry, "fingerprint", None)
    if m.get("registry_fingerprint") and fp and fp != m["registry_fingerprint"]:
        diffs.append(_d("registry", None, "fingerprint", m["registry_fingerprint"][:16], fp[:16], "manifest.json",
                        "名册内容与抽样时不同 / the registry differs from the one the sample was drawn from"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        redo = draw_sample(registry, saved.plan, m["seed"], created=m.get("created"),
                           prn_version=version_of(m.get("prn")))
    a = saved.households.assign(household_id=saved.households["household_id"].astype(str)).set_index("household_id")
    b = redo.households.assign(household_id=redo.households["household_id"].astype(str)).set_index("household_id")
    for hid in a.index.difference(b.index):
        diffs.append(_d("extra_household", hid, "household_id", hid, None, "households.parquet",
                        "样本中有按方案不应抽中的户 / household in the saved sample that the plan does not select"))
    for hid in b.index.difference(a.index):
        diffs.append(_d("missing_household", hid, "household_id", None, hid, "households.parquet",
                        "按方案应抽中的户不在样本中 / household the plan selects is missing from the saved sample"))
    common = a.index.intersection(b.index)
    for col in ("role", "rank", "pi", "weight", "cell"):
        if col not in a or col not in b:
            continue
        x, y = a.loc[common, col], b.loc[common, col]
        if col in ("pi", "weight"):
            bad = ~np.isclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=0)
        else:
            bad = (x.astype(str) != y.astype(str)).to_numpy()
        for hid in common[bad][:1000]:
            diffs.append(_d("changed", hid, col, a.at[hid, col], b.at[hid, col], "households.parquet",
                            f"'{col}' 与重新抽样结果不同 / '{col}' differs from the re-derived sample"))
    h_saved = sample_hash(saved.households, version=int(m.get("sample_hash_version", 1)))
    if m.get("sample_hash") and m["sample_hash"] != h_saved:
        diffs.append(_d("manifest", None, "sample_hash", m["sample_hash"][:16], h_saved[:16], "manifest.json",
                        "样本文件在抽样后被改动 / households.parquet was changed after the manifest was written"))
    checked["households"] = int(len(a))
    # field lists
    fl_dir = Path(field_lists) if field_lists is not None else (
        Path(sample_dir) / "field_lists" if not isinstance(sample_dir, Sample) else None)
    if fl_dir is not None and fl_dir.exists():
        fl = read_field_lists(fl_dir)
        checked["field_list_rows"] = int(len(fl))
        listed = pd.Index(fl["household_id"].astype(str))
        for hid in listed.difference(b.index):
            r = fl[fl["household_id"] == hid].iloc[0]
            diffs.append(_d("field_list_extra", hid, "household_id", hid, None, f"{r.file} [{r.sheet}] row {r.row}",
                            "调查清单中有不在样本中的户 / field list names a household not in the sample"))
        for hid in b.index.difference(listed):
            diffs.append(_d("field_list_missing", hid, "household_id", None, hid, str(fl_dir),
                            "样本户未列入调查清单 / sampled household missing from the field lists"))
        both = fl[fl["household_id"].isin(b.index)]
        wrong = both["role"].astype(str).to_numpy() != b.loc[both["household_id"], "role"].astype(str).to_numpy()
        for _, r in both[wrong].iterrows():
            diffs.append(_d("field_list_role", r.household_id, "role", r.role, b.at[r.household_id, "role"],
                            f"{r.file} [{r.sheet}] row {r.row}",
                            "调查清单中的样本类型有误 / main/reserve role differs in the field list"))
    d = pd.DataFrame(diffs, columns=DIFF_COLUMNS)
    return VerifyReport(ok=d.empty, differences=d, checked=checked)


def legacy_fingerprint(registry) -> str | None:
    """The registry fingerprint as evalkit 0.1 computed it (pandas' ``hash_pandas_object`` per row,
    sorted, sha256), to check manifests written by that version."""
    if not hasattr(registry, "content_digest"):
        return None

    def row_hash(table, cols):
        frame = table[cols]
        cats = [c for c in cols if isinstance(frame[c].dtype, pd.CategoricalDtype)]
        if cats:  # 0.1 held these columns as text
            frame = frame.assign(**{c: frame[c].astype(frame[c].cat.categories.dtype) for c in cats})
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()

    return registry.content_digest(row_hash)


def _d(kind, hid, fld, saved, expected, where, message) -> dict:
    return {"kind": kind, "household_id": hid, "field": fld, "saved": saved, "expected": expected,
            "where": where, "message": message}
