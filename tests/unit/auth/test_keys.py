"""Signing keys on disk: first-start generation, file modes, kid thumbprints, rotation, retirement, JWKS."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_server.auth.errors import KeyStoreError
from fhir_server.auth.keys import KeyRing, generate_key, jwk_thumbprint, public_jwk


def test_first_start_creates_one_active_key_per_algorithm(keyring: KeyRing) -> None:
    assert sorted(k.alg for k in keyring.keys if k.active) == ["ES384", "RS256", "RS384"]


def test_key_files_are_private_to_the_owner(keyring: KeyRing) -> None:
    files = [p for p in keyring.directory.iterdir() if p.name != ".lock"]
    assert files
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_private_keys_are_stored_as_pem(keyring: KeyRing) -> None:
    pem = (keyring.directory / f"{keyring.active('ES384').kid}.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_reopening_the_directory_keeps_the_same_keys(keyring: KeyRing) -> None:
    again = KeyRing.open(keyring.directory, rsa_bits=2048)
    assert {k.kid for k in again.keys} == {k.kid for k in keyring.keys}


def test_rs384_key_is_rsa_of_at_least_2048_bits(keyring: KeyRing) -> None:
    jwk = keyring.active("RS384").public_jwk
    assert jwk["kty"] == "RSA"
    assert len(jwk["n"]) >= 342  # 2048 bits in unpadded base64url


def test_es384_key_is_on_p384(keyring: KeyRing) -> None:
    assert keyring.active("ES384").public_jwk["crv"] == "P-384"


def test_rsa_keys_under_2048_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="2048"):
        generate_key("RS384", rsa_bits=1024)


def test_kid_is_the_rfc7638_thumbprint() -> None:
    # The worked example of RFC 7638 section 3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
        "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs"
        "8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_x"
        "BniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_ec_kid_is_recomputable_from_the_published_key(ec_private_key: ec.EllipticCurvePrivateKey) -> None:
    jwk = public_jwk(ec_private_key, "ES384")
    assert jwk["kid"] == jwk_thumbprint(jwk)


def test_jwks_holds_public_members_only(keyring: KeyRing) -> None:
    members = {name for jwk in keyring.jwks()["keys"] for name in jwk}
    assert members.isdisjoint({"d", "p", "q", "dp", "dq", "qi", "k"})


def test_rotation_makes_a_new_active_key(keyring: KeyRing) -> None:
    old = keyring.active("ES384")
    (new,) = keyring.rotate("ES384")
    assert keyring.active("ES384") == new
    assert new.kid != old.kid


def test_rotated_out_key_still_verifies_until_its_retirement(keyring: KeyRing, clock) -> None:
    old = keyring.active("ES384")
    keyring.rotate("ES384", retire_after=timedelta(hours=2))
    clock.advance(timedelta(hours=1))
    assert keyring.verification_key(old.kid) is not None
    assert old.kid in {k["kid"] for k in keyring.jwks()["keys"]}


def test_retired_key_no_longer_verifies_nor_is_published(keyring: KeyRing, clock) -> None:
    old = keyring.active("ES384")
    keyring.rotate("ES384", retire_after=timedelta(hours=2))
    clock.advance(timedelta(hours=2))
    assert keyring.verification_key(old.kid) is None
    assert old.kid not in {k["kid"] for k in keyring.jwks()["keys"]}


def test_rotation_survives_a_restart(keyring: KeyRing, clock) -> None:
    (new,) = keyring.rotate("ES384")
    assert KeyRing.open(keyring.directory, clock=clock, rsa_bits=2048).active("ES384").kid == new.kid


def test_prune_deletes_retired_key_files(keyring: KeyRing, clock) -> None:
    old = keyring.active("ES384")
    keyring.rotate("ES384", retire_after=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    assert keyring.prune() == (old.kid,)
    assert not (keyring.directory / f"{old.kid}.pem").exists()


def test_key_file_readable_by_others_is_refused(keyring: KeyRing) -> None:
    os.chmod(keyring.directory / f"{keyring.active('RS384').kid}.pem", 0o644)
    with pytest.raises(KeyStoreError, match="readable by other users"):
        KeyRing.open(keyring.directory, rsa_bits=2048)


def test_key_file_that_does_not_match_its_kid_is_refused(keyring: KeyRing, rsa_private_key: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    swapped = rsa_private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (keyring.directory / f"{keyring.active('RS384').kid}.pem").write_bytes(swapped)
    with pytest.raises(KeyStoreError, match="does not match its kid"):
        KeyRing.open(keyring.directory, rsa_bits=2048)


def test_keys_can_be_encrypted_at_rest_with_a_passphrase(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "k", rsa_bits=2048, passphrase=b"correct horse")
    pem = (tmp_path / "k" / f"{ring.active('ES384').kid}.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert KeyRing.open(tmp_path / "k", passphrase=b"correct horse").active("ES384").kid == ring.active("ES384").kid


def test_manifest_records_retirement_times(keyring: KeyRing) -> None:
    keyring.rotate("RS384")
    entries = json.loads((keyring.directory / "keys.json").read_text())
    assert sum(1 for e in entries if e["retire_at"] is not None) == 1
