"""Symptom trajectory forecasting: members, ensemble, conformal intervals, evaluation (see pipeline)."""

from twin_engine.forecast.base import LEVELS, MAX_HORIZON, QUANTILES, Forecast
from twin_engine.forecast.pipeline import ForecasterConfig, TwinForecaster
from twin_engine.forecast.training import load_bundle

__all__ = ["LEVELS", "MAX_HORIZON", "QUANTILES", "Forecast", "ForecasterConfig", "TwinForecaster", "load_bundle"]
