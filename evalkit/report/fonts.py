"""A Simplified-Chinese font for matplotlib that works after ``pip install`` (中文字体).

Figures carry Chinese labels, so they need a font with CJK glyphs on a machine that may
have no system fonts at all. evalkit depends on the PyPI package ``noto-cjk-sans-otc``
(Noto Sans CJK, SIL Open Font License 1.1, one 19 MB font collection, no code), whose
``Noto Sans CJK SC`` face we register with matplotlib. If that package is absent we fall
back to a font file placed in ``evalkit/report/fonts/`` or to a CJK font the system
already has, and fail with an explanation if there is none.

Figures never change the global ``matplotlib.rcParams``: each figure function draws inside
``matplotlib.rc_context(cjk_rc())``, whose ``font.family`` names concrete families, so the
figure renders the same later (``savefig``, Jupyter) whatever the global settings are.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from evalkit.errors import ReportError

HERE = Path(__file__).resolve().parent
FONT_DIR = HERE / "fonts"

# Families tried, best first: the Simplified-Chinese face of the bundled collection, then
# common system fonts with GB2312/GBK coverage. The JP face of Noto Sans CJK still maps
# every Chinese code point (matplotlib < 3.10 only sees the first face of a collection).
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "SimHei",
    "Noto Sans CJK JP",
)


def _candidate_files() -> list[Path]:
    """Font files evalkit can register itself: its own folder, then font packages."""
    files = sorted(p for p in FONT_DIR.glob("*") if p.suffix.lower() in {".otf", ".ttf", ".ttc"}) \
        if FONT_DIR.is_dir() else []
    try:  # the declared dependency
        import noto_cjk_sans_otc

        files.append(Path(str(noto_cjk_sans_otc.FONT_PATH)))
    except ImportError:
        pass
    try:  # another pip font package some users have
        import mplfonts

        files.append(Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf")
    except ImportError:
        pass
    return [f for f in files if f.is_file()]


@lru_cache(maxsize=1)
def register() -> str:
    """Register evalkit's CJK font with matplotlib (once) and return its family name.

    Raises :class:`ReportError` when neither the font package nor a system CJK font exists.
    """
    from matplotlib import font_manager as fm

    known = {f.name for f in fm.fontManager.ttflist}
    for path in _candidate_files():
        try:
            fm.fontManager.addfont(str(path))
        except (RuntimeError, OSError, ValueError):  # unreadable file: try the next one
            continue
    known = {f.name for f in fm.fontManager.ttflist}
    for family in PREFERRED_FAMILIES:
        if family in known:
            return family
    raise ReportError(
        "找不到中文字体，图中的中文无法显示。请安装字体包：pip install noto-cjk-sans-otc\n"
        "No Chinese (CJK) font found, so Chinese labels cannot be drawn. Install the font "
        "package: pip install noto-cjk-sans-otc (or any system font such as Noto Sans CJK SC)."
    )


def font_file() -> str:
    """Path of the font file matplotlib uses for the registered CJK family."""
    from matplotlib import font_manager as fm

    family = register()
    return str(fm.findfont(fm.FontProperties(family=family), fallback_to_default=False))


def cjk_rc() -> dict:
    """rcParams for figures with Chinese text: the concrete CJK family (never a generic name)."""
    family = register()
    return {
        # the CJK face alone: it has Latin glyphs too, and one family halves text layout
        # time against a fallback list (font lookup per text object)
        "font.family": [family],
        "axes.unicode_minus": False,  # ASCII hyphen for negatives: present in every font
        "svg.fonttype": "path",       # SVG text as outlines: renders without the font
        "figure.dpi": 100,
        "savefig.dpi": 150,
    }
