"""Early-warning signals of mood transitions (critical slowing down) with a calibrated false-alarm rate.

`warning_scores` computes rolling lag-1 autocorrelation, variance and their Kendall τ trends; `calibrate`
fits a rule's threshold on transition-free patients; `assess` gives one patient's frozen assessment;
`evaluate_early_warnings` measures the rules on simulated cohorts (`novamind evaluate early-warnings`).
"""

from twin_engine.early_warning.assess import EarlyWarningAssessment, assess
from twin_engine.early_warning.errors import EarlyWarningInputError
from twin_engine.early_warning.evaluation import EarlyWarningReport, RuleResult, evaluate_early_warnings
from twin_engine.early_warning.rule import CalibratedRule, EarlyWarningConfig, calibrate, warning_scores

__all__ = [
    "CalibratedRule",
    "EarlyWarningAssessment",
    "EarlyWarningConfig",
    "EarlyWarningInputError",
    "EarlyWarningReport",
    "RuleResult",
    "assess",
    "calibrate",
    "evaluate_early_warnings",
    "warning_scores",
]
