"""A symptom forecast as FHIR (DESIGN.md §3): an Observation of daily SampledData and threshold RiskAssessments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mappings.frames import FrameMapper
from mappings.twin.device import model_device
from mappings.twin.forecast import ForecastContext, forecast_resources
from terminology import Terminology
from tests.unit.mappings.conftest import valid_r4
from twin_engine import frames as tf
from twin_engine.forecast.base import Forecast
from twin_engine.forecast.risk import threshold_risk
from twin_engine.forecast.training import load_bundle
from twin_engine.simulate import SimulatorConfig, simulate_cohort

BASE = "http://novamind.example.org/fhir"


@pytest.fixture(scope="module")
def mapper() -> FrameMapper:
    return FrameMapper(Terminology.load_default())


@pytest.fixture(scope="module")
def forecasts() -> dict[str, Forecast]:
    cohort = simulate_cohort(SimulatorConfig(n_patients=2, days=120, seed=11))
    return {metric: model.forecast(cohort.observations, 14) for metric, model in load_bundle().items()}


@pytest.fixture(scope="module")
def context(mapper: FrameMapper) -> ForecastContext:
    return ForecastContext(base=BASE, device_id="twin-forecaster", coding=mapper.coding)


def _component(resource: dict[str, Any], code: str) -> dict[str, Any]:
    (found,) = [c for c in resource["component"] if c["code"]["coding"][0]["code"] == code]
    return found


def _data(resource: dict[str, Any], code: str) -> np.ndarray:
    return np.array(_component(resource, code)["valueSampledData"]["data"].split(), dtype=float)


def test_every_resource_is_valid_r4(forecasts: dict[str, Forecast], context: ForecastContext) -> None:
    for forecast in forecasts.values():
        for resource in forecast_resources(forecast, context):
            valid_r4(resource)
    valid_r4(model_device("forecaster", "1.2.0", "ab" * 32))


def test_the_observation_holds_one_value_a_day_for_the_point_and_both_intervals(
    forecasts: dict[str, Forecast], context: ForecastContext
) -> None:
    forecast = forecasts[tf.PHQ9]
    observation = forecast_resources(forecast, context)[0]
    np.testing.assert_allclose(_data(observation, "point-forecast"), forecast.point[0], atol=0.005)
    lower, upper = forecast.interval(0.95)
    np.testing.assert_allclose(_data(observation, "interval-95-lower"), lower[0], atol=0.005)
    np.testing.assert_allclose(_data(observation, "interval-95-upper"), upper[0], atol=0.005)
    sampled = _component(observation, "interval-80-lower")["valueSampledData"]
    assert (sampled["period"], sampled["lowerLimit"], sampled["upperLimit"]) == (86_400_000, 0.0, 27.0)


def test_the_observation_is_coded_as_the_measure_over_the_horizon(
    forecasts: dict[str, Forecast], context: ForecastContext, mapper: FrameMapper
) -> None:
    forecast = forecasts[tf.PHQ9]
    observation = forecast_resources(forecast, context)[0]
    assert observation["code"]["coding"] == [mapper.coding(tf.PHQ9)]
    origin = forecast.origins[0]
    assert observation["effectivePeriod"]["start"] == (origin + np.timedelta64(1, "D")).date().isoformat()
    assert observation["effectivePeriod"]["end"] == (origin + np.timedelta64(14, "D")).date().isoformat()
    assert observation["subject"] == {"reference": f"Patient/{forecast.subject_ids[0]}"}


def test_phq9_gets_a_risk_assessment_per_severity_threshold_based_on_the_forecast(
    forecasts: dict[str, Forecast], context: ForecastContext
) -> None:
    forecast = forecasts[tf.PHQ9]
    observation, at_15, at_20 = forecast_resources(forecast, context)[:3]
    for risk, threshold in ((at_15, 15.0), (at_20, 20.0)):
        assert risk["basis"] == [{"reference": f"Observation/{observation['id']}"}]
        expected = threshold_risk(forecast, threshold).peak[0]
        assert risk["prediction"][0]["probabilityDecimal"] == pytest.approx(expected, abs=1e-4)
        assert risk["prediction"][0]["whenPeriod"] == observation["effectivePeriod"]
    assert at_20["prediction"][0]["probabilityDecimal"] <= at_15["prediction"][0]["probabilityDecimal"]


def test_mood_forecasts_carry_no_threshold_risk(forecasts: dict[str, Forecast], context: ForecastContext) -> None:
    resources = forecast_resources(forecasts[tf.MOOD], context)
    assert [r["resourceType"] for r in resources] == ["Observation", "Observation"]


def test_the_same_forecast_gives_the_same_resources(forecasts: dict[str, Forecast], context: ForecastContext) -> None:
    forecast = forecasts[tf.GAD7]
    assert forecast_resources(forecast, context) == forecast_resources(forecast, context)


def test_every_twin_code_used_is_in_our_code_system(forecasts: dict[str, Forecast], context: ForecastContext) -> None:
    concepts = Terminology.load_default().code_system(f"{BASE}/CodeSystem/twin-concepts").concepts
    for resource in forecast_resources(forecasts[tf.GAD7], context):
        codes = {t["code"] for t in resource["meta"]["tag"]}
        codes |= {c["code"]["coding"][0]["code"] for c in resource.get("component", [])}
        assert codes <= set(concepts)


def test_texts_name_the_measure_as_clinicians_write_it(
    forecasts: dict[str, Forecast], context: ForecastContext
) -> None:
    observation, at_15 = forecast_resources(forecasts[tf.PHQ9], context)[:2]
    assert observation["code"]["text"] == "PHQ-9 depression score forecast, next 14 days"
    assert at_15["prediction"][0]["outcome"]["text"] == "PHQ-9 depression score of 15 or more"
