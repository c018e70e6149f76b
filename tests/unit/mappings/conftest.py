"""Shared helpers for the wearable mapping tests: sample locations and R4 validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

DATA = Path(__file__).resolve().parents[2] / "data" / "wearables"
OMH = DATA / "openmhealth" / "test-data" / "omh"
FITBIT = DATA / "fitbit_web_api"
APPLE = DATA / "apple_healthkit"
TERMINOLOGY = Path(__file__).resolve().parents[3] / "terminology" / "data"


def valid_r4(resource: dict[str, Any]) -> dict[str, Any]:
    """Fails the test if `resource` is not a valid FHIR R4 resource (fhir.resources R4B models)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource
