"""Discovery: SMART configuration, OpenID configuration, JWKS, SMART style and the CapabilityStatement."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.auth.conftest import AUTH, BASE

CAPABILITIES = {
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "context-banner",
    "context-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
}


async def test_smart_configuration_lists_every_endpoint_as_an_absolute_url(client: httpx.AsyncClient) -> None:
    response = await client.get("/fhir/.well-known/smart-configuration")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["issuer"] == BASE
    assert body["authorization_endpoint"] == f"{AUTH}/authorize"
    assert body["token_endpoint"] == f"{AUTH}/token"
    assert body["jwks_uri"] == f"{AUTH}/jwks"
    assert body["introspection_endpoint"] == f"{AUTH}/introspect"
    assert body["revocation_endpoint"] == f"{AUTH}/revoke"


async def test_smart_configuration_states_what_is_supported(client: httpx.AsyncClient) -> None:
    body = (await client.get("/fhir/.well-known/smart-configuration")).json()
    assert set(body["capabilities"]) >= CAPABILITIES
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert set(body["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert {"client_secret_basic", "private_key_jwt"} <= set(body["token_endpoint_auth_methods_supported"])
    assert {"RS384", "ES384"} <= set(body["token_endpoint_auth_signing_alg_values_supported"])
    assert body["response_types_supported"] == ["code"]
    assert {"openid", "fhirUser", "launch", "launch/patient", "offline_access"} <= set(body["scopes_supported"])


@pytest.mark.parametrize(
    "path", ["/fhir/.well-known/smart-configuration", "/fhir/.well-known/openid-configuration", "/auth/jwks"]
)
async def test_discovery_documents_are_public_and_cors_open(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Origin": "https://app.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


async def test_openid_configuration_names_the_issuer_and_its_keys(client: httpx.AsyncClient) -> None:
    body = (await client.get("/fhir/.well-known/openid-configuration")).json()
    assert body["issuer"] == BASE
    assert body["jwks_uri"] == f"{AUTH}/jwks"
    assert body["id_token_signing_alg_values_supported"] == ["RS256"]
    assert body["subject_types_supported"] == ["public"]


async def test_the_jwks_holds_public_keys_only(client: httpx.AsyncClient) -> None:
    keys = (await client.get("/auth/jwks")).json()["keys"]
    assert {k["alg"] for k in keys} >= {"RS384", "ES384", "RS256"}
    private_members = {"d", "p", "q", "dp", "dq", "qi", "k"}
    assert all(not private_members & set(k) for k in keys)
    assert all(k["kid"] and k["use"] == "sig" for k in keys)


async def test_the_smart_style_is_served_publicly(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/smart-style.json")
    assert response.status_code == 200
    assert response.json()["color_background"].startswith("#")


async def test_the_capability_statement_carries_smart_oauth_uris(client: httpx.AsyncClient) -> None:
    security = (await client.get("/fhir/metadata")).json()["rest"][0]["security"]
    coding = security["service"][0]["coding"][0]
    assert coding["system"] == "http://terminology.hl7.org/CodeSystem/restful-security-service"
    assert coding["code"] == "SMART-on-FHIR"
    (oauth,) = (e for e in security["extension"] if e["url"].endswith("/StructureDefinition/oauth-uris"))
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    assert uris == {
        "authorize": f"{AUTH}/authorize",
        "token": f"{AUTH}/token",
        "introspect": f"{AUTH}/introspect",
        "revoke": f"{AUTH}/revoke",
    }


async def test_the_token_endpoint_answers_cors_preflight(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/auth/token", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
