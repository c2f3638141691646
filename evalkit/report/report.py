"""``ek.report``: the provincial assessment report — workbook, figures and one HTML file.

Writes into ``out_dir``::

    assessment.xlsx            the workbook (evalkit.report.tables)
    figures/<name>.png|.svg    every figure (evalkit.report.figures)
    report.html                self-contained (CSS inline, figures as embedded SVG), Chinese
                               first; its first section is the manifest (seed, registry
                               fingerprint, evalkit version) so every number is traceable

and returns a :class:`ReportFiles` listing them.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.errors import ReportError
from evalkit.report import figures as F
from evalkit.report import tables as T


@dataclass
class ReportFiles:
    """Where :func:`report` wrote everything (paths by name)."""

    out_dir: Path
    workbook: Path
    html: Path
    figures: dict[str, dict[str, Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # figure name -> why not drawn

    def paths(self) -> list[Path]:
        """Every file written, workbook and HTML first."""
        out = [self.workbook, self.html]
        for fmts in self.figures.values():
            out.extend(fmts.values())
        return out

    def __repr__(self) -> str:
        lines = [f"<ReportFiles in {self.out_dir}:", f"  workbook  {self.workbook.name}",
                 f"  html      {self.html.name}"]
        for name, fmts in self.figures.items():
            lines.append(f"  figure    {name} ({', '.join(fmts)})")
        for name, why in self.skipped.items():
            lines.append(f"  skipped   {name}: {why}")
        return "\n".join(lines) + ">"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in [("工作簿 workbook", self.workbook), ("报告 HTML", self.html)]
                       + [(f"图 {n}", ", ".join(str(p) for p in f.values())) for n, f in self.figures.items()])
        return f"<table><caption>报告文件 report files: {html.escape(str(self.out_dir))}</caption>{rows}</table>"


def _manifest(results, sample) -> dict:
    """Seed, registry fingerprint and version, from the sample's manifest or the Results meta."""
    import evalkit

    meta = dict(getattr(results, "meta", {}) or {})
    man = dict(getattr(sample, "manifest", {}) or {}) if sample is not None else {}
    inner = next((meta[k] for k in ("sample_manifest", "sample") if isinstance(meta.get(k), dict)), {})
    get = lambda k: man.get(k, inner.get(k, meta.get(k)))  # noqa: E731
    return {
        "seed": get("seed"),
        "registry_fingerprint": get("registry_fingerprint"),
        "evalkit_version": evalkit.__version__,
        "sample_evalkit_version": get("evalkit_version"),
        "sample_created": get("created") or get("time"),
        "year": meta.get("year"),
        "province_code": meta.get("province_code"),
        "line": meta.get("line"),
        "report_created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _poverty_line(results, line):
    if line is not None:
        return float(line)
    meta = getattr(results, "meta", {}) or {}
    if meta.get("line") is not None:
        return float(meta["line"])
    if meta.get("year") is not None:
        try:
            from evalkit.indicators.lines import poverty_line

            return float(poverty_line(meta.get("year"), meta.get("province_code")))
        except Exception:  # no line for that year/province: the figure is skipped and said so
            return None
    return None


def _save(fig, stem: Path) -> dict[str, Path]:
    """PNG and SVG of ``fig``; the SVG is byte-identical for identical inputs (fixed id salt,
    no date), so re-running a report changes no figure file."""
    import matplotlib

    out = {}
    with matplotlib.rc_context({"svg.hashsalt": "evalkit", "svg.fonttype": "path"}):
        for fmt in ("png", "svg"):
            p = stem.with_suffix(f".{fmt}")
            fig.savefig(p, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
            out[fmt] = p
            # the layout is fixed by the first draw; do not solve it again for the SVG
            fig.set_layout_engine("none")
    return out


def _svg_data_uri(svg_path: Path) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg_path.read_bytes()).decode("ascii")


def report(results, out_dir, sample=None, responses=None, *, registry=None, line: float | None = None,
           suppress_population: bool = False, title: str | None = None, figures: bool = True) -> ReportFiles:
    """Write the workbook, figures (PNG and SVG) and a self-contained HTML report to ``out_dir``.

    ``results``: a ``Results`` (contracts §7). ``sample`` / ``responses`` / ``registry`` add the
    sample, response, attitude, income and registry-comparison parts when given. ``line``: the
    poverty line for the income figure (default: ``results.meta['line']``).
    ``suppress_population=True`` hides base-population counts everywhere (DOMAIN.md §8).
    ``figures=False`` writes the workbook and an HTML report of tables only (fast).
    """
    table = F.result_table(results)
    out = Path(out_dir)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{out}: 无法创建输出目录 / cannot create the output folder ({exc}).") from exc
    workbook = T.write_workbook(results, out / "assessment.xlsx", sample=sample, responses=responses,
                                suppress_population=suppress_population)
    files = ReportFiles(out_dir=out, workbook=workbook, html=out / "report.html")
    embedded: dict[str, str] = {}

    def emit(name, make, why_missing=None):
        if not figures:
            why_missing = "figures=False"
        if why_missing:
            files.skipped[name] = why_missing
            return
        try:
            fig = make()
        except ReportError as exc:  # e.g. no exited household surveyed: say so, draw the rest
            if name.startswith("forest_"):
                raise
            files.skipped[name] = str(exc)
            return
        files.figures[name] = _save(fig, out / "figures" / name)
        embedded[name] = _svg_data_uri(files.figures[name]["svg"])

    for ind in dict.fromkeys(table["indicator"]):
        emit(f"forest_{ind}", lambda ind=ind: F.forest_plot(results, indicators=[ind]))
    emit("attitudes_by_type", lambda: F.attitudes_by_type(responses),
         None if responses is not None else "需要 responses / needs responses")
    emit("sample_composition", lambda: F.sample_composition(sample, responses),
         None if sample is not None else "需要 sample / needs a sample")
    emit("registry_vs_sample", lambda: F.registry_vs_sample(sample, registry),
         None if (sample is not None and registry is not None) else "需要 sample 与 registry / needs sample and registry")
    pl = _poverty_line(results, line)
    emit("income_exited", lambda: F.income_around_line(responses, pl),
         None if (responses is not None and pl is not None) else "需要 responses 与收入线 / needs responses and a poverty line")

    manifest = _manifest(results, sample)
    files.html.write_text(_html(results, manifest, embedded, sample, responses, suppress_population, title, pl),
                          encoding="utf-8")
    return files


# ----------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#212121;line-height:1.55}
h1{border-bottom:3px solid #37474f;padding-bottom:.3em} h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em} th,td{border:1px solid #ccc;padding:.25em .5em}
th{background:#37474f;color:#fff;font-weight:600} tr:nth-child(even) td{background:#f6f6f6}
.manifest td:first-child{font-weight:600;white-space:nowrap} .en{color:#666;font-size:.9em}
.pass{color:#fff;background:#2e7d32!important} .fail{color:#fff;background:#c62828!important}
.inconclusive{color:#fff;background:#ef6c00!important} .pass,.fail,.inconclusive{white-space:nowrap} figure{margin:1em 0} img{max-width:100%}
.page{page-break-after:always} .note{color:#555;font-size:.9em} .scroll{overflow-x:auto}
td.wide{min-width:16em} caption{caption-side:top;text-align:left;color:#555;padding:.2em 0}
"""


def _frame_html(df: pd.DataFrame, headers=None, percent=(), caption: str | None = None, wide=()) -> str:
    """DataFrame → escaped HTML table; decision cells get their colour class."""
    df = df.copy()
    for c in percent:
        if c in df:
            df[c] = df[c].map(lambda v: "" if pd.isna(v) else f"{float(v) * 100:.2f}%")
    cls = {v: k for k, v in T.DECISION_ZH.items()}
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in (headers or df.columns))
    body = []
    for row in df.astype(object).where(df.notna(), "").itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, row):
            s = str(v)
            klass = f' class="{cls[s]}"' if s in cls and s != "—" else (' class="wide"' if col in wide else "")
            cells.append(f"<td{klass}>{html.escape(s)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f"<div class='scroll'><table>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _compact_indicator(frame: pd.DataFrame, sub: pd.DataFrame):
    """The per-indicator table for the page: constant columns (level, CI method, threshold,
    rule) move into the caption, the county name is not repeated; the workbook keeps all."""
    const = {}
    for c in ("level", "ci_method", "threshold", "threshold_rule"):
        if c in frame and frame[c].nunique(dropna=False) <= 1:
            const[c] = frame[c].iloc[0] if len(frame) else None
    drop = list(const) + [c for c in ("county_name",) if c in frame and "unit" in frame]
    f = frame.drop(columns=drop)
    bits = []
    if const.get("ci_method") is not None:
        lvl = const.get("level")
        bits.append(f"区间方法 CI method: {const['ci_method']}" + (f"，置信水平 level {float(lvl) * 100:g}%" if lvl else ""))
    if const.get("threshold") is not None and pd.notna(const.get("threshold")):
        bits.append(f"阈值 threshold {float(const['threshold']) * 100:g}%（{const.get('threshold_rule') or ''}）")
    return (f, [T._header(c) for c in f.columns], [c for c in f.columns if c in T.PERCENT_COLUMNS], "；".join(bits))


def _compact_appeals(a: pd.DataFrame) -> pd.DataFrame:
    """Appeal trace for the page: Chinese rule only, status labels, no code columns a name covers."""
    from evalkit.registry import schema

    drop = [c for c, keep in (("rule_en", "rule_zh"), ("county_code", "county_name")) if c in a and keep in a]
    a = a.drop(columns=drop)
    if "registry_status" in a:
        a = a.assign(registry_status=a["registry_status"].map(lambda c: schema.code_label("registry_status", c)))
    if "flag" in a:
        a = a.assign(flag=a["flag"].map(lambda f: T.FLAG_ZH.get(f, f)))
    for col in ("appeal_status", "status"):
        if col in a:
            a[col] = a[col].map(lambda s: T.APPEAL_STATUS_ZH.get(s, s) if isinstance(s, str) else s)
    return a


def _figure_html(embedded, name, caption) -> str:
    if name not in embedded:
        return ""
    return (f'<figure><img alt="{html.escape(caption)}" src="{embedded[name]}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _province_name(results, sample) -> str | None:
    """Province name from the Results meta or the sample's households, if either has it."""
    meta = getattr(results, "meta", {}) or {}
    if meta.get("province_name"):
        return str(meta["province_name"])
    hh = getattr(sample, "households", None)
    if isinstance(hh, pd.DataFrame) and "province_name" in hh.columns and hh["province_name"].notna().any():
        return str(hh["province_name"].dropna().iloc[0])
    return None


def _html(results, manifest, embedded, sample, responses, suppress, title, line) -> str:
    table = F.result_table(results)
    prov = _province_name(results, sample) or manifest.get("province_code") or ""
    year = manifest.get("year")
    title = title or (f"{prov} {year} 年第三方评估报告" if year else f"{prov} 第三方评估报告").strip()
    parts = [f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body>"]
    # page 1: title + manifest
    man_rows = [("抽样随机种子", "sampling seed", manifest["seed"]),
                ("登记库指纹 (sha256)", "registry fingerprint", manifest["registry_fingerprint"]),
                ("evalkit 版本", "evalkit version", manifest["evalkit_version"]),
                ("抽样时 evalkit 版本", "evalkit version at sampling", manifest["sample_evalkit_version"]),
                ("抽样时间", "sample drawn", manifest["sample_created"]),
                ("评估年度", "evaluation year", manifest["year"]),
                ("省份代码", "province code", manifest["province_code"]),
                ("收入线（元/人·年）", "income line (yuan/person/year)", line),
                ("报告生成时间", "report created", manifest["report_created"])]
    rows = "".join(f"<tr><td>{html.escape(zh)} <span class='en'>{html.escape(en)}</span></td>"
                   f"<td>{html.escape('—' if v is None else str(v))}</td></tr>" for zh, en, v in man_rows)
    parts.append(f"<section class='page'><h1>{html.escape(title)}</h1>"
                 "<p class='en'>Third-party evaluation report (provincial assessment)</p>"
                 f"<h2>清单 Manifest</h2><table class='manifest'>{rows}</table>"
                 "<p class='note'>凭随机种子和登记库指纹可复现样本与全部结果。"
                 " The seed and registry fingerprint reproduce the sample and every number in this report.</p>"
                 + ("<p class='note'>基数人口已按保密要求隐藏。 Base population counts are suppressed.</p>" if suppress else "")
                 + "</section>")
    # verdicts and summary
    verdicts = getattr(results, "verdicts", None)
    parts.append("<section><h2>1. 总体判定 Overall decisions</h2>")
    if isinstance(verdicts, pd.DataFrame) and len(verdicts):
        v = verdicts.copy()
        if "decision" in v:
            v["decision"] = v["decision"].map(lambda d: T.DECISION_ZH[T._decision_key(d)])
        v = T._drop_population(v, suppress)
        parts.append(_frame_html(v, [T._header(c) for c in v.columns]))
    summ = T.summary_frame(results)
    heads = [f"{c.rsplit('|', 1)[0]} {T.HEADERS[c.rsplit('|', 1)[1]][0]}" if "|" in c else T._header(c)
             for c in summ.columns]
    parts.append("<h3>指标汇总 Summary by county</h3>")
    parts.append(_frame_html(summ, heads, percent=[c for c in summ.columns if c.endswith("|estimate")]))
    parts.append("</section>")
    # per indicator
    parts.append("<section><h2>2. 分指标结果 Results by indicator</h2>")
    for ind in dict.fromkeys(table["indicator"]):
        sub = table[table["indicator"] == ind]
        label = sub["label"].dropna().iloc[0] if "label" in sub and sub["label"].notna().any() else ind
        label_en = sub["label_en"].dropna().iloc[0] if "label_en" in sub and sub["label_en"].notna().any() else ""
        parts.append(f"<h3>{html.escape(str(label))} <span class='en'>{html.escape(str(label_en))}</span></h3>")
        parts.append(_figure_html(embedded, f"forest_{ind}", f"{label}：各县估计值、置信区间与阈值"))
        frame = T.indicator_frame(results, ind, suppress_population=suppress)
        parts.append(_frame_html(*_compact_indicator(frame, sub)))
    parts.append("</section>")
    # survey
    parts.append("<section><h2>3. 调查情况 Survey</h2>")
    parts.append(_figure_html(embedded, "sample_composition", "各层样本与应答 Sample and response by stratum"))
    if sample is not None:
        st = T._drop_population(F.fieldwork_status(sample, responses), suppress)
        if "registry_status" in st:
            from evalkit.registry import schema

            st["registry_status"] = st["registry_status"].map(lambda c: schema.code_label("registry_status", c))
        parts.append(_frame_html(st, [T._header(c) for c in st.columns], percent=["response_rate"]))
    parts.append(_figure_html(embedded, "registry_vs_sample", "登记库与样本构成 Registry vs sample"))
    parts.append(_figure_html(embedded, "attitudes_by_type", "满意度与认可度 Satisfaction and recognition"))
    parts.append(_figure_html(embedded, "income_exited", "脱贫户收入分布 Income of exited households"))
    parts.append("</section>")
    # appeals and method
    appeals = T.appeal_frame(results)
    parts.append("<section><h2>4. 核查标记与申诉 Flagged households and appeals</h2>")
    if appeals is not None and len(appeals):
        a = _compact_appeals(T._drop_population(appeals, suppress))
        parts.append(f"<p>共 {len(a)} 条记录 / {len(a)} records; 详见工作簿“申诉追踪” (see the workbook).</p>")
        parts.append(_frame_html(a.head(200), [T._header(c) for c in a.columns], wide=("rule_zh", "evidence")))
        if len(a) > 200:
            parts.append(f"<p class='note'>仅显示前 200 条 / first 200 of {len(a)} shown; 全部见工作簿。</p>")
    else:
        parts.append("<p>无记录 / none.</p>")
    parts.append("</section><section><h2>5. 方法说明 Method</h2>")
    mf = T.method_frame(results, sample=sample, suppress_population=suppress)
    parts.append(_frame_html(mf))
    rf = T.rules_frame(results)
    if rf is not None and len(rf):
        parts.append("<h3>判定规则 Classification rules</h3>")
        parts.append(_frame_html(rf, [T._header(c) for c in rf.columns]))
    parts.append("</section></body></html>")
    return "".join(parts)
