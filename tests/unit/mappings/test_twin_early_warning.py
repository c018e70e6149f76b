"""Early-warning assessments as FHIR RiskAssessments: the rule's verdict and its meaning, never a probability."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from mappings.twin.early_warning import early_warning_risk_assessment
from tests.unit.mappings.conftest import valid_r4
from twin_engine.early_warning.artifact import load_rules
from twin_engine.early_warning.assessment import EarlyWarningAssessment, assess
from twin_engine.simulate.transitions import TransitionConfig, simulate_transitions

BASE = "http://novamind.example.org/fhir"


@pytest.fixture(scope="module")
def assessments() -> tuple[EarlyWarningAssessment, ...]:
    cohort = simulate_transitions(TransitionConfig(n_transition=2, n_control=2, days=200, seed=4))
    return assess(cohort.observations, load_rules().for_rate(5))


def test_every_assessment_is_a_valid_r4_risk_assessment(assessments: tuple[EarlyWarningAssessment, ...]) -> None:
    for a in assessments:
        resource = valid_r4(early_warning_risk_assessment(BASE, a, "twin-ews"))
        assert resource["subject"] == {"reference": f"Patient/{a.subject_id}"}
        assert "probabilityDecimal" not in resource["prediction"][0]


def test_a_warning_says_since_when_and_what_the_threshold_means(
    assessments: tuple[EarlyWarningAssessment, ...],
) -> None:
    warned = replace(assessments[0], score=9.0, alarm=True, alarm_since=pd.Timestamp("2025-06-01", tz="UTC"))
    rationale = early_warning_risk_assessment(BASE, warned, "d")["prediction"][0]["rationale"]
    assert rationale.startswith("Warning since 2025-06-01: score 9.00 is above the threshold")
    assert "10% of simulated patients without a transition" in rationale


def test_a_quiet_patient_gets_no_warning(assessments: tuple[EarlyWarningAssessment, ...]) -> None:
    quiet = replace(assessments[0], score=-1.0, alarm=False, alarm_since=None)
    assert early_warning_risk_assessment(BASE, quiet, "d")["prediction"][0]["rationale"].startswith("No warning")


def test_too_few_reports_is_said_not_hidden(assessments: tuple[EarlyWarningAssessment, ...]) -> None:
    sparse = replace(assessments[0], score=None, alarm=False, alarm_since=None, days_with_reports=3)
    rationale = early_warning_risk_assessment(BASE, sparse, "d")["prediction"][0]["rationale"]
    assert rationale.startswith("Not assessed: too few reports") and "(3 days with one)" in rationale


def test_the_research_only_statement_travels_with_every_assessment(
    assessments: tuple[EarlyWarningAssessment, ...],
) -> None:
    notes = [n["text"] for n in early_warning_risk_assessment(BASE, assessments[1], "d")["note"]]
    assert notes[0].startswith("Indicators on ") and notes[1].startswith("Research output")
