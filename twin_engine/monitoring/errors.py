"""Typed errors of the monitoring package (all `TwinEngineError`s, so callers catch one base).

Hierarchy::

    TwinEngineError
    └── MonitoringInputError      empty or malformed input (not a series, naive timestamps, lengths differ)
        └── TooFewPointsError     finite points too few for the method (also an `InsufficientDataError`)
"""

from __future__ import annotations

from twin_engine.errors import InsufficientDataError, TwinEngineError


class MonitoringInputError(TwinEngineError):
    """The input is empty or malformed."""


class TooFewPointsError(MonitoringInputError, InsufficientDataError):
    """After dropping NaNs and merging duplicates, too few points remain for a meaningful answer."""
