"""Maps every shared sample once, for the tests that look across all emitted Observations."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from mappings.wearables import apple_health, fitbit, openmhealth
from mappings.wearables.observation import ObservationBuilder
from mappings.wearables.reading import Reading
from tests.unit.mappings.conftest import APPLE, FITBIT, OMH


def all_sample_observations(patient_id: str = "patient-1") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source, items in (
        ("openmhealth", [r for f in sorted(OMH.rglob("*.json")) for r in openmhealth.parse_file(f)]),
        ("fitbit", [r for f in sorted(FITBIT.glob("*.json")) for r in fitbit.parse_file(f, UTC)]),
        ("apple-health", [r for f in sorted(APPLE.glob("*.xml")) for r in apple_health.parse_file(f)]),
    ):
        builder = ObservationBuilder(source, patient_id)
        out.extend(builder.build(r) for r in items if isinstance(r, Reading))
    return out
