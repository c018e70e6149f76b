"""The write-time Observation coding check: LOINC measures in a UCUM unit commensurable with our table's."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_server.services.observation_check import (
    CodingIssue,
    ObservationCodingCheck,
    ObservationCodingError,
    dimension,
)
from terminology import Terminology

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load_default()


@pytest.fixture(scope="module")
def check(terminology: Terminology) -> ObservationCodingCheck:
    return ObservationCodingCheck(terminology, "warn")


def _obs(code: str, unit: str | None = None, *, system: str = UCUM, **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        **extra,
    }
    if unit is not None:
        res["valueQuantity"] = {"value": 7, "unit": unit, "system": system, "code": unit}
    return res


def _errors(issues: tuple[CodingIssue, ...]) -> list[CodingIssue]:
    return [i for i in issues if i.severity == "error"]


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("8867-4", "/min"),  # heart rate
        ("8867-4", "{beats}/min"),  # the same unit, annotated
        ("55411-3", "min"),  # exercise duration
        ("55411-3", "h"),  # ... in hours: convertible
        ("80404-7", "ms"),  # HRV SDNN
        ("80404-7", "s"),
        ("29463-7", "kg"),
        ("29463-7", "g"),
        ("29463-7", "[lb_av]"),
        ("8302-2", "[in_i]"),  # body height in inches
        ("8310-5", "[degF]"),  # named as an alternative in loinc.csv, not convertible by factor
        ("55423-8", "{steps}"),
    ],
)
def test_a_measure_in_a_commensurable_ucum_unit_passes(check: ObservationCodingCheck, code: str, unit: str) -> None:
    assert check.issues(_obs(code, unit)) == ()


def test_a_heart_rate_in_kg_is_an_error_saying_what_was_expected(check: ObservationCodingCheck) -> None:
    [issue] = check.issues(_obs("8867-4", "kg"))
    assert issue.severity == "error"
    assert issue.code == "code-invalid"
    assert issue.expression == "Observation.valueQuantity"
    assert "8867-4 (Heart rate) is measured in /min (UCUM" in issue.message
    assert "valueQuantity has kg" in issue.message


def test_a_unit_outside_ucum_is_an_error(check: ObservationCodingCheck) -> None:
    [issue] = check.issues(_obs("8867-4", "bpm", system="http://example.org/units"))
    assert issue.severity == "error"
    assert "not a UCUM code" in issue.message


def test_a_duration_is_not_a_rate(check: ObservationCodingCheck) -> None:
    assert _errors(check.issues(_obs("8867-4", "min")))


def test_a_quantity_measure_with_another_value_type_is_an_error(check: ObservationCodingCheck) -> None:
    [issue] = check.issues(_obs("8867-4", valueString="72"))
    assert issue.expression == "Observation.valueString"


def test_a_measure_without_value_is_an_error_unless_absence_is_explained(check: ObservationCodingCheck) -> None:
    assert _errors(check.issues(_obs("8867-4")))
    reason = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]}
    assert check.issues(_obs("8867-4", dataAbsentReason=reason)) == ()
    assert check.issues(_obs("8867-4", status="entered-in-error")) == ()


def test_a_score_may_be_an_integer(check: ObservationCodingCheck) -> None:
    assert check.issues(_obs("44261-6", valueInteger=12)) == ()
    assert check.issues(_obs("44261-6", "{score}")) == ()


def test_components_are_checked_each_at_their_own_path(check: ObservationCodingCheck) -> None:
    panel = _obs(
        "85354-9",
        component=[
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": _quantity(120, "mm[Hg]")},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": _quantity(80, "kg")},
        ],
    )
    [issue] = check.issues(panel)
    assert issue.expression == "Observation.component[1].valueQuantity"
    assert issue.message.startswith("Observation.component[1].code 8462-4")


def test_a_loinc_code_outside_our_table_is_only_a_warning(check: ObservationCodingCheck) -> None:
    [issue] = check.issues(_obs("93832-4", "h"))  # sleep duration: UNVERIFIED, so not loaded
    assert issue.severity == "warning"
    assert issue.expression == "Observation.code.coding[0]"


def test_codes_of_other_systems_and_loinc_codes_without_unit_are_not_checked(check: ObservationCodingCheck) -> None:
    local = _obs("x")
    local["code"]["coding"][0]["system"] = "http://novamind.example.org/fhir/CodeSystem/wearable-measure"
    assert check.issues(local) == ()
    assert check.issues(_obs("44250-9", valueCodeableConcept={"text": "Several days"})) == ()


def test_reject_mode_raises_with_the_elements_named(terminology: Terminology) -> None:
    with pytest.raises(ObservationCodingError, match="valueQuantity has kg") as raised:
        ObservationCodingCheck(terminology, "reject").review(_obs("8867-4", "kg"))
    assert raised.value.expression == ["Observation.valueQuantity"]
    assert raised.value.code == "code-invalid"


def test_reject_mode_lets_warnings_through(terminology: Terminology) -> None:
    issues = ObservationCodingCheck(terminology, "reject").review(_obs("93832-4", "h"))
    assert [i.severity for i in issues] == ["warning"]


def test_warn_mode_returns_the_issues_and_logs_no_patient_data(
    check: ObservationCodingCheck, caplog: pytest.LogCaptureFixture
) -> None:
    obs = _obs("8867-4", "kg", subject={"reference": "Patient/secret-patient"}, id="secret-id")
    assert len(check.review(obs)) == 1
    assert "valueQuantity has kg" in caplog.text
    assert "secret" not in caplog.text


def test_off_mode_checks_nothing(terminology: Terminology) -> None:
    assert ObservationCodingCheck(terminology, "off").review(_obs("8867-4", "kg")) == ()


def test_dimension_groups_convertible_units() -> None:
    assert dimension("h") == dimension("min") == dimension("ms") == dimension("s")
    assert dimension("/min") == dimension("{beats}/min") == dimension("/d")
    assert dimension("kg") == dimension("g") == dimension("[lb_av]")
    assert dimension("cm") == dimension("[in_i]")
    assert dimension("{steps}") == dimension("1")
    assert dimension("kg") != dimension("/min")


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}
