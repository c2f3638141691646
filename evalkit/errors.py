"""The one exception family of evalkit: every message names file/row/column and the fix."""
from __future__ import annotations


class EvalkitError(Exception):
    """Base class of every error evalkit raises on purpose."""


class RegistryError(EvalkitError):
    """The registry cannot be read or fails a fatal validation rule."""


class PlanError(EvalkitError):
    """A sampling plan is inconsistent with itself or with the registry."""


class ResponseError(EvalkitError):
    """Questionnaire exports cannot be read or reconciled with the form/sample."""


class DesignError(EvalkitError):
    """A survey design or estimation request is invalid."""


class QuestionnaireError(EvalkitError):
    """An XLSForm questionnaire is malformed."""


class RuleError(EvalkitError):
    """Classification rules or poverty-line lookups cannot be applied."""


class ReportError(EvalkitError):
    """A report, figure or workbook cannot be produced."""


def where(file=None, row=None, column=None) -> str:
    """Format a location prefix such as ``registry.csv, row 12, column 'hh_size': ``.

    Rows are 1-based data rows as a person sees them in Excel (header = row 1, so the
    first data row is row 2) when ``row`` comes from :func:`excel_row`.
    """
    parts = []
    if file is not None:
        parts.append(str(file))
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column '{column}'")
    return (", ".join(parts) + ": ") if parts else ""
