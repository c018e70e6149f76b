"""Write-time validation with fhir.resources.R4B: what passes, what fails, and how failures read."""

from __future__ import annotations

import pytest

from fhir_server.errors import InvalidRequest, InvalidResource
from fhir_server.fhir_models import summary_elements, validate_resource


def test_valid_resource_returns_its_type() -> None:
    assert validate_resource({"resourceType": "Patient", "gender": "female"}) == "Patient"


def test_unknown_element_is_named_in_the_message() -> None:
    with pytest.raises(InvalidResource) as err:
        validate_resource({"resourceType": "Patient", "colour": "blue"})
    assert "Patient.colour" in err.value.message


def test_missing_required_element_is_refused() -> None:
    with pytest.raises(InvalidResource):
        validate_resource({"resourceType": "Observation", "code": {"text": "x"}})  # status is 1..1


def test_type_mismatch_with_url_is_a_request_error() -> None:
    with pytest.raises(InvalidRequest):
        validate_resource({"resourceType": "Patient"}, "Observation")


def test_unknown_resource_type_is_refused() -> None:
    with pytest.raises(InvalidResource):
        validate_resource({"resourceType": "Spaceship"})


def test_summary_elements_follow_the_spec_flags() -> None:
    observation = summary_elements("Observation")
    assert {"id", "meta", "status", "code", "subject"} <= observation
    assert "note" not in observation
