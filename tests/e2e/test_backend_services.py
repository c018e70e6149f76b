"""End to end: a SMART Backend Services client built the way users build one, against a running server.

The client generates its own RS384 and ES384 key pairs with `cryptography`, publishes the public halves as a
JWK Set (the file `novamind clients add --jwks` registers), discovers the token endpoint from
`.well-known/smart-configuration`, signs `private_key_jwt` assertions with python-jose and calls the FHIR API
with the token it gets. Nothing here reaches into the server's own modules.

https://hl7.org/fhir/smart-app-launch/backend-services.html
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt

from tests.e2e.conftest import RunningServer, novamind, script_token

pytestmark = pytest.mark.e2e

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_pem: str


@dataclass(frozen=True)
class Backend:
    base: str
    client_id: str
    token_url: str
    introspection_url: str
    revocation_url: str
    rsa: SigningKey
    ec: SigningKey
    patient_ids: tuple[str, ...]

    def assertion(self, key: SigningKey | None = None, **claims: Any) -> str:
        """A fresh client assertion: `aud` the token URL, expiring in under five minutes, a new `jti`."""
        key = key or self.rsa
        now = int(time.time())
        payload = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, key.private_pem, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})

    def token_request(self, assertion: str, scope: str = "system/*.rs") -> httpx.Response:
        form = {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        return httpx.post(self.token_url, data=form)

    def token(self, key: SigningKey | None = None) -> str:
        response = self.token_request(self.assertion(key))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def authenticated_form(self, **values: str) -> dict[str, str]:
        """A form for the introspection or revocation endpoint, authenticated with a fresh assertion."""
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(), **values}


def _key_pair(alg: str, kid: str) -> tuple[SigningKey, dict[str, Any]]:
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg == "RS384":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP384R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_jwk = {**jwk.construct(public_pem, alg).to_dict(), "kid": kid, "use": "sig"}
    return SigningKey(kid, alg, private_pem), public_jwk


@pytest.fixture(scope="module")
def backend(running: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    tag = uuid.uuid4().hex[:8]
    rsa_key, rsa_public = _key_pair("RS384", f"rsa-{tag}")
    ec_key, ec_public = _key_pair("ES384", f"ec-{tag}")
    jwks_file = tmp_path_factory.mktemp("backend") / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [rsa_public, ec_public]}))
    client_id = f"nightly-export-{tag}"
    novamind(
        "clients", "add", client_id, "--kind", "asymmetric", "--jwks", str(jwks_file), "--scope", "system/*.rs",
        *running.args,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {script_token(running.base, running.args)}"}
    patient_ids = tuple(f"bs-{tag}-{i}" for i in range(3))
    for pid in patient_ids:
        body = {"resourceType": "Patient", "id": pid, "name": [{"family": f"Backend{tag}"}]}
        httpx.put(f"{running.base}/Patient/{pid}", json=body, headers=headers).raise_for_status()
    config = httpx.get(f"{running.base}/.well-known/smart-configuration").json()
    return Backend(
        running.base,
        client_id,
        config["token_endpoint"],
        config["introspection_endpoint"],
        config["revocation_endpoint"],
        rsa_key,
        ec_key,
        patient_ids,
    )


def _search(backend: Backend, token: str) -> httpx.Response:
    family = f"Backend{backend.client_id.rsplit('-', 1)[1]}"
    return httpx.get(f"{backend.base}/Patient", params={"family": family}, headers={"Authorization": f"Bearer {token}"})


def test_discovery_advertises_private_key_jwt_with_rs384_and_es384(backend: Backend) -> None:
    config = httpx.get(f"{backend.base}/.well-known/smart-configuration").json()
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
    assert {"RS384", "ES384"} <= set(config["token_endpoint_auth_signing_alg_values_supported"])
    assert "client_credentials" in config["grant_types_supported"]


def test_an_rs384_assertion_gets_a_short_lived_system_token_without_refresh(backend: Backend) -> None:
    response = backend.token_request(backend.assertion())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "system/*.rs"
    assert 0 < body["expires_in"] <= 300
    assert "refresh_token" not in body


def test_an_es384_assertion_gets_a_token(backend: Backend) -> None:
    response = backend.token_request(backend.assertion(backend.ec))
    assert response.status_code == 200
    assert response.json()["scope"] == "system/*.rs"


def test_the_token_searches_the_fhir_api(backend: Backend) -> None:
    response = _search(backend, backend.token())
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert sorted(e["resource"]["id"] for e in bundle["entry"]) == sorted(backend.patient_ids)


def test_a_read_only_system_token_cannot_write(backend: Backend) -> None:
    response = httpx.post(
        f"{backend.base}/Patient",
        json={"resourceType": "Patient"},
        headers={"Authorization": f"Bearer {backend.token()}"},
    )
    assert response.status_code == 403


def test_a_replayed_assertion_is_refused(backend: Backend) -> None:
    assertion = backend.assertion()
    assert backend.token_request(assertion).status_code == 200
    replay = backend.token_request(assertion)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"


def test_an_assertion_living_longer_than_five_minutes_is_refused(backend: Backend) -> None:
    response = backend.token_request(backend.assertion(exp=int(time.time()) + 600))
    assert response.json()["error"] == "invalid_client"


def test_an_assertion_for_another_audience_is_refused(backend: Backend) -> None:
    response = backend.token_request(backend.assertion(aud=backend.base))
    assert response.json()["error"] == "invalid_client"


def test_asking_for_more_than_registered_is_cut_down_to_the_registration(backend: Backend) -> None:
    response = backend.token_request(backend.assertion(), scope="system/*.cruds")
    assert response.status_code == 200
    assert response.json()["scope"] == "system/*.rs"


def test_asking_only_for_unregistered_access_is_refused(backend: Backend) -> None:
    response = backend.token_request(backend.assertion(), scope="system/*.cud")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_patient_scopes_are_refused_to_a_backend(backend: Backend) -> None:
    response = backend.token_request(backend.assertion(), scope="patient/*.rs")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_introspection_describes_an_active_token(backend: Backend) -> None:
    token = backend.token()
    response = httpx.post(backend.introspection_url, data=backend.authenticated_form(token=token))
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == backend.client_id
    assert body["scope"] == "system/*.rs"
    assert body["exp"] > time.time()


def test_introspection_of_garbage_is_inactive_and_says_nothing_else(backend: Backend) -> None:
    response = httpx.post(backend.introspection_url, data=backend.authenticated_form(token="not-a-token"))
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_a_revoked_token_is_refused_by_the_fhir_api_at_once(backend: Backend) -> None:
    token = backend.token()
    assert _search(backend, token).status_code == 200
    revoked = httpx.post(backend.revocation_url, data=backend.authenticated_form(token=token))
    assert revoked.status_code == 200
    refused = _search(backend, token)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_a_revoked_token_introspects_as_inactive(backend: Backend) -> None:
    token = backend.token()
    httpx.post(backend.revocation_url, data=backend.authenticated_form(token=token)).raise_for_status()
    response = httpx.post(backend.introspection_url, data=backend.authenticated_form(token=token))
    assert response.json() == {"active": False}


def test_revoking_needs_the_owning_client(backend: Backend) -> None:
    token = backend.token()
    anonymous = httpx.post(backend.revocation_url, data={"token": token})
    assert anonymous.status_code in (400, 401)
    assert _search(backend, token).status_code == 200
