"""Create, read, update, patch, delete and history with FHIR's versioning and conditional semantics.

Every method takes the `UnitOfWork` it runs in, so the same code serves a single REST interaction and an
entry of a transaction bundle (where all entries share one unit of work).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jsonpatch
import orjson

from fhir_server.auth.policy import Decision, Interaction
from fhir_server.errors import (
    Gone,
    InvalidRequest,
    InvalidResource,
    MultipleMatches,
    NotFound,
    PreconditionFailed,
    UnknownResourceType,
    VersionConflict,
)
from fhir_server.fhir_models import validate_resource
from fhir_server.services.access import AccessGuard
from fhir_server.services.observation_check import CodingIssue, ObservationCodingCheck
from fhir_server.services.references import local_references
from fhir_server.storage.repository import ResourceRepository, StoredResource, UnitOfWork

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ETAG_RE = re.compile(r'^(?:W/)?"?([^"]+)"?$')


class Finder(Protocol):
    """What conditional interactions need from search: the current resources matching a query string."""

    async def find(self, uow: UnitOfWork, res_type: str, query: str, *, guard: AccessGuard) -> list[StoredResource]: ...


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: StoredResource
    created: bool
    # Warnings about the body written (the Observation coding check in mode `warn`); the resource was stored.
    issues: tuple[CodingIssue, ...] = ()


def parse_etag(value: str) -> int:
    match = ETAG_RE.match(value.strip())
    if not match or not match.group(1).isdigit():
        raise InvalidRequest(f'If-Match must be an ETag like W/"3", not {value!r}.')
    return int(match.group(1))


def check_id(res_id: str) -> str:
    if not ID_RE.match(res_id):
        raise InvalidRequest(f"'{res_id}' is not a valid FHIR id (1-64 characters: letters, digits, '-' and '.').")
    return res_id


def conditional_key(res_type: str, criteria: str) -> str:
    """The lock key of a conditional write: writers deciding on the same criteria take turns."""
    return f"{res_type}?{criteria}"


class ResourceService:
    """Every method takes the request's `AccessGuard`: the use cases enforce authorization themselves, so no
    path into the data (a REST interaction, a bundle entry, an operation) can skip it."""

    def __init__(
        self,
        finder: Finder,
        resource_types: frozenset[str],
        *,
        referential_integrity: bool = True,
        observation_check: ObservationCodingCheck | None = None,
    ) -> None:
        self.finder = finder
        self.resource_types = resource_types
        self.referential_integrity = referential_integrity
        self.observation_check = observation_check

    def _require_targets(self, uow: UnitOfWork, res_type: str, res_id: str, data: dict[str, Any]) -> None:
        if self.referential_integrity:
            targets = {(ty, rid) for ty, rid in local_references(data) if ty in self.resource_types}
            if targets:
                uow.require_references(f"{res_type}/{res_id}", targets)

    def check_type(self, res_type: str) -> str:
        if res_type not in self.resource_types:
            raise UnknownResourceType(f"'{res_type}' is not a FHIR R4 resource type this server stores.")
        return res_type

    # ---- read side -------------------------------------------------------------------------------------

    async def read(
        self,
        uow: UnitOfWork,
        res_type: str,
        res_id: str,
        *,
        guard: AccessGuard,
        interaction: Interaction = Interaction.READ,
    ) -> StoredResource:
        decision = guard.require(interaction, self.check_type(res_type))
        stored = self._readable(res_type, res_id, await uow.current(res_type, res_id))
        await guard.ensure_visible(uow, decision, stored)
        return stored

    async def read_latest(
        self, repository: ResourceRepository, res_type: str, res_id: str, *, guard: AccessGuard
    ) -> StoredResource:
        """The read interaction on its own: one query, no unit of work, when the token may read every `res_type`."""
        decision = guard.require(Interaction.READ, self.check_type(res_type))
        stored = self._readable(res_type, res_id, await repository.latest(res_type, res_id))
        if not decision.unrestricted:
            async with repository.unit_of_work(write=False) as uow:
                await guard.ensure_visible(uow, decision, stored)
        return stored

    @staticmethod
    def _readable(res_type: str, res_id: str, stored: StoredResource | None) -> StoredResource:
        if stored is None:
            raise NotFound(f"{res_type}/{res_id} does not exist on this server.")
        if stored.deleted:
            raise Gone(f"{res_type}/{res_id} was deleted (version {stored.version}); its history is kept.")
        return stored

    async def vread(
        self, uow: UnitOfWork, res_type: str, res_id: str, version: str, *, guard: AccessGuard
    ) -> StoredResource:
        decision = guard.require(Interaction.VREAD, self.check_type(res_type))
        if not version.isdigit():
            raise NotFound(f"{res_type}/{res_id} has no version '{version}'; version ids are numbers.")
        stored = await uow.version(res_type, res_id, int(version))
        if stored is None:
            if await uow.current(res_type, res_id) is None:
                raise NotFound(f"{res_type}/{res_id} does not exist on this server.")
            raise NotFound(f"{res_type}/{res_id} has no version {version}.")
        await guard.ensure_visible(uow, decision, stored)  # judged by the current version's place
        if stored.deleted:
            raise Gone(f"Version {version} of {res_type}/{res_id} is its deletion.")
        return stored

    # ---- write side ------------------------------------------------------------------------------------

    def _prepare(self, res_type: str, body: Any) -> tuple[dict[str, Any], tuple[CodingIssue, ...]]:
        """Check the body before any write: FHIR R4 structure, then (Observations) the LOINC/UCUM coding
        check, which raises in mode `reject` and otherwise returns its warnings for the write's result."""
        self.check_type(res_type)
        validate_resource(body, res_type)
        data = dict(body)
        check = self.observation_check
        return data, (check.review(data) if check is not None and res_type == "Observation" else ())

    async def create(
        self,
        uow: UnitOfWork,
        res_type: str,
        body: Any,
        *,
        guard: AccessGuard,
        if_none_exist: str | None = None,
        assigned_id: str | None = None,
        matches: list[StoredResource] | None = None,
    ) -> WriteResult:
        """Create with a server-assigned id; with `If-None-Exist`, return the match instead of a duplicate.

        `matches` are the If-None-Exist matches when the caller already looked them up (and took the lock):
        a transaction resolves all its conditional creates in one query.
        """
        decision = guard.require(Interaction.CREATE, self.check_type(res_type))
        data, issues = self._prepare(res_type, body)
        if if_none_exist:
            if matches is None:
                await uow.lock(conditional_key(res_type, if_none_exist))
                matches = await self.finder.find(uow, res_type, if_none_exist, guard=guard)
            if len(matches) > 1:
                raise MultipleMatches(
                    f"If-None-Exist '{if_none_exist}' matches {len(matches)} {res_type} resources; "
                    "make the criteria select at most one."
                )
            if matches:
                return WriteResult(matches[0], created=False)
        new_id = assigned_id or str(uuid.uuid4())
        self._require_targets(uow, res_type, new_id, data)
        stored = await uow.save(res_type, new_id, data, current=None, method="POST")
        await guard.ensure_written_visible(uow, decision, res_type, new_id)
        return WriteResult(stored, created=True, issues=issues)

    async def update(
        self,
        uow: UnitOfWork,
        res_type: str,
        res_id: str,
        body: Any,
        *,
        guard: AccessGuard,
        if_match: str | None = None,
        interaction: Interaction = Interaction.UPDATE,
    ) -> WriteResult:
        """Update, or create with the client's id when none exists (update-as-create)."""
        check_id(res_id)
        decision = guard.require(interaction, self.check_type(res_type))
        data, issues = self._prepare(res_type, body)
        if data.get("id") != res_id:
            raise InvalidRequest(
                f"The resource's id ({data.get('id')!r}) must equal the id in the URL ({res_id!r}) on update."
            )
        current = await uow.current(res_type, res_id, for_update=True)
        if current is not None and not current.deleted:
            await guard.ensure_visible(uow, decision, current)
        if if_match is not None:
            wanted = parse_etag(if_match)
            if current is None or current.deleted:
                raise PreconditionFailed(
                    f"If-Match names version {wanted} but {res_type}/{res_id} has no current version."
                )
            if current.version != wanted:
                raise VersionConflict(
                    f"{res_type}/{res_id} is at version {current.version}, not {wanted}: "
                    "someone changed it since you read it. Read it again and reapply your change."
                )
        self._require_targets(uow, res_type, res_id, data)
        stored = await uow.save(res_type, res_id, data, current=current, method="PUT")
        await guard.ensure_written_visible(uow, decision, res_type, res_id)
        return WriteResult(stored, created=current is None or current.deleted, issues=issues)

    async def conditional_update(
        self,
        uow: UnitOfWork,
        res_type: str,
        criteria: str,
        body: Any,
        *,
        guard: AccessGuard,
        if_match: str | None = None,
    ) -> WriteResult:
        self.check_type(res_type)
        await uow.lock(conditional_key(res_type, criteria))
        matches = await self.finder.find(uow, res_type, criteria, guard=guard)
        if len(matches) > 1:
            raise MultipleMatches(
                f"Conditional update criteria '{criteria}' match {len(matches)} {res_type} resources; "
                "narrow them to one."
            )
        if matches:
            target = matches[0]
            if isinstance(body, dict) and body.get("id") not in (None, target.res_id):
                raise InvalidRequest(
                    f"The body's id {body.get('id')!r} differs from the matched resource {target.res_id!r}."
                )
            return await self.update(
                uow, res_type, target.res_id, {**body, "id": target.res_id}, guard=guard, if_match=if_match
            )
        if isinstance(body, dict) and body.get("id"):
            return await self.update(uow, res_type, str(body["id"]), body, guard=guard)
        return await self.create(uow, res_type, body, guard=guard)

    async def patch(
        self,
        uow: UnitOfWork,
        res_type: str,
        res_id: str,
        operations: Any,
        *,
        guard: AccessGuard,
        if_match: str | None = None,
    ) -> WriteResult:
        """Apply a JSON Patch (RFC 6902) to the current version and store the result as a new version."""
        current = await self.read(uow, res_type, res_id, guard=guard, interaction=Interaction.PATCH)
        if not isinstance(operations, list):
            raise InvalidRequest("A JSON Patch body is a JSON array of operations (RFC 6902).")
        document = orjson.loads(current.content or b"{}")
        try:
            patched = jsonpatch.apply_patch(document, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise InvalidResource(f"The JSON Patch could not be applied: {exc}") from exc
        if patched.get("resourceType") != res_type or patched.get("id") != res_id:
            raise InvalidRequest("A patch may not change the resource's type or id.")
        return await self.update(
            uow,
            res_type,
            res_id,
            patched,
            guard=guard,
            if_match=if_match if if_match else f'W/"{current.version}"',
            interaction=Interaction.PATCH,
        )

    async def delete(self, uow: UnitOfWork, res_type: str, res_id: str, *, guard: AccessGuard) -> StoredResource | None:
        """Delete (idempotent: deleting something already gone or never there succeeds).

        A resource the token may not see is treated as never there: nothing is deleted and nothing leaks.
        """
        decision = guard.require(Interaction.DELETE, self.check_type(res_type))
        current = await uow.current(res_type, res_id, for_update=True)
        if current is None or current.deleted:
            return None
        try:
            await guard.ensure_visible(uow, decision, current)
        except NotFound:
            return None
        return await uow.delete(current)

    async def conditional_delete(
        self, uow: UnitOfWork, res_type: str, criteria: str, *, guard: AccessGuard
    ) -> Sequence[StoredResource]:
        decision = guard.require(Interaction.DELETE, self.check_type(res_type))
        matches = await self.finder.find(uow, res_type, criteria, guard=guard)
        matches = [m for m in matches if await _admitted(guard, uow, decision, m)]
        if len(matches) > 1:
            raise MultipleMatches(
                f"Conditional delete criteria '{criteria}' match {len(matches)} {res_type} resources; "
                "this server deletes at most one per request."
            )
        return [await uow.delete(m) for m in matches]


async def _admitted(guard: AccessGuard, uow: UnitOfWork, decision: Decision, stored: StoredResource) -> bool:
    try:
        await guard.ensure_visible(uow, decision, stored)
    except NotFound:
        return False
    return True
