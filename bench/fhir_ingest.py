"""Seed a running server and measure ingest: Observations/s through transaction bundles of 100.

Usage: python bench/fhir_ingest.py BASE_URL [--patients 50] [--per-patient 200] [--concurrency 4]
Writes the patient ids and a sample of Observation ids to bench/.ids.json for the read/search runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from pathlib import Path

import httpx

LOINC = "http://loinc.org"
CODES = ("8867-4", "40443-4", "44261-6")


def observation(patient_ref: str, code: str, day: int, rng: random.Random) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}T{rng.randint(0, 23):02d}:00:00Z",
        "valueQuantity": {
            "value": rng.randint(50, 110),
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--patients", type=int, default=50)
    ap.add_argument("--per-patient", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    rng = random.Random(1)
    async with httpx.AsyncClient(base_url=args.base + "/", timeout=120) as http:
        patients = []
        for _ in range(args.patients):
            pid = str(uuid.uuid4())
            r = await http.put(f"Patient/{pid}", json={"resourceType": "Patient", "id": pid, "gender": "unknown"})
            r.raise_for_status()
            patients.append(pid)
        bundles = []
        for pid in patients:
            obs = [observation(f"Patient/{pid}", CODES[i % 3], i % 300, rng) for i in range(args.per_patient)]
            for start in range(0, len(obs), 100):
                entries = [
                    {"resource": o, "request": {"method": "POST", "url": "Observation"}}
                    for o in obs[start : start + 100]
                ]
                bundles.append({"resourceType": "Bundle", "type": "transaction", "entry": entries})
        total = sum(len(b["entry"]) for b in bundles)
        queue: asyncio.Queue[dict] = asyncio.Queue()
        for b in bundles:
            queue.put_nowait(b)
        obs_ids: list[str] = []

        async def worker() -> None:
            while not queue.empty():
                b = queue.get_nowait()
                r = await http.post("", json=b, headers={"Content-Type": "application/fhir+json"})
                r.raise_for_status()
                if len(obs_ids) < 5000:
                    obs_ids.extend(e["response"]["location"].split("/")[-3] for e in r.json()["entry"])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - t0
    Path("bench/.ids.json").write_text(json.dumps({"patients": patients, "observations": obs_ids[:5000]}))
    print(
        json.dumps({"observations": total, "seconds": round(elapsed, 2), "observations_per_s": round(total / elapsed)})
    )


if __name__ == "__main__":
    asyncio.run(main())
