"""Chaining, reverse chaining, composites, compartments and sorting, against the real schema."""

from __future__ import annotations

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def patient(pid: str, family: str, org: str | None = None) -> dict:
    res: dict = {"resourceType": "Patient", "id": pid, "name": [{"family": family}]}
    if org:
        res["managingOrganization"] = {"reference": f"Organization/{org}"}
    return res


def observation(oid: str, subject: str, code: str = "8480-6", value: float = 120.0, when: str = "2020-01-01") -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "effectiveDateTime": when,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": value, "system": UCUM, "code": "mm[Hg]"},
    }


def blood_pressure(oid: str, systolic: float, diastolic: float) -> dict:
    def component(code: str, value: float) -> dict:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "system": UCUM, "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": "Patient/p1"},
        "component": [component("8480-6", systolic), component("8462-4", diastolic)],
    }


async def test_chain_matches_on_referenced_resource(store, search):
    await store(patient("p1", "Smith"))
    await store(patient("p2", "Jones"))
    await store(observation("o1", "Patient/p1"))
    await store(observation("o2", "Patient/p2"))
    assert await search("Observation", ("subject:Patient.name", "smith")) == ["o1"]
    assert await search("Observation", ("patient.family", "jones")) == ["o2"]


async def test_multi_level_chain(store, search):
    await store({"resourceType": "Organization", "id": "org1", "name": "Acme"})
    await store(patient("p1", "Smith", org="org1"))
    await store(patient("p2", "Jones"))
    await store(observation("o1", "Patient/p1"))
    await store(observation("o2", "Patient/p2"))
    assert await search("Observation", ("patient.organization.name", "acme")) == ["o1"]


async def test_chain_ignores_deleted_targets(store, search):
    await store(patient("p1", "Smith"), deleted=True)
    await store(observation("o1", "Patient/p1"))
    assert await search("Observation", ("subject:Patient.name", "smith")) == []


async def test_has_finds_resources_referenced_by_matches(store, search):
    await store(patient("p1", "Smith"))
    await store(patient("p2", "Jones"))
    await store(observation("o1", "Patient/p1", code="1234-5"))
    await store(observation("o2", "Patient/p2", code="9999-9"))
    assert await search("Patient", ("_has:Observation:patient:code", "1234-5")) == ["p1"]


async def test_composite_matches_components_of_the_same_element(store, search):
    await store(blood_pressure("bp1", systolic=150, diastolic=70))
    await store(blood_pressure("bp2", systolic=110, diastolic=95))
    query = ("component-code-value-quantity", f"{LOINC}|8480-6$gt140")
    assert await search("Observation", query) == ["bp1"]
    # 95 belongs to the diastolic component, so systolic>90 on bp2 needs systolic's own value:
    assert await search("Observation", ("component-code-value-quantity", "8462-4$gt90")) == ["bp2"]


async def test_compartment_search_limits_to_the_patient(store, search):
    await store(patient("p1", "Smith"))
    await store(observation("o1", "Patient/p1"))
    await store(observation("o2", "Patient/p2"))
    assert await search("Observation", compartment_of=("Patient", "p1")) == ["o1"]
    assert await search("Patient", compartment_of=("Patient", "p1")) == ["p1"]


async def test_sort_by_date_descending_then_pk(store, search):
    await store(observation("old", "Patient/p1", when="2019-01-01"))
    await store(observation("new", "Patient/p1", when="2021-01-01"))
    await store(observation("mid", "Patient/p1", when="2020-01-01"))
    assert await search("Observation", ("_sort", "-date")) == ["new", "mid", "old"]
    assert await search("Observation", ("_sort", "date")) == ["old", "mid", "new"]


async def test_sort_puts_missing_values_last_and_supports_several_keys(store, search):
    await store(patient("b", "Smith"))
    await store({"resourceType": "Patient", "id": "none"})
    await store(patient("a", "Smith"))
    await store(patient("c", "Adams"))
    assert await search("Patient", ("_sort", "family,-_id")) == ["c", "b", "a", "none"]


async def test_composite_missing_modifier(store, search):
    await store(blood_pressure("bp1", systolic=150, diastolic=70))
    await store(observation("o1", "Patient/p1"))
    assert await search("Observation", ("component-code-value-quantity:missing", "true")) == ["o1"]


async def test_nested_has(store, search):
    await store(patient("p1", "Smith"))
    await store(patient("p2", "Jones"))
    await store(observation("o1", "Patient/p1"))
    await store(observation("o2", "Patient/p2"))
    await store(
        {
            "resourceType": "Provenance",
            "id": "prov1",
            "recorded": "2020-01-01T00:00:00Z",
            "target": [{"reference": "Observation/o1"}],
            "agent": [{"who": {"reference": "Practitioner/dr"}}],
        }
    )
    query = ("_has:Observation:patient:_has:Provenance:target:agent", "Practitioner/dr")
    assert await search("Patient", query) == ["p1"]


async def test_id_is_never_missing(store, search):
    await store(patient("p1", "Smith"))
    assert await search("Patient", ("_id:missing", "true")) == []
    assert await search("Patient", ("_id:missing", "false")) == ["p1"]
