"""Monitoring of single-patient streams: robust seasonal anomalies in biometrics, trends in symptom scores.

Both return frozen dataclasses with a confidence and raise `MonitoringInputError` (a `TwinEngineError`)
for empty or malformed input; NaNs in the input are dropped, never propagated.
"""

from twin_engine.monitoring.anomalies import Anomaly, AnomalyReport, detect_anomalies, detect_frame_anomalies
from twin_engine.monitoring.errors import MonitoringInputError, TooFewPointsError
from twin_engine.monitoring.trends import SymptomTrend, frame_symptom_trend, symptom_trend

__all__ = [
    "Anomaly",
    "AnomalyReport",
    "MonitoringInputError",
    "SymptomTrend",
    "TooFewPointsError",
    "detect_anomalies",
    "detect_frame_anomalies",
    "frame_symptom_trend",
    "symptom_trend",
]
