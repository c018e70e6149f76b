"""The write-time Observation coding check over HTTP: mode `warn` stores and reports, mode `reject` refuses
with 422 and stores nothing (a transaction rolls back whole)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.settings import Settings
from tests.integration.terminology.conftest import BASE, FULL_ACCESS, token_for

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ClientFor = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_for(database_url: str, tmp_path: Path, keys_dir: Path) -> ClientFor:
    @asynccontextmanager
    async def _client(mode: str) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            database_url=database_url,
            data_dir=tmp_path,
            keys_dir=keys_dir,
            public_base_url=BASE,
            publish_terminology=False,
            observation_coding_check=mode,  # type: ignore[arg-type]
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            headers = {"Authorization": f"Bearer {await token_for(app, FULL_ACCESS)}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE + "/", headers=headers) as client:
                yield client

    return _client


def _heart_rate(unit: str, res_id: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
        "valueQuantity": {"value": 72, "unit": unit, "system": UCUM, "code": unit},
    }
    if res_id:
        res["id"] = res_id
    return res


def _transaction(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": r, "request": {"method": "POST", "url": "Observation"}} for r in resources],
    }


async def _count(client: httpx.AsyncClient) -> int:
    r = await client.get("Observation", params={"_summary": "count"})
    return int(r.json()["total"])


async def test_warn_stores_the_observation_and_returns_the_warning_when_asked(client_for: ClientFor) -> None:
    async with client_for("warn") as client:
        r = await client.post("Observation", json=_heart_rate("kg"), headers={"Prefer": "return=OperationOutcome"})
        assert r.status_code == 201
        issues = r.json()["issue"]
        assert issues[0]["severity"] == "information"
        [warning] = issues[1:]
        assert warning["severity"] == "warning"
        assert warning["code"] == "code-invalid"
        assert warning["expression"] == ["Observation.valueQuantity"]
        assert "8867-4 (Heart rate) is measured in /min" in warning["diagnostics"]
        assert (await client.get(r.headers["Location"].removeprefix(BASE + "/"))).status_code == 200


async def test_warn_reports_nothing_for_a_well_coded_observation(client_for: ClientFor) -> None:
    async with client_for("warn") as client:
        r = await client.put(
            "Observation/hr", json=_heart_rate("/min", "hr"), headers={"Prefer": "return=OperationOutcome"}
        )
        assert r.status_code == 201
        assert [i["severity"] for i in r.json()["issue"]] == ["information"]


async def test_warn_puts_the_warning_in_the_transaction_entry_outcome(client_for: ClientFor) -> None:
    async with client_for("warn") as client:
        r = await client.post("", json=_transaction(_heart_rate("/min"), _heart_rate("kg")))
        assert r.status_code == 200
        good, bad = r.json()["entry"]
        assert "outcome" not in good["response"]
        assert bad["response"]["status"] == "201 Created"
        [warning] = bad["response"]["outcome"]["issue"]
        assert "valueQuantity has kg" in warning["diagnostics"]
        assert await _count(client) == 2


async def test_reject_refuses_with_422_and_stores_nothing(client_for: ClientFor) -> None:
    async with client_for("reject") as client:
        r = await client.post("Observation", json=_heart_rate("kg"))
        assert r.status_code == 422
        [issue] = r.json()["issue"]
        assert issue["code"] == "code-invalid"
        assert issue["expression"] == ["Observation.valueQuantity"]
        assert "is measured in /min (UCUM" in issue["diagnostics"]
        assert "valueQuantity has kg" in issue["diagnostics"]
        assert (await client.put("Observation/hr", json=_heart_rate("kg", "hr"))).status_code == 422
        assert await _count(client) == 0


async def test_reject_rolls_the_whole_transaction_back(client_for: ClientFor) -> None:
    async with client_for("reject") as client:
        r = await client.post("", json=_transaction(_heart_rate("/min"), _heart_rate("kg")))
        assert r.status_code == 422
        assert "Bundle.entry[1]" in r.json()["issue"][0]["diagnostics"]
        assert await _count(client) == 0


async def test_reject_still_stores_a_loinc_code_outside_our_subset(client_for: ClientFor) -> None:
    async with client_for("reject") as client:
        sleep = {**_heart_rate("h"), "code": {"coding": [{"system": LOINC, "code": "93832-4"}]}}  # UNVERIFIED here
        r = await client.post("Observation", json=sleep, headers={"Prefer": "return=OperationOutcome"})
        assert r.status_code == 201
        assert [i["severity"] for i in r.json()["issue"]] == ["information", "warning"]


async def test_off_checks_nothing(client_for: ClientFor) -> None:
    async with client_for("off") as client:
        r = await client.post("Observation", json=_heart_rate("kg"), headers={"Prefer": "return=OperationOutcome"})
        assert r.status_code == 201
        assert [i["severity"] for i in r.json()["issue"]] == ["information"]
