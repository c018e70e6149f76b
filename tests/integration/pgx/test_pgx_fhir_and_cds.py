"""`$medication-recommendations` and the CDS Hooks service on the in-process app (real database, real tokens)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B import get_fhir_model_class

from fhir_server.app import create_app
from fhir_server.auth.scopes import parse_scopes
from fhir_server.settings import Settings
from mappings.pharmacogenomics import genotype_observation
from terminology import Terminology

BASE = "http://testserver/fhir"
ORIGIN = "http://testserver"
OP = "$medication-recommendations"


def _valid(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _seed() -> list[dict[str, Any]]:
    terminology = Terminology.load_default()
    out: list[dict[str, Any]] = []
    for pid, diplotype in (("pm", "*2/*2"), ("nm", "*1/*1")):
        out.append({"resourceType": "Patient", "id": pid, "birthDate": "1985-03-02", "gender": "female"})
        obs = genotype_observation(terminology, pid, "CYP2C19", diplotype)
        out.append({**obs, "id": f"{pid}-cyp2c19"})
        out.append(
            {
                "resourceType": "Condition",
                "id": f"{pid}-mdd",
                "subject": {"reference": f"Patient/{pid}"},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}]},
            }
        )
    return out


@pytest.fixture
def settings(tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'pgx.sqlite3'}",
        data_dir=tmp_path,
        keys_dir=keys_dir,
        public_base_url=BASE,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _token(app: FastAPI, scope: str, patient: str | None = None) -> str:
    issued = await app.state.services.auth.issue_access_token(
        subject="pgx-test", client_id="pgx-test", scopes=parse_scopes(scope), patient=patient
    )
    return str(issued.token)


def _client(app: FastAPI, token: str | None = None, base: str = BASE + "/") -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base, headers=headers)


@pytest.fixture
async def admin(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, await _token(app, "system/*.cruds")) as http:
        for resource in _seed():
            r = await http.put(f"{resource['resourceType']}/{resource['id']}", json=resource)
            assert r.status_code == 201, r.text
        yield http


def _draft(drug: str, rxnorm: str, patient: str = "pm") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}],
            "text": drug,
        },
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}]}],
    }


def _hook(hook: str, patient: str, drafts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/p1",
            "patientId": patient,
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]},
        },
        **extra,
    }


async def test_recommendations_bundle_validates_and_is_reproducible(admin: httpx.AsyncClient) -> None:
    first = await admin.get(f"Patient/pm/{OP}", params={"medication": "escitalopram,sertraline"})
    assert first.status_code == 200, first.text
    bundle = first.json()
    _valid(bundle)
    assert bundle["type"] == "collection"
    for entry in bundle["entry"]:
        _valid(entry["resource"])
    risks = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"]
    assert len(risks) == 2
    esc = next(r for r in risks if "escitalopram" in r["code"]["text"])
    assert "Strong" in esc["mitigation"] and "50% reduction" in esc["mitigation"]
    assert {"Observation/pm-cyp2c19", "Condition/pm-mdd"} <= {b["reference"] for b in esc["basis"]}
    assert all(0 <= p["probabilityDecimal"] <= 1 for p in esc["prediction"])
    again = (await admin.get(f"Patient/pm/{OP}", params={"medication": "escitalopram,sertraline"})).json()
    assert again["entry"] == bundle["entry"]  # same inputs: same resources, same versions (nothing rewritten)


async def test_results_are_searchable(admin: httpx.AsyncClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "medication", "valueString": "escitalopram"}]}
    assert (await admin.post(f"Patient/pm/{OP}", json=body)).status_code == 200
    risks = (await admin.get("RiskAssessment", params={"patient": "pm"})).json()
    assert risks["total"] == 1
    knowledge = (
        await admin.get("MedicationKnowledge", params={"code": "http://www.nlm.nih.gov/research/umls/rxnorm|321988"})
    ).json()
    assert knowledge["total"] == 1
    _valid(knowledge["entry"][0]["resource"])


async def test_filters_and_bad_parameters(admin: httpx.AsyncClient) -> None:
    none = (await admin.get(f"Patient/pm/{OP}", params={"medication": "escitalopram", "min-efficacy": "0.99"})).json()
    assert none["total"] == 0
    assert (await admin.get(f"Patient/pm/{OP}", params={"min-efficacy": "2"})).status_code == 400
    assert (await admin.get(f"Patient/pm/{OP}", params={"medication": "unobtainium"})).status_code == 400
    assert (await admin.get(f"Patient/pm/{OP}", params={"condition": "J45"})).status_code == 400


async def test_patient_token_may_not_ask_about_another_patient(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with _client(app, await _token(app, "patient/*.rs", patient="nm")) as own:
        assert (await own.get(f"Patient/nm/{OP}", params={"medication": "escitalopram"})).status_code == 200
        assert (await own.get(f"Patient/pm/{OP}", params={"medication": "escitalopram"})).status_code == 403
    token = await _token(app, "patient/*.rs", patient="nm")
    async with _client(app, base=ORIGIN + "/") as cds:
        body = _hook("order-sign", "pm", [_draft("escitalopram", "321988")], fhirAuthorization={"access_token": token})
        assert (await cds.post("cds-services/novamind-pgx-order-sign", json=body)).status_code == 403
        assert (
            await cds.post("cds-services/novamind-pgx-order-sign", json=_hook("order-sign", "pm", []))
        ).status_code == 401


async def test_discovery_lists_the_three_hooks(app: FastAPI) -> None:
    async with _client(app, base=ORIGIN + "/") as cds:
        services = (await cds.get("cds-services")).json()["services"]
    assert {s["hook"] for s in services} == {"order-select", "order-sign", "patient-view"}
    assert all(s["prefetch"]["patient"] == "Patient/{{context.patientId}}" for s in services)


async def test_order_sign_card_for_poor_metabolizer(app: FastAPI, admin: httpx.AsyncClient) -> None:
    token = await _token(app, "user/*.rs system/*.rs")
    async with _client(app, token, base=ORIGIN + "/") as cds:
        r = await cds.post(
            "cds-services/novamind-pgx-order-sign", json=_hook("order-sign", "pm", [_draft("escitalopram", "321988")])
        )
        assert r.status_code == 200, r.text
        cards = r.json()["cards"]
        normal = await cds.post(
            "cds-services/novamind-pgx-order-sign",
            json=_hook("order-sign", "nm", [_draft("escitalopram", "321988", "nm")]),
        )
    assert normal.json()["cards"] == []
    (card,) = cards
    assert len(card["summary"]) <= 140 and card["indicator"] == "warning"
    assert card["source"]["url"].startswith("https://www.pharmgkb.org/guidelineAnnotation/")
    kinds = [[a["type"] for a in s["actions"]] for s in card["suggestions"]]
    assert ["delete", "create"] in kinds and ["update"] in kinds
    update = next(s for s in card["suggestions"] if s["actions"][0]["type"] == "update")["actions"][0]["resource"]
    assert update["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 5
    for s in card["suggestions"]:
        for action in s["actions"]:
            if "resource" in action:
                _valid(action["resource"])


async def test_order_select_uses_prefetch_and_selections(app: FastAPI, admin: httpx.AsyncClient) -> None:
    genotypes = (await admin.get("Observation", params={"patient": "pm", "code": "http://loinc.org|84413-4"})).json()
    patient = (await admin.get("Patient/pm")).json()
    token = await _token(app, "patient/*.rs", patient="pm")
    body = _hook(
        "order-select",
        "pm",
        [_draft("escitalopram", "321988")],
        prefetch={"patient": patient, "genotypes": genotypes},
        fhirAuthorization={"access_token": token, "token_type": "Bearer", "scope": "patient/*.rs", "subject": "x"},
    )
    body["context"]["selections"] = ["MedicationRequest/draft-1"]
    async with _client(app, base=ORIGIN + "/") as cds:
        cards = (await cds.post("cds-services/novamind-pgx-order-select", json=body)).json()["cards"]
        body["context"]["selections"] = []
        unselected = (await cds.post("cds-services/novamind-pgx-order-select", json=body)).json()["cards"]
    assert len(cards) == 1 and unselected == []


async def test_catalogue_is_published_at_start_up_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"publish_terminology": True})
    for _ in range(2):  # the second start finds everything published and writes nothing
        application = create_app(settings)
        async with application.router.lifespan_context(application):  # noqa: SIM117 - the token needs the app running
            async with _client(application, await _token(application, "system/*.rs")) as http:
                found = (
                    await http.get(
                        "MedicationKnowledge", params={"code": "http://www.nlm.nih.gov/research/umls/rxnorm|321988"}
                    )
                ).json()
                history = (await http.get("MedicationKnowledge/pgx-escitalopram/_history")).json()
    assert found["total"] == 1 and history["total"] == 1
    _valid(found["entry"][0]["resource"])


async def test_patient_view_lists_current_medications_with_interactions(app: FastAPI, admin: httpx.AsyncClient) -> None:
    current = {**_draft("escitalopram", "321988"), "id": "esc-active", "status": "active"}
    assert (await admin.put("MedicationRequest/esc-active", json=current)).status_code == 201
    token = await _token(app, "patient/*.rs", patient="pm")
    async with _client(app, token, base=ORIGIN + "/") as cds:
        body = {"hook": "patient-view", "hookInstance": "x", "context": {"userId": "Patient/pm", "patientId": "pm"}}
        (card,) = (await cds.post("cds-services/novamind-pgx-patient-view", json=body)).json()["cards"]
    assert "escitalopram" in card["summary"] and card["indicator"] == "warning"


async def test_the_operation_definition_is_named_under_the_configured_canonical_base(settings: Settings) -> None:
    application = create_app(settings.model_copy(update={"canonical_base": "https://fhir.example.net/twin"}))
    async with application.router.lifespan_context(application), _client(application) as anonymous:
        patient = next(
            r for r in (await anonymous.get("metadata")).json()["rest"][0]["resource"] if r["type"] == "Patient"
        )
    definitions = {o["name"]: o["definition"] for o in patient["operation"]}
    assert definitions["medication-recommendations"] == (
        "https://fhir.example.net/twin/OperationDefinition/medication-recommendations"
    )


async def test_the_operation_definition_is_served_where_the_capability_statement_points(settings: Settings) -> None:
    application = create_app(settings.model_copy(update={"publish_terminology": True}))
    async with application.router.lifespan_context(application):  # noqa: SIM117 - the token needs the app running
        async with _client(application, await _token(application, "system/*.rs")) as http:
            metadata = (await http.get("metadata")).json()
            definition = (await http.get("OperationDefinition/medication-recommendations")).json()
    patient = next(r for r in metadata["rest"][0]["resource"] if r["type"] == "Patient")
    (offered,) = [o for o in patient["operation"] if o["name"] == "medication-recommendations"]
    _valid(definition)
    assert definition["url"] == offered["definition"] and definition["code"] == "medication-recommendations"
    assert {p["name"] for p in definition["parameter"] if p["use"] == "in"} == {
        "medication",
        "condition",
        "min-efficacy",
        "max-side-effect-risk",
    }
