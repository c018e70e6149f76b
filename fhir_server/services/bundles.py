"""Batch and transaction Bundles.

A transaction runs in one unit of work: every entry succeeds or nothing is stored. Entries are processed
in the order the spec prescribes (DELETE, POST, PUT/PATCH, GET/HEAD), `urn:uuid:` fullUrls are replaced by
the ids the server assigns, and conditional references (`Patient?identifier=…`) are resolved to exactly one
resource. A batch runs each entry in its own unit of work and reports each entry's own outcome.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from fhir_server.errors import FhirError, InvalidRequest, MultipleMatches, NotFound
from fhir_server.services import bundle_builder as bb
from fhir_server.services.access import AccessGuard
from fhir_server.services.observation_check import issues_outcome
from fhir_server.services.references import conditional_references, rewrite_references
from fhir_server.services.resources import ResourceService, WriteResult, conditional_key
from fhir_server.services.search import SearchService
from fhir_server.storage.clock import to_instant
from fhir_server.storage.repository import StoredResource, UnitOfWork

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}

UnitFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
# (type, ifNoneExist criteria) -> the resources matching them, for a transaction's conditional creates.
_Known = dict[tuple[str, str], list[StoredResource]]


class EntryError(FhirError):
    """An error inside entry N of a transaction; the message says which entry, so it can be fixed."""

    def __init__(self, index: int, inner: FhirError) -> None:
        super().__init__(f"Bundle.entry[{index}]: {inner.message}", expression=[f"Bundle.entry[{index}]"])
        self.inner = inner
        self.code = inner.code


@dataclass
class _Entry:
    index: int
    method: str
    url: str
    full_url: str | None
    resource: Any
    if_none_exist: str | None
    if_match: str | None


def _parse_entries(bundle: dict[str, Any]) -> list[_Entry]:
    entries = []
    for i, raw in enumerate(bundle.get("entry") or []):
        request = raw.get("request") or {}
        method = str(request.get("method", "")).upper()
        url = request.get("url")
        if method not in ORDER or not isinstance(url, str) or not url:
            raise InvalidRequest(
                f"Bundle.entry[{i}].request needs a method (GET, HEAD, POST, PUT, PATCH, DELETE) and a url.",
                expression=[f"Bundle.entry[{i}].request"],
            )
        entries.append(
            _Entry(
                index=i,
                method=method,
                url=url.lstrip("/"),
                full_url=raw.get("fullUrl"),
                resource=raw.get("resource"),
                if_none_exist=request.get("ifNoneExist"),
                if_match=request.get("ifMatch"),
            )
        )
    return entries


class BundleService:
    def __init__(self, resources: ResourceService, search: SearchService) -> None:
        self.resources = resources
        self.search = search

    async def transaction(
        self, unit: UnitFactory, bundle: dict[str, Any], *, base: str, representation: bool, guard: AccessGuard
    ) -> dict[str, Any]:
        """All entries in one unit of work, each authorized on its own: one refused entry fails them all."""
        entries = _parse_entries(bundle)
        self._check_no_duplicates(entries)
        responses: dict[int, dict[str, Any]] = {}
        async with unit() as uow:
            known = await self._resolve_if_none_exist(uow, entries, guard)
            mapping = await self._assign_ids(uow, entries, guard, known)
            for entry in sorted(entries, key=lambda e: ORDER[e.method]):
                try:
                    if entry.resource is not None:
                        resolved = {
                            ref: await self._resolve_conditional(uow, ref, guard)
                            for ref in conditional_references(entry.resource)
                            if ref not in mapping
                        }
                        entry.resource = rewrite_references(entry.resource, {**mapping, **resolved})
                    responses[entry.index] = await self._process(
                        uow, entry, base, representation, mapping, guard, known
                    )
                except FhirError as exc:
                    raise EntryError(entry.index, exc) from exc
        return bb.bundle("transaction-response", [responses[e.index] for e in entries])

    async def batch(
        self,
        unit: UnitFactory,
        bundle: dict[str, Any],
        *,
        base: str,
        representation: bool,
        render_error: Callable[[FhirError], dict[str, Any]],
        guard: AccessGuard,
    ) -> dict[str, Any]:
        """Each entry on its own; `render_error` (from the HTTP edge) turns a failure into entry.response."""
        out = []
        for entry in _parse_entries(bundle):
            try:
                async with unit() as uow:
                    out.append(await self._process(uow, entry, base, representation, None, guard))
            except FhirError as exc:
                out.append({"response": render_error(exc)})
        return bb.bundle("batch-response", out)

    # ---- internals -------------------------------------------------------------------------------------

    @staticmethod
    def _check_no_duplicates(entries: list[_Entry]) -> None:
        seen: dict[str, int] = {}
        for e in entries:
            if e.method in ("PUT", "DELETE", "PATCH") and "?" not in e.url:
                key = e.url.split("/_history")[0]
                if key in seen:
                    raise InvalidRequest(
                        f"Bundle.entry[{seen[key]}] and Bundle.entry[{e.index}] both change {key}; "
                        "a transaction may touch each resource once."
                    )
                seen[key] = e.index

    async def _resolve_if_none_exist(self, uow: UnitOfWork, entries: list[_Entry], guard: AccessGuard) -> _Known:
        """The matches of every `ifNoneExist: identifier=system|value` in the bundle, one query per type.

        The locks are taken first (all at once, in order), so a concurrent transaction cannot create one of
        these resources between our lookup and our insert. Other criteria are left to each entry.
        """
        wanted: dict[str, dict[str, tuple[str, str]]] = {}
        first_entry: dict[str, int] = {}
        types = self.search.registry.resource_types()
        for e in entries:
            type_name = e.url.split("?")[0]
            if e.method != "POST" or not e.if_none_exist or type_name not in types:
                continue
            identifier = self.search.identifier_criterion(type_name, e.if_none_exist)
            if identifier is not None:
                wanted.setdefault(type_name, {})[e.if_none_exist] = identifier
                first_entry.setdefault(type_name, e.index)
        known: _Known = {}
        if not wanted:
            return known
        await uow.lock_all(
            conditional_key(ty, criteria) for ty, by_criteria in wanted.items() for criteria in by_criteria
        )
        for type_name, by_criteria in wanted.items():
            try:
                found = await self.search.find_by_identifiers(uow, type_name, list(by_criteria.values()), guard=guard)
            except FhirError as exc:
                raise EntryError(first_entry[type_name], exc) from exc
            for criteria, identifier in by_criteria.items():
                known[(type_name, criteria)] = found[identifier]
        return known

    async def _assign_ids(
        self, uow: UnitOfWork, entries: list[_Entry], guard: AccessGuard, known: _Known
    ) -> dict[str, str]:
        """fullUrl -> the local reference it will have once stored (new ids for creates; one id for entries
        with the same ifNoneExist, since the second will be answered with the first)."""
        mapping: dict[str, str] = {}
        new_ids: dict[tuple[str, str], str] = {}
        for e in entries:
            if not e.full_url:
                continue
            type_name = e.url.split("?")[0].split("/")[0]
            if e.method == "POST":
                if e.if_none_exist:
                    key = (type_name, e.if_none_exist)
                    matches = known.get(key)
                    if matches is None:
                        matches = await self.search.find(uow, type_name, e.if_none_exist, guard=guard)
                    if len(matches) > 1:
                        raise EntryError(
                            e.index,
                            MultipleMatches(f"ifNoneExist '{e.if_none_exist}' matches {len(matches)} resources."),
                        )
                    if matches:
                        mapping[e.full_url] = f"{type_name}/{matches[0].res_id}"
                        continue
                    mapping[e.full_url] = new_ids.setdefault(key, f"{type_name}/{uuid.uuid4()}")
                    continue
                mapping[e.full_url] = f"{type_name}/{uuid.uuid4()}"
            elif e.method == "PUT" and "?" not in e.url:
                mapping[e.full_url] = e.url
        return mapping

    async def _resolve_conditional(self, uow: UnitOfWork, ref: str, guard: AccessGuard) -> str:
        type_name, _, criteria = ref.partition("?")
        matches = await self.search.find(uow, type_name, criteria, guard=guard)
        if len(matches) != 1:
            raise InvalidRequest(
                f"The conditional reference '{ref}' matches {len(matches)} resources; it must match exactly one."
            )
        return f"{type_name}/{matches[0].res_id}"

    async def _process(
        self,
        uow: UnitOfWork,
        e: _Entry,
        base: str,
        representation: bool,
        mapping: dict[str, str] | None,
        guard: AccessGuard,
        known: _Known | None = None,
    ) -> dict[str, Any]:
        path, _, query = e.url.partition("?")
        parts = [p for p in path.split("/") if p]
        if e.method == "POST":
            if len(parts) != 1:
                raise InvalidRequest(f"A POST entry's url must be a resource type, not '{e.url}'.")
            assigned = None
            if mapping is not None and e.full_url in mapping:
                assigned = mapping[e.full_url].split("/", 1)[1]
            key = (parts[0], e.if_none_exist or "")
            matches = known.get(key) if known is not None and e.if_none_exist else None
            result = await self.resources.create(
                uow,
                parts[0],
                e.resource,
                guard=guard,
                if_none_exist=e.if_none_exist,
                assigned_id=assigned,
                matches=matches,
            )
            if matches is not None and known is not None and result.created:
                known[key] = [result.stored]  # a later entry with the same criteria gets this one
            return self._write_response(result, base, representation)
        if e.method in ("PUT", "PATCH"):
            if len(parts) == 1 and query:
                result = await self.resources.conditional_update(
                    uow, parts[0], query, e.resource, guard=guard, if_match=e.if_match
                )
            elif len(parts) == 2:
                if e.method == "PATCH":
                    ops = self._patch_body(e.resource)
                    result = await self.resources.patch(uow, parts[0], parts[1], ops, guard=guard, if_match=e.if_match)
                else:
                    result = await self.resources.update(
                        uow, parts[0], parts[1], e.resource, guard=guard, if_match=e.if_match
                    )
            else:
                raise InvalidRequest(f"A {e.method} entry's url must be Type/id or Type?criteria, not '{e.url}'.")
            return self._write_response(result, base, representation)
        if e.method == "DELETE":
            if len(parts) == 1 and query:
                await self.resources.conditional_delete(uow, parts[0], query, guard=guard)
            elif len(parts) == 2:
                await self.resources.delete(uow, parts[0], parts[1], guard=guard)
            else:
                raise InvalidRequest(f"A DELETE entry's url must be Type/id or Type?criteria, not '{e.url}'.")
            return {"response": {"status": "204 No Content"}}
        return await self._get(uow, parts, query, base, guard)

    @staticmethod
    def _patch_body(resource: Any) -> Any:
        """PATCH entries carry a Binary holding the JSON Patch document (FHIR R4 http.html#patch)."""
        if isinstance(resource, dict) and resource.get("resourceType") == "Binary" and resource.get("data"):
            return orjson.loads(base64.b64decode(resource["data"]))
        raise InvalidRequest("A PATCH entry's resource must be a Binary whose data is a base64 JSON Patch.")

    async def _get(
        self, uow: UnitOfWork, parts: list[str], query: str, base: str, guard: AccessGuard
    ) -> dict[str, Any]:
        if len(parts) == 2:
            stored = await self.resources.read(uow, parts[0], parts[1], guard=guard)
        elif len(parts) == 4 and parts[2] == "_history":
            stored = await self.resources.vread(uow, parts[0], parts[1], parts[3], guard=guard)
        elif len(parts) == 1:
            self.resources.check_type(parts[0])
            await uow.flush()
            result = await self.search.search(
                uow,
                parts[0],
                parse_qsl(query, keep_blank_values=True),
                strict=False,
                base=base,
                guard=guard,
                self_path=parts[0],
            )
            return {"resource": result, "response": {"status": "200 OK"}}
        else:
            raise NotFound(f"This server cannot answer GET {'/'.join(parts)} inside a Bundle.")
        return {
            "fullUrl": bb.full_url(base, stored),
            "resource": bb.resource_fragment(stored),
            "response": {
                "status": "200 OK",
                "etag": f'W/"{stored.version}"',
                "lastModified": to_instant(stored.last_updated),
            },
        }

    @staticmethod
    def _write_response(result: WriteResult, base: str, representation: bool) -> dict[str, Any]:
        s: StoredResource = result.stored
        entry: dict[str, Any] = {
            "fullUrl": bb.full_url(base, s),
            "response": {
                "status": "201 Created" if result.created else "200 OK",
                "location": f"{base}/{s.res_type}/{s.res_id}/_history/{s.version}",
                "etag": f'W/"{s.version}"',
                "lastModified": to_instant(s.last_updated),
            },
        }
        if result.issues:  # stored despite them (coding check in mode `warn`): the entry says what was found
            entry["response"]["outcome"] = issues_outcome(result.issues)
        if representation:
            entry["resource"] = bb.resource_fragment(s)
        return entry
