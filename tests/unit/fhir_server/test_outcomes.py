"""The one table from typed errors to HTTP status, and the OperationOutcome shape."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from fhir_server import errors as e
from fhir_server.api.outcomes import entry_response, outcome_for, status_for
from fhir_server.services.bundles import EntryError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (e.InvalidRequest("x"), 400),
        (e.InvalidResource("x"), 400),
        (e.NotFound("x"), 404),
        (e.UnknownResourceType("x"), 404),
        (e.Gone("x"), 410),
        (e.VersionConflict("x"), 412),
        (e.MultipleMatches("x"), 412),
        (e.Conflict("x"), 409),
        (e.MethodNotAllowed("x"), 405),
        (e.NotAcceptable("x"), 406),
        (e.UnsupportedMediaType("x"), 415),
        (e.BusinessRule("x"), 422),
    ],
)
def test_status_for_each_error(error: e.FhirError, status: int) -> None:
    assert status_for(error) == status


def test_entry_error_keeps_the_inner_status() -> None:
    assert status_for(EntryError(3, e.Gone("deleted"))) == 410


def test_outcome_is_valid_fhir_and_names_the_element() -> None:
    outcome = outcome_for(e.InvalidResource("bad gender", expression=["Patient.gender"]))
    OperationOutcome.model_validate(outcome)
    assert outcome["issue"][0]["expression"] == ["Patient.gender"]
    assert outcome["issue"][0]["code"] == "structure"


def test_batch_entry_response_carries_status_line_and_outcome() -> None:
    response = entry_response(e.NotFound("Patient/x does not exist"))
    assert response["status"] == "404 Not Found"
    assert response["outcome"]["issue"][0]["diagnostics"] == "Patient/x does not exist"
