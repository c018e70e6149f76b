"""Systems every twin-result mapping codes with: our twin-concepts CodeSystem (under the canonical base) and UCUM."""

from __future__ import annotations

from terminology.content import TWIN_CONCEPTS_PATH

UCUM = "http://unitsofmeasure.org"


def twin_concepts(base: str) -> str:
    """The twin-concepts CodeSystem's canonical URL under `base`."""
    return f"{base}/{TWIN_CONCEPTS_PATH}"


def unitless(value: float) -> dict[str, object]:
    """A dimensionless Quantity (UCUM `1`), rounded to 4 decimals."""
    return {"value": round(float(value), 4), "unit": "1", "system": UCUM, "code": "1"}
