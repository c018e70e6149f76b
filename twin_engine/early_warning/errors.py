"""Typed errors of the early-warning package (all `TwinEngineError`s, so callers catch one base).

Hierarchy::

    TwinEngineError
    └── EarlyWarningInputError   no usable reports for the metric, or a malformed series/config
"""

from __future__ import annotations

from twin_engine.errors import TwinEngineError


class EarlyWarningInputError(TwinEngineError):
    """The input cannot be turned into a daily series (no rows for the metric, bad window lengths)."""
