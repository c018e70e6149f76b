"""AuthStore over a real, migrated SQLite database: what it keeps, what it hands back, and what it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from fhir_server.auth.passwords import Passwords
from fhir_server.auth.records import AuthorizationGrant, Client, ClientKind, LaunchContext, User
from fhir_server.auth.roles import Role
from fhir_server.auth.store import AuthRecordExistsError, AuthStore, secret_key
from fhir_server.auth.tokens import AccessTokenClaims
from fhir_server.storage.auth_tables import auth_client, auth_code, auth_session, auth_user
from fhir_server.storage.db import create_engine
from fhir_server.storage.migrate import upgrade
from tests.unit.auth.conftest import FakeClock

APP = Client("app", "Demo app", ClientKind.PUBLIC, ("https://app.example/cb",), "launch/patient patient/*.rs")
EHR = Client("ehr", "EHR", ClientKind.SYMMETRIC, (), "launch", can_launch=True)
DR = User("drhouse", "Dr House", role=Role.PSYCHIATRIST, fhir_user="Practitioner/p1")
CONTEXT = LaunchContext(patient="pat-1", encounter="enc-1", fhir_context=({"reference": "Observation/o1"},))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite3'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def store(engine: AsyncEngine, clock: FakeClock) -> AuthStore:
    store = AuthStore(engine, Passwords(time_cost=1, memory_cost_kib=8192, parallelism=1), clock=clock)
    await store.add_client(APP)
    await store.add_client(EHR, secret="ehr-secret")
    await store.add_user(DR, "correct horse")
    return store


def grant(**changes: object) -> AuthorizationGrant:
    values: dict[str, object] = {
        "client_id": "app",
        "redirect_uri": "https://app.example/cb",
        "code_challenge": "challenge",
        "username": "drhouse",
        "scope": "launch/patient patient/*.rs",
        "context": CONTEXT,
        "session_id": "session-value",
        "nonce": "n-1",
    }
    values.update(changes)
    return AuthorizationGrant(**values)  # type: ignore[arg-type]


def claims(clock: FakeClock, jti: str = "jti-1") -> AccessTokenClaims:
    now = clock()
    return AccessTokenClaims(
        iss="http://x/fhir",
        aud="http://x/fhir",
        sub="drhouse",
        client_id="app",
        scope="patient/*.rs",
        jti=jti,
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )


async def test_clients_round_trip_without_their_secret(store: AuthStore) -> None:
    assert await store.client("app") == APP
    assert [c.client_id for c in await store.clients()] == ["app", "ehr"]
    assert await store.client("nobody") is None


async def test_client_secret_is_stored_as_argon2id_and_verified(store: AuthStore, engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        stored = await conn.scalar(select(auth_client.c.secret_hash).where(auth_client.c.client_id == "ehr"))
    assert stored is not None and stored.startswith("$argon2id$")
    assert await store.verify_client_secret("ehr", "ehr-secret")
    assert not await store.verify_client_secret("ehr", "wrong")
    assert not await store.verify_client_secret("app", "anything")  # public: no secret at all
    assert not await store.verify_client_secret("nobody", "ehr-secret")


async def test_registering_a_client_id_twice_is_refused(store: AuthStore) -> None:
    with pytest.raises(AuthRecordExistsError):
        await store.add_client(APP)


async def test_users_authenticate_by_argon2id_password(store: AuthStore, engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        stored = await conn.scalar(select(auth_user.c.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and "correct horse" not in stored
    assert await store.authenticate("drhouse", "correct horse") == DR
    assert await store.authenticate("drhouse", "wrong") is None
    assert await store.authenticate("nobody", "correct horse") is None


async def test_sessions_are_stored_hashed_and_end_on_logout(store: AuthStore, engine: AsyncEngine) -> None:
    session_id = await store.start_session("drhouse")
    async with engine.connect() as conn:
        assert await conn.scalar(select(auth_session.c.session_hash)) == secret_key(session_id)
    assert await store.session_user(session_id) == DR
    await store.end_session(session_id)
    assert await store.session_user(session_id) is None


async def test_sessions_expire(store: AuthStore, clock: FakeClock) -> None:
    session_id = await store.start_session("drhouse")
    clock.advance(timedelta(hours=12, seconds=1))
    assert await store.session_user(session_id) is None


async def test_a_launch_handle_is_taken_once_by_its_own_client(store: AuthStore) -> None:
    handle = await store.mint_launch("app", "drhouse", CONTEXT)
    assert await store.take_launch(handle, "ehr") is None
    assert await store.take_launch(handle, "app") == ("drhouse", CONTEXT)
    assert await store.take_launch(handle, "app") is None


async def test_a_launch_handle_expires_after_five_minutes(store: AuthStore, clock: FakeClock) -> None:
    handle = await store.mint_launch("app", None, CONTEXT)
    clock.advance(timedelta(minutes=5))
    assert await store.take_launch(handle, "app") is None


async def test_a_code_is_stored_hashed_and_stands_for_its_grant(store: AuthStore, engine: AsyncEngine) -> None:
    code = await store.issue_code(grant())
    async with engine.connect() as conn:
        assert await conn.scalar(select(auth_code.c.code_hash)) == secret_key(code)
    record = await store.find_code(code)
    assert record is not None and not record.used
    assert record.grant == grant(session_id=None)
    assert record.session_key == secret_key("session-value")


async def test_a_code_is_consumed_once(store: AuthStore) -> None:
    code = await store.issue_code(grant())
    family = await store.consume_code(code)
    assert family is not None
    assert await store.consume_code(code) is None
    record = await store.find_code(code)
    assert record is not None and record.used and record.family == family


async def test_an_expired_code_cannot_be_consumed(store: AuthStore, clock: FakeClock) -> None:
    code = await store.issue_code(grant())
    clock.advance(timedelta(seconds=61))
    assert await store.consume_code(code) is None


async def test_revoking_a_family_revokes_its_access_and_refresh_tokens(store: AuthStore, clock: FakeClock) -> None:
    family = "fam-1"
    await store.record_access_token(claims(clock), family=family)
    refresh = await store.issue_refresh_token(
        family=family,
        client_id="app",
        username="drhouse",
        scope="patient/*.rs offline_access",
        context=CONTEXT,
        offline=True,
        expires_at=clock() + timedelta(days=90),
    )
    assert await store.access_token_active("jti-1")
    await store.revoke_family(family)
    assert not await store.access_token_active("jti-1")
    record = await store.find_refresh_token(refresh)
    assert record is not None and record.revoked
    assert not await store.consume_refresh_token(refresh)


async def test_a_refresh_token_rotates_once(store: AuthStore, clock: FakeClock) -> None:
    refresh = await store.issue_refresh_token(
        family="f",
        client_id="app",
        username="drhouse",
        scope="offline_access",
        context=CONTEXT,
        offline=True,
        expires_at=clock() + timedelta(days=90),
    )
    assert await store.consume_refresh_token(refresh)
    assert not await store.consume_refresh_token(refresh)
    record = await store.find_refresh_token(refresh)
    assert record is not None and record.used and record.context == CONTEXT


async def test_an_online_refresh_token_dies_with_its_session(store: AuthStore, clock: FakeClock) -> None:
    session_id = await store.start_session("drhouse")
    refresh = await store.issue_refresh_token(
        family="f",
        client_id="app",
        username="drhouse",
        scope="online_access",
        context=CONTEXT,
        offline=False,
        expires_at=clock() + timedelta(hours=12),
        session_key=secret_key(session_id),
    )
    record = await store.find_refresh_token(refresh)
    assert record is not None and record.session_alive
    await store.end_session(session_id)
    record = await store.find_refresh_token(refresh)
    assert record is not None and record.revoked and not record.session_alive


async def test_an_access_token_is_inactive_once_expired_or_revoked(store: AuthStore, clock: FakeClock) -> None:
    await store.record_access_token(claims(clock, "a"))
    await store.record_access_token(claims(clock, "b"))
    await store.revoke_access_token("a")
    assert not await store.access_token_active("a")
    assert await store.access_token_active("b")
    clock.advance(timedelta(hours=1))
    assert not await store.access_token_active("b")
    assert not await store.access_token_active("never-issued")


async def test_a_client_assertion_jti_is_accepted_once_per_client(store: AuthStore, clock: FakeClock) -> None:
    expires = clock() + timedelta(minutes=5)
    assert await store.use("backend", "jti-x", expires)
    assert not await store.use("backend", "jti-x", expires)
    assert await store.use("other-backend", "jti-x", expires)
