"""Synthetic demo patients so a fresh server has something to show (idempotent: loading twice adds nothing).

Until the twin simulator feeds the demo, these are a few hand-sized patients with weekly PHQ-9 and GAD-7
totals and daily resting heart rate, generated from a fixed seed. They are not real people.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir_server.auth.records import Client, ClientKind
from fhir_server.settings import Settings

DEMO_SYSTEM = "http://novamind.example.org/fhir/sid/demo-patient"
# What README's tour mints tokens for (`novamind token --client-id demo-scripts ...`). It has no secret and no
# usable redirect: only someone with the server's data directory can obtain a token for it.
DEMO_SCRIPTS_CLIENT = Client(
    "demo-scripts",
    "Demo scripts (novamind token)",
    ClientKind.PUBLIC,
    ("http://127.0.0.1/unused",),
    "system/*.cruds",
)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
VITALS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
PATIENTS = (
    ("demo-1", "Rivera", "Alex", "female", "1988-04-12"),
    ("demo-2", "Okafor", "Sam", "male", "1975-11-02"),
    ("demo-3", "Lindqvist", "Jo", "other", "2001-06-30"),
)


def _observation(
    patient_ref: str,
    key: str,
    code: str,
    display: str,
    category: dict[str, Any],
    when: datetime,
    value: dict[str, Any],
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "http://novamind.example.org/fhir/sid/demo-observation", "value": key}],
        "status": "final",
        "category": [category],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **value,
    }


def demo_bundle(seed: int = 7, weeks: int = 12) -> dict[str, Any]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    entries: list[dict[str, Any]] = []
    for key, family, given, gender, birth in PATIENTS:
        urn = f"urn:uuid:{key}-0000-0000-0000-000000000000"
        entries.append(
            {
                "fullUrl": urn,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": DEMO_SYSTEM, "value": key}],
                    "name": [{"family": family, "given": [given]}],
                    "gender": gender,
                    "birthDate": birth,
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={DEMO_SYSTEM}|{key}",
                },
            }
        )
        phq, gad = rng.randint(8, 20), rng.randint(6, 16)
        for week in range(weeks):
            when = start + timedelta(weeks=week)
            phq = min(27, max(0, phq + rng.choice((-2, -1, -1, 0, 1))))
            gad = min(21, max(0, gad + rng.choice((-2, -1, 0, 0, 1))))
            for obs_key, code, display, value in (
                (
                    f"{key}-phq9-{week}",
                    "44261-6",
                    "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
                    phq,
                ),
                (
                    f"{key}-gad7-{week}",
                    "70274-6",
                    "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
                    gad,
                ),
            ):
                entries.append(
                    _entry(
                        _observation(
                            urn,
                            obs_key,
                            code,
                            display,
                            SURVEY,
                            when,
                            {
                                "valueQuantity": {
                                    "value": value,
                                    "unit": "{score}",
                                    "system": UCUM,
                                    "code": "{score}",
                                }
                            },
                        )
                    )
                )
        for day in range(weeks * 7):
            when = start + timedelta(days=day, hours=-2)
            hr = round(rng.gauss(68, 5))
            entries.append(
                _entry(
                    _observation(
                        urn,
                        f"{key}-rhr-{day}",
                        "40443-4",
                        "Heart rate --resting",
                        VITALS,
                        when,
                        {"valueQuantity": {"value": hr, "unit": "/min", "system": UCUM, "code": "/min"}},
                    )
                )
            )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    ident = resource["identifier"][0]
    return {
        "resource": resource,
        "request": {"method": "PUT", "url": f"Observation?identifier={ident['system']}|{ident['value']}"},
    }


async def load_demo(settings: Settings) -> int:
    from fhir_server.app import build_services
    from fhir_server.services.access import AccessGuard
    from fhir_server.storage.migrate import upgrade

    services = build_services(settings)
    try:
        await upgrade(services.repository.engine)
        result = await services.bundles.transaction(
            lambda: services.repository.unit_of_work(),
            demo_bundle(),
            base=settings.base_url(),
            representation=False,
            guard=AccessGuard.full_access(services.registry),
        )
        if await services.auth.store.client(DEMO_SCRIPTS_CLIENT.client_id) is None:
            await services.auth.store.add_client(DEMO_SCRIPTS_CLIENT)
        return len(result.get("entry", []))
    finally:
        await services.repository.engine.dispose()
