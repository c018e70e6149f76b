"""Authorization request validation: unsafe requests are never redirected; the rest fail as OAuth errors."""

from __future__ import annotations

import pytest

from fhir_server.auth.authorize_request import (
    PENDING_SECONDS,
    AuthorizationRequest,
    ExpiredPendingError,
    PendingAuthorization,
    UnsafeRequestError,
    UnsupportedResponseType,
    collect,
    resolve_redirect_uri,
    validate,
)
from fhir_server.auth.errors import InvalidRequest, InvalidScope
from fhir_server.auth.records import LaunchContext

AUD = "http://testserver/fhir"
REDIRECT = "https://app.example/callback"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
CLIENT_SCOPE = "launch launch/patient openid fhirUser offline_access patient/*.rs user/*.cruds"


def _params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": REDIRECT,
        "scope": "launch/patient patient/Observation.rs",
        "state": "s-1",
        "aud": AUD,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def _validate(**overrides: str | None) -> AuthorizationRequest:
    return validate(_params(**overrides), frozenset(), redirect_uri=REDIRECT, client_scope=CLIENT_SCOPE, audience=AUD)


def test_repeated_parameters_are_reported() -> None:
    params, repeated = collect([("a", "1"), ("b", "2"), ("a", "3")])
    assert params == {"a": "1", "b": "2"}
    assert repeated == {"a"}


def test_registered_redirect_uri_is_accepted() -> None:
    assert resolve_redirect_uri(_params(), frozenset(), [REDIRECT, "https://other/cb"]) == REDIRECT


def test_missing_redirect_uri_uses_the_only_registered_one() -> None:
    assert resolve_redirect_uri(_params(redirect_uri=None), frozenset(), [REDIRECT]) == REDIRECT


def test_missing_redirect_uri_with_several_registered_is_unsafe() -> None:
    with pytest.raises(UnsafeRequestError):
        resolve_redirect_uri(_params(redirect_uri=None), frozenset(), [REDIRECT, "https://other/cb"])


@pytest.mark.parametrize("uri", [REDIRECT + "/", REDIRECT + "?x=1", "https://APP.example/callback", "https://evil/cb"])
def test_redirect_uri_must_match_exactly(uri: str) -> None:
    with pytest.raises(UnsafeRequestError):
        resolve_redirect_uri(_params(redirect_uri=uri), frozenset(), [REDIRECT])


def test_unregistered_client_is_unsafe() -> None:
    with pytest.raises(UnsafeRequestError):
        resolve_redirect_uri(_params(), frozenset(), None)


def test_missing_client_id_is_unsafe() -> None:
    with pytest.raises(UnsafeRequestError):
        resolve_redirect_uri(_params(client_id=None), frozenset(), [REDIRECT])


def test_repeated_redirect_uri_is_unsafe() -> None:
    with pytest.raises(UnsafeRequestError):
        resolve_redirect_uri(_params(), frozenset({"redirect_uri"}), [REDIRECT])


def test_valid_request_is_accepted() -> None:
    request = _validate(nonce="n-1")
    assert request.scopes.to_string() == "launch/patient patient/Observation.rs"
    assert (request.state, request.code_challenge, request.nonce) == ("s-1", CHALLENGE, "n-1")


def test_other_repeated_parameters_are_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        validate(_params(), frozenset({"scope"}), redirect_uri=REDIRECT, client_scope=CLIENT_SCOPE, audience=AUD)


def test_response_type_other_than_code_is_unsupported() -> None:
    with pytest.raises(UnsupportedResponseType):
        _validate(response_type="token")


@pytest.mark.parametrize("aud", [None, "", "http://testserver/other", "https://testserver/fhir"])
def test_aud_must_be_this_fhir_server(aud: str | None) -> None:
    with pytest.raises(InvalidRequest, match="aud"):
        _validate(aud=aud)


def test_aud_with_a_trailing_slash_is_the_same_server() -> None:
    assert _validate(aud=AUD + "/").client_id == "app"


@pytest.mark.parametrize("method", [None, "plain", "s256", ""])
def test_pkce_method_must_be_s256(method: str | None) -> None:
    with pytest.raises(InvalidRequest, match="PKCE"):
        _validate(code_challenge_method=method)


@pytest.mark.parametrize("challenge", [None, "", "short", CHALLENGE + "A", CHALLENGE[:-1] + "="])
def test_code_challenge_must_look_like_s256(challenge: str | None) -> None:
    with pytest.raises(InvalidRequest):
        _validate(code_challenge=challenge)


def test_state_is_required() -> None:
    with pytest.raises(InvalidRequest, match="state"):
        _validate(state=None)


def test_scopes_are_cut_to_the_clients_registered_scopes() -> None:
    request = validate(
        _params(scope="patient/Observation.rs patient/Condition.rs"),
        frozenset(),
        redirect_uri=REDIRECT,
        client_scope="patient/Observation.rs",
        audience=AUD,
    )
    assert request.scopes.to_string() == "patient/Observation.rs"


def test_nothing_left_after_cutting_is_invalid_scope() -> None:
    with pytest.raises(InvalidScope):
        validate(
            _params(scope="patient/Condition.rs"),
            frozenset(),
            redirect_uri=REDIRECT,
            client_scope="patient/Observation.rs",
            audience=AUD,
        )


@pytest.mark.parametrize("scope", [None, "", "   ", "patient/Observation.bogus", "admin"])
def test_missing_or_malformed_scope_is_invalid_scope(scope: str | None) -> None:
    with pytest.raises(InvalidScope):
        _validate(scope=scope)


def test_launch_scope_needs_a_launch_handle() -> None:
    with pytest.raises(InvalidRequest, match="launch"):
        _validate(scope="launch patient/*.rs")


def test_pending_authorization_round_trips_through_json() -> None:
    context = LaunchContext(patient="p1", encounter="e1", fhir_context=({"reference": "Observation/1"},))
    pending = PendingAuthorization.start(_validate(scope="patient/Observation.read"), context, "dr", now=1000)
    restored = PendingAuthorization.from_json(pending.for_user("dr").to_json(), now=1000)
    assert restored == pending.for_user("dr")
    assert restored.request.scopes.to_string() == "patient/Observation.read"


def test_pending_authorization_expires() -> None:
    pending = PendingAuthorization.start(_validate(), LaunchContext(), None, now=1000)
    with pytest.raises(ExpiredPendingError):
        PendingAuthorization.from_json(pending.to_json(), now=1001 + PENDING_SECONDS)


def test_standalone_patient_launch_needs_a_patient_until_one_is_chosen() -> None:
    pending = PendingAuthorization.start(_validate(), LaunchContext(), None, now=0)
    assert pending.needs_patient
    assert not pending.with_patient("p1").needs_patient
