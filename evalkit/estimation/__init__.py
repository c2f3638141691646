"""evalkit.estimation — design-based estimation (设计基础估计).

``SurveyDesign`` (design.py), ``linear_combination``
(combine.py), CI helpers ``proportion_ci`` / ``t_ci`` / ``clopper_pearson`` (ci.py).
The engine itself is ``evalkit.estimate`` (module ``estimate.py``; not re-exported here because
the submodule has the same name). Names load lazily so ``import evalkit`` stays fast. Methods:
docs/methodology/estimation.md.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "SurveyDesign": "evalkit.estimation.design",
    "linear_combination": "evalkit.estimation.combine",
    "proportion_ci": "evalkit.estimation.ci",
    "t_ci": "evalkit.estimation.ci",
    "clopper_pearson": "evalkit.estimation.ci",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evalkit.estimation' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)
