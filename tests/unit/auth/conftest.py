"""Fixtures for the SMART authorization unit tests: a settable clock, keys made once, an in-memory jti store.

RSA generation is the slow part, so every key pair here is made once per test session (2048-bit RSA).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_server.auth.keys import KeyRing

START = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class InMemoryJtiStore:
    """The `JtiStore` contract for tests only; production keeps used jtis in a database table."""

    def __init__(self) -> None:
        self.used: dict[tuple[str, str], datetime] = {}

    async def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        key = (client_id, jti)
        if key in self.used:
            return False
        self.used[key] = expires_at
        return True


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jti_store() -> InMemoryJtiStore:
    return InMemoryJtiStore()


@pytest.fixture(scope="session")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def keyring_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key directory made once per session; tests that rotate or prune copy it first."""
    directory = tmp_path_factory.mktemp("keys") / "signing"
    KeyRing.open(directory, clock=FakeClock(), rsa_bits=2048)
    return directory


@pytest.fixture
def keyring(keyring_dir: Path, tmp_path: Path, clock: FakeClock) -> Iterator[KeyRing]:
    """A private copy of the session's key directory, so a test may rotate without affecting others."""
    import shutil

    copy = tmp_path / "signing"
    shutil.copytree(keyring_dir, copy)
    yield KeyRing.open(copy, clock=clock, rsa_bits=2048)
