"""The CJK font works: Chinese text draws with no missing-glyph warning (PNG and SVG),
even when the figure is saved outside the figure function's rc context."""
from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager as fm  # noqa: E402

from evalkit.report import fonts  # noqa: E402

TEXT = "错退率 漏评率 群众认可度 综合贫困发生率 贵州省 黔东南苗族侗族自治州 −1.5%"


def _draw(fig):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
        fig.savefig(io.BytesIO(), format="svg")
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_cjk_family_registered_and_resolves_to_a_cjk_file():
    family = fonts.register()
    assert family in fonts.PREFERRED_FAMILIES
    path = fonts.font_file()
    assert path.lower().endswith((".otf", ".ttf", ".ttc"))
    # the file really has glyphs for the characters we draw
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    cmap = font.get_charmap()
    assert all(ord(ch) in cmap for ch in "错退率漏评群众认可度贵州省黔")


def test_no_missing_glyph_warning_with_cjk_rc():
    from matplotlib.figure import Figure

    with matplotlib.rc_context(fonts.cjk_rc()):
        fig = Figure()
        ax = fig.subplots()
        ax.set_title(TEXT)
        ax.set_xticks([0, 1], ["已脱贫户", "非建档立卡户"])
        ax.set_xlabel("人均纯收入（元）")
    # saved outside the context: fonts are fixed on the artists
    assert _draw(fig) == []


def test_control_default_font_does_warn():
    """The check above is meaningful: without evalkit's rc, DejaVu Sans lacks the glyphs."""
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        fig.subplots().set_title("错退率")
    assert len(set(_draw(fig))) == 3  # one per missing character (reported by PNG and SVG)


def test_rc_does_not_touch_global_rcparams():
    before = list(matplotlib.rcParams["font.family"])
    fonts.cjk_rc()
    assert list(matplotlib.rcParams["font.family"]) == before
    assert fm.FontProperties(family=fonts.register()).get_family() == [fonts.register()]


def test_no_font_is_a_clear_report_error(monkeypatch):
    import pytest

    from evalkit.errors import ReportError

    monkeypatch.setattr(fonts, "_candidate_files", lambda: [])
    monkeypatch.setattr(fonts, "PREFERRED_FAMILIES", ("No Such CJK Font",))
    with pytest.raises(ReportError, match="noto-cjk-sans-otc"):
        fonts.register.__wrapped__()
