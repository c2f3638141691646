"""Fieldwork: survey teams with avoidance (回避), balanced workloads, field lists and tablet preload.

Avoidance is enforced by construction: a township is only ever offered to teams allowed to work there,
and every assignment is re-checked before field lists are written (methodology §7).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import PlanError

# field-list headers (Chinese first; the English name is the second row of the README sheet)
FIELD_COLUMNS = [
    ("seq", "序号"), ("role_label", "样本类型"), ("rank", "抽样顺序号"), ("household_id", "户编号"),
    ("head_name", "户主姓名"), ("head_id_masked", "户主身份证号（脱敏）"), ("status_label", "贫困户属性"),
    ("hh_size", "家庭人口数"), ("monitoring_label", "监测对象类别"), ("county_name", "县"),
    ("township_name", "乡镇"), ("village_name", "行政村"), ("village_code", "村代码"),
    ("disposition", "调查结果（完成/外出/拒访/查无此户/其他）"), ("replaced_by", "替换户编号"),
    ("interviewer", "调查员"), ("visit_date", "调查日期"), ("note", "备注"),
]
ROLE_LABELS = {"main": "主样本", "reserve": "备选户"}


@dataclass
class Team:
    """A survey team (调查组): members and the places it must avoid (籍贯/工作地回避).

    ``avoid_counties``: county codes (6 or 12 digits) the team may not survey;
    ``avoid_provinces``: province codes (2 or 12 digits); ``capacity``: relative workload (1 = average).
    """

    name: str
    members: list = field(default_factory=list)
    avoid_counties: list = field(default_factory=list)
    avoid_provinces: list = field(default_factory=list)
    capacity: float = 1.0

    def __post_init__(self):
        self.name = str(self.name)
        if not self.name or re.search(r'[\\/:*?"<>|\[\]]', self.name):
            raise PlanError(f"team name {self.name!r} is empty or has characters not allowed in file names "
                            f"(调查组名称无效).")
        self.members = [str(m) for m in (self.members or [])]
        self.avoid_counties = sorted({str(c)[:6] for c in (self.avoid_counties or [])})
        self.avoid_provinces = sorted({str(c)[:2] for c in (self.avoid_provinces or [])})
        if not self.capacity or self.capacity <= 0:
            raise PlanError(f"team {self.name}: capacity must be > 0 (工作量系数须为正).")

    def may_work(self, county_code: pd.Series) -> np.ndarray:
        c = county_code.astype(str)
        bad = c.str[:6].isin(self.avoid_counties) | c.str[:2].isin(self.avoid_provinces)
        return ~bad.to_numpy(bool)

    @classmethod
    def from_dict(cls, d: dict) -> "Team":
        return cls(**d)


def _teams(teams) -> list[Team]:
    out = [t if isinstance(t, Team) else Team(**t) for t in teams]
    if not out:
        raise PlanError("no survey teams given (未提供调查组).")
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise PlanError(f"team names must be unique: {names} (调查组名称重复).")
    return out


def assign_teams(sample, teams, by: str = "township_code"):
    """Assign the sample's villages to teams: whole townships (``by``) go to one team, heaviest first,
    each to the allowed team with the least load per capacity (longest-processing-time rule).

    Sets ``sample.teams`` (village_code, village_name, township_code, county_code, team, households)
    and ``sample.team_roster``; returns ``sample.teams``. PlanError if some township has no allowed team.
    """
    teams = _teams(teams)
    hh = sample.households
    if by not in hh.columns:
        by = "village_code"
    vill = (hh.groupby("village_code", sort=True)
              .agg(county_code=("county_code", "first"), township=(by, "first"),
                   households=("active", "sum"),
                   village_name=("village_name", "first") if "village_name" in hh else ("village_code", "first"))
              .reset_index())
    work = vill.groupby(["township", "county_code"], sort=True).agg(load=("households", "sum")).reset_index()
    allowed = np.column_stack([t.may_work(work["county_code"]) for t in teams])
    none = ~allowed.any(axis=1)
    if none.any():
        ex = work.loc[none, ["township", "county_code"]].head(5).to_dict("records")
        raise PlanError(f"{int(none.sum())} townships have no team allowed to work there under the avoidance "
                        f"rules (e.g. {ex}); add a team from elsewhere / 回避规则下以下乡镇无可派调查组。")
    cap = np.array([t.capacity for t in teams])
    load = np.zeros(len(teams))
    order = np.lexsort((work["township"].to_numpy(), -work["load"].to_numpy()))
    choice = np.empty(len(work), np.int64)
    for i in order:  # loop over townships (hundreds), not households
        score = np.where(allowed[i], (load + work["load"].iat[i]) / cap, np.inf)
        j = int(np.argmin(score))
        choice[i] = j
        load[j] += work["load"].iat[i]
    work["team"] = [teams[j].name for j in choice]
    vill = vill.merge(work[["township", "team"]], on="township", how="left")
    vill = vill.rename(columns={"township": by})[["village_code", "village_name", by, "county_code", "team",
                                                  "households"]]
    check_avoidance(vill, teams)
    sample.teams = vill
    roster = pd.DataFrame({
        "team": [t.name for t in teams],
        "members": ["、".join(t.members) for t in teams],
        "avoid_counties": [",".join(t.avoid_counties) for t in teams],
        "avoid_provinces": [",".join(t.avoid_provinces) for t in teams],
        "capacity": cap,
    })
    agg = vill.groupby("team").agg(villages=("village_code", "size"), households=("households", "sum"))
    sample.team_roster = roster.merge(agg, left_on="team", right_index=True, how="left").fillna(
        {"villages": 0, "households": 0})
    return sample.teams


def check_avoidance(assignment: pd.DataFrame, teams) -> None:
    """PlanError if any village is assigned to a team that must avoid its county or province."""
    teams = {t.name: t for t in _teams(teams)}
    unknown = set(assignment["team"]) - set(teams)
    if unknown:
        raise PlanError(f"villages assigned to unknown teams {sorted(unknown)} (未知调查组).")
    for name, t in teams.items():
        rows = assignment[assignment["team"] == name]
        bad = ~t.may_work(rows["county_code"])
        if bad.any():
            raise PlanError(f"team {name} may not work in {rows.loc[bad, 'village_code'].tolist()[:5]} "
                            f"(avoidance rule: its members come from there) / 违反回避规定。")


def _roster_teams(sample) -> list[Team]:
    r = sample.team_roster
    out = []
    for _, row in r.iterrows():
        split = (lambda s: [x for x in str(s).split(",") if x and x != "nan"])
        out.append(Team(row["team"], members=[m for m in str(row["members"]).split("、") if m and m != "nan"],
                        avoid_counties=split(row["avoid_counties"]), avoid_provinces=split(row["avoid_provinces"]),
                        capacity=float(row.get("capacity", 1.0))))
    return out


def field_table(sample, mask_ids: bool = True) -> pd.DataFrame:
    """The field-list rows (main then reserves per village and stratum), canonical names + team."""
    from evalkit.registry import idnumber, schema

    hh = sample.households.copy()
    K = sample.n_stages
    if sample.teams is not None:
        hh = hh.merge(sample.teams[["village_code", "team"]], on="village_code", how="left")
    else:
        hh["team"] = "全部"
    ids = hh["head_id_number"] if "head_id_number" in hh else pd.Series(pd.NA, index=hh.index)
    hh["head_id_masked"] = idnumber.mask(ids) if mask_ids else ids.astype("string")
    hh["status_label"] = hh["registry_status"].map(lambda c: schema.code_label("registry_status", c))
    mon = hh["monitoring"] if "monitoring" in hh else pd.Series(pd.NA, index=hh.index)
    hh["monitoring_label"] = mon.map(lambda c: schema.code_label("monitoring", c) if isinstance(c, str) else "")
    hh["role_label"] = hh["role"].map(ROLE_LABELS)
    for c in ("disposition", "replaced_by", "interviewer", "visit_date", "note"):
        hh[c] = ""
    for c in ("county_name", "township_name", "village_name", "head_name"):
        if c not in hh:
            hh[c] = ""
    hh["_role_order"] = (hh["role"] == "reserve").astype(int)
    hh = hh.sort_values(["team", "village_code", "_role_order", f"stratum_{K}", "rank", "household_id"],
                        kind="stable").reset_index(drop=True)
    hh["seq"] = hh.groupby("village_code").cumcount() + 1
    return hh


def _sheet_name(name: str, code: str, used: set) -> str:
    base = re.sub(r'[\\/:*?\[\]]', "_", f"{name}{code[-3:]}" if name else code)[:31]
    out, i = base, 2
    while out in used:
        out = f"{base[:28]}~{i}"
        i += 1
    used.add(out)
    return out


def to_field_lists(sample, out_dir, mask_ids: bool = True) -> list[Path]:
    """Write one xlsx per team (a sheet per village: main households, then reserves, blank disposition
    columns; Chinese headers, masked ID numbers) and ``preload.csv`` for the tablets (ODK/Kobo
    pulldata style: key column household_id first). Returns the files written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    if sample.teams is not None and sample.team_roster is not None:
        check_avoidance(sample.teams, _roster_teams(sample))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = field_table(sample, mask_ids=mask_ids)
    files = []
    keys = [k for k, _ in FIELD_COLUMNS]
    heads = [h for _, h in FIELD_COLUMNS]
    widths = [6, 9, 10, 20, 10, 22, 12, 10, 14, 10, 10, 12, 14, 30, 20, 10, 12, 16]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    reserve_fill = PatternFill("solid", fgColor="F2F2F2")
    for team, tt in t.groupby("team", sort=True):
        wb = Workbook()
        wb.remove(wb.active)
        used: set = set()
        for vcode, vv in tt.groupby("village_code", sort=True):
            ws = wb.create_sheet(_sheet_name(str(vv["village_name"].iloc[0] or ""), str(vcode), used))
            ws.append(heads)
            for c in ws[1]:
                c.font = bold
                c.fill = fill
                c.alignment = Alignment(wrap_text=True, vertical="center")
            for row, role in zip(vv[keys].astype(object).where(vv[keys].notna(), "").itertuples(index=False),
                                 vv["role"]):
                ws.append([v.item() if hasattr(v, "item") else v for v in row])
                if role == "reserve":
                    for c in ws[ws.max_row]:
                        c.fill = reserve_fill
            ws.freeze_panes = "A2"
            for i, w in enumerate(widths, 1):
                ws.column_dimensions[get_column_letter(i)].width = w
        info = wb.create_sheet("说明")
        info.append(["项目 item", "内容 content"])
        info.append(["调查组 team", str(team)])
        roster = sample.team_roster
        if roster is not None:
            r = roster[roster["team"] == team]
            if len(r):
                info.append(["成员 members", str(r["members"].iloc[0])])
        info.append(["随机种子 seed", str(sample.manifest.get("seed"))])
        info.append(["抽样方案 plan", str(sample.manifest.get("plan", {}).get("name"))])
        info.append(["样本校验码 sample hash", str(sample.manifest.get("sample_hash"))])
        info.append(["说明 note", "主样本无法调查时，按抽样顺序号启用同村同类型的备选户，并记录原因。"
                                  " If a main household cannot be interviewed, use the next reserve of the same "
                                  "village and type in rank order and record the reason."])
        path = out / f"{team}.xlsx"
        wb.save(path)
        files.append(path)
    pre = t[["household_id", "team", "county_code", "county_name", "township_name", "village_code",
             "village_name", "head_name", "head_id_masked", "registry_status", "status_label", "hh_size",
             "monitoring_label", "role", "rank", "cell"]]
    ppath = out / "preload.csv"
    pre.to_csv(ppath, index=False, encoding="utf-8")
    files.append(ppath)
    return files


def read_field_lists(directory) -> pd.DataFrame:
    """Households listed in field-list workbooks (team, sheet, row, household_id, role) — for verify."""
    rows = []
    for path in sorted(Path(directory).glob("*.xlsx")):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            header = next(it, None)
            if not header or "户编号" not in header:
                continue
            i_id = header.index("户编号")
            i_role = header.index("样本类型")
            for r, vals in enumerate(it, start=2):
                if vals[i_id] is None:
                    continue
                rows.append({"file": path.name, "sheet": ws.title, "row": r, "household_id": str(vals[i_id]),
                             "role": {v: k for k, v in ROLE_LABELS.items()}.get(vals[i_role], vals[i_role])})
        wb.close()
    return pd.DataFrame(rows, columns=["file", "sheet", "row", "household_id", "role"])
