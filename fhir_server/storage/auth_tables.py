"""Tables of the SMART authorization server (clients, users, sessions, launches, codes, tokens).

Secrets never reach the database: login sessions, launch handles, authorization codes and refresh tokens
are stored as the SHA-256 of their value (hex), client secrets and passwords as argon2id hashes. Access
tokens are JWTs that verify on their own; their `jti` is recorded so revocation takes effect at once in
every API process that shares the database.

Instants are integer microseconds since the Unix epoch (UTC), as in `fhir_server.storage.tables`.
A token *family* is everything issued from one authorization code: its access tokens and every refresh
token of its rotation chain. Reusing the code or a rotated refresh token revokes the whole family.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text

from fhir_server.storage.tables import metadata

HASH = String(64)  # hex SHA-256

auth_client = Table(
    "auth_client",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("kind", String(16), nullable=False),  # public | symmetric | asymmetric
    Column("redirect_uris", Text, nullable=False),  # JSON list, matched exactly
    Column("scope", Text, nullable=False),
    Column("jwks", Text, nullable=True),  # JSON JWK Set (public keys)
    Column("jwks_uri", String(1024), nullable=True),
    Column("can_launch", Boolean, nullable=False, default=False),
    Column("secret_hash", String(256), nullable=True),  # argon2id, symmetric clients only
    Column("created", BigInteger, nullable=False),
)

auth_user = Table(
    "auth_user",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("display_name", String(256), nullable=False),
    Column("role", String(32), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("fhir_user", String(192), nullable=True),
    Column("password_hash", String(256), nullable=False),
    Column("created", BigInteger, nullable=False),
)

auth_session = Table(
    "auth_session",
    metadata,
    Column("session_hash", HASH, primary_key=True),
    Column("username", ForeignKey("auth_user.username", ondelete="CASCADE"), nullable=False, index=True),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("ended", BigInteger, nullable=True),
)

auth_launch = Table(
    "auth_launch",
    metadata,
    Column("handle_hash", HASH, primary_key=True),
    Column("client_id", ForeignKey("auth_client.client_id", ondelete="CASCADE"), nullable=False),
    Column("username", String(128), nullable=True),
    Column("context", Text, nullable=False),  # JSON LaunchContext
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
    Column("used", BigInteger, nullable=True),
)

auth_code = Table(
    "auth_code",
    metadata,
    Column("code_hash", HASH, primary_key=True),
    Column("client_id", ForeignKey("auth_client.client_id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", String(1024), nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("username", String(128), nullable=False),
    Column("scope", Text, nullable=False),
    Column("context", Text, nullable=False),  # JSON LaunchContext
    Column("session_hash", HASH, nullable=True),
    Column("nonce", String(512), nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
    Column("used", BigInteger, nullable=True),
    Column("family", String(64), nullable=True),  # set when redeemed: what the tokens it issued share
)

auth_refresh_token = Table(
    "auth_refresh_token",
    metadata,
    Column("token_hash", HASH, primary_key=True),
    Column("family", String(64), nullable=False, index=True),
    Column("client_id", ForeignKey("auth_client.client_id", ondelete="CASCADE"), nullable=False),
    Column("username", String(128), nullable=False),
    Column("scope", Text, nullable=False),
    Column("context", Text, nullable=False),  # JSON LaunchContext
    Column("session_hash", HASH, nullable=True, index=True),  # online_access: valid while this session lives
    Column("offline", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=True),  # rotated: presenting it again is reuse
    Column("revoked", Boolean, nullable=False, default=False),
)

auth_access_token = Table(
    "auth_access_token",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("client_id", String(128), nullable=False),
    Column("subject", String(192), nullable=False),
    Column("family", String(64), nullable=True, index=True),
    Column("session_hash", HASH, nullable=True),
    Column("issued", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
    Column("revoked", Boolean, nullable=False, default=False),
)

# Client-assertion jtis seen, kept until the assertion expires (SMART Backend Services replay protection).
auth_used_jti = Table(
    "auth_used_jti",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("jti", String(256), primary_key=True),
    Column("expires", BigInteger, nullable=False),
    Index("ix_auth_used_jti_expires", "expires"),
)
