"""The pharmacogenomics mappings: every resource validates with R4B, and the same inputs give the same output."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from mappings.pharmacogenomics import (
    InvalidGenotypeError,
    PatientRecord,
    PgxAdvisor,
    RecommendationQuery,
    UnknownMedicationError,
    genotype_observation,
    read_genotypes,
)
from terminology import Terminology

AS_OF = date(2026, 1, 1)


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load_default()


@pytest.fixture(scope="module")
def advisor(terminology: Terminology) -> PgxAdvisor:
    return PgxAdvisor(terminology, "http://novamind.example.org/fhir")


def _record(terminology: Terminology, diplotype: str = "*2/*2", **patient: Any) -> PatientRecord:
    obs = {**genotype_observation(terminology, "p1", "CYP2C19", diplotype), "id": "g1"}
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32.1"}]},
    }
    person = {"resourceType": "Patient", "id": "p1", "birthDate": "1990-01-01", "gender": "male", **patient}
    return PatientRecord(person, [obs], [condition], [])


def _valid(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_genotype_observation_round_trips(terminology: Terminology) -> None:
    obs = {**genotype_observation(terminology, "p1", "CYP2D6", "*1/*4"), "id": "x"}
    _valid(obs)
    assert obs["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "HGNC:2625"
    (found,) = read_genotypes([obs], terminology)
    assert (found.gene, found.diplotype, found.reference) == ("CYP2D6", "*1/*4", "Observation/x")


def test_preliminary_results_are_not_read(terminology: Terminology) -> None:
    obs = {**genotype_observation(terminology, "p1", "CYP2D6", "*1/*4"), "status": "preliminary"}
    assert read_genotypes([obs], terminology) == ()


def test_every_emitted_resource_validates(advisor: PgxAdvisor, terminology: Terminology) -> None:
    result = advisor.recommendations(_record(terminology), RecommendationQuery(), AS_OF)
    for resource in result.stored:
        _valid(resource)
    for resource in advisor.catalogue():
        _valid(resource)


def test_same_inputs_give_the_same_resources(advisor: PgxAdvisor, terminology: Terminology) -> None:
    first = advisor.recommendations(_record(terminology), RecommendationQuery(), AS_OF)
    second = PgxAdvisor(terminology, "http://novamind.example.org/fhir").recommendations(
        _record(terminology), RecommendationQuery(), AS_OF
    )
    assert first == second


def test_poor_metabolizer_gets_cpic_text_and_phenotype(advisor: PgxAdvisor, terminology: Terminology) -> None:
    result = advisor.recommendations(_record(terminology), RecommendationQuery(("escitalopram",)), AS_OF)
    (risk,) = result.risk_assessments
    assert "consider a lower starting dose" in risk["mitigation"] and "strength: Strong" in risk["mitigation"]
    (phenotype,) = result.phenotypes
    value = phenotype["component"][0]["valueCodeableConcept"]
    assert value["coding"][0]["code"] == "LA9657-3" and value["text"] == "CYP2C19 Poor Metabolizer"
    assert phenotype["derivedFrom"] == [{"reference": "Observation/g1"}]


def test_without_a_known_diagnosis_there_is_no_prediction(advisor: PgxAdvisor, terminology: Terminology) -> None:
    record = _record(terminology)
    bare = PatientRecord(record.patient, record.observations, [], [])
    (risk,) = advisor.recommendations(bare, RecommendationQuery(("escitalopram",)), AS_OF).risk_assessments
    assert "prediction" not in risk and risk["status"] == "final"


def test_alert_offers_alternative_and_dose_reduction(advisor: PgxAdvisor, terminology: Terminology) -> None:
    (alert,) = advisor.alerts(_record(terminology), "escitalopram", AS_OF)
    assert alert.action.value == "consider alternative" and alert.reduce_dose and alert.dose_reduction_percent == 50
    assert alert.alternatives and all(a.drug not in ("citalopram", "sertraline") for a in alert.alternatives)
    assert advisor.alerts(_record(terminology, "*1/*1"), "escitalopram", AS_OF) == ()


def test_bad_inputs_are_typed_errors(advisor: PgxAdvisor, terminology: Terminology) -> None:
    with pytest.raises(UnknownMedicationError):
        advisor.recommendations(_record(terminology), RecommendationQuery(("unobtainium",)), AS_OF)
    with pytest.raises(InvalidGenotypeError):
        advisor.recommendations(_record(terminology, "2/2"), RecommendationQuery(("escitalopram",)), AS_OF)


def test_drug_of_reads_rxnorm_codes_and_text(advisor: PgxAdvisor) -> None:
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    assert advisor.drug_of({"coding": [{"system": rxnorm, "code": "321988"}]}) == "escitalopram"
    assert advisor.drug_of({"text": "Escitalopram 10 mg oral tablet"}) == "escitalopram"
    assert advisor.drug_of({"text": "aspirin"}) is None
