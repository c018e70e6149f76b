"""Publishes the terminology package's CodeSystems, ValueSets and ConceptMaps as stored resources at start-up.

Each artefact has a stable id and is written with an update (PUT) through the resource service, so it is
validated, indexed (`url`, `version`, `name`, `status` searches work) and versioned like any other resource.
A resource whose stored content already equals the shipped one is left alone, so a restart writes nothing;
new content (a new `version`, or any change) replaces the old one, whose earlier version stays in history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from fhir_server.errors import Conflict
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.access import AccessGuard
from fhir_server.services.resources import ResourceService
from fhir_server.storage.repository import ResourceRepository
from terminology import Terminology
from terminology.resources import all_resources

log = logging.getLogger("novamind.terminology")
PUBLISH_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class LoadReport:
    written: tuple[str, ...]  # "CodeSystem/loinc", ... created or replaced
    unchanged: tuple[str, ...]


async def publish_terminology(
    terminology: Terminology, repository: ResourceRepository, resources: ResourceService, registry: SearchRegistry
) -> LoadReport:
    """Write what differs from the stored artefacts, in one transaction (all of the content or none of it).

    API processes started together race to publish the same content; the loser's write conflicts, and its
    retry then finds everything unchanged.
    """
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            return await _publish(terminology, repository, resources, AccessGuard.full_access(registry))
        except Conflict:
            if attempt == PUBLISH_ATTEMPTS:
                raise
            log.info("terminology: another process published at the same time; checking again")
    raise AssertionError("unreachable")  # pragma: no cover


async def _publish(
    terminology: Terminology, repository: ResourceRepository, resources: ResourceService, guard: AccessGuard
) -> LoadReport:
    written: list[str] = []
    unchanged: list[str] = []
    async with repository.unit_of_work() as uow:
        # Processes starting together take turns (PostgreSQL advisory lock; SQLite has one writer anyway):
        # the second then finds everything published instead of racing the first resource by resource.
        await uow.lock("terminology-publish")
        for resource in all_resources(terminology):
            res_type, res_id = resource["resourceType"], resource["id"]
            current = await uow.current(res_type, res_id)
            if current is not None and not current.deleted and _same(current.content, resource):
                unchanged.append(f"{res_type}/{res_id}")
                continue
            await resources.update(uow, res_type, res_id, resource, guard=guard)
            written.append(f"{res_type}/{res_id}")
    if written:
        log.info("terminology: published %d artefacts (%d unchanged)", len(written), len(unchanged))
    return LoadReport(tuple(written), tuple(unchanged))


def _same(stored: bytes | None, shipped: dict[str, Any]) -> bool:
    if stored is None:
        return False
    current = orjson.loads(stored)
    current.pop("meta", None)
    return bool(current == shipped)
