"""Correlation findings as FHIR Observations (DESIGN.md §3): one per link found, every component coded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from mappings.frames import FrameMapper
from mappings.twin.correlations import CorrelationContext, correlation_observation, correlation_observations
from terminology import Terminology
from tests.unit.mappings.conftest import valid_r4
from twin_engine import frames as tf
from twin_engine.correlations import PatientCorrelations, analyse_patient
from twin_engine.correlations.lagged import SAME_TIME, SYMPTOM_TO_BIOMETRIC
from twin_engine.simulate.couplings import Coupling, CouplingConfig, simulate_couplings

BASE = "http://novamind.example.org/fhir"


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load_default()


@pytest.fixture(scope="module")
def analysis() -> PatientCorrelations:
    planted = (Coupling(tf.SLEEP_HOURS, tf.MOOD, 1, 0.6, 0.6),)
    cohort = simulate_couplings(CouplingConfig(n_patients=1, days=240, seed=2, couplings=planted))
    return analyse_patient(cohort.observations)


@pytest.fixture(scope="module")
def context(terminology: Terminology) -> CorrelationContext:
    return CorrelationContext(
        base=BASE,
        patient_id="p1",
        device_id="twin-device",
        coding=FrameMapper(terminology).coding,
        period=("2025-01-01", "2025-08-28"),
        derived_from=("List/p1-inputs",),
    )


def _component(resource: dict[str, Any], code: str) -> dict[str, Any]:
    (found,) = [c for c in resource["component"] if c["code"]["coding"][0]["code"] == code]
    return found


def _sleep_to_mood(observations: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [
        o
        for o in observations
        if _component(o, "biometric-measure")["valueCodeableConcept"]["text"] == "sleep duration"
        and _component(o, "correlation-lag")["valueQuantity"]["value"] > 0
    ]
    return found


def test_every_found_link_becomes_a_valid_r4_observation(
    analysis: PatientCorrelations, context: CorrelationContext
) -> None:
    observations = correlation_observations(analysis, context)
    assert len(observations) == len(analysis.significant()) >= 1
    for resource in observations:
        valid_r4(resource)


def test_the_planted_link_reads_as_sleep_preceding_mood_by_a_day(
    analysis: PatientCorrelations, context: CorrelationContext
) -> None:
    resource = _sleep_to_mood(correlation_observations(analysis, context))
    assert _component(resource, "correlation-lag")["valueQuantity"] == {
        "value": 24,
        "unit": "h",
        "system": "http://unitsofmeasure.org",
        "code": "h",
    }
    r = _component(resource, "correlation-coefficient")["valueQuantity"]["value"]
    ci = _component(resource, "correlation-ci95")["valueRange"]
    assert ci["low"]["value"] < r < ci["high"]["value"] and r > 0.3
    assert _component(resource, "q-value")["valueQuantity"]["value"] <= 0.05
    assert _component(resource, "sample-size")["valueInteger"] > 100


def test_measures_carry_the_codes_the_patients_own_observations_use(
    analysis: PatientCorrelations, context: CorrelationContext, terminology: Terminology
) -> None:
    resource = _sleep_to_mood(correlation_observations(analysis, context))
    mapper = FrameMapper(terminology)
    assert _component(resource, "biometric-measure")["valueCodeableConcept"]["coding"] == [
        mapper.coding(tf.SLEEP_HOURS)
    ]
    assert _component(resource, "symptom-measure")["valueCodeableConcept"]["coding"] == [mapper.coding(tf.MOOD)]


def test_every_twin_code_used_is_in_our_code_system(
    analysis: PatientCorrelations, context: CorrelationContext, terminology: Terminology
) -> None:
    concepts = terminology.code_system(f"{BASE}/CodeSystem/twin-concepts").concepts
    for resource in correlation_observations(analysis, context):
        codes = [
            resource["code"]["coding"][0]["code"],
            *(c["code"]["coding"][0]["code"] for c in resource["component"]),
        ]
        assert set(codes) <= set(concepts)


def test_the_clinician_sentence_and_reliability_travel_in_the_note(
    analysis: PatientCorrelations, context: CorrelationContext
) -> None:
    notes = [n["text"] for n in _sleep_to_mood(correlation_observations(analysis, context))["note"]]
    assert notes[0].startswith("Higher sleep duration preceded higher mood the next day")
    assert notes[1].startswith("Consider") and notes[-1].startswith("Reliability of this analysis:")


def test_a_link_where_the_symptom_leads_has_a_negative_lag(
    analysis: PatientCorrelations, context: CorrelationContext
) -> None:
    link = analysis.significant()[0]
    reverse = replace(link, spec=replace(link.spec, direction=SYMPTOM_TO_BIOMETRIC, lags=(1, 2, 3)), best_lag=2)
    resource = correlation_observation(reverse, context)
    assert _component(resource, "correlation-lag")["valueQuantity"]["value"] == -48


def test_a_same_time_link_has_lag_zero(analysis: PatientCorrelations, context: CorrelationContext) -> None:
    link = analysis.significant()[0]
    same = replace(link, spec=replace(link.spec, direction=SAME_TIME, lags=(0,)), best_lag=0, pairs=(link.pairs[0],))
    assert _component(correlation_observation(same, context), "correlation-lag")["valueQuantity"]["value"] == 0


def test_a_pooled_link_without_permutations_omits_p_and_q(
    analysis: PatientCorrelations, context: CorrelationContext
) -> None:
    link = replace(analysis.significant()[0], p_value=float("nan"), q_value=float("nan"))
    codes = {c["code"]["coding"][0]["code"] for c in correlation_observation(link, context)["component"]}
    assert "p-value" not in codes and "q-value" not in codes


def test_the_same_analysis_gives_the_same_resources(analysis: PatientCorrelations, context: CorrelationContext) -> None:
    assert correlation_observations(analysis, context) == correlation_observations(analysis, context)


def test_a_measure_without_a_code_is_named_in_text(analysis: PatientCorrelations, context: CorrelationContext) -> None:
    link = analysis.significant()[0]
    anxiety = replace(link, spec=replace(link.spec, symptom=tf.ANXIETY))
    concept = _component(valid_r4(correlation_observation(anxiety, context)), "symptom-measure")["valueCodeableConcept"]
    assert concept == {"text": "anxiety"}
