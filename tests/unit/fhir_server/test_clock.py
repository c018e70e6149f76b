"""FHIR instants and the integer microseconds stored in the database."""

from __future__ import annotations

import pytest

from fhir_server.storage.clock import parse_instant, to_http_date, to_instant


def test_instant_round_trip_to_the_millisecond() -> None:
    us = parse_instant("2024-03-05T10:20:30.123Z")
    assert to_instant(us) == "2024-03-05T10:20:30.123Z"


def test_partial_dates_start_at_their_first_instant() -> None:
    assert to_instant(parse_instant("2024-03")) == "2024-03-01T00:00:00.000Z"
    assert to_instant(parse_instant("2024")) == "2024-01-01T00:00:00.000Z"


def test_offsets_are_normalised_to_utc() -> None:
    assert to_instant(parse_instant("2024-03-05T12:00:00+02:00")) == "2024-03-05T10:00:00.000Z"


def test_http_date_format() -> None:
    assert to_http_date(parse_instant("2024-03-05T10:20:30Z")) == "Tue, 05 Mar 2024 10:20:30 GMT"


def test_garbage_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_instant("last tuesday")
