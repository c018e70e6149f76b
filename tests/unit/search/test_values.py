"""Value semantics shared by indexing and search: dates, decimals, strings, units."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fhir_server.search.values import (
    MAX_INSTANT,
    canonical_quantity,
    date_range,
    decimal_range,
    normalize_string,
)


def micros(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1_000_000


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2020", micros(2020, 1, 1), micros(2021, 1, 1) - 1),
        ("2020-03", micros(2020, 3, 1), micros(2020, 4, 1) - 1),
        ("2020-12", micros(2020, 12, 1), micros(2021, 1, 1) - 1),
        ("2020-03-15", micros(2020, 3, 15), micros(2020, 3, 16) - 1),
        ("2020-03-15T10:00Z", micros(2020, 3, 15, 10), micros(2020, 3, 15, 10, 1) - 1),
        ("2020-03-15T10:00:05+02:00", micros(2020, 3, 15, 8, 0, 5), micros(2020, 3, 15, 8, 0, 6) - 1),
        (
            "2020-03-15T10:00:05.5Z",
            micros(2020, 3, 15, 10, 0, 5) + 500_000,
            micros(2020, 3, 15, 10, 0, 5) + 599_999,
        ),
    ],
)
def test_date_range_covers_the_precision_given(text, low, high):
    assert date_range(text) == (low, high)


def test_date_range_of_the_last_year_is_open_ended():
    assert date_range("9999")[1] == MAX_INSTANT


@pytest.mark.parametrize("text", ["2020-13", "20", "2020-02-30", "yesterday"])
def test_date_range_rejects_invalid_dates(text):
    assert date_range(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, (100.0, 99.5, 100.5)), ("1.5", (1.5, 1.45, 1.55)), ("1e2", (100.0, 50.0, 150.0))],
)
def test_decimal_range_uses_implicit_precision(value, expected):
    assert decimal_range(value) == pytest.approx(expected)


def test_decimal_range_rejects_non_numbers():
    assert decimal_range("abc") is None
    assert decimal_range(True) is None


def test_normalize_string_folds_case_and_accents():
    assert normalize_string("Ærøskøbing Müller ÉCOLE") == normalize_string("ærøskøbing muller ecole")
    assert normalize_string("Müller") == "muller"


def test_canonical_quantity_converts_time_and_mass():
    ucum = "http://unitsofmeasure.org"
    assert canonical_quantity(90, ucum, "min") == (5400.0, "s")
    assert canonical_quantity(2, ucum, "kg") == (2000.0, "g")
    assert canonical_quantity(5, ucum, "mm[Hg]") == (5, "mm[Hg]")
    assert canonical_quantity(5, "http://other", "min") is None
