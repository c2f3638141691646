"""Sampling plans (抽样方案): an ordered list of stages, each selecting units within the units chosen
by the stage before, optionally stratified, by a method and a size or allocation.

Built in Python, from a dict or from YAML; presets follow the designs real evaluations used
(DOMAIN.md §3). Formulas: docs/methodology/sampling.md.
"""
from __future__ import annotations

import copy
from dataclasses import MISSING, asdict, dataclass, field, fields

from evalkit.errors import PlanError
from evalkit.sampling.select import METHODS
from evalkit.sampling.size import ALLOCATIONS

METHOD_LABELS = {
    "all": ("全部抽取", "take all"),
    "srs": ("简单随机抽样", "simple random sampling"),
    "systematic": ("系统抽样", "systematic sampling"),
    "pps": ("PPS 抽样（Pareto 排序）", "πps (Pareto order sampling)"),
    "pps_systematic": ("PPS 系统抽样", "πps systematic"),
}
UNIT_LABELS = {
    "province_code": ("省", "province"), "city_code": ("市", "city"), "county_code": ("县", "county"),
    "township_code": ("乡镇", "township"), "village_code": ("村", "village"), "household_id": ("户", "household"),
}
SIZE_MEASURES = ("households", "persons")


@dataclass
class Stage:
    """One sampling stage.

    unit : registry column identifying the units (e.g. ``county_code``, ``village_code``, ``household_id``).
    method : ``all``, ``srs``, ``systematic``, ``pps``, ``pps_systematic``.
    n : with ``allocation="fixed"`` the sample size in every stratum (int, or dict stratum → n, key
        ``"*"`` for the rest); otherwise the total per parent unit, allocated across strata.
    strata : registry columns whose values form the strata (constant within a unit).
    allocation : ``fixed``, ``proportional``, ``neyman``, ``equal``, ``power``.
    fraction : alternative to n: sampling fraction per stratum (n = ⌈f·N⌉), with min_n/max_n.
    size : size measure for pps: ``households``, ``persons`` or a numeric registry column (summed).
    sort : sort keys for systematic methods (implicit stratification); default the unit id.
    min_n, max_n : bounds per stratum (int or dict). reserves : reserve units per stratum (final stage).
    rates : expected proportions per stratum (Neyman). power : exponent for power allocation.
    exact_pi : Pareto πps solves for exact πᵢ (True) or uses the closed-form adjustment (False).
    """

    unit: str
    method: str = "srs"
    n: int | dict | None = None
    strata: list = field(default_factory=list)
    allocation: str = "fixed"
    fraction: float | dict | None = None
    size: str | None = None
    sort: list = field(default_factory=list)
    min_n: int | dict = 0
    max_n: int | dict | None = None
    reserves: int = 0
    rates: dict | None = None
    power: float = 0.5
    exact_pi: bool = True
    label: str | None = None

    def __post_init__(self):
        if isinstance(self.strata, str):
            self.strata = [self.strata]
        if isinstance(self.sort, str):
            self.sort = [self.sort]
        self.strata = list(self.strata or [])
        self.sort = list(self.sort or [])
        if self.method not in METHODS:
            raise PlanError(f"unknown method {self.method!r} for stage '{self.unit}'; choose one of "
                            f"{', '.join(METHODS)} (未知的抽样方法).")
        if self.allocation not in ALLOCATIONS:
            raise PlanError(f"unknown allocation {self.allocation!r} for stage '{self.unit}'; choose one of "
                            f"{', '.join(ALLOCATIONS)} (未知的分配方法).")
        if self.method != "all" and self.n is None and self.fraction is None:
            raise PlanError(f"stage '{self.unit}' ({self.method}) needs a sample size n or a fraction "
                            f"(需指定样本量 n 或抽样比例 fraction).")
        if self.method in ("pps", "pps_systematic") and not self.size:
            self.size = "households"
        if self.allocation != "fixed" and not isinstance(self.n, int):
            raise PlanError(f"stage '{self.unit}': allocation '{self.allocation}' needs n as one total "
                            f"per parent unit (an integer) / 非固定分配时 n 须为每个上级单位的总样本量。")
        if int(self.reserves) < 0:
            raise PlanError(f"stage '{self.unit}': reserves must be >= 0 (备选数不能为负).")

    # --------------------------------------------------------------- describe
    def describe(self, lang: str = "zh") -> str:
        i = 0 if lang == "zh" else 1
        unit = UNIT_LABELS.get(self.unit, (self.unit, self.unit))[i]
        meth = METHOD_LABELS[self.method][i]
        parts = [f"{unit} ({self.unit}): {meth}"]
        if self.strata:
            parts.append(("分层 " if i == 0 else "strata ") + "×".join(self.strata))
        if self.method != "all":
            if self.fraction is not None:
                parts.append(("比例 " if i == 0 else "fraction ") + str(self.fraction))
            elif self.allocation == "fixed":
                parts.append(("每层 n=" if i == 0 else "n per stratum=") + _fmt(self.n))
            else:
                parts.append(("每个上级单位 n=" if i == 0 else "n per parent=") + f"{self.n} ({self.allocation})")
        if self.size and self.method.startswith("pps"):
            parts.append(("规模 " if i == 0 else "size ") + self.size)
        if self.min_n:
            parts.append(f"min {_fmt(self.min_n)}")
        if self.max_n is not None:
            parts.append(f"max {_fmt(self.max_n)}")
        if self.reserves:
            parts.append(("备选 " if i == 0 else "reserves ") + str(self.reserves))
        return "; ".join(parts)

    def to_dict(self) -> dict:
        out = {}
        defaults = Stage.__dataclass_fields__
        for f in fields(self):
            v = getattr(self, f.name)
            d = defaults[f.name]
            dv = d.default_factory() if d.default_factory is not MISSING else d.default
            if f.name == "unit" or v != dv:
                out[f.name] = copy.deepcopy(v)
        return out


def _fmt(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {x}" for k, x in v.items()) + "}"
    return str(v)


class SamplingPlan:
    """An ordered list of :class:`Stage`; stage k selects within the units chosen at stage k−1.

    The last stage must select households (``unit="household_id"``).
    """

    def __init__(self, stages, name: str = "custom", description: str = ""):
        self.stages = [s if isinstance(s, Stage) else Stage(**s) for s in stages]
        self.name = name
        self.description = description
        self.validate()

    # --------------------------------------------------------------- checks
    def validate(self) -> None:
        if not self.stages:
            raise PlanError("a sampling plan needs at least one stage (抽样方案至少需要一个阶段).")
        if self.stages[-1].unit != "household_id":
            raise PlanError(
                f"the last stage must select households (unit='household_id'), not '{self.stages[-1].unit}'; "
                "to take every household of the selected units add Stage('household_id', method='all') "
                "/ 最后一个阶段须抽取农户。")
        units = [s.unit for s in self.stages]
        if len(set(units)) != len(units):
            raise PlanError(f"each stage needs its own unit; repeated: {units} (各阶段单位不能重复).")
        for s in self.stages[:-1]:
            if s.reserves:
                raise PlanError(f"reserves are drawn at the household stage only (stage '{s.unit}' has "
                                f"reserves={s.reserves}) / 备选户只在农户阶段抽取。")

    def columns(self) -> list[str]:
        """Registry columns the plan needs."""
        cols = []
        for s in self.stages:
            cols += [s.unit, *s.strata, *s.sort]
            if s.size and s.size not in SIZE_MEASURES:
                cols.append(s.size)
            if s.size == "persons":
                cols.append("hh_size")
        return list(dict.fromkeys(cols))

    def check_registry(self, households) -> None:
        """PlanError naming every column the plan needs that the registry lacks."""
        missing = [c for c in self.columns() if c not in households.columns]
        if missing:
            raise PlanError(
                f"抽样方案引用的列在名册中不存在 / the plan names columns missing from the registry: "
                f"{', '.join(missing)}. Available: {', '.join(map(str, households.columns[:30]))}.")

    # --------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "stages": [s.to_dict() for s in self.stages]}

    @classmethod
    def from_dict(cls, d: dict) -> "SamplingPlan":
        if "stages" not in d:
            raise PlanError("a plan dict needs a 'stages' list (缺少 stages).")
        stages = []
        for i, s in enumerate(d["stages"], 1):
            try:
                stages.append(Stage(**s))
            except TypeError as exc:
                raise PlanError(f"stage {i}: {exc} (阶段参数错误).") from None
        return cls(stages, name=d.get("name", "custom"), description=d.get("description", ""))

    @classmethod
    def from_yaml(cls, source) -> "SamplingPlan":
        """From a YAML file path or YAML text."""
        import os

        import yaml

        text = source
        if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                                and source.endswith((".yaml", ".yml"))):
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise PlanError("the YAML plan must be a mapping with 'stages' (YAML 格式错误).")
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    def __eq__(self, other) -> bool:
        return isinstance(other, SamplingPlan) and self.to_dict() == other.to_dict()

    # --------------------------------------------------------------- display
    def describe(self, lang: str = "zh") -> str:
        head = (f"抽样方案 {self.name}" if lang == "zh" else f"Sampling plan {self.name}")
        lines = [head + (f" — {self.description}" if self.description else "")]
        for k, s in enumerate(self.stages, 1):
            lines.append(f"  {'第' + str(k) + '阶段' if lang == 'zh' else 'stage ' + str(k)}: {s.describe(lang)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.describe("zh") + "\n" + self.describe("en")

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{k}</td><td>{html.escape(s.describe('zh'))}</td><td>{html.escape(s.describe('en'))}</td></tr>"
            for k, s in enumerate(self.stages, 1))
        return (f"<b>抽样方案 / Sampling plan {html.escape(self.name)}</b>"
                f"<table><tr><th>#</th><th>中文</th><th>English</th></tr>{rows}</table>")

    # --------------------------------------------------------------- presets
    @classmethod
    def county_exit_check(cls, poor_villages: int = 20, non_poor_villages: int = 9,
                          households: dict | None = None, reserves: int = 3,
                          village_method: str = "pps") -> "SamplingPlan":
        """贫困县退出专项评估检查: each county its own domain (take-all counties); poor and non-poor
        villages by πps on households; households by registry status with SRS (DOMAIN.md §3: 2017
        first batch ≈ 29 villages per county, 1,000–2,000 households)."""
        hh = households or {"poor": 5, "exiting": 10, "exited": 15, "not_registered": 15}
        return cls([
            Stage("county_code", method="all", label="县"),
            Stage("village_code", method=village_method, strata=["village_type"],
                  n={"poor": poor_villages, "non_poor": non_poor_villages}, size="households", label="村"),
            Stage("household_id", method="srs", strata=["registry_status"], n=dict(hh), reserves=reserves,
                  label="户"),
        ], name="county_exit_check", description="贫困县退出专项评估检查 / county exit evaluation")

    @classmethod
    def provincial_assessment(cls, counties: int = 10, poor_villages: int = 4, non_poor_villages: int = 2,
                              households: dict | None = None, reserves: int = 3,
                              county_method: str = "pps", village_method: str = "pps") -> "SamplingPlan":
        """省级成效考核第三方评估: counties by πps within the province, then villages by village type,
        then households by registry status (DOMAIN.md §3: 2016 national assessment)."""
        hh = households or {"poor": 5, "exiting": 5, "exited": 10, "not_registered": 10}
        return cls([
            Stage("county_code", method=county_method, n=counties, size="households", label="县"),
            Stage("village_code", method=village_method, strata=["village_type"],
                  n={"poor": poor_villages, "non_poor": non_poor_villages}, size="households", label="村"),
            Stage("household_id", method="srs", strata=["registry_status"], n=dict(hh), reserves=reserves,
                  label="户"),
        ], name="provincial_assessment", description="省级成效考核第三方评估 / provincial assessment")

    @classmethod
    def consolidation_assessment(cls, villages: int = 10, households: dict | None = None,
                                 reserves: int = 3, village_method: str = "pps") -> "SamplingPlan":
        """巩固脱贫成果后评估 (2021–): every county; ≈10 villages per county by πps; households
        stratified by monitoring category with the three categories over-sampled (DOMAIN.md §6:
        Sichuan 2021 ≈ 10 villages and 300 households per county)."""
        hh = households or {"unstable_exited": 8, "marginal": 8, "sudden_hardship": 6, "NA": 8}
        return cls([
            Stage("county_code", method="all", label="县"),
            Stage("village_code", method=village_method, n=villages, size="households", label="村"),
            Stage("household_id", method="srs", strata=["monitoring"], n=dict(hh), reserves=reserves,
                  label="户"),
        ], name="consolidation_assessment", description="巩固脱贫成果后评估 / consolidation assessment")


def stage_dict(stage: Stage) -> dict:
    """Plain dict of a stage (all fields)."""
    return asdict(stage)
