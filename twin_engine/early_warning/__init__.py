"""Early-warning signals of mood transitions (critical slowing down) with a calibrated false-alarm rate.

`warning_scores` computes rolling lag-1 autocorrelation, variance and their Kendall τ trends; `calibrate`
fits a rule's threshold on transition-free patients; `assess` gives one patient's frozen assessment;
`evaluate_early_warnings` measures the rules on simulated cohorts (`novamind evaluate early-warnings`);
`load_rules` loads the calibrated rules shipped as the `early-warning` artifact (`novamind train early-warnings`).

Names are imported on first use: the `novamind` CLI registers the early-warning commands on every call, and
importing the package eagerly there would add pandas and the simulators (about 0.8 s) to unrelated commands.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin_engine.early_warning.artifact import EarlyWarningRules, load_rules
    from twin_engine.early_warning.assessment import EarlyWarningAssessment, assess
    from twin_engine.early_warning.errors import EarlyWarningInputError
    from twin_engine.early_warning.evaluation import EarlyWarningReport, RuleResult, evaluate_early_warnings
    from twin_engine.early_warning.rule import CalibratedRule, EarlyWarningConfig, calibrate, warning_scores

_HOMES = {
    "EarlyWarningRules": "artifact",
    "load_rules": "artifact",
    "EarlyWarningAssessment": "assessment",
    "assess": "assessment",
    "EarlyWarningInputError": "errors",
    "EarlyWarningReport": "evaluation",
    "RuleResult": "evaluation",
    "evaluate_early_warnings": "evaluation",
    "CalibratedRule": "rule",
    "EarlyWarningConfig": "rule",
    "calibrate": "rule",
    "warning_scores": "rule",
}

__all__ = [
    "CalibratedRule",
    "EarlyWarningAssessment",
    "EarlyWarningConfig",
    "EarlyWarningInputError",
    "EarlyWarningReport",
    "EarlyWarningRules",
    "RuleResult",
    "assess",
    "calibrate",
    "evaluate_early_warnings",
    "load_rules",
    "warning_scores",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"twin_engine.early_warning.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'twin_engine.early_warning' has no attribute {name!r}")
