"""Token `:text` over displays and texts, and quantity search across commensurable UCUM units (the units our
wearable measures use), against the real schema on SQLite (and PostgreSQL when set)."""

from __future__ import annotations

import pytest

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _observation(oid: str, *, code: dict | None = None, value: float | None = None, unit: str = "/min") -> dict:
    res: dict = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": code or {"coding": [{"system": LOINC, "code": "8867-4"}]},
    }
    if value is not None:
        res["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return res


def _coded(code: str, display: str) -> dict:
    return {"coding": [{"system": LOINC, "code": code, "display": display}]}


async def test_text_matches_a_coding_display(store, search):
    await store(_observation("hr", code=_coded("8867-4", "Heart rate")))
    await store(_observation("rr", code=_coded("9279-1", "Respiratory rate")))
    assert await search("Observation", ("code:text", "Heart rate")) == ["hr"]


async def test_text_matches_the_codeable_concept_text(store, search):
    await store(_observation("hr", code={"coding": [{"system": LOINC, "code": "8867-4"}], "text": "Pulse at rest"}))
    await store(_observation("rr", code={"coding": [{"system": LOINC, "code": "9279-1"}], "text": "Breathing"}))
    assert await search("Observation", ("code:text", "pulse")) == ["hr"]


async def test_text_matches_words_inside_the_text_in_any_case(store, search):
    await store(_observation("hr", code=_coded("8867-4", "Heart rate")))
    await store(_observation("rr", code=_coded("9279-1", "Respiratory rate")))
    assert await search("Observation", ("code:text", "RATE")) == ["hr", "rr"]
    assert await search("Observation", ("code:text", "rate heart")) == ["hr"]
    assert await search("Observation", ("code:text", "eart")) == []  # words match from their start


async def test_hours_find_a_duration_stored_in_minutes(store, search):
    await store(_observation("sleep", value=480, unit="min"))  # 8 h
    assert await search("Observation", ("value-quantity", f"gt7|{UCUM}|h")) == ["sleep"]
    assert await search("Observation", ("value-quantity", f"lt7|{UCUM}|h")) == []
    assert await search("Observation", ("value-quantity", f"8|{UCUM}|h")) == ["sleep"]


@pytest.mark.parametrize(
    ("stored", "stored_unit", "query"),
    [
        (480, "min", f"28800|{UCUM}|s"),
        (1.5, "h", f"90|{UCUM}|min"),
        (60, "/min", f"1|{UCUM}|/s"),
        (72, "{beats}/min", f"72|{UCUM}|/min"),  # an annotation does not change the unit
        (72, "/min", f"72|{UCUM}|{{beats}}/min"),
        (250, "ms", f"0.25|{UCUM}|s"),
        (70, "kg", f"70000|{UCUM}|g"),
        (70000, "g", f"70|{UCUM}|kg"),
        (10, "[in_i]", f"25.4|{UCUM}|cm"),
        (8000, "{steps}", f"8000|{UCUM}|{{steps}}"),
    ],
)
async def test_quantities_match_in_any_commensurable_unit(store, search, stored, stored_unit, query):
    await store(_observation("o", value=stored, unit=stored_unit))
    await store(_observation("other", value=stored * 3, unit=stored_unit))
    assert await search("Observation", ("value-quantity", query)) == ["o"]


async def test_a_rate_is_not_found_by_a_duration(store, search):
    await store(_observation("hr", value=60, unit="/min"))
    assert await search("Observation", ("value-quantity", f"60|{UCUM}|min")) == []
