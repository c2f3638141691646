"""Generate the four example notebooks (01–04) from the cell sources below.

The notebooks are committed without outputs so they stay reviewable; edit this script, not the
.ipynb files, then run ``python notebooks/build_notebooks.py``. The test suite
(tests/notebooks/test_notebooks.py) executes every notebook on a small synthetic province, and
the ``assert`` cells make each notebook check its own numbers.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# The same small synthetic province in every notebook: 3 counties of ~1,000 households, so
# each notebook runs in well under a minute. Use the defaults for a realistic province.
SETUP = '''\
import warnings
import numpy as np
import pandas as pd
import evalkit as ek

warnings.filterwarnings("ignore", category=UserWarning)   # small-province plan warnings
pd.set_option("display.max_columns", 30)
pd.set_option("display.width", 160)

reg = ek.synthetic_registry(seed=7, n_counties=3, households_per_county=(800, 1200))
plan = ek.SamplingPlan.county_exit_check(poor_villages=4, non_poor_villages=4)
sample = ek.draw_sample(reg, plan, seed=20250601)
reg'''

FIELDWORK = '''\
import tempfile, pathlib
work = pathlib.Path(tempfile.mkdtemp(prefix="evalkit_nb_"))
files = ek.simulate_fieldwork(sample, reg, out_dir=work / "exports", seed=1)
resp = ek.read_responses(files, sample=sample)
# A village taken whole (certainty) makes its households the PSUs; a cell where a single
# household responded is then a lonely PSU. Like R's options(survey.lonely.psu = "adjust"),
# centre it on the grand mean instead of failing (methodology: estimation).
resp.design.lonely_psu = "adjust"
rules = ek.RuleSet.default(reg.year, reg.meta["province_code"])
resp'''


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


def nb01():
    return [
        md("""
# 01 抽样 / Drawing a sample

本笔记本演示县退出评估检查的抽样：样本量计算、抽样方案、按随机种子抽样、权数检验、分组和调查清单。
数据是内置的模拟省份（3 个县，每县约 1000 户），真实值已知。

This notebook draws the sample of a county exit check: sample-size calculation, the sampling
plan, a seeded draw, checks on the weights, team assignment and field lists — on the bundled
synthetic province (3 counties of about 1,000 households), whose true values are known.
"""),
        code(SETUP),
        md("""
## 1. 登记库 / The registry
每个县按户类型（未脱贫、拟脱贫、已脱贫、非建档立卡）和村类型汇总。
Households and persons by county, registry status and village type.
"""),
        code("reg.summary().head(12)"),
        md("""
## 2. 样本量 / Sample size
错退率的阈值是 2%。`sample_size` 给出估计比例达到给定精度所需的户数（Cochran 公式，含设计效应和应答率）；
`sample_size_for_threshold` 回答另一个问题：若真实错退率为 1%，要多少户才能以 80% 的把握让置信区间整个落在 2% 以下？

The wrong-exit threshold is 2 %. `sample_size` gives the households needed for a given margin
(Cochran, with design effect and response rate); `sample_size_for_threshold` answers the
decision question: if the true rate is 1 %, how many households make the whole interval fall
below 2 % with 80 % probability?
"""),
        code('''\
n_margin = ek.sample_size(p=0.02, margin=0.01, deff=2.0, level=0.95, response_rate=0.9)
n_decision = ek.sample_size_for_threshold(p_expected=0.01, threshold=0.02, power=0.8, deff=2.0)
print(f"精度 ±1 个百分点 margin ±1 pt: {n_margin} 户 households")
print(f"判定 2% 阈值 decision at 2 %: {n_decision} 户 households")
# Cochran by hand: z² p(1-p)/d² × deff / response rate
z = 1.959963984540054
assert n_margin == int(np.ceil(z**2 * 0.02 * 0.98 / 0.01**2 * 2.0 / 0.9))'''),
        md("""
## 3. 抽样方案 / The plan
县全部入样；村按贫困村/非贫困村分层、按户数 πps 抽取；户按户类型分层简单随机抽取，每层预留候补户。
Every county; villages by πps on households within village type; households by SRS within
registry status, with reserves in each cell.
"""),
        code("print(plan.describe())"),
        md("""
## 4. 抽样与可复现性 / The draw and its reproducibility
样本由随机种子和登记库决定，与文件行序无关：把登记库打乱后重抽，得到完全相同的样本。
The sample depends on the seed and the registry only, not on row order: shuffling the registry
gives exactly the same sample.
"""),
        code('''\
sample'''),
        code('''\
shuffled = ek.Registry(reg.households.sample(frac=1.0, random_state=3), reg.members, meta=reg.meta)
again = ek.draw_sample(shuffled, plan, seed=20250601)
key = ["household_id", "role", "weight"]
a = sample.households[key].sort_values("household_id").reset_index(drop=True)
b = again.households[key].sort_values("household_id").reset_index(drop=True)
pd.testing.assert_frame_equal(a, b)
assert shuffled.fingerprint == reg.fingerprint
{k: sample.manifest[k] for k in ("seed", "registry_fingerprint", "evalkit_version")}'''),
        md("""
## 5. 权数检验 / Checking the weights
村按户数 πps 抽取、村内按户类型简单随机抽样，所以在每个县 × 村类型内，主样本设计权数之和**恰好**等于
登记户数；按户类型汇总时只是无偏（期望相等），因为抽中的村的户类型构成各不相同。

Villages are drawn πps on households and households by SRS within type, so within every
county × village type the main households' design weights add up to the registry count
**exactly**; by household type the sum is only unbiased (equal in expectation), because the
drawn villages differ in their mix of household types.
"""),
        code('''\
main = sample.main
by = ["county_code", "village_type"]
check = pd.DataFrame({"Σ weight": main.groupby(by)["weight"].sum(),
                      "registry N": reg.households.groupby(by).size()})
assert np.allclose(check["Σ weight"], check["registry N"])
check'''),
        code('''\
by_type = pd.DataFrame({"Σ weight": main.groupby("registry_status")["weight"].sum(),
                        "registry N": reg.households.groupby("registry_status").size()})
by_type["ratio"] = by_type["Σ weight"] / by_type["registry N"]
by_type'''),
        code("sample.summary().head(12)"),
        md("""
## 6. 分组与回避 / Teams and avoidance
三个调查组；每组不得调查其成员籍贯所在的县（回避）。整个乡镇分给同一组，工作量尽量均衡。
Three teams; no team may survey the county its members come from (avoidance). Whole
townships go to one team, balancing the workload.
"""),
        code('''\
counties = sorted(sample.households["county_code"].unique())
teams = [ek.Team("T01", members=["张三", "李四"], avoid_counties=[counties[0]]),
         ek.Team("T02", members=["王五", "赵六"], avoid_counties=[counties[1]]),
         ek.Team("T03", members=["孙七", "周八"], avoid_counties=[counties[2]])]
assignment = sample.assign_teams(teams)
# avoidance holds: no team works in a county it must avoid
for t in teams:
    mine = assignment[assignment["team"] == t.name]
    assert not mine["county_code"].astype(str).str[:6].isin(t.avoid_counties).any()
assignment.groupby(["team", "county_code"])["households"].sum().unstack(fill_value=0)'''),
        md("""
## 7. 调查清单 / Field lists
每个调查组一个 Excel 文件（每村一页），身份证号和电话已脱敏，候补户按启用顺序排列。
One workbook per team (a sheet per village), ID and phone numbers masked, reserves in the
order they must be used.
"""),
        code('''\
import tempfile, pathlib
field_dir = pathlib.Path(tempfile.mkdtemp(prefix="evalkit_field_"))
written = sample.to_field_lists(field_dir)
sorted(p.name for p in field_dir.rglob("*") if p.is_file())[:10]'''),
        code('''\
first = sorted(field_dir.rglob("*.xlsx"))[0]
sheet = pd.read_excel(first, sheet_name=0, dtype=str)
shown = [c for c in sheet.columns if "身份证" in str(c)]
print(first.name, shown)
# no full 18-digit ID number appears in a field list
assert not sheet.astype(str).apply(lambda s: s.str.fullmatch(r"\\d{17}[\\dX]")).any().any()
sheet.head()'''),
    ]


def nb02():
    return [
        md("""
# 02 读取问卷 / Ingesting questionnaires

模拟入户调查生成平板导出文件（含拒访、外出、录入错误），然后读取、校验、与样本核对，并做质量检查。
所有问题都有文件、行号（表头为第 1 行）、列、取值和中英文说明，任何一行都不会被悄悄丢掉。

Simulated fieldwork writes tablet exports (with refusals, absences and entry errors); we read,
validate and reconcile them with the sample and run the quality checks. Every problem names
the file, spreadsheet row (header = row 1), column and value, in Chinese and English; no row
is dropped silently.
"""),
        code(SETUP),
        md("## 1. 模拟调查与读取 / Simulated fieldwork and reading"),
        code(FIELDWORK),
        code("print(resp.summary())"),
        md("""
## 2. 问题清单 / Issues
按严重程度（error / warning / info）和检查项汇总；交给调查组逐条核实。
By severity and check; hand them to the teams to resolve.
"""),
        code('''\
resp.issues.groupby(["severity", "check"]).size().rename("n").reset_index()'''),
        code("resp.issues.head(10)"),
        md("""
## 3. 核对：没有丢失任何一户 / Reconciliation: nothing is lost
每个主样本户（以及启用的候补户）要么完成访问，要么在未访清单中写明原因；导出文件中的每一行要么被接受，
要么在拒收清单中写明原因。
Every sampled household is either interviewed or listed as a non-interview with its
disposition; every exported row is either accepted or listed as rejected with its reason.
"""),
        code('''\
done = set(resp.data["household_id"])
missing = set(resp.nonresponse["household_id"])
approached = set(sample.households.loc[sample.households["active"].astype(bool), "household_id"])
print(len(done), "完成 completed;", len(missing), "未访 not interviewed;", len(resp.rejected), "拒收 rejected rows")
assert done.isdisjoint(missing)
assert approached <= done | missing
resp.nonresponse.head()'''),
        md("""
## 4. 一个有错误的文件 / A file with mistakes
把一户的家庭人口数改成文字、把一户的满意度改成问卷中没有的选项，再读一次：问题清单指出文件、行和列。
We break two answers (household size as text, a satisfaction code not in the form) and read
again: the issues point to the file, row and column.
"""),
        code('''\
import re
hh_file = pathlib.Path(files[0])                       # the household table
raw = pd.read_csv(hh_file, dtype=str, keep_default_na=False)
col = {re.split(r"[-/]", c)[-1]: c for c in raw.columns}   # group-prefixed headers
i, j = raw.index[raw[col["disposition"]] == "completed"][:2]
raw.loc[i, col["hh_size"]] = "五口"
raw.loc[j, col["satisfaction"]] = "so-so"
bad_file = work / "broken" / hh_file.name
bad_file.parent.mkdir()
raw.to_csv(bad_file, index=False)
resp_bad = ek.read_responses([bad_file, *files[1:]], sample=sample)
rows = [i + 2, j + 2]                                   # spreadsheet rows: header is row 1
hits = resp_bad.issues[resp_bad.issues["row"].isin(rows)
                       & resp_bad.issues["column"].astype(str).str.contains("hh_size|satisfaction")]
print("改动的行 rows changed:", rows)
assert set(hits["row"]) == set(rows)
hits[["file", "row", "column", "value", "severity", "message"]]'''),
        md("""
## 5. 权数 / Final weights
未应答调整在最末阶段抽样单元（村 × 户类型）内进行：调整后的权数之和等于该单元主样本的设计权数之和。
Nonresponse adjustment within final-stage cells: Σ weight_final equals Σ design weight of the
cell's main households.
"""),
        code('''\
main = sample.main
cells = resp.data.groupby("cell")["weight_final"].sum()
design = main.groupby("cell")["weight"].sum()
both = pd.DataFrame({"Σ weight_final": cells, "Σ design weight": design}).dropna()
assert np.allclose(both.iloc[:, 0], both.iloc[:, 1])
both.head()'''),
    ]


def nb03():
    return [
        md("""
# 03 两率一度与三率一度 / The indicators

按设计计算县退出评估检查的“三率一度”（综合贫困发生率、错退率、漏评率、群众认可度）和成效考核的
“两率一度”（识别准确率、退出准确率、满意度），与模拟省份的真实值比较，比较不同的置信区间方法，
并看一个零事件县。

Design-based 三率一度 (poverty incidence, wrong-exit rate, missed rate, recognition) and
两率一度 (identification accuracy, exit accuracy, satisfaction), compared with the synthetic
province's true values; interval methods compared; a county with zero events.
"""),
        code(SETUP),
        code(FIELDWORK),
        md("## 1. 三率一度 / County exit check"),
        code('''\
res = ek.county_exit_check(resp, reg)
res'''),
        code("res.verdicts"),
        md("""
## 2. 与真实值比较 / Against the truth
模拟省份知道每一户的真实情况；全省估计值应当接近真实值，且真实值一般落在置信区间内。
The synthetic province knows every household's true state: the province estimates should be
close to the truth, which should usually lie inside the interval.
"""),
        code('''\
truth = reg.true_rates()
prov_truth = truth[truth["level"] == "province"].set_index("indicator")["value"]
prov = res.table[res.table["county_code"].isna()].set_index("indicator")
cmp = prov[["estimate", "ci_low", "ci_high"]].assign(truth=prov_truth.reindex(prov.index))
cmp["covered"] = (cmp["ci_low"] <= cmp["truth"]) & (cmp["truth"] <= cmp["ci_high"])
cmp'''),
        md("""
## 3. 两率一度 / Two rates and one degree
"""),
        code('''\
res2 = ek.two_rates_one_degree(resp, rules, by=["county_code"])
res2.table[["indicator", "label", "county_code", "estimate", "ci_low", "ci_high", "ci_method", "df", "n_persons"]].head(12)'''),
        md("""
## 4. 置信区间方法比较与零事件县 / Interval methods and a zero-event county
同一组估计值和标准误，四种区间方法给出的区间不同：比率很小时，Wald 区间对称并在 0 处截断，logit、Wilson、
Korn–Graubard 区间向右偏，更符合稀有比率的实际不确定性。Korn–Graubard（按有效样本量的精确
Clopper–Pearson 区间）是错退率、漏评率的默认方法。

The same estimates and standard errors give different intervals: for small rates Wald is
symmetric and truncated at 0, while logit, Wilson and Korn–Graubard are skewed to the right,
as the uncertainty of a rare rate is. Korn–Graubard (exact Clopper–Pearson on the effective
sample size) is the default for the wrong-exit and missed rates.
"""),
        code('''\
methods = ["wald", "logit", "wilson", "korn-graubard"]
rows = []
for m in methods:
    r = ek.county_exit_check(resp, reg, ci_method=m).table
    r = r[r["indicator"].isin(["wrong_exit_rate", "missed_rate"])]
    rows.append(r.assign(method=m)[["indicator", "county_name", "method", "estimate", "se", "ci_low", "ci_high", "df"]])
ci = pd.concat(rows, ignore_index=True)
ci["county_name"] = ci["county_name"].fillna("全省 province")
ci.pivot_table(index=["indicator", "county_name"], columns="method", values=["ci_low", "ci_high"]).round(4)'''),
        md("""
很多县一个漏评户也没有抽到：估计值为 0，线性化标准误也为 0，教科书式的 Wald 区间 0 ± t·0 = [0, 0]
会给人“零误差”的错觉。evalkit 在零事件时对每种方法都改用精确的 Clopper–Pearson 上限（`ci_exact_fallback`），
指标函数还借用全省的设计效应，所以零事件县仍有一个合理的上限。

Many counties find no missed household at all: the estimate is 0, the linearised SE is 0,
and a textbook Wald interval 0 ± t·0 = [0, 0] would claim perfect certainty. evalkit falls
back to an exact Clopper–Pearson bound for every method when there are no events
(`ci_exact_fallback`), and the indicator functions borrow the province design effect, so a
zero-event county still gets a sensible upper bound.
"""),
        code('''\
hh = res.households
not_reg = hh["registry_status"].eq("not_registered").to_numpy(bool)
missed = hh["missed"].astype("boolean").fillna(False).to_numpy(bool) & not_reg
hh = hh.assign(y=hh["hh_size"] * missed, x=hh["hh_size"] * not_reg)
design = ek.SurveyDesign(hh, **resp.design.spec)
raw = pd.concat([design.estimate("y", denominator="x", by=["county_code"], ci_method=m).assign(method=m)
                 for m in methods], ignore_index=True)
zero = raw[raw["estimate"] == 0].copy()
zero["textbook_wald_high"] = zero["estimate"] + 1.96 * zero["se"]
print("零事件县 zero-event counties:", sorted(zero["county_code"].unique()))
if len(zero):
    assert (zero["textbook_wald_high"] == 0).all()   # the naive interval collapses to [0, 0]
    assert (zero["ci_high"] > 0).all()               # evalkit keeps a positive upper bound
    assert zero["ci_exact_fallback"].all()
zero[["county_code", "method", "estimate", "se", "textbook_wald_high", "ci_low", "ci_high", "df", "n", "ci_exact_fallback"]]'''),
        code('''\
# the indicator table for those counties: bound with the borrowed province design effect
ci[(ci["indicator"] == "missed_rate") & (ci["estimate"] == 0)]'''),
        md("""
## 5. 申诉举证 / Evidence and appeals
每个错退户都能追溯到具体的回答和规则；县里申诉后录入复核结果，指标重新计算，每户的状态为
初判 → 申诉中 → 终判。
Each wrongly exited household traces back to its answers and the rule; after an appeal the
outcome is recorded and the indicators recomputed (initial → contested → final).
"""),
        code('''\
flagged = res.explain("wrong_exit_rate")
flagged.head()'''),
        code('''\
if len(flagged):
    hid = flagged["household_id"].iloc[0]
    after = res.with_appeals([{"household_id": hid, "flag": "wrong_exit", "outcome": "overturned", "note": "复核：收入证明补充"}])
    before_est = res.table.query("indicator == 'wrong_exit_rate'")["estimate"].iloc[0]
    after_est = after.table.query("indicator == 'wrong_exit_rate'")["estimate"].iloc[0]
    print(f"全省错退率 province wrong-exit rate: {before_est:.4%} → {after_est:.4%}")
    assert after_est < before_est
    display(after.appeals)'''),
    ]


def nb04():
    return [
        md("""
# 04 省级评估图表与报告 / Provincial figures and the report

每个图函数返回一个 matplotlib Figure，中文字体随安装包提供；`ek.report` 一次写出工作簿、PNG/SVG 图和
单文件 HTML 报告（首页为清单：随机种子、登记库指纹、版本）。

Each figure function returns a matplotlib Figure, with the Chinese font installed with the
package; `ek.report` writes the workbook, PNG/SVG figures and a self-contained HTML report
whose first page is the manifest (seed, registry fingerprint, version).
"""),
        code(SETUP),
        code(FIELDWORK),
        code('''\
from evalkit.report import figures as F
res = ek.county_exit_check(resp, reg)
res.table[["indicator", "county_name", "estimate", "ci_low", "ci_high", "decision"]]'''),
        md("""
## 1. 森林图 / Forest plot
各县估计值和置信区间，虚线为阈值，颜色表示判定（绿：达标；红：不达标；橙：无法判定）。
Estimates and intervals by county; the dashed line is the threshold; colour is the decision
(green pass, red fail, orange inconclusive).
"""),
        code('''\
fig = F.forest_plot(res)
fig'''),
        md("## 2. 按户类型的满意度与认可度 / Satisfaction and recognition by household type"),
        code("F.attitudes_by_type(resp)"),
        md("## 3. 样本与应答 / Sample and response by stratum"),
        code('''\
status = F.fieldwork_status(sample, resp)
assert status["completed"].sum() == len(resp.data)
F.sample_composition(sample, resp)'''),
        md("""
## 4. 登记库与样本 / Registry vs sample
加权后的样本构成应与登记库一致——这是对权数的直观检验。按村类型恰好一致（村按户数 πps 抽取），
按户类型近似一致（无偏）。
The weighted sample should reproduce the registry's composition — a visual check of the
weights: exactly by village type (villages drawn πps on households), approximately
(unbiasedly) by household type.
"""),
        code('''\
tab = F.registry_vs_sample_table(sample, reg, by="village_type")
assert np.allclose(tab["weighted_share"], tab["registry_share"], atol=1e-12)
tab'''),
        code('''\
tab = F.registry_vs_sample_table(sample, reg)
assert (tab["weighted_share"] - tab["registry_share"]).abs().max() < 0.05
display(tab)
F.registry_vs_sample(sample, reg)'''),
        md("""
## 5. 脱贫户收入与收入线 / Income of exited households around the line
"""),
        code('''\
line = res.meta["line"]
print(f"收入线 line: {line:,.0f} 元; 收入不高于收入线的脱贫户（加权）share at or below: "
      f"{F.share_at_or_below(resp, line):.2%}")
F.income_around_line(resp, line)'''),
        md("""
## 6. 报告 / The report
`suppress_population=True` 隐藏基数人口（保密要求），只报告比率和样本量。
`suppress_population=True` hides base population counts (confidentiality), keeping rates and
sample counts.
"""),
        code('''\
files = ek.report(res, work / "report", sample=sample, responses=resp, registry=reg)
files'''),
        code('''\
html = files.html.read_text(encoding="utf-8")
assert sample.manifest["registry_fingerprint"] in html[: html.index("</section>")]
from openpyxl import load_workbook
load_workbook(files.workbook).sheetnames'''),
    ]


NOTEBOOKS = {
    "01_sample.ipynb": nb01,
    "02_ingest.ipynb": nb02,
    "03_rates.ipynb": nb03,
    "04_figures.ipynb": nb04,
}


def build(out_dir: Path = HERE) -> list[Path]:
    """Write every notebook (no outputs) and return their paths."""
    paths = []
    for name, make in NOTEBOOKS.items():
        cells = make()
        for i, cell in enumerate(cells):  # stable ids: rebuilding gives identical files
            cell["id"] = f"{name[:2]}-{i:02d}"
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        })
        path = Path(out_dir) / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print("wrote", p)
