"""Each parameter type's matching rules, against the real schema on SQLite (and PostgreSQL when set)."""

from __future__ import annotations

import pytest

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def patient(pid: str, family: str, given: str = "Ann", **extra: object) -> dict:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family, "given": [given]}], **extra}


def observation(
    oid: str,
    code: str = "8867-4",
    *,
    value: float | None = None,
    unit: str = "/min",
    when: str | dict = "2020-03-15T10:00:00Z",
    subject: str = "Patient/p1",
    **extra: object,
) -> dict:
    res: dict = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": "Heart rate"}], "text": "HR"},
        "subject": {"reference": subject},
        **extra,
    }
    if isinstance(when, dict):
        res["effectivePeriod"] = when
    else:
        res["effectiveDateTime"] = when
    if value is not None:
        res["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return res


async def test_string_search_matches_prefix_ignoring_case_and_accents(store, search):
    await store(patient("a", "Müller"))
    await store(patient("b", "Smith"))
    assert await search("Patient", ("family", "mul")) == ["a"]


async def test_string_exact_modifier_is_case_sensitive(store, search):
    await store(patient("a", "Smith"))
    await store(patient("b", "smith"))
    assert await search("Patient", ("family:exact", "Smith")) == ["a"]


async def test_string_contains_modifier_matches_inside(store, search):
    await store(patient("a", "Robertson"))
    await store(patient("b", "Smith"))
    assert await search("Patient", ("name:contains", "ERTS")) == ["a"]


async def test_string_or_values_and_and_params(store, search):
    await store(patient("a", "Smith", "Ann"))
    await store(patient("b", "Jones", "Ann"))
    await store(patient("c", "Jones", "Bob"))
    assert await search("Patient", ("family", "smith,jones"), ("given", "ann")) == ["a", "b"]


async def test_token_system_and_code_forms(store, search):
    await store(observation("o1", "8867-4"))
    await store(observation("o2", "9279-1"))
    assert await search("Observation", ("code", f"{LOINC}|8867-4")) == ["o1"]
    assert await search("Observation", ("code", "9279-1")) == ["o2"]
    assert await search("Observation", ("code", f"{LOINC}|")) == ["o1", "o2"]
    assert await search("Observation", ("code", "|8867-4")) == []


async def test_token_not_modifier_excludes_resources_with_the_code(store, search):
    await store(observation("o1", "8867-4"))
    await store(observation("o2", "9279-1"))
    assert await search("Observation", ("code:not", "8867-4")) == ["o2"]


async def test_token_text_modifier_matches_display(store, search):
    await store(observation("o1"))
    assert await search("Observation", ("code:text", "heart")) == ["o1"]
    assert await search("Observation", ("code:text", "lung")) == []


async def test_token_boolean_and_identifier(store, search):
    await store(patient("a", "X", active=True, identifier=[{"system": "urn:mrn", "value": "123"}]))
    await store(patient("b", "Y", active=False))
    assert await search("Patient", ("active", "true")) == ["a"]
    assert await search("Patient", ("identifier", "urn:mrn|123")) == ["a"]


async def test_missing_modifier(store, search):
    await store(patient("a", "X", birthDate="1980-01-01"))
    await store(patient("b", "Y"))
    assert await search("Patient", ("birthdate:missing", "true")) == ["b"]
    assert await search("Patient", ("birthdate:missing", "false")) == ["a"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("2020-03-15", ["day"]),
        ("2020-03", ["day", "month"]),
        ("gt2020-03-15", ["month", "later"]),  # March extends past the 15th
        ("ge2020-03-15", ["day", "month", "later"]),
        ("lt2020-03-15", ["month"]),
        ("le2020-03-15", ["day", "month"]),
        ("sa2020-03-31", ["later"]),
        ("eb2020-03-15", []),
        ("ne2020-03-15", ["month", "later"]),
    ],
)
async def test_date_prefixes_use_range_semantics(store, search, query, expected):
    await store(patient("day", "A", birthDate="2020-03-15"))
    await store(patient("month", "B", birthDate="2020-03"))
    await store(patient("later", "C", birthDate="2021-01-01"))
    assert sorted(await search("Patient", ("birthdate", query))) == sorted(expected)


async def test_date_search_matches_open_ended_period(store, search):
    await store(observation("open", when={"start": "2020-01-01"}))
    await store(observation("closed", when={"start": "2019-01-01", "end": "2019-02-01"}))
    assert await search("Observation", ("date", "gt2025-01-01")) == ["open"]


async def test_number_search_uses_implicit_precision(store, search):
    await store(
        {
            "resourceType": "RiskAssessment",
            "id": "r1",
            "status": "final",
            "subject": {"reference": "Patient/p"},
            "prediction": [{"probabilityDecimal": 0.1}],
        }
    )
    await store(
        {
            "resourceType": "RiskAssessment",
            "id": "r2",
            "status": "final",
            "subject": {"reference": "Patient/p"},
            "prediction": [{"probabilityDecimal": 0.5}],
        }
    )
    assert await search("RiskAssessment", ("probability", "0.1")) == ["r1"]
    assert await search("RiskAssessment", ("probability", "gt0.2")) == ["r2"]


async def test_quantity_search_converts_ucum_units(store, search):
    await store(observation("o1", value=90, unit="min"))
    await store(observation("o2", value=30, unit="min"))
    assert await search("Observation", ("value-quantity", f"gt1|{UCUM}|h")) == ["o1"]
    assert await search("Observation", ("value-quantity", "30")) == ["o2"]
    assert await search("Observation", ("value-quantity", "lt50||min")) == ["o2"]


async def test_reference_search_by_type_and_id_forms(store, search):
    await store(observation("o1", subject="Patient/p1"))
    await store(observation("o2", subject="Group/p1"))
    assert await search("Observation", ("subject", "Patient/p1")) == ["o1"]
    assert sorted(await search("Observation", ("subject", "p1"))) == ["o1", "o2"]
    assert await search("Observation", ("subject:Group", "p1")) == ["o2"]
    assert await search("Observation", ("patient", "p1")) == ["o1"]


async def test_reference_absolute_url_is_matched_on_url(store, search):
    await store(observation("o1", subject="http://other.org/fhir/Patient/9"))
    assert await search("Observation", ("subject", "http://other.org/fhir/Patient/9")) == ["o1"]


async def test_reference_identifier_modifier(store, search):
    await store(
        observation("o1", subject="Patient/p1", basedOn=[{"identifier": {"system": "urn:orders", "value": "A1"}}])
    )
    assert await search("Observation", ("based-on:identifier", "urn:orders|A1")) == ["o1"]


async def test_uri_search_is_exact(store, search):
    await store({"resourceType": "ValueSet", "id": "v1", "status": "active", "url": "http://x.org/vs/a"})
    await store({"resourceType": "ValueSet", "id": "v2", "status": "active", "url": "http://x.org/vs/ab"})
    assert await search("ValueSet", ("url", "http://x.org/vs/a")) == ["v1"]


async def test_id_and_last_updated_use_resource_columns(store, search):
    await store(patient("a", "X"), last_updated=1_600_000_000_000_000)  # 2020-09-13
    await store(patient("b", "Y"), last_updated=1_700_000_000_000_000)  # 2023-11-14
    assert await search("Patient", ("_id", "a,c")) == ["a"]
    assert await search("Patient", ("_lastUpdated", "gt2021")) == ["b"]


async def test_tag_and_profile_are_searchable(store, search):
    await store(patient("a", "X", meta={"tag": [{"system": "urn:t", "code": "demo"}], "profile": ["http://x.org/p"]}))
    await store(patient("b", "Y"))
    assert await search("Patient", ("_tag", "urn:t|demo")) == ["a"]
    assert await search("Patient", ("_profile", "http://x.org/p")) == ["a"]


async def test_deleted_resources_never_match(store, search):
    await store(patient("a", "Smith"), deleted=True)
    assert await search("Patient", ("family", "smith")) == []


async def test_system_level_search_spans_types(store, search):
    await store(patient("a", "X", meta={"tag": [{"code": "t"}]}))
    await store(observation("o1", meta={"tag": [{"code": "t"}]}))
    assert sorted(await search(None, ("_tag", "t"))) == ["a", "o1"]


async def test_date_approximately_matches_nearby_values(store, search):
    await store(patient("near", "A", birthDate="2000-01-10"))
    await store(patient("far", "B", birthDate="1950-01-01"))
    assert await search("Patient", ("birthdate", "ap2000-01-01")) == ["near"]


async def test_number_search_on_a_range_value(store, search):
    await store(
        {
            "resourceType": "RiskAssessment",
            "id": "r1",
            "status": "final",
            "subject": {"reference": "Patient/p"},
            "prediction": [{"probabilityRange": {"low": {"value": 0.2}, "high": {"value": 0.4}}}],
        }
    )
    assert await search("RiskAssessment", ("probability", "ge0.2")) == ["r1"]


async def test_uri_below_and_above(store, search):
    await store({"resourceType": "ValueSet", "id": "root", "status": "active", "url": "http://x.org/fhir"})
    await store({"resourceType": "ValueSet", "id": "leaf", "status": "active", "url": "http://x.org/fhir/vs/a"})
    await store({"resourceType": "ValueSet", "id": "other", "status": "active", "url": "http://x.org/fhirx"})
    assert sorted(await search("ValueSet", ("url:below", "http://x.org/fhir"))) == ["leaf", "root"]
    assert sorted(await search("ValueSet", ("url:above", "http://x.org/fhir/vs/a"))) == ["leaf", "root"]
