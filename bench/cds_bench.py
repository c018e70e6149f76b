"""CDS Hooks `order-sign` latency: one escitalopram draft for a CYP2C19 *2/*2 patient, on the in-process app.

    .venv/bin/python bench/cds_bench.py --calls 50

The app runs as in production (real SQLite database, real access token, data read from storage without
prefetch, audit on); httpx's ASGI transport replaces the network. The first call, which loads the CPIC tables
and the response model, is reported apart. Figures go in docs/benchmarks.md ("Pharmacogenomics (issue 7)").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fhir_server.app import create_app  # noqa: E402
from fhir_server.auth.scopes import parse_scopes  # noqa: E402
from fhir_server.settings import Settings  # noqa: E402
from mappings.pharmacogenomics import genotype_observation  # noqa: E402

ORIGIN = "http://bench"


def _hook(pid: str) -> dict[str, object]:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "321988"}]
        },
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}]}],
    }
    return {
        "hook": "order-sign",
        "hookInstance": "bench",
        "context": {
            "userId": "Practitioner/bench",
            "patientId": pid,
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]},
        },
    }


async def run(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), public_base_url=f"{ORIGIN}/fhir", publish_terminology=False)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            services = app.state.services
            issued = await services.auth.issue_access_token(
                subject="bench", client_id="bench", scopes=parse_scopes("system/*.cruds")
            )
            headers = {"Authorization": f"Bearer {issued.token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers=headers) as http:
                pid = "bench-pm"
                await http.put(f"/fhir/Patient/{pid}", json={"resourceType": "Patient", "id": pid})
                obs = genotype_observation(services.terminology, pid, "CYP2C19", "*2/*2")
                await http.post("/fhir/Observation", json=obs)
                body = _hook(pid)
                started = time.perf_counter()
                first = await http.post("/cds-services/novamind-pgx-order-sign", json=body)
                cold = time.perf_counter() - started
                assert first.status_code == 200 and first.json()["cards"], first.text
                times = []
                for _ in range(calls):
                    started = time.perf_counter()
                    r = await http.post("/cds-services/novamind-pgx-order-sign", json=body)
                    times.append(time.perf_counter() - started)
                    assert r.status_code == 200
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"first call (loads CPIC tables + model): {cold * 1000:.0f} ms")
    print(f"order-sign, {calls} calls: median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50)
    asyncio.run(run(parser.parse_args().calls))


if __name__ == "__main__":
    main()
