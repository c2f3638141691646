"""evalkit.report — provincial figures (figures.py), the workbook (tables.py), the report
(report.py) and the CJK font (fonts.py).

``ek.report(results, out_dir, ...)`` is the public function; because ``evalkit.report`` is
also this package, the package itself is made callable (it forwards to
:func:`evalkit.report.report.report`) so ``ek.report(...)`` works whatever was imported first.
"""
from __future__ import annotations

import sys
import types


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from evalkit.report.report import report

        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
