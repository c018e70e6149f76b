"""Index rows produced from resources: their shape matches the tables, their values the FHIR rules."""

from __future__ import annotations

import json
import time

import pytest

from fhir_server.search.extract import INDEX_TABLES_COLUMNS, IndexExtractor
from fhir_server.search.registry import SearchRegistry
from fhir_server.search.values import MAX_INSTANT, date_range

from .search_examples import EXAMPLES, load_examples


@pytest.fixture(scope="module")
def extractor():
    return IndexExtractor(SearchRegistry.load_default(), base_url="http://me.org/fhir")


def rows_for(extractor, resource, index_type, param):
    return [r for r in extractor.extract(resource)[index_type] if r["param"] == param]


def test_rows_have_exactly_the_table_columns(extractor):
    from fhir_server.storage.tables import INDEX_TABLES

    for resource in load_examples():
        for index_type, rows in extractor.extract(resource).items():
            expected = {c.name for c in INDEX_TABLES[index_type].columns} - {"id", "resource_pk", "res_type"}
            assert INDEX_TABLES_COLUMNS[index_type] == frozenset(expected)
            for row in rows:
                assert set(row) == expected


def test_human_name_expands_into_normalised_parts(extractor):
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": "Müller", "given": ["Jörg", "K"]}]}
    values = {(r["value"], r["value_exact"]) for r in rows_for(extractor, patient, "string", "name")}
    assert values == {("muller", "Müller"), ("jorg", "Jörg"), ("k", "K")}


def test_address_parts_are_indexed(extractor):
    patient = {"resourceType": "Patient", "id": "p", "address": [{"line": ["1 Main St"], "city": "Paris"}]}
    assert {r["value"] for r in rows_for(extractor, patient, "string", "address")} == {"1 main st", "paris"}


def test_codeable_concept_gives_one_token_per_coding_plus_text(extractor):
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"coding": [{"system": "s", "code": "c", "display": "Héart"}], "text": "HR"},
    }
    rows = rows_for(extractor, obs, "token", "code")
    assert {(r["system"], r["code"], r["text"]) for r in rows} == {("s", "c", "heart"), (None, None, "hr")}


def test_identifier_and_boolean_tokens(extractor):
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "active": False,
        "identifier": [{"system": "urn:mrn", "value": "42", "type": {"text": "MRN"}}],
    }
    assert rows_for(extractor, patient, "token", "active")[0]["code"] == "false"
    identifier = rows_for(extractor, patient, "token", "identifier")[0]
    assert (identifier["system"], identifier["code"], identifier["text"]) == ("urn:mrn", "42", "mrn")


def test_partial_date_becomes_a_range(extractor):
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "2020-03"}
    row = rows_for(extractor, patient, "date", "birthdate")[0]
    assert (row["low"], row["high"]) == (date_range("2020-03-01")[0], date_range("2020-03-31")[1])


def test_open_period_end_is_max_instant(extractor):
    enc = {
        "resourceType": "Encounter",
        "id": "e",
        "status": "in-progress",
        "class": {"code": "AMB"},
        "period": {"start": "2021-01-01"},
    }
    row = rows_for(extractor, enc, "date", "date")[0]
    assert row["high"] == MAX_INSTANT


def test_quantity_has_precision_range_and_canonical_value(extractor):
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": 90, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"},
    }
    row = rows_for(extractor, obs, "quantity", "value-quantity")[0]
    assert (row["value"], row["low"], row["high"]) == (90.0, 89.5, 90.5)
    assert (row["canonical_value"], row["canonical_code"]) == (5400.0, "s")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/1", ("Patient", "1", None, None)),
        ("Patient/1/_history/3", ("Patient", "1", "3", None)),
        ("http://me.org/fhir/Patient/1", ("Patient", "1", None, None)),
        ("http://other.org/fhir/Patient/1", ("Patient", "1", None, "http://other.org/fhir/Patient/1")),
        ("urn:uuid:abc", (None, None, None, "urn:uuid:abc")),
    ],
)
def test_reference_forms(extractor, reference, expected):
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": reference},
    }
    row = rows_for(extractor, obs, "reference", "subject")[0]
    assert (row["target_type"], row["target_id"], row["target_version"], row["url"]) == expected


def test_canonical_reference_keeps_version_apart(extractor):
    qr = {
        "resourceType": "QuestionnaireResponse",
        "id": "q",
        "status": "completed",
        "questionnaire": "http://x.org/Questionnaire/phq9|1.0",
    }
    row = rows_for(extractor, qr, "reference", "questionnaire")[0]
    assert (row["url"], row["target_version"]) == ("http://x.org/Questionnaire/phq9", "1.0")


def test_reference_identifier_is_indexed_as_token(extractor):
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"identifier": {"system": "urn:mrn", "value": "7"}},
    }
    assert rows_for(extractor, obs, "token", "subject:identifier")[0]["code"] == "7"


def test_composite_components_share_a_group_per_element(extractor):
    bp = json.loads((EXAMPLES / "r4-core" / "observation-example-bloodpressure.json").read_text())
    rows = extractor.extract(bp)
    codes = [r for r in rows["token"] if r["param"] == "component-code-value-quantity$0" and r["code"] == "8480-6"]
    values = [r for r in rows["quantity"] if r["param"] == "component-code-value-quantity$1"]
    systolic_group = codes[0]["grp"]
    assert [v["value"] for v in values if v["grp"] == systolic_group] == [107.0]


def test_composite_without_every_component_emits_nothing(extractor):
    obs = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}
    rows = extractor.extract(obs)
    assert not [r for r in rows["token"] if r["param"].startswith("code-value-quantity$")]


def test_compartments_follow_the_patient_compartment_definition(extractor):
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/1"},
        "performer": [{"reference": "Patient/2"}, {"reference": "Practitioner/3"}],
    }
    assert extractor.compartments(obs) == [("Patient", "1"), ("Patient", "2")]
    assert extractor.compartments({"resourceType": "Patient", "id": "9"}) == [("Patient", "9")]
    assert extractor.compartments({"resourceType": "Organization", "id": "x"}) == []


def test_compartments_from_already_extracted_rows(extractor):
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/1"},
    }
    assert extractor.compartments(obs, extractor.extract(obs)) == [("Patient", "1")]


def test_fhirpathpy_fallback_indexes_without_modifying_the_resource():
    expression = "Observation.value.ofType(Quantity).value.where($this > 0)"  # outside the fast grammar
    entry = {"url": "urn:test", "code": "positive", "base": ["Observation"], "type": "number", "expression": expression}
    extractor = IndexExtractor(SearchRegistry([entry]))
    obs = {"resourceType": "Observation", "id": "o", "valueQuantity": {"value": 7.5}}
    before = json.dumps(obs)
    rows = extractor.extract(obs)["number"]
    assert [(r["param"], r["value"]) for r in rows] == [("positive", 7.5)]
    assert json.dumps(obs) == before


@pytest.mark.skipif(not (EXAMPLES / "r4-core").exists(), reason="shared FHIR examples are not available")
def test_extraction_of_core_observations_is_well_under_a_millisecond(extractor):
    observations = [json.loads(p.read_text()) for p in sorted((EXAMPLES / "r4-core").glob("observation-*.json"))]
    for obs in observations:
        extractor.extract(obs)
    rounds = 50
    start = time.perf_counter()
    for _ in range(rounds):
        for obs in observations:
            extractor.extract(obs)
    per_resource = (time.perf_counter() - start) / (rounds * len(observations))
    assert per_resource < 0.001
