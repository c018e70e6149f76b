"""Pharmacogenomics as a use case: read a patient's record through the caller's guard, run the advisor
(`mappings.pharmacogenomics`), store what it produced.

Reads go through the request's `AccessGuard`, so the advice is computed only from what the caller may see (and a
patient-confined token never reaches another patient). The results are the server's own derived data: they are
written with the server's authority, as the terminology artefacts are, but only after the caller was allowed to
run the operation on this patient; each is written only when it differs from what is stored (same inputs ->
nothing written, no new version).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from fhir_server.auth.policy import Interaction
from fhir_server.errors import BusinessRule, InvalidRequest
from fhir_server.search.params import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.access import AccessGuard
from fhir_server.services.resources import ResourceService
from fhir_server.services.search import SearchService, resource_pk
from fhir_server.storage.repository import ResourceRepository, StoredResource, UnitOfWork
from fhir_server.storage.search_sql import build_search
from mappings.pharmacogenomics import (
    DrugAlert,
    InvalidGenotypeError,
    PatientRecord,
    PgxAdvisor,
    PgxMappingError,
    RecommendationQuery,
    Recommendations,
)
from mappings.pharmacogenomics.operation import medication_recommendations_definition

GENOTYPE_QUERY = ("code", "http://loinc.org|84413-4")
MAX_PER_TYPE = 1000
HISTORY_TYPES = ("MedicationStatement", "MedicationRequest")


async def find_all(
    search: SearchService, uow: UnitOfWork, res_type: str, pairs: Sequence[tuple[str, str]], guard: AccessGuard
) -> list[dict[str, Any]]:
    """Every current `res_type` matching `pairs` that the token may search, sorted by id (deterministic input)."""
    q = parse_search(search.registry, res_type, list(pairs), value_sets=search.value_sets)
    restriction = guard.restrict(resource_pk, guard.require(Interaction.SEARCH_TYPE, res_type))
    stmt = build_search(q, search.registry, hop_filter=guard.hop_filter).limit(MAX_PER_TYPE)
    if restriction is not None:
        stmt = stmt.where(restriction)
    pks = [row[0] for row in await uow.conn.execute(stmt)]
    found = await uow.contents(pks)
    return sorted((orjson.loads(s.content or b"{}") for s in found.values()), key=lambda r: str(r.get("id")))


async def load_record(
    resources: ResourceService,
    search: SearchService,
    uow: UnitOfWork,
    patient_id: str,
    guard: AccessGuard,
    *,
    observations: Sequence[dict[str, Any]] | None = None,
) -> PatientRecord:
    """The patient (404 when the token may not see it) and the inputs the token may search.

    Genotype Observations are required reading (403 without search on Observation); conditions and medication
    history are read when the token may search them, and otherwise simply not used.
    """
    stored = await resources.read(uow, "Patient", patient_id, guard=guard)
    patient = orjson.loads(stored.content or b"{}")
    subject = [("patient", patient_id)]
    if observations is None:
        observations = await find_all(search, uow, "Observation", [*subject, GENOTYPE_QUERY], guard)
    conditions: list[dict[str, Any]] = []
    if guard.policy.allows(Interaction.SEARCH_TYPE, "Condition"):
        conditions = await find_all(search, uow, "Condition", subject, guard)
    history: list[dict[str, Any]] = []
    for res_type in HISTORY_TYPES:
        if guard.policy.allows(Interaction.SEARCH_TYPE, res_type):
            history += await find_all(search, uow, res_type, subject, guard)
    return PatientRecord(patient, tuple(observations), tuple(conditions), tuple(history))


def recommend(advisor: PgxAdvisor, record: PatientRecord, query: RecommendationQuery, as_of: date) -> Recommendations:
    """The advisor's answer; its typed errors become FHIR errors (400 for a bad parameter, 422 for bad data)."""
    try:
        return advisor.recommendations(record, query, as_of)
    except InvalidGenotypeError as exc:
        raise BusinessRule(str(exc)) from exc
    except PgxMappingError as exc:
        raise InvalidRequest(str(exc)) from exc


def alerts(advisor: PgxAdvisor, record: PatientRecord, drug: str, as_of: date) -> tuple[DrugAlert, ...]:
    try:
        return advisor.alerts(record, drug, as_of)
    except InvalidGenotypeError as exc:
        raise BusinessRule(str(exc)) from exc


async def store(
    resources: ResourceService, uow: UnitOfWork, items: Sequence[dict[str, Any]], server: AccessGuard
) -> dict[str, StoredResource]:
    """Write each resource whose content differs from the stored one (in order: targets before references);
    returns the current stored version of every item, keyed `Type/id`."""
    out: dict[str, StoredResource] = {}
    for item in items:
        res_type, res_id = item["resourceType"], item["id"]
        current = await uow.current(res_type, res_id)
        if current is None or current.deleted or not _same(current.content, item):
            current = (await resources.update(uow, res_type, res_id, item, guard=server)).stored
        out[f"{res_type}/{res_id}"] = current
    return out


def _same(stored: bytes | None, item: dict[str, Any]) -> bool:
    if stored is None:
        return False
    current = orjson.loads(stored)
    meta = {k: v for k, v in current.pop("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        current["meta"] = meta
    return bool(current == item)


async def publish_catalogue(
    advisor: PgxAdvisor, repository: ResourceRepository, resources: ResourceService, registry: SearchRegistry
) -> int:
    """Store the MedicationKnowledge catalogue (every CPIC and response-model drug) and the OperationDefinition
    of $medication-recommendations at start-up, like the terminology artefacts: only entries that differ are
    written, so a restart writes nothing. Returns the count."""
    catalogue = [*advisor.catalogue(), medication_recommendations_definition(advisor.base)]
    server = AccessGuard.full_access(registry)

    async def work(uow: UnitOfWork) -> int:
        await uow.lock("pgx-catalogue-publish")  # API processes starting together take turns
        return len(await store(resources, uow, catalogue, server))

    return await repository.retrying(work)
