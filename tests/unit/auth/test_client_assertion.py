"""SMART Backend Services `private_key_jwt`: the happy paths and each negative of the backend-services test kits."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwt

from fhir_server.auth.client_assertion import (
    JWT_BEARER_ASSERTION_TYPE,
    ClientAssertionVerifier,
    RegisteredClient,
)
from fhir_server.auth.errors import InvalidClient, InvalidRequest, OAuthError
from fhir_server.auth.keys import public_jwk

TOKEN_URL = "https://novamind.example/auth/token"
JWKS_URL = "https://backend.example/.well-known/jwks.json"
CLIENT_ID = "bulk-export"


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def rsa_jwk(rsa_private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    return public_jwk(rsa_private_key, "RS384")


@pytest.fixture
def ec_jwk(ec_private_key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    return public_jwk(ec_private_key, "ES384")


@pytest.fixture
def fetched() -> list[str]:
    return []


@pytest.fixture
def remote_jwks(rsa_jwk: dict[str, str]) -> dict[str, Any]:
    return {"keys": [rsa_jwk]}


@pytest.fixture
def verifier(clock, jti_store, fetched: list[str], remote_jwks: dict[str, Any]) -> ClientAssertionVerifier:
    async def fetch_jwks(url: str) -> Mapping[str, Any]:
        fetched.append(url)
        return remote_jwks

    return ClientAssertionVerifier(token_endpoint=TOKEN_URL, jti_store=jti_store, fetch_jwks=fetch_jwks, clock=clock)


@pytest.fixture
def clients(rsa_jwk: dict[str, str], ec_jwk: dict[str, str]) -> dict[str, RegisteredClient]:
    return {
        CLIENT_ID: RegisteredClient(CLIENT_ID, jwks={"keys": [rsa_jwk, ec_jwk]}),
        "by-url": RegisteredClient("by-url", jwks_uri=JWKS_URL),
    }


def assertion(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    clock,
    *,
    alg: str = "RS384",
    kid: str | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(clock().timestamp())
    body = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": TOKEN_URL, "exp": now + 240, "jti": uuid.uuid4().hex}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = {"kid": kid if kid is not None else public_jwk(key, alg)["kid"], **(headers or {})}
    return jwt.encode(body, pem(key), algorithm=alg, headers=head)


async def verify(verifier: ClientAssertionVerifier, clients, token: str, **form: Any):
    async def lookup(client_id: str) -> RegisteredClient | None:
        return clients.get(client_id)

    return await verifier.verify(
        client_assertion_type=form.pop("client_assertion_type", JWT_BEARER_ASSERTION_TYPE),
        client_assertion=token,
        lookup_client=lookup,
        **form,
    )


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_rs384_assertion_authenticates_the_client(verifier, clients, rsa_private_key, clock) -> None:
    result = await verify(verifier, clients, assertion(rsa_private_key, clock))
    assert (result.client_id, result.alg) == (CLIENT_ID, "RS384")


async def test_es384_assertion_authenticates_the_client(verifier, clients, ec_private_key, clock) -> None:
    result = await verify(verifier, clients, assertion(ec_private_key, clock, alg="ES384"))
    assert (result.client_id, result.alg) == (CLIENT_ID, "ES384")


async def test_matching_client_id_form_parameter_is_accepted(verifier, clients, rsa_private_key, clock) -> None:
    result = await verify(verifier, clients, assertion(rsa_private_key, clock), client_id=CLIENT_ID)
    assert result.client_id == CLIENT_ID


async def test_registered_jwks_url_is_fetched_when_no_jwks_is_stored(
    verifier, clients, rsa_private_key, clock, fetched
) -> None:
    token = assertion(rsa_private_key, clock, iss="by-url", sub="by-url")
    assert (await verify(verifier, clients, token)).client_id == "by-url"
    assert fetched == [JWKS_URL]


async def test_jku_equal_to_the_registered_url_is_honoured(verifier, clients, rsa_private_key, clock, fetched) -> None:
    token = assertion(rsa_private_key, clock, iss="by-url", sub="by-url", headers={"jku": JWKS_URL})
    await verify(verifier, clients, token)
    assert fetched == [JWKS_URL]


async def test_bad_jku_is_refused_without_fetching(verifier, clients, rsa_private_key, clock, fetched) -> None:
    token = assertion(rsa_private_key, clock, iss="by-url", sub="by-url", headers={"jku": "https://evil.example/jwks"})
    with pytest.raises(InvalidClient, match="jku"):
        await verify(verifier, clients, token)
    assert fetched == []


async def test_jku_for_a_client_without_a_registered_url_is_refused(
    verifier, clients, rsa_private_key, clock, fetched
) -> None:
    token = assertion(rsa_private_key, clock, headers={"jku": JWKS_URL})
    with pytest.raises(InvalidClient, match="jku"):
        await verify(verifier, clients, token)
    assert fetched == []


async def test_failing_jwks_fetch_is_invalid_client(clock, jti_store, clients, rsa_private_key) -> None:
    async def broken(url: str) -> Mapping[str, Any]:
        raise OSError("connection refused")

    verifier = ClientAssertionVerifier(token_endpoint=TOKEN_URL, jti_store=jti_store, fetch_jwks=broken, clock=clock)
    token = assertion(rsa_private_key, clock, iss="by-url", sub="by-url")
    with pytest.raises(InvalidClient, match="JWKS"):
        await verify(verifier, clients, token)


async def test_bad_assertion_type_is_invalid_client(verifier, clients, rsa_private_key, clock) -> None:
    token = assertion(rsa_private_key, clock)
    with pytest.raises(InvalidClient, match="client_assertion_type"):
        await verify(verifier, clients, token, client_assertion_type="urn:ietf:params:oauth:grant-type:jwt-bearer")


async def test_missing_assertion_is_invalid_request(verifier, clients) -> None:
    with pytest.raises(InvalidRequest):
        await verify(verifier, clients, "")


async def test_wrong_aud_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    token = assertion(rsa_private_key, clock, aud="https://novamind.example/fhir")
    with pytest.raises(InvalidClient):
        await verify(verifier, clients, token)


async def test_unknown_iss_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    token = assertion(rsa_private_key, clock, iss="stranger", sub="stranger")
    with pytest.raises(InvalidClient, match="unknown client"):
        await verify(verifier, clients, token)


async def test_sub_different_from_iss_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    with pytest.raises(InvalidClient, match="iss and sub"):
        await verify(verifier, clients, assertion(rsa_private_key, clock, sub="someone-else"))


async def test_client_id_form_parameter_for_another_client_is_refused(
    verifier, clients, rsa_private_key, clock
) -> None:
    with pytest.raises(InvalidClient, match="client_id"):
        await verify(verifier, clients, assertion(rsa_private_key, clock), client_id="by-url")


async def test_expired_assertion_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    token = assertion(rsa_private_key, clock)
    clock.advance(timedelta(minutes=4))
    with pytest.raises(InvalidClient, match="expired"):
        await verify(verifier, clients, token)


async def test_exp_more_than_five_minutes_ahead_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    token = assertion(rsa_private_key, clock, exp=int(clock().timestamp()) + 301)
    with pytest.raises(InvalidClient, match="five minutes"):
        await verify(verifier, clients, token)


async def test_exp_exactly_five_minutes_ahead_is_accepted(verifier, clients, rsa_private_key, clock) -> None:
    token = assertion(rsa_private_key, clock, exp=int(clock().timestamp()) + 300)
    assert (await verify(verifier, clients, token)).client_id == CLIENT_ID


async def test_missing_exp_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    with pytest.raises(InvalidClient, match="exp"):
        await verify(verifier, clients, assertion(rsa_private_key, clock, exp=None))


async def test_missing_jti_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    with pytest.raises(InvalidClient):
        await verify(verifier, clients, assertion(rsa_private_key, clock, jti=None))


async def test_reused_jti_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    first = assertion(rsa_private_key, clock, jti="once")
    await verify(verifier, clients, first)
    with pytest.raises(InvalidClient, match="already used"):
        await verify(verifier, clients, assertion(rsa_private_key, clock, jti="once"))


async def test_forged_assertion_does_not_burn_the_jti(
    verifier, clients, rsa_private_key, other_rsa_private_key, rsa_jwk, clock
) -> None:
    forged = assertion(other_rsa_private_key, clock, kid=rsa_jwk["kid"], jti="precious")
    with pytest.raises(InvalidClient):
        await verify(verifier, clients, forged)
    assert (await verify(verifier, clients, assertion(rsa_private_key, clock, jti="precious"))).jti == "precious"


async def test_unknown_kid_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    with pytest.raises(InvalidClient, match="kid"):
        await verify(verifier, clients, assertion(rsa_private_key, clock, kid="not-registered"))


async def test_missing_kid_is_refused(verifier, clients, rsa_private_key, clock) -> None:
    token = jwt.encode({"iss": CLIENT_ID, "sub": CLIENT_ID}, pem(rsa_private_key), algorithm="RS384")
    with pytest.raises(InvalidClient, match="kid"):
        await verify(verifier, clients, token)


async def test_signature_by_an_unregistered_key_is_refused(
    verifier, clients, other_rsa_private_key, rsa_jwk, clock
) -> None:
    with pytest.raises(InvalidClient):
        await verify(verifier, clients, assertion(other_rsa_private_key, clock, kid=rsa_jwk["kid"]))


async def test_rs256_is_not_accepted(verifier, clients, rsa_private_key, rsa_jwk, clock) -> None:
    token = assertion(rsa_private_key, clock, alg="RS256", kid=rsa_jwk["kid"])
    with pytest.raises(InvalidClient, match="algorithm"):
        await verify(verifier, clients, token)


async def test_none_algorithm_is_refused(verifier, clients, rsa_jwk, clock) -> None:
    now = int(clock().timestamp())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": TOKEN_URL, "exp": now + 60, "jti": "x"}
    token = f"{b64({'alg': 'none', 'kid': rsa_jwk['kid']})}.{b64(claims)}."
    with pytest.raises(InvalidClient, match="algorithm"):
        await verify(verifier, clients, token)


async def test_hs256_keyed_with_the_registered_public_key_is_refused(
    verifier, clients, rsa_private_key, rsa_jwk, clock
) -> None:
    public_pem = rsa_private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(clock().timestamp())
    claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": TOKEN_URL, "exp": now + 60, "jti": "x"}
    import hashlib
    import hmac

    signing_input = f"{b64({'alg': 'HS256', 'kid': rsa_jwk['kid']})}.{b64(claims)}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(InvalidClient, match="algorithm"):
        await verify(verifier, clients, token)


async def test_alg_that_does_not_fit_the_key_type_is_refused(verifier, clients, ec_private_key, rsa_jwk, clock) -> None:
    # ES384 signature presented under the kid of the client's RSA key.
    with pytest.raises(InvalidClient, match="kid and alg"):
        await verify(verifier, clients, assertion(ec_private_key, clock, alg="ES384", kid=rsa_jwk["kid"]))


async def test_every_failure_carries_an_rfc6749_error_code(verifier, clients, rsa_private_key, clock) -> None:
    with pytest.raises(OAuthError) as caught:
        await verify(verifier, clients, assertion(rsa_private_key, clock, aud="https://wrong.example"))
    assert caught.value.to_json()["error"] == "invalid_client"


async def test_rsa_key_under_2048_bits_is_not_trusted(verifier, clock) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak_jwk = public_jwk(weak, "RS384")
    clients = {CLIENT_ID: RegisteredClient(CLIENT_ID, jwks={"keys": [weak_jwk]})}
    with pytest.raises(InvalidClient, match="kid and alg"):
        await verify(verifier, clients, assertion(weak, clock))


async def test_two_registered_keys_with_the_same_kid_are_refused(verifier, clock, rsa_private_key, rsa_jwk) -> None:
    other = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS384")
    clients = {CLIENT_ID: RegisteredClient(CLIENT_ID, jwks={"keys": [rsa_jwk, {**other, "kid": rsa_jwk["kid"]}]})}
    with pytest.raises(InvalidClient, match="more than one"):
        await verify(verifier, clients, assertion(rsa_private_key, clock))


async def test_kid_missing_from_the_stored_jwks_is_looked_up_at_the_registered_url(
    verifier, clock, rsa_private_key, ec_jwk, fetched
) -> None:
    clients = {CLIENT_ID: RegisteredClient(CLIENT_ID, jwks={"keys": [ec_jwk]}, jwks_uri=JWKS_URL)}
    assert (await verify(verifier, clients, assertion(rsa_private_key, clock))).client_id == CLIENT_ID
    assert fetched == [JWKS_URL]


async def test_access_token_typ_is_not_a_client_assertion(verifier, clients, rsa_private_key, clock) -> None:
    with pytest.raises(InvalidClient, match="typ"):
        await verify(verifier, clients, assertion(rsa_private_key, clock, headers={"typ": "at+jwt"}))
