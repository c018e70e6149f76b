"""Our access tokens: what `issue` puts in them and every way `verify` refuses a token it should not trust."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from fhir_server.auth.errors import InvalidToken
from fhir_server.auth.keys import KeyRing
from fhir_server.auth.policy import Interaction
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import parse_scopes
from fhir_server.auth.tokens import AccessTokenService

ISSUER = "https://novamind.example/auth"
FHIR_BASE = "https://novamind.example/fhir"


@pytest.fixture
def tokens(keyring: KeyRing, clock) -> AccessTokenService:
    return AccessTokenService(keyring, issuer=ISSUER, audience=FHIR_BASE, clock=clock)


def issue(tokens: AccessTokenService, scope: str = "patient/*.rs", **extra) -> str:
    return tokens.issue(subject="user-1", client_id="app", scopes=parse_scopes(scope), patient="p1", **extra).token


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def resign(keyring: KeyRing, claims: dict, *, alg: str = "RS384", **headers) -> str:
    key = keyring.active(alg)
    return jwt.encode(claims, key.private_pem.decode(), algorithm=alg, headers={"kid": key.kid, **headers})


def valid_claims(tokens: AccessTokenService, **overrides) -> dict:
    claims = jwt.get_unverified_claims(issue(tokens))
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_issued_token_verifies_to_its_claims(tokens: AccessTokenService) -> None:
    issued = tokens.issue(
        subject="user-1",
        client_id="app",
        scopes=parse_scopes("launch/patient patient/Observation.read"),
        patient="p1",
        fhir_user="Practitioner/7",
    )
    claims = tokens.verify(issued.token)
    assert (claims.sub, claims.client_id, claims.patient, claims.fhir_user) == ("user-1", "app", "p1", "Practitioner/7")
    assert claims.scope == "launch/patient patient/Observation.rs"


def test_every_token_has_a_distinct_jti(tokens: AccessTokenService) -> None:
    assert tokens.verify(issue(tokens)).jti != tokens.verify(issue(tokens)).jti


def test_header_names_the_signing_key_and_access_token_type(tokens: AccessTokenService, keyring: KeyRing) -> None:
    header = jwt.get_unverified_header(issue(tokens))
    assert (header["kid"], header["alg"], header["typ"]) == (keyring.active("RS384").kid, "RS384", "at+jwt")


def test_es384_tokens_verify(keyring: KeyRing, clock) -> None:
    service = AccessTokenService(keyring, issuer=ISSUER, audience=FHIR_BASE, clock=clock, algorithm="ES384")
    assert service.verify(issue(service)).client_id == "app"


def test_expires_in_is_the_configured_lifetime(tokens: AccessTokenService) -> None:
    issued = tokens.issue(subject="s", client_id="c", scopes=parse_scopes("system/*.rs"), lifetime=timedelta(minutes=5))
    assert issued.expires_in == 300


def test_claims_yield_the_token_policy(tokens: AccessTokenService) -> None:
    token = issue(tokens, "user/Observation.cruds", role=Role.NURSE_PRACTITIONER)
    policy = tokens.verify(token).policy()
    assert policy.allows(Interaction.UPDATE, "Observation")
    assert not policy.allows(Interaction.DELETE, "Observation")


def test_expired_token_is_refused(tokens: AccessTokenService, clock) -> None:
    token = issue(tokens)
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_token_for_another_audience_is_refused(keyring: KeyRing, tokens: AccessTokenService, clock) -> None:
    other = AccessTokenService(keyring, issuer=ISSUER, audience="https://elsewhere.example/fhir", clock=clock)
    with pytest.raises(InvalidToken):
        tokens.verify(issue(other))


def test_token_from_another_issuer_is_refused(keyring: KeyRing, tokens: AccessTokenService, clock) -> None:
    other = AccessTokenService(keyring, issuer="https://evil.example", audience=FHIR_BASE, clock=clock)
    with pytest.raises(InvalidToken):
        tokens.verify(issue(other))


@pytest.mark.parametrize("claim", ["exp", "aud", "iss", "jti", "sub", "iat", "client_id", "scope"])
def test_token_missing_a_required_claim_is_refused(tokens: AccessTokenService, keyring: KeyRing, claim: str) -> None:
    claims = valid_claims(tokens)
    del claims[claim]
    with pytest.raises(InvalidToken):
        tokens.verify(resign(keyring, claims, typ="at+jwt"))


def test_token_with_unknown_kid_is_refused(tokens: AccessTokenService, keyring: KeyRing) -> None:
    key = keyring.active("RS384")
    token = jwt.encode(
        valid_claims(tokens), key.private_pem.decode(), algorithm="RS384", headers={"kid": "nope", "typ": "at+jwt"}
    )
    with pytest.raises(InvalidToken, match="unknown"):
        tokens.verify(token)


def test_token_signed_by_a_stranger_with_our_kid_is_refused(
    tokens: AccessTokenService, keyring: KeyRing, other_rsa_private_key: rsa.RSAPrivateKey
) -> None:
    pem = other_rsa_private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    headers = {"kid": keyring.active("RS384").kid, "typ": "at+jwt"}
    with pytest.raises(InvalidToken):
        tokens.verify(jwt.encode(valid_claims(tokens), pem, algorithm="RS384", headers=headers))


def test_none_algorithm_is_refused(tokens: AccessTokenService, keyring: KeyRing) -> None:
    header = {"alg": "none", "kid": keyring.active("RS384").kid, "typ": "at+jwt"}
    token = f"{b64(header)}.{b64(valid_claims(tokens))}."
    with pytest.raises(InvalidToken, match="not accepted"):
        tokens.verify(token)


def test_hs256_signed_with_our_public_key_is_refused(tokens: AccessTokenService, keyring: KeyRing) -> None:
    # The classic algorithm-confusion attack: HMAC keyed with the published public key.
    key = keyring.active("RS384")
    public_pem = (
        serialization.load_pem_private_key(key.private_pem, None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    import hashlib
    import hmac

    header = {"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}
    signing_input = f"{b64(header)}.{b64(valid_claims(tokens))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(InvalidToken, match="not accepted"):
        tokens.verify(token)


def test_alg_that_does_not_match_the_key_is_refused(tokens: AccessTokenService, keyring: KeyRing) -> None:
    ec_key = keyring.active("ES384")
    headers = {"kid": keyring.active("RS384").kid, "typ": "at+jwt"}
    token = jwt.encode(valid_claims(tokens), ec_key.private_pem.decode(), algorithm="ES384", headers=headers)
    with pytest.raises(InvalidToken, match="does not match"):
        tokens.verify(token)


def test_token_without_access_token_type_is_refused(tokens: AccessTokenService, keyring: KeyRing) -> None:
    with pytest.raises(InvalidToken, match="at\\+jwt"):
        tokens.verify(resign(keyring, valid_claims(tokens), typ="JWT"))


def test_tampered_payload_is_refused(tokens: AccessTokenService) -> None:
    header, _, signature = issue(tokens).split(".")
    forged = valid_claims(tokens, patient="someone-else")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{b64(forged)}.{signature}")


def test_token_issued_in_the_future_is_refused(tokens: AccessTokenService, keyring: KeyRing, clock) -> None:
    later = int((clock() + timedelta(minutes=10)).timestamp())
    claims = valid_claims(tokens, iat=later, exp=later + 3600)
    with pytest.raises(InvalidToken, match="future"):
        tokens.verify(resign(keyring, claims, typ="at+jwt"))


def test_token_from_a_retired_key_is_refused(tokens: AccessTokenService, keyring: KeyRing, clock) -> None:
    token = tokens.issue(
        subject="s", client_id="c", scopes=parse_scopes("system/*.rs"), lifetime=timedelta(days=7)
    ).token
    keyring.rotate("RS384", retire_after=timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidToken, match="retired"):
        tokens.verify(token)


def test_token_from_a_rotated_out_key_still_verifies_before_retirement(
    tokens: AccessTokenService, keyring: KeyRing
) -> None:
    token = issue(tokens)
    keyring.rotate("RS384", retire_after=timedelta(hours=1))
    assert tokens.verify(token).client_id == "app"


def test_garbage_is_an_invalid_token(tokens: AccessTokenService) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify("not-a-jwt")


def test_invalid_token_carries_the_bearer_error_and_login_issue_code(tokens: AccessTokenService) -> None:
    with pytest.raises(InvalidToken) as caught:
        tokens.verify("not-a-jwt")
    assert (caught.value.code, caught.value.bearer_error) == ("login", "invalid_token")


def test_rs256_token_signed_with_our_id_token_key_is_not_an_access_token(
    tokens: AccessTokenService, keyring: KeyRing
) -> None:
    key = keyring.active("RS256")
    headers = {"kid": key.kid, "typ": "at+jwt"}
    token = jwt.encode(valid_claims(tokens), key.private_pem.decode(), algorithm="RS256", headers=headers)
    with pytest.raises(InvalidToken, match="not accepted"):
        tokens.verify(token)


def test_access_tokens_cannot_be_configured_with_rs256(keyring: KeyRing) -> None:
    with pytest.raises(ValueError, match="RS256"):
        AccessTokenService(keyring, issuer=ISSUER, audience=FHIR_BASE, algorithm="RS256")
