"""`AuthStore`: the authorization server's state in the database every API process shares.

Secrets are stored as hashes only: SHA-256 for the high-entropy values we generate (session ids, launch
handles, codes, refresh tokens), argon2id for what people choose (passwords) and client secrets. Every
single-use value is consumed by one conditional UPDATE (`... WHERE used IS NULL`) whose row count says who
won, so two processes racing on one code or refresh token cannot both succeed.

A token *family* is what one authorization code was redeemed into: its access tokens and the refresh tokens
of its rotation chain. Presenting a used code or a rotated refresh token again revokes the family, which
the resource server sees at once because it asks `access_token_active` on every request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from fhir_server.auth.clock import Clock, utc_now
from fhir_server.auth.passwords import Passwords
from fhir_server.auth.records import (
    AuthorizationGrant,
    Client,
    ClientKind,
    CodeRecord,
    LaunchContext,
    RefreshRecord,
    User,
)
from fhir_server.auth.roles import Role
from fhir_server.auth.tokens import AccessTokenClaims
from fhir_server.storage.auth_tables import (
    auth_access_token,
    auth_client,
    auth_code,
    auth_launch,
    auth_refresh_token,
    auth_session,
    auth_used_jti,
    auth_user,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CODE_LIFETIME = timedelta(seconds=60)
LAUNCH_LIFETIME = timedelta(minutes=5)
# Used codes are kept a day past expiry so a late replay is still recognised (and revokes what it issued).
USED_CODE_RETENTION = timedelta(days=1)


class AuthRecordExistsError(ValueError):
    """A client or user with that id is already registered."""


def secret_key(value: str) -> str:
    """The stored form of a generated secret (hex SHA-256): enough to find it, useless to present."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _us(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _span(duration: timedelta) -> int:
    return duration // timedelta(microseconds=1)


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


# A one-row existence probe on a fast read path (ResourceRepository.probe); `$n` placeholders.
Probe = Callable[..., Awaitable[bool]]
_ACTIVE_TOKEN_SQL = "SELECT 1 FROM auth_access_token WHERE jti = $1 AND NOT revoked AND expires > $2"


class AuthStore:
    """One per process, built in the composition root over the shared engine."""

    def __init__(
        self,
        engine: AsyncEngine,
        passwords: Passwords,
        *,
        clock: Clock = utc_now,
        session_lifetime: timedelta = timedelta(hours=12),
        probe: Probe | None = None,
    ) -> None:
        self._engine = engine
        self._probe = probe
        self._passwords = passwords
        self._clock = clock
        self._session_lifetime = session_lifetime

    def _now(self) -> int:
        return _us(self._clock())

    # -- clients ----------------------------------------------------------------------------------------

    async def add_client(self, client: Client, *, secret: str | None = None) -> None:
        if (client.kind is ClientKind.SYMMETRIC) != (secret is not None):
            raise ValueError("a secret is required for symmetric clients and only for them")
        if client.kind is ClientKind.ASYMMETRIC and client.jwks is None and client.jwks_uri is None:
            raise ValueError("an asymmetric client needs a JWKS or a JWKS URL")
        secret_hash = await self._passwords.hash(secret) if secret is not None else None
        values = {
            "client_id": client.client_id,
            "name": client.name,
            "kind": client.kind.value,
            "redirect_uris": json.dumps(list(client.redirect_uris)),
            "scope": client.scope,
            "jwks": json.dumps(dict(client.jwks)) if client.jwks is not None else None,
            "jwks_uri": client.jwks_uri,
            "can_launch": client.can_launch,
            "secret_hash": secret_hash,
            "created": self._now(),
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(auth_client).values(**values))
        except IntegrityError as exc:
            raise AuthRecordExistsError(f"client {client.client_id!r} is already registered") from exc

    async def client(self, client_id: str) -> Client | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(auth_client).where(auth_client.c.client_id == client_id))).first()
        return _client(row) if row is not None else None

    async def clients(self) -> list[Client]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(auth_client).order_by(auth_client.c.client_id))).all()
        return [_client(row) for row in rows]

    async def verify_client_secret(self, client_id: str, secret: str) -> bool:
        """argon2id verification; unknown clients and clients without a secret cost the same and fail."""
        async with self._engine.connect() as conn:
            stored = await conn.scalar(select(auth_client.c.secret_hash).where(auth_client.c.client_id == client_id))
        return await self._passwords.verify(stored, secret)

    # -- users and login sessions ----------------------------------------------------------------------

    async def add_user(self, user: User, password: str) -> None:
        if user.role is None and user.patient_id is None:
            raise ValueError("a user is either a clinician (role) or a patient (patient_id)")
        password_hash = await self._passwords.hash(password)
        values = {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value if user.role else None,
            "patient_id": user.patient_id,
            "fhir_user": user.fhir_user,
            "password_hash": password_hash,
            "created": self._now(),
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(auth_user).values(**values))
        except IntegrityError as exc:
            raise AuthRecordExistsError(f"user {user.username!r} already exists") from exc

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches; unknown users cost one argon2id verification too."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(auth_user).where(auth_user.c.username == username))).first()
        stored = row.password_hash if row is not None else None
        if not await self._passwords.verify(stored, password) or row is None:
            return None
        if self._passwords.needs_rehash(row.password_hash):
            new_hash = await self._passwords.hash(password)
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(auth_user).where(auth_user.c.username == username).values(password_hash=new_hash)
                )
        return _user(row)

    async def user(self, username: str) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(auth_user).where(auth_user.c.username == username))).first()
        return _user(row) if row is not None else None

    async def users(self) -> list[User]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(auth_user).order_by(auth_user.c.username))).all()
        return [_user(row) for row in rows]

    async def start_session(self, username: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = self._now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(auth_session).values(
                    session_hash=secret_key(session_id),
                    username=username,
                    created=now,
                    expires=now + _span(self._session_lifetime),
                )
            )
        return session_id

    async def session_user(self, session_id: str) -> User | None:
        query = (
            select(auth_user)
            .join(auth_session, auth_session.c.username == auth_user.c.username)
            .where(self._session_alive(secret_key(session_id)))
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _user(row) if row is not None else None

    async def session_expires_at(self, session_id: str) -> datetime | None:
        """When a live session ends by itself (online_access refresh tokens live no longer); None if dead."""
        query = select(auth_session.c.expires).where(self._session_alive(secret_key(session_id)))
        async with self._engine.connect() as conn:
            expires = await conn.scalar(query)
        return _instant(expires) if expires is not None else None

    async def end_session(self, session_id: str) -> None:
        """Log out: the session and the online_access refresh tokens issued in it end now."""
        key = secret_key(session_id)
        async with self._engine.begin() as conn:
            await conn.execute(
                update(auth_session)
                .where(auth_session.c.session_hash == key, auth_session.c.ended.is_(None))
                .values(ended=self._now())
            )
            await conn.execute(
                update(auth_refresh_token)
                .where(auth_refresh_token.c.session_hash == key, auth_refresh_token.c.offline.is_(False))
                .values(revoked=True)
            )

    def _session_alive(self, key: str) -> Any:
        return and_(
            auth_session.c.session_hash == key,
            auth_session.c.ended.is_(None),
            auth_session.c.expires > self._now(),
        )

    # -- EHR launch handles ------------------------------------------------------------------------------

    async def mint_launch(self, client_id: str, username: str | None, context: LaunchContext) -> str:
        handle = secrets.token_urlsafe(32)
        now = self._now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(auth_launch).values(
                    handle_hash=secret_key(handle),
                    client_id=client_id,
                    username=username,
                    context=context.to_json(),
                    created=now,
                    expires=now + _span(LAUNCH_LIFETIME),
                )
            )
        return handle

    async def take_launch(self, handle: str, client_id: str) -> tuple[str | None, LaunchContext] | None:
        """Single use, only by the client it was minted for, within five minutes: (username, context)."""
        key, now = secret_key(handle), self._now()
        async with self._engine.begin() as conn:
            taken = await conn.execute(
                update(auth_launch)
                .where(
                    auth_launch.c.handle_hash == key,
                    auth_launch.c.client_id == client_id,
                    auth_launch.c.used.is_(None),
                    auth_launch.c.expires > now,
                )
                .values(used=now)
            )
            if taken.rowcount != 1:
                return None
            row = (await conn.execute(select(auth_launch).where(auth_launch.c.handle_hash == key))).one()
        return row.username, LaunchContext.from_json(row.context)

    # -- authorization codes -----------------------------------------------------------------------------

    async def issue_code(self, grant: AuthorizationGrant) -> str:
        """A fresh code standing for `grant`, valid for about a minute, redeemable once."""
        code = secrets.token_urlsafe(32)
        now = self._now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(auth_code).values(
                    code_hash=secret_key(code),
                    client_id=grant.client_id,
                    redirect_uri=grant.redirect_uri,
                    code_challenge=grant.code_challenge,
                    username=grant.username,
                    scope=grant.scope,
                    context=grant.context.to_json(),
                    session_hash=secret_key(grant.session_id) if grant.session_id else None,
                    nonce=grant.nonce,
                    created=now,
                    expires=now + _span(CODE_LIFETIME),
                )
            )
        return code

    async def find_code(self, code: str) -> CodeRecord | None:
        """What `code` stands for, used or not (the caller decides); None for a code we never issued."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(auth_code).where(auth_code.c.code_hash == secret_key(code)))).first()
        if row is None:
            return None
        grant = AuthorizationGrant(
            client_id=row.client_id,
            redirect_uri=row.redirect_uri,
            code_challenge=row.code_challenge,
            username=row.username,
            scope=row.scope,
            context=LaunchContext.from_json(row.context),
            nonce=row.nonce,
        )
        return CodeRecord(grant, _instant(row.expires), row.used is not None, row.family, row.session_hash)

    async def consume_code(self, code: str) -> str | None:
        """Mark `code` used and return the new token family; None when it was already used or has expired."""
        family, now = secrets.token_urlsafe(24), self._now()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(auth_code)
                .where(auth_code.c.code_hash == secret_key(code), auth_code.c.used.is_(None), auth_code.c.expires > now)
                .values(used=now, family=family)
            )
        return family if result.rowcount == 1 else None

    # -- refresh tokens ----------------------------------------------------------------------------------

    async def issue_refresh_token(
        self,
        *,
        family: str,
        client_id: str,
        username: str,
        scope: str,
        context: LaunchContext,
        offline: bool,
        expires_at: datetime,
        session_key: str | None = None,
    ) -> str:
        token = secrets.token_urlsafe(32)
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(auth_refresh_token).values(
                    token_hash=secret_key(token),
                    family=family,
                    client_id=client_id,
                    username=username,
                    scope=scope,
                    context=context.to_json(),
                    session_hash=None if offline else session_key,
                    offline=offline,
                    created=self._now(),
                    expires=_us(expires_at),
                    revoked=False,
                )
            )
        return token

    async def find_refresh_token(self, token: str) -> RefreshRecord | None:
        key = secret_key(token)
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(auth_refresh_token).where(auth_refresh_token.c.token_hash == key))).first()
            alive = True
            if row is not None and not row.offline:
                alive = row.session_hash is not None and (
                    await conn.scalar(select(auth_session.c.session_hash).where(self._session_alive(row.session_hash)))
                    is not None
                )
        if row is None:
            return None
        return RefreshRecord(
            family=row.family,
            client_id=row.client_id,
            username=row.username,
            scope=row.scope,
            context=LaunchContext.from_json(row.context),
            offline=row.offline,
            expires_at=_instant(row.expires),
            used=row.used is not None,
            revoked=row.revoked,
            session_key=row.session_hash,
            session_alive=alive,
        )

    async def consume_refresh_token(self, token: str) -> bool:
        """Rotate: mark `token` used; False when it was used, revoked or expired in the meantime."""
        now = self._now()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(auth_refresh_token)
                .where(
                    auth_refresh_token.c.token_hash == secret_key(token),
                    auth_refresh_token.c.used.is_(None),
                    auth_refresh_token.c.revoked.is_(False),
                    auth_refresh_token.c.expires > now,
                )
                .values(used=now)
            )
        return result.rowcount == 1

    async def revoke_family(self, family: str) -> None:
        """Revoke every refresh and access token issued from one authorization code."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(auth_refresh_token).where(auth_refresh_token.c.family == family).values(revoked=True)
            )
            await conn.execute(
                update(auth_access_token).where(auth_access_token.c.family == family).values(revoked=True)
            )

    # -- access tokens -----------------------------------------------------------------------------------

    async def record_access_token(
        self, claims: AccessTokenClaims, *, family: str | None = None, session_key: str | None = None
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(auth_access_token).values(
                    jti=claims.jti,
                    client_id=claims.client_id,
                    subject=claims.sub,
                    family=family,
                    session_hash=session_key,
                    issued=_us(claims.issued_at),
                    expires=_us(claims.expires_at),
                    revoked=False,
                )
            )

    async def access_token_active(self, jti: str) -> bool:
        """Issued by us, not revoked, not expired: the resource server asks this on every request."""
        if self._probe is not None:
            return await self._probe(_ACTIVE_TOKEN_SQL, jti, self._now())
        query = select(auth_access_token.c.jti).where(
            auth_access_token.c.jti == jti,
            auth_access_token.c.revoked.is_(False),
            auth_access_token.c.expires > self._now(),
        )
        async with self._engine.connect() as conn:
            return await conn.scalar(query) is not None

    async def access_token_family(self, jti: str) -> str | None:
        async with self._engine.connect() as conn:
            return await conn.scalar(select(auth_access_token.c.family).where(auth_access_token.c.jti == jti))

    async def revoke_access_token(self, jti: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(auth_access_token).where(auth_access_token.c.jti == jti).values(revoked=True))

    # -- client-assertion replay protection (the JtiStore protocol) ---------------------------------------

    async def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record an assertion's jti until it expires; False on replay. Expired entries are swept first."""
        now = self._now()
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(auth_used_jti).where(auth_used_jti.c.expires <= now))
                await conn.execute(insert(auth_used_jti).values(client_id=client_id, jti=jti, expires=_us(expires_at)))
        except IntegrityError:
            return False
        return True

    # -- housekeeping --------------------------------------------------------------------------------------

    async def purge_expired(self) -> None:
        """Delete rows nobody can use any more (expired codes, launches, tokens and sessions)."""
        now = self._now()
        async with self._engine.begin() as conn:
            for table in (auth_launch, auth_access_token, auth_refresh_token, auth_used_jti):
                await conn.execute(delete(table).where(table.c.expires <= now))
            await conn.execute(delete(auth_code).where(auth_code.c.expires <= now - _span(USED_CODE_RETENTION)))
            await conn.execute(
                delete(auth_session).where(or_(auth_session.c.expires <= now, auth_session.c.ended.is_not(None)))
            )


def _client(row: Row[Any]) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        kind=ClientKind(row.kind),
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        scope=row.scope,
        jwks=json.loads(row.jwks) if row.jwks is not None else None,
        jwks_uri=row.jwks_uri,
        can_launch=bool(row.can_launch),
    )


def _user(row: Row[Any]) -> User:
    return User(
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role) if row.role else None,
        patient_id=row.patient_id,
        fhir_user=row.fhir_user,
    )
