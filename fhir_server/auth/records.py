"""The authorization server's records: frozen values shared by the store, the token endpoint and the UI.

They hold no secrets: a `Client` never carries its secret, a `User` never its password hash, and the records
the store hands back for codes and refresh tokens say what the value stands for, never the value itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from fhir_server.auth.roles import Role


class ClientKind(StrEnum):
    """How a client authenticates at the token endpoint (the SMART client types)."""

    PUBLIC = "public"  # client_id only; PKCE is its proof
    SYMMETRIC = "symmetric"  # client_secret_basic (or client_secret_post)
    ASYMMETRIC = "asymmetric"  # private_key_jwt against its registered JWKS / JWKS URL


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    kind: ClientKind
    redirect_uris: tuple[str, ...]  # exact-match list (empty for backend-services clients)
    scope: str  # the scopes this client may ever be granted, space separated
    jwks: Mapping[str, Any] | None = field(default=None, repr=False)
    jwks_uri: str | None = None
    can_launch: bool = False  # an EHR client allowed to mint launch handles via POST /auth/launch

    @property
    def confidential(self) -> bool:
        return self.kind is not ClientKind.PUBLIC


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    role: Role | None = None  # clinicians
    patient_id: str | None = None  # patients: the Patient resource id they are
    fhir_user: str | None = None  # "Practitioner/x" or "Patient/x" (the fhirUser claim)


@dataclass(frozen=True, slots=True)
class LaunchContext:
    patient: str | None = None
    encounter: str | None = None
    fhir_context: tuple[Mapping[str, Any], ...] = ()  # SMART fhirContext objects
    need_patient_banner: bool = True
    intent: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "patient": self.patient,
                "encounter": self.encounter,
                "fhirContext": [dict(item) for item in self.fhir_context],
                "need_patient_banner": self.need_patient_banner,
                "intent": self.intent,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> LaunchContext:
        data = json.loads(text)
        return cls(
            patient=data.get("patient"),
            encounter=data.get("encounter"),
            fhir_context=tuple(data.get("fhirContext") or ()),
            need_patient_banner=bool(data.get("need_patient_banner", True)),
            intent=data.get("intent"),
        )


@dataclass(frozen=True, slots=True)
class AuthorizationGrant:
    """What an authorization code stands for: who approved which scopes for which client, in which context."""

    client_id: str
    redirect_uri: str
    code_challenge: str  # S256 challenge
    username: str
    scope: str  # granted scopes, written in the syntax the client asked (v1 or v2)
    context: LaunchContext
    session_id: str | None = field(default=None, repr=False)
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """A stored authorization code. `session_key` is the hash of the login session it was issued in."""

    grant: AuthorizationGrant  # with session_id None: the store keeps only its hash
    expires_at: datetime
    used: bool
    family: str | None  # the token family it was redeemed into, once used
    session_key: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """A stored refresh token: what it may be exchanged for, and whether it still may be."""

    family: str
    client_id: str
    username: str
    scope: str
    context: LaunchContext
    offline: bool
    expires_at: datetime
    used: bool
    revoked: bool
    session_key: str | None  # online_access: the login session it lives with
    session_alive: bool  # always True for offline tokens
