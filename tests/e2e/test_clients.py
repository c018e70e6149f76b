"""End to end with the FHIR clients our users script with: fhirclient (SMART) and fhirpy."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fhirclient import client as smart_client
from fhirclient.models.observation import Observation as SmartObservation
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import AsyncFHIRClient

pytestmark = pytest.mark.e2e


def test_metadata_is_public_and_the_data_is_not(server: str) -> None:
    r = httpx.get(f"{server}/metadata")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["fhirVersion"] == "4.0.1"
    refused = httpx.get(f"{server}/Patient")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


def _fhirclient(server: str, token: str) -> smart_client.FHIRClient:
    smart = smart_client.FHIRClient(settings={"app_id": "novamind-tests", "api_base": server})
    smart.server.session.headers["Authorization"] = f"Bearer {token}"
    return smart


def test_fhirclient_creates_reads_and_searches(server: str, token: str) -> None:
    smart = _fhirclient(server, token)
    family = f"Fhirclient{uuid.uuid4().hex[:8]}"
    patient = SmartPatient({"name": [{"family": family, "given": ["Ada"]}], "gender": "female"})
    created = patient.create(smart.server)
    assert created["id"]
    read = SmartPatient.read(created["id"], smart.server)
    assert read.name[0].family == family
    found = list(SmartPatient.where(struct={"family": family}).perform_resources_iter(smart.server))
    assert [p.id for p in found] == [created["id"]]


def test_fhirclient_reads_observations_it_did_not_write(server: str, token: str, auth: dict[str, str]) -> None:
    pid = f"p-{uuid.uuid4().hex[:8]}"
    httpx.put(f"{server}/Patient/{pid}", json={"resourceType": "Patient", "id": pid}, headers=auth).raise_for_status()
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "valueQuantity": {"value": 12, "system": "http://unitsofmeasure.org", "code": "{score}"},
    }
    httpx.post(f"{server}/Observation", json=obs, headers=auth).raise_for_status()
    smart = _fhirclient(server, token)
    found = list(
        SmartObservation.where(struct={"patient": pid, "code": "44261-6"}).perform_resources_iter(smart.server)
    )
    assert len(found) == 1
    assert found[0].valueQuantity.value == 12


async def test_fhirpy_round_trip_and_paging(server: str, token: str) -> None:
    fhir = AsyncFHIRClient(
        server, authorization=f"Bearer {token}", extra_headers={"Content-Type": "application/fhir+json"}
    )
    tag = uuid.uuid4().hex[:8]
    for i in range(7):
        await fhir.resource("Patient", name=[{"family": f"Fhirpy{tag}", "given": [str(i)]}]).save()
    search = fhir.resources("Patient").search(family=f"Fhirpy{tag}").limit(3)
    everyone = await search.fetch_all()
    assert len(everyone) == 7
    assert await fhir.resources("Patient").search(family=f"Fhirpy{tag}").count() == 7
    one = everyone[0]
    one["gender"] = "other"
    await one.save()
    again = await fhir.reference("Patient", one.id).to_resource()
    assert again["gender"] == "other"
    assert again["meta"]["versionId"] == "2"
