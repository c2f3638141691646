"""evalkit — third-party evaluation of poverty-alleviation outcomes (第三方评估).

The public API is re-exported here lazily (PEP 562) so that ``import evalkit`` is fast
and the command line starts quickly. See DESIGN.md "Public API".
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # errors
    "EvalkitError": "evalkit.errors",
    "RegistryError": "evalkit.errors",
    "PlanError": "evalkit.errors",
    "ResponseError": "evalkit.errors",
    "DesignError": "evalkit.errors",
    "QuestionnaireError": "evalkit.errors",
    "RuleError": "evalkit.errors",
    "ReportError": "evalkit.errors",
    # registry
    "Registry": "evalkit.registry.registry",
    "read_registry": "evalkit.registry.io",
    "synthetic_registry": "evalkit.registry.synthetic",
    # sampling
    "SamplingPlan": "evalkit.sampling.plan",
    "Stage": "evalkit.sampling.plan",
    "sample_size": "evalkit.sampling.size",
    "sample_size_for_threshold": "evalkit.sampling.size",
    "draw_sample": "evalkit.sampling.draw",
    "Sample": "evalkit.sampling.sample",
    "load_sample": "evalkit.sampling.sample",
    "verify_sample": "evalkit.sampling.verify",
    "Team": "evalkit.sampling.fieldwork",
    # questionnaire
    "read_questionnaire": "evalkit.questionnaire.xlsform",
    "Questionnaire": "evalkit.questionnaire.xlsform",
    "read_responses": "evalkit.questionnaire.ingest",
    "Responses": "evalkit.questionnaire.ingest",
    "simulate_fieldwork": "evalkit.questionnaire.simulate",
    # estimation
    "estimate": "evalkit.estimation.estimate",
    "SurveyDesign": "evalkit.estimation.design",
    # indicators
    "RuleSet": "evalkit.indicators.rules",
    "classify_households": "evalkit.indicators.rules",
    "poverty_line": "evalkit.indicators.lines",
    "two_rates_one_degree": "evalkit.indicators.rates",
    "county_exit_check": "evalkit.indicators.rates",
    "Results": "evalkit.indicators.results",
    # audit
    "cross_check": "evalkit.audit.crosscheck",
    "CrossCheck": "evalkit.audit.crosscheck",
    "compare_registries": "evalkit.audit.snapshots",
    "RegistryChanges": "evalkit.audit.snapshots",
    "quality_report": "evalkit.audit.quality",
    # report
    "report": "evalkit.report.report",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evalkit' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
