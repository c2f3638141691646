"""compare_registries: each change category on hand-made snapshots, counts, procedure table,
and exact recovery of the seeded changes of a synthetic second-year snapshot."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import evalkit as ek
from evalkit.audit.snapshots import compare_registries
from evalkit.errors import RegistryError
from evalkit.registry.registry import Registry

sys.path.insert(0, str(Path(__file__).parent))
from audit_fixtures import gb_id  # noqa: E402

C1, C2 = "520102000000", "520103000000"


def _hh(rows):
    cols = ["household_id", "county_code", "county_name", "registry_status", "hh_size", "registration_year",
            "exit_year", "head_id_number"]
    return pd.DataFrame(rows, columns=cols)


HEAD = {k: gb_id(f"5201021970010{i:04d}") for i, k in enumerate("ABCDEFGHIJKLMN")}


@pytest.fixture
def pair():
    """Old (2017) and new (2018) snapshots with one household per category (comment = truth)."""
    old = _hh([
        ("A", C1, "甲县", "poor", 2, 2014, None, HEAD["A"]),        # unchanged
        ("B", C1, "甲县", "poor", 3, 2014, None, HEAD["B"]),        # exited
        ("C", C1, "甲县", "exiting", 2, 2015, None, HEAD["C"]),     # exited (planned → done)
        ("D", C1, "甲县", "exited", 1, 2014, 2016, HEAD["D"]),      # returned
        ("E", C1, "甲县", "poor", 4, 2014, None, HEAD["E"]),        # removed: now not registered
        ("F", C1, "甲县", "poor", 1, 2014, None, HEAD["F"]),        # removed: gone from the file
        ("G", C1, "甲县", "not_registered", 5, None, None, HEAD["G"]),  # new (应纳未纳)
        ("H", C1, "甲县", "poor", 2, 2014, None, HEAD["H"]),        # moved, same id
        ("I", C1, "甲县", "exited", 3, 2014, 2016, HEAD["I"]),      # moved, renumbered (by head ID)
        ("K", C1, "甲县", "not_registered", 2, None, None, HEAD["K"]),  # never registered
        ("L", C2, "乙县", "poor", 2, 2014, None, HEAD["L"]),        # planned exit (unchanged)
    ])
    new = _hh([
        ("A", C1, "甲县", "poor", 3, 2014, None, HEAD["A"]),
        ("B", C1, "甲县", "exited", 3, 2014, 2018, HEAD["B"]),
        ("C", C1, "甲县", "exited", 2, 2015, None, HEAD["C"]),      # exit year missing!
        ("D", C1, "甲县", "poor", 1, 2014, 2016, HEAD["D"]),
        ("E", C1, "甲县", "not_registered", 4, None, None, HEAD["E"]),
        ("G", C1, "甲县", "poor", 5, 2018, None, HEAD["G"]),
        ("H", C2, "乙县", "poor", 2, 2014, None, HEAD["H"]),
        ("I2", C2, "乙县", "exited", 3, 2014, 2016, " " + HEAD["I"].lower()),  # re-spelled head ID
        ("K", C1, "甲县", "not_registered", 2, None, None, HEAD["K"]),
        ("L", C2, "乙县", "exiting", 2, 2014, None, HEAD["L"]),
        ("M", C2, "乙县", "poor", 2, 2016, None, HEAD["M"]),        # new household; year outside period
    ])
    mo = pd.DataFrame({"person_id": ["A1", "A2", "E1", "F1", "I1", "D1", "D2"],
                       "household_id": ["A", "A", "E", "F", "I", "D", "D"],
                       "id_number": [gb_id(f"5201021980010{i:04d}") for i in range(7)]})
    mn = pd.DataFrame({"person_id": ["A1", "A2", "A3", "E1", "I1", "M1", "M2", "D9"],
                       "household_id": ["A", "A", "A", "E", "I2", "M", "M", "D"],
                       # D9 is D1 under a new person_id (matched by ID number)
                       "id_number": [gb_id(f"5201021980010{i:04d}") for i in (0, 1)] + [gb_id("52010220180101001")]
                       + [gb_id(f"5201021980010{i:04d}") for i in (2, 4)] + [gb_id("52010319900101001"),
                                                                             gb_id("52010319920101002")]
                       + [gb_id("52010219800100005")]})
    return Registry(old, mo, meta={"year": 2017}), Registry(new, mn, meta={"year": 2018})


def test_each_household_change_category(pair):
    ch = compare_registries(*pair)
    got = ch.households.set_index("household_id")["change"].to_dict()
    assert got == {"A": "unchanged", "B": "exited", "C": "exited", "D": "returned", "E": "removed",
                   "F": "removed", "G": "new", "H": "moved", "I2": "moved", "K": "unchanged",
                   "L": "unchanged", "M": "new"}
    d = ch.households.set_index("household_id")["change_detail"].to_dict()
    assert (d["E"], d["F"], d["G"], d["M"], d["K"], d["L"]) == (
        "removed_deregistered", "removed_absent", "newly_registered", "new_household", "not_registered",
        "planned_exit")
    h = ch.households.set_index("household_id")
    assert h.loc["I2", "household_id_old"] == "I" and h.loc["I2", "matched_by"] == "id_number"
    assert h.loc["H", "county_code_old"] == C1 and h.loc["H", "county_code"] == C2 and h.loc["H", "county_changed"]
    assert h.loc["B", "change_label"] == "标识脱贫"


def test_member_changes_natural_and_not(pair):
    ch = compare_registries(*pair)
    m = ch.members.set_index("person_id")
    assert m["change"].to_dict() == {"A1": "unchanged", "A2": "unchanged", "A3": "member_added",
                                     "D9": "unchanged", "D2": "member_removed", "E1": "unchanged",
                                     "F1": "member_removed", "I1": "unchanged", "M1": "member_added",
                                     "M2": "member_added"}
    # natural (自然增减): only changes inside households registered in both snapshots
    assert m.index[m["natural"]].sort_values().tolist() == ["A3", "D2"]
    assert m.loc["D9", "person_id_old"] == "D1"
    # I1 followed its household's renumbering: not a change of household
    assert not m.loc["I1", "changed_household"]
    assert m.loc["F1", "household_change"] == "removed" and m.loc["M1", "household_change"] == "new"


def test_summary_counts_by_county_and_province(pair):
    ch = compare_registries(*pair)
    s = ch.summary().set_index("county_code")
    # hand count — new-county key for new/exited/returned/moved, old county for removed
    assert s.loc[C1, ["new_households", "new_persons", "removed_households", "removed_persons",
                      "exited_households", "exited_persons", "returned_households", "moved_households"]
                 ].tolist() == [1, 5, 2, 5, 2, 5, 1, 0]
    assert s.loc[C2, ["new_households", "new_persons", "moved_households", "moved_persons"]].tolist() == [1, 2, 2, 5]
    # registered households: old C1 = A B C D E F H I (8), new C1 = A B C D G (5)
    assert s.loc[C1, ["registered_households_old", "registered_households_new"]].tolist() == [8, 5]
    # poor (poor + exiting) persons: old C1 = A2 B3 C2 E4 F1 H2 = 14; new C1 = A3 D1 G5 = 9
    assert s.loc[C1, ["poor_persons_old", "poor_persons_new"]].tolist() == [14, 9]
    assert s.loc[C2, ["poor_persons_old", "poor_persons_new"]].tolist() == [2, 6]
    assert s.loc[C1, ["members_added", "members_removed"]].tolist() == [1, 1]
    assert s.loc[C1, "county_name"] == "甲县"
    p = ch.summary(by=None).iloc[0]
    assert (p.new_households, p.removed_households, p.exited_households, p.returned_households,
            p.moved_households, p.poor_persons_old, p.poor_persons_new) == (2, 2, 2, 1, 2, 16, 15)
    assert ch.describe() == ("动态调整（2017→2018）：新识别 2 户 7 人，清退 2 户 5 人，标识脱贫 2 户 5 人，返贫 1 户 1 人，"
                             "跨县迁移 2 户；自然增加 1 人，自然减少 1 人；未脱贫人口 16 → 15。")
    assert "poor persons 16 → 15" in ch.describe("en")
    assert "RegistryChanges 2017→2018" in repr(ch) and "<table" in ch._repr_html_()


def test_procedure_problems(pair):
    ch = compare_registries(*pair)
    got = ch.procedure[["household_id", "field", "problem"]].to_numpy().tolist()
    assert got == [["C", "exit_year", "missing"], ["M", "registration_year", "year_outside_period"]]
    assert "标识脱贫但缺少脱贫年度" in ch.procedure["message"].iloc[0]
    # a review date, when the registry has one, is required for every status change
    old, new = pair
    hh = new.households.assign(review_date=pd.NaT)
    hh.loc[hh["household_id"] == "B", "review_date"] = pd.Timestamp("2018-11-02")
    ch2 = compare_registries(old, Registry(hh, new.members, meta=new.meta))
    need = ch2.procedure[ch2.procedure["field"] == "review_date"]["household_id"].tolist()
    assert sorted(need) == ["C", "D", "E", "F", "G", "M"]


def test_export_and_errors(pair, tmp_path):
    ch = compare_registries(*pair)
    book = pd.read_excel(ch.to_excel(tmp_path / "changes.xlsx"), sheet_name=None)
    assert len(book["变化户 changed households"]) == 9 and len(book["程序问题 procedure"]) == 2
    with pytest.raises(RegistryError, match="registry_status"):
        compare_registries(Registry(pd.DataFrame({"household_id": ["A"]})), pair[1])


def test_row_order_does_not_matter(pair):
    old, new = pair
    a = compare_registries(old, new)
    b = compare_registries(Registry(old.households.iloc[::-1], old.members.iloc[::-1], meta=old.meta),
                           Registry(new.households.sample(frac=1, random_state=3), new.members, meta=new.meta))
    pd.testing.assert_frame_equal(a.households, b.households)
    pd.testing.assert_frame_equal(a.summary(), b.summary())


def test_synthetic_second_year_found_exactly():
    from evalkit.audit.synthetic import second_snapshot

    reg = ek.synthetic_registry(seed=21, n_counties=3, households_per_county=(250, 350))
    syn = second_snapshot(reg, seed=9, n_new=12, n_new_households=6, n_removed=10, n_exited=14, n_returned=6,
                          n_moved=8, n_renumbered=4, n_members_added=11, n_members_removed=7, n_missing_exit_year=3)
    ch = compare_registries(reg, syn.registry)
    got = ch.households.set_index("household_id")["change"].sort_index()
    exp = syn.expected_households.set_index("household_id")["change"].sort_index()
    assert got.to_dict() == exp.to_dict()
    counts = got.value_counts()
    assert (counts["new"], counts["removed"], counts["exited"], counts["returned"], counts["moved"]) == (18, 10, 14, 6, 8)
    m = ch.members.set_index("person_id").sort_index()
    e = syn.expected_members.set_index("person_id").sort_index()
    assert m["change"].equals(e["change"]) and m["natural"].astype(bool).equals(e["natural"].astype(bool))
    s = ch.summary(by=None).iloc[0]
    assert (s.members_added, s.members_removed) == (11, 7)
    assert sorted(ch.procedure["household_id"]) == sorted(syn.expected_procedure["household_id"])
