"""One request's authorization applied inside the use cases: an `AccessPolicy` turned into SQL.

The policy (fhir_server.auth.policy) answers "may this token do X on T, and under which rules?". This module
makes the answer bite where the data are: a rule (the token patient's compartment, and/or a granular scope's
search filters) becomes a `SELECT resource.pk` the search statement is restricted by, and the same select
decides whether one resource read, written or included is visible. Nothing outside these rules is ever
loaded into a response, so a patient-scoped token cannot reach another patient's data through any path that
goes through the guard: search, includes, chains and `_has`, reads, history, `$everything`, bundle entries
and later pages.

A resource the token may not see is reported as not found (404), exactly like one that does not exist, so
existence does not leak; an interaction the token may not perform at all on a type is 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.sql.selectable import NamedFromClause

from fhir_server.auth.errors import InsufficientScope
from fhir_server.auth.policy import AccessPolicy, AccessRule, Decision, Interaction, build_policy
from fhir_server.auth.scopes import parse_scopes
from fhir_server.errors import NotFound
from fhir_server.search.params import SearchQuery, parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage import tables as t
from fhir_server.storage.repository import StoredResource, UnitOfWork
from fhir_server.storage.search_sql import build_search

# What the server itself may do (demo loading, `--no-auth` development): everything, audit trail included.
FULL_ACCESS_SCOPES = "system/*.cruds system/AuditEvent.rs"


@dataclass(frozen=True, slots=True)
class AccessGuard:
    """The access policy of one request plus what is needed to express it in SQL."""

    policy: AccessPolicy
    registry: SearchRegistry

    @classmethod
    def full_access(cls, registry: SearchRegistry) -> AccessGuard:
        return cls(build_policy(parse_scopes(FULL_ACCESS_SCOPES)), registry)

    # ---- decisions -------------------------------------------------------------------------------------

    def require(self, interaction: Interaction, res_type: str, *, operation: str | None = None) -> Decision:
        """The decision for (interaction, type); `InsufficientScope` (403) when the token may not do it at all."""
        return self.policy.require(interaction, res_type, operation=operation)

    def require_query(self, query: SearchQuery) -> None:
        """`_has` names the type it reaches: the token must be allowed to search it (403 otherwise). What each
        chain or `_has` hop may match is narrowed further by `hop_filter`."""
        for clause in query.clauses:
            for link in clause.has:
                self.require(Interaction.SEARCH_TYPE, link.res_type)

    def hop_filter(self, alias: NamedFromClause, res_types: tuple[str, ...]) -> ColumnElement[bool] | None:
        """Only resources the token may search can make a chain or `_has` hop match, so a search cannot probe
        data it could not read (e.g. `Patient?_has:Observation:subject:code=…` about Observations out of scope)."""
        return self.restrict_types(alias.c.pk, alias.c.res_type, Interaction.SEARCH_TYPE, res_types, exact=True)

    # ---- SQL -------------------------------------------------------------------------------------------

    def visible(self, decision: Decision) -> Select | None:
        """`SELECT pk` of the resources of the decision's type its rules admit; None when all are admitted."""
        if decision.unrestricted:
            return None
        return _visible_select(decision, self.registry)

    def restrict(self, column: ColumnElement[int], decision: Decision) -> ColumnElement[bool] | None:
        """A condition keeping `column` (a resource pk) to what the decision admits, or None for no limit."""
        visible = self.visible(decision)
        return None if visible is None else column.in_(visible)

    def restrict_types(
        self,
        pk: ColumnElement[int],
        res_type: ColumnElement[str],
        interaction: Interaction,
        types: Iterable[str],
        *,
        exact: bool = False,
    ) -> ColumnElement[bool] | None:
        """For interactions across types (system search and history): rows of types the token may fully
        access, plus rows of partly accessible types that their rules admit; None when that is everything."""
        full: list[str] = []
        excluded: list[str] = []
        partial: list[ColumnElement[bool]] = []
        for ty in sorted(set(types)):
            decision = self.policy.decide(interaction, ty)
            visible = self.restrict(pk, decision) if decision.allowed else None
            if decision.allowed and visible is None:
                full.append(ty)
                continue
            excluded.append(ty)
            if visible is not None:
                partial.append(and_(res_type == ty, visible))
        if not excluded:
            return None
        if not full and not partial:
            raise InsufficientScope(f"the access token does not permit {interaction.value} on any of these types")
        # When the caller's query already keeps to `types`, the shorter of the two lists says the same.
        whole = res_type.notin_(excluded) if len(excluded) < len(full) and not exact else res_type.in_(full)
        return or_(whole, *partial)

    # ---- checks on loaded resources --------------------------------------------------------------------

    async def keep_visible(
        self, uow: UnitOfWork, interaction: Interaction, resources: Sequence[StoredResource]
    ) -> list[StoredResource]:
        """`resources` without those the token may not see (in their order); types it may not touch go too."""
        by_type: dict[str, list[int]] = {}
        for stored in resources:
            by_type.setdefault(stored.res_type, []).append(stored.pk)
        allowed = await self._allowed(uow, interaction, by_type)
        return [s for s in resources if s.pk in allowed]

    async def keep_visible_pks(self, uow: UnitOfWork, interaction: Interaction, pks: Sequence[int]) -> list[int]:
        """`pks` (of any types) without those the token may not see, in their order."""
        if not pks:
            return []
        res = t.resource.c
        by_type: dict[str, list[int]] = {}
        for pk, res_type in await uow.conn.execute(select(res.pk, res.res_type).where(res.pk.in_(list(pks)))):
            by_type.setdefault(res_type, []).append(pk)
        allowed = await self._allowed(uow, interaction, by_type)
        return [pk for pk in pks if pk in allowed]

    async def _allowed(self, uow: UnitOfWork, interaction: Interaction, by_type: dict[str, list[int]]) -> set[int]:
        """The pks (grouped by type) the token may see: whole groups for unrestricted types, one query each else."""
        res = t.resource.c
        allowed: set[int] = set()
        for res_type, group in by_type.items():
            decision = self.policy.decide(interaction, res_type)
            visible = self.visible(decision) if decision.allowed else None
            if decision.allowed and visible is None:
                allowed.update(group)
            elif visible is not None:
                stmt = select(res.pk).where(res.pk.in_(group), res.pk.in_(visible))
                allowed.update(row[0] for row in await uow.conn.execute(stmt))
        return allowed

    async def ensure_visible(self, uow: UnitOfWork, decision: Decision, stored: StoredResource) -> None:
        """404, worded like a missing resource, when the token may not see `stored` (existence must not leak)."""
        if _own_patient(decision, stored):
            return
        if not await self._admits(uow, decision, stored.pk):
            raise NotFound(f"{stored.res_type}/{stored.res_id} does not exist on this server.")

    async def ensure_written_visible(self, uow: UnitOfWork, decision: Decision, res_type: str, res_id: str) -> None:
        """After a write: the new content must still be inside what the token may write, or the unit rolls back."""
        if decision.unrestricted:
            return
        await uow.flush()
        stored = await uow.current(res_type, res_id)
        if stored is None or stored.deleted:
            return
        if not await self._admits(uow, decision, stored.pk):
            raise InsufficientScope(_outside(decision, res_type, res_id))

    async def _admits(self, uow: UnitOfWork, decision: Decision, pk: int) -> bool:
        visible = self.visible(decision)
        if visible is None:
            return True
        stmt = select(t.resource.c.pk).where(t.resource.c.pk == pk, t.resource.c.pk.in_(visible))
        return (await uow.conn.execute(stmt)).first() is not None


def _outside(decision: Decision, res_type: str, res_id: str) -> str:
    patient = decision.compartment_patient
    where = f"Patient/{patient}'s compartment" if patient else "the resources your scopes cover"
    return (
        f"{res_type}/{res_id} would be outside {where}; the access token may only "
        f"{decision.interaction.value} resources inside it."
    )


def _own_patient(decision: Decision, stored: StoredResource) -> bool:
    """A patient-confined rule without filters always admits that patient's own Patient resource."""
    return stored.res_type == "Patient" and any(
        rule.patient == stored.res_id and not rule.filters for rule in decision.rules
    )


@lru_cache(maxsize=4096)
def _visible_select(decision: Decision, registry: SearchRegistry) -> Select:
    """Built once per distinct decision (policies are shared by every token of an app and patient): making
    the statement costs more Python than running it."""
    res = t.resource.c
    admitted = [_rule(decision.resource_type, rule, registry) for rule in decision.rules]
    return select(res.pk).where(res.res_type == decision.resource_type, or_(*admitted) if admitted else false())


def _rule(res_type: str, rule: AccessRule, registry: SearchRegistry) -> ColumnElement[bool]:
    res = t.resource.c
    conditions: list[ColumnElement[bool]] = []
    if rule.patient is not None:
        comp = t.compartment.c
        members = select(comp.resource_pk).where(comp.comp_type == "Patient", comp.comp_id == rule.patient)
        conditions.append(res.pk.in_(members))
    if rule.filters:
        query = parse_search(registry, res_type, rule.filters)
        conditions.append(res.pk.in_(build_search(query, registry).order_by(None)))
    return and_(*conditions)
