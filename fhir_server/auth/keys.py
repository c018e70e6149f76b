"""The server's JWT signing keys: generated on first start, kept as PEM files, rotatable, published as a JWKS.

One key per algorithm is active at a time: RS384 (RSA, at least 2048 bits) and ES384 (P-384) for access
tokens, and RS256 (RSA) because OpenID Connect makes it the default `id_token` algorithm. A key serves one
algorithm only (its JWK says which), so a verifier never has to guess. `rotate()` makes a
new active key and gives the old one a retirement time; until then it still verifies (tokens it signed stay
valid) and stays in the JWKS, after which it is neither trusted nor published. Choose `retire_after` at
least as long as the longest token lifetime.

On disk, in the directory the caller names (the data directory, never the repository): `<kid>.pem` per key
(PKCS#8, optionally encrypted with a passphrase) and `keys.json` (algorithm, creation and retirement times),
all written with mode 0600 and read only if no one else can read them. A `kid` is the key's RFC 7638 JWK
thumbprint (SHA-256, base64url), so it is recomputed and checked on every load.

Invariants: `jwks()` holds public members only; every loaded key's `kid` equals its thumbprint.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_server.auth.clock import Clock, utc_now
from fhir_server.auth.errors import KeyStoreError

SIGNING_ALGORITHMS = ("RS384", "ES384", "RS256")
_RSA_ALGORITHMS = ("RS384", "RS256")
MIN_RSA_BITS = 2048
MANIFEST = "keys.json"
_P384_COORDINATE_BYTES = 48

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key pair; `private_pem` is unencrypted PKCS#8 for the signer and never leaves the process."""

    kid: str
    alg: str
    private_pem: bytes = field(repr=False)
    public_jwk: Mapping[str, str]
    created_at: datetime
    retire_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.retire_at is None

    def verifies_at(self, now: datetime) -> bool:
        return self.retire_at is None or now < self.retire_at


def b64url_uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).rstrip(b"=").decode("ascii")


def public_jwk(key: PrivateKey, alg: str) -> dict[str, str]:
    """The public JWK of `key` with its RFC 7638 thumbprint as `kid`."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        members = {"e": b64url_uint(numbers.e), "kty": "RSA", "n": b64url_uint(numbers.n)}
    else:
        point = key.public_key().public_numbers()
        members = {
            "crv": "P-384",
            "kty": "EC",
            "x": b64url_uint(point.x, _P384_COORDINATE_BYTES),
            "y": b64url_uint(point.y, _P384_COORDINATE_BYTES),
        }
    return {**members, "kid": jwk_thumbprint(members), "alg": alg, "use": "sig"}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace, base64url-encoded."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}.get(str(jwk.get("kty")))
    if required is None:
        raise ValueError(f"no thumbprint for key type {jwk.get('kty')!r}")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_key(alg: str, *, rsa_bits: int = 3072) -> PrivateKey:
    if alg in _RSA_ALGORITHMS:
        if rsa_bits < MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(f"unsupported signing algorithm {alg!r}")


class KeyRing:
    """The signing keys in one directory. Load with `KeyRing.open(...)`, which creates keys on first start."""

    def __init__(
        self,
        directory: Path,
        *,
        clock: Clock = utc_now,
        rsa_bits: int = 3072,
        passphrase: bytes | None = None,
    ) -> None:
        self.directory = directory
        self._clock = clock
        self._rsa_bits = rsa_bits
        self._passphrase = passphrase
        self._keys: dict[str, SigningKey] = {}
        self._manifest_version: int | None = None

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        clock: Clock = utc_now,
        rsa_bits: int = 3072,
        passphrase: bytes | None = None,
    ) -> KeyRing:
        """Load the keys in `directory`, generating an active key per algorithm that has none."""
        ring = cls(directory, clock=clock, rsa_bits=rsa_bits, passphrase=passphrase)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with ring._locked():
            ring._load()
            missing = [alg for alg in SIGNING_ALGORITHMS if not any(k.alg == alg and k.active for k in ring.keys)]
            for alg in missing:
                ring._add(generate_key(alg, rsa_bits=rsa_bits), alg)
            if missing:
                ring._write_manifest()
        return ring

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return tuple(self._keys.values())

    def active(self, alg: str = "RS384") -> SigningKey:
        self.refresh()
        for key in self._keys.values():
            if key.alg == alg and key.active:
                return key
        raise KeyStoreError(f"no active {alg} signing key")

    def verification_key(self, kid: str) -> SigningKey | None:
        """The key named `kid` if it may still verify signatures now, else None."""
        self.refresh()  # another process may have rotated: a new kid, or an old key retired
        key = self._keys.get(kid)
        return key if key is not None and key.verifies_at(self._clock()) else None

    def rotate(self, alg: str | None = None, *, retire_after: timedelta = timedelta(days=1)) -> tuple[SigningKey, ...]:
        """Make a new active key for `alg` (or every algorithm); the old one verifies until `retire_after`."""
        algs = (alg,) if alg is not None else SIGNING_ALGORITHMS
        retire_at = self._clock() + retire_after
        created: list[SigningKey] = []
        with self._locked():
            for name in algs:
                old = self.active(name)
                self._keys[old.kid] = replace(old, retire_at=retire_at)
                created.append(self._add(generate_key(name, rsa_bits=self._rsa_bits), name))
            self._write_manifest()
        return tuple(created)

    def refresh(self) -> bool:
        """Pick up a rotation made by another process (`novamind keys rotate`, another API process): reload
        when the manifest changed on disk. One `stat` when nothing changed."""
        try:
            version = (self.directory / MANIFEST).stat().st_mtime_ns
        except FileNotFoundError:
            return False
        if version == self._manifest_version:
            return False
        with self._locked():
            self._keys = {}
            self._load()
        return True

    def prune(self) -> tuple[str, ...]:
        """Delete keys whose retirement time has passed; returns their kids."""
        now = self._clock()
        gone = [kid for kid, key in self._keys.items() if not key.verifies_at(now)]
        with self._locked():
            for kid in gone:
                del self._keys[kid]
                (self.directory / f"{kid}.pem").unlink(missing_ok=True)
            self._write_manifest()
        return tuple(gone)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public JWK Set of every key that still verifies (RFC 7517); never any private member."""
        now = self._clock()
        return {"keys": [dict(k.public_jwk) for k in self._keys.values() if k.verifies_at(now)]}

    # -- storage -------------------------------------------------------------------------------------

    def _add(self, private_key: PrivateKey, alg: str) -> SigningKey:
        jwk = public_jwk(private_key, alg)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        stored = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        _write_private(self.directory / f"{jwk['kid']}.pem", stored)
        key = SigningKey(jwk["kid"], alg, _plain_pem(private_key), jwk, self._clock())
        self._keys[key.kid] = key
        return key

    def _load(self) -> None:
        manifest_path = self.directory / MANIFEST
        if not manifest_path.exists():
            return
        self._manifest_version = manifest_path.stat().st_mtime_ns
        for entry in json.loads(_read_private(manifest_path)):
            self._keys[entry["kid"]] = self._load_key(entry)

    def _load_key(self, entry: Mapping[str, Any]) -> SigningKey:
        kid, alg = entry["kid"], entry["alg"]
        if alg not in SIGNING_ALGORITHMS:
            raise KeyStoreError(f"key {kid}: unsupported algorithm {alg!r}")
        # Our own keys, from a directory only we can read, checked against their thumbprint below: skipping
        # cryptography's RSA consistency check saves ~0.4 s per key on every start (and every test app).
        loaded = serialization.load_pem_private_key(
            _read_private(self.directory / f"{kid}.pem"), self._passphrase, unsafe_skip_rsa_key_validation=True
        )
        _check_strength(loaded, alg, kid)
        assert isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)  # _check_strength
        jwk = public_jwk(loaded, alg)
        if jwk["kid"] != kid:
            raise KeyStoreError(f"key file {kid}.pem does not match its kid (thumbprint {jwk['kid']})")
        retire_at = entry.get("retire_at")
        return SigningKey(
            kid,
            alg,
            _plain_pem(loaded),
            jwk,
            datetime.fromisoformat(entry["created_at"]),
            datetime.fromisoformat(retire_at) if retire_at else None,
        )

    def _write_manifest(self) -> None:
        entries = [
            {
                "kid": k.kid,
                "alg": k.alg,
                "created_at": k.created_at.isoformat(),
                "retire_at": k.retire_at.isoformat() if k.retire_at else None,
            }
            for k in self._keys.values()
        ]
        _write_private(self.directory / MANIFEST, json.dumps(entries, indent=2).encode("utf-8"))
        self._manifest_version = (self.directory / MANIFEST).stat().st_mtime_ns

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Several server processes may start at once on one data directory; only one generates keys.
        fd = os.open(self.directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _check_strength(key: object, alg: str, kid: str) -> None:
    if alg in _RSA_ALGORITHMS and not (isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_BITS):
        raise KeyStoreError(f"key {kid}: {alg} needs an RSA key of at least {MIN_RSA_BITS} bits")
    if alg == "ES384" and not (isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1)):
        raise KeyStoreError(f"key {kid}: ES384 needs a P-384 key")


def _plain_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 (the temporary file is created 0600, never widened)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read_private(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyStoreError(f"missing key file {path.name}") from exc
    if mode & 0o077:
        raise KeyStoreError(f"{path} is readable by other users (mode {oct(mode & 0o777)}); expected 0600")
    return path.read_bytes()
