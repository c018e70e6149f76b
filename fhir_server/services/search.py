"""Search as a use case: parse, run the SQL, freeze the result list for paging, add includes, build the Bundle.

Paging works on a frozen, ordered list of matches stored in the database (`search_cache`), so page 2 of a
search is page 2 of the same result set even if resources are created or deleted in between, and any API
process behind a load balancer can serve any page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, text

from fhir_server.auth.policy import Interaction
from fhir_server.errors import Gone, InvalidRequest
from fhir_server.fhir_models import summary_elements
from fhir_server.search.params import Clause, Include, SearchQuery, TerminologyLookups, parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.search.values_parse import Value
from fhir_server.services import bundle_builder as bb
from fhir_server.services.access import AccessGuard
from fhir_server.settings import Settings
from fhir_server.storage import tables as t
from fhir_server.storage.clock import now_us
from fhir_server.storage.repository import RESOURCE_COLUMNS, ResourceRepository, StoredResource, UnitOfWork
from fhir_server.storage.search_sql import build_count, build_search

resource_pk = t.resource.c.pk
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
MAX_INCLUDE_DEPTH = 4


class SearchService:
    def __init__(
        self,
        registry: SearchRegistry,
        settings: Settings,
        repository: ResourceRepository,
        *,
        value_sets: TerminologyLookups | None = None,
    ) -> None:
        self.registry = registry
        self.value_sets = value_sets  # for the token modifiers `:in` / `:not-in`
        self.settings = settings
        self.repository = repository
        self._freezes = 0
        self.max_results = 10_000

    # ---- used by conditional interactions ---------------------------------------------------------------

    async def find(self, uow: UnitOfWork, res_type: str, query: str, *, guard: AccessGuard) -> list[StoredResource]:
        """Resources matching a conditional criteria string (`identifier=a|b&status=final`) that the token may
        search: conditional interactions never act on, or reveal, what the token cannot see."""
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        if not pairs:
            raise InvalidRequest(f"The conditional criteria '{query}' are empty; give at least one parameter.")
        q = parse_search(self.registry, res_type, pairs, value_sets=self.value_sets)
        if q.unknown:
            raise InvalidRequest(
                f"Conditional criteria use unknown parameter(s) {', '.join(q.unknown)} for {res_type}; "
                "a conditional operation cannot ignore criteria."
            )
        guard.require_query(q)
        restriction = guard.restrict(resource_pk, guard.require(Interaction.SEARCH_TYPE, res_type))
        await uow.flush()
        stmt = build_search(q, self.registry, hop_filter=guard.hop_filter).limit(3)
        if restriction is not None:
            stmt = stmt.where(restriction)
        pks = [row[0] for row in await uow.conn.execute(stmt)]
        found = await uow.contents(pks)
        return [found[pk] for pk in pks if pk in found]

    def identifier_criterion(self, res_type: str, criteria: str) -> tuple[str, str] | None:
        """(system, value) when `criteria` is exactly `identifier=system|value`, the form importers use for
        conditional creates; None for anything else (those go through `find` one by one)."""
        pairs = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if len(pairs) != 1 or pairs[0][0] != "identifier":
            return None
        raw_system, bar, raw_value = pairs[0][1].partition("|")
        if bar and raw_system and raw_value and not any(c in pairs[0][1] for c in "\\,$") and "|" not in raw_value:
            return raw_system, raw_value  # nothing escaped: the parser would find exactly this
        try:
            q = parse_search(self.registry, res_type, pairs, value_sets=self.value_sets)
        except InvalidRequest:
            return None
        if len(q.clauses) != 1 or len(q.clauses[0].values) != 1:
            return None
        value = q.clauses[0].values[0]
        if not (value.has_system and value.system and value.code):
            return None
        return value.system, value.code

    async def find_by_identifiers(
        self, uow: UnitOfWork, res_type: str, identifiers: Sequence[tuple[str, str]], *, guard: AccessGuard
    ) -> dict[tuple[str, str], list[StoredResource]]:
        """Every resource of `res_type` carrying each (system, value) identifier, in one query per few hundred
        identifiers, restricted to what the token may search (as `find` is).

        A transaction of 500 conditional creates costs one lookup instead of 500 searches, each of which would
        first have to flush the entries written before it.
        """
        found: dict[tuple[str, str], list[StoredResource]] = {key: [] for key in identifiers}
        if not found:
            return found
        param = self.registry.get(res_type, "identifier")
        if param is None:
            raise InvalidRequest(f"{res_type} has no search parameter 'identifier'.")
        restriction = guard.restrict(resource_pk, guard.require(Interaction.SEARCH_TYPE, res_type))
        await uow.flush()
        keys = list(found)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            values = tuple(Value(text=f"{s}|{v}", system=s, code=v, has_system=True) for s, v in chunk)
            q = SearchQuery(res_type=res_type, clauses=(Clause("identifier", param, values),))
            stmt = build_search(q, self.registry, hop_filter=guard.hop_filter)
            if restriction is not None:
                stmt = stmt.where(restriction)
            pks = [row[0] for row in await uow.conn.execute(stmt)]
            for stored in (await uow.contents(pks)).values():
                for key in _identifier_keys(stored):
                    if key in found:
                        found[key].append(stored)
        return found

    # ---- search interaction ----------------------------------------------------------------------------

    async def search(
        self,
        uow: UnitOfWork,
        res_type: str | None,
        pairs: Sequence[tuple[str, str]],
        *,
        strict: bool,
        base: str,
        guard: AccessGuard,
        compartment: tuple[str, str] | None = None,
        self_path: str = "",
    ) -> dict[str, Any]:
        pairs = [(k, v) for k, v in pairs if k != "_format"]
        q = parse_search(self.registry, res_type, pairs, value_sets=self.value_sets)
        guard.require_query(q)
        restriction = self._restriction(guard, res_type, q)
        outcome_entry = None
        if q.unknown:
            names = ", ".join(q.unknown)
            if strict:
                raise InvalidRequest(
                    f"Unknown search parameter(s) {names} for {res_type or 'a system search'} "
                    "(Prefer: handling=strict). Check the CapabilityStatement for the supported parameters."
                )
            outcome_entry = {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "warning",
                            "code": "not-supported",
                            "diagnostics": f"Ignored unknown search parameter(s): {names}",
                        }
                    ],
                },
                "search": {"mode": "outcome"},
            }
        count = self._page_size(q)
        self_url = f"{base}/{self_path}" + (f"?{urlencode(pairs)}" if pairs else "")
        if q.summary == "count":
            count_stmt = build_count(q, self.registry, compartment=compartment, hop_filter=guard.hop_filter)
            if restriction is not None:
                count_stmt = count_stmt.where(restriction)
            counted = (await uow.conn.execute(count_stmt)).scalar_one()
            return bb.bundle(
                "searchset",
                [outcome_entry] if outcome_entry else [],
                total=int(counted),
                link=[{"relation": "self", "url": self_url}],
            )
        stmt = build_search(q, self.registry, compartment=compartment, hop_filter=guard.hop_filter)
        if restriction is not None:
            stmt = stmt.where(restriction)
        # First page and its resources in one round trip; most searches (one patient's data) end there.
        first = [
            StoredResource(*row)
            for row in await uow.conn.execute(stmt.with_only_columns(*RESOURCE_COLUMNS).limit(count + 1))
        ]
        if len(first) <= count:
            total_first = None if q.total == "none" else len(first)
            pks_first = [s.pk for s in first]
            return await self._page(
                uow, q, pks_first, 0, count, total_first, None, base, self_url, outcome_entry, guard, loaded=first
            )
        pks = [row[0] for row in await uow.conn.execute(stmt.limit(self.max_results + 1))]
        truncated = len(pks) > self.max_results
        pks = pks[: self.max_results]
        total: int | None = len(pks)
        if truncated:
            total = None
            if q.total == "accurate":
                count_stmt = build_count(q, self.registry, compartment=compartment, hop_filter=guard.hop_filter)
                if restriction is not None:
                    count_stmt = count_stmt.where(restriction)
                total = int((await uow.conn.execute(count_stmt)).scalar_one())
        if q.total == "none":
            total = None
        cache_id = None
        if len(pks) > count:
            cache_id = await self._freeze(uow, res_type, self_url, pks, total)
        loaded = first[:count] if pks[:count] == [r.pk for r in first[:count]] else None
        return await self._page(
            uow, q, pks, 0, count, total, cache_id, base, self_url, outcome_entry, guard, loaded=loaded
        )

    def _restriction(self, guard: AccessGuard, res_type: str | None, q: SearchQuery) -> ColumnElement[bool] | None:
        """What the token may see of this search's types, as a condition on `resource.pk`."""
        if res_type is not None:
            return guard.restrict(resource_pk, guard.require(Interaction.SEARCH_TYPE, res_type))
        if q.types:
            for ty in q.types:  # naming a type the token may not search is an error, not an empty result
                guard.require(Interaction.SEARCH_TYPE, ty)
        types = q.types or tuple(self.registry.resource_types())
        return guard.restrict_types(resource_pk, t.resource.c.res_type, Interaction.SEARCH_TYPE, types)

    async def page(
        self, uow: UnitOfWork, cache_id: str, offset: int, count: int | None, base: str, *, guard: AccessGuard
    ) -> dict[str, Any]:
        """A later page of a frozen search (`?_getpages=ID&_getpagesoffset=N`), re-authorized: the page holds
        only what the token asking for it may read, whoever ran the search."""
        row = (await uow.conn.execute(select(t.search_cache).where(t.search_cache.c.id == cache_id))).first()
        if row is None or row.expires < now_us():
            raise Gone(f"The search '{cache_id}' has expired or never existed; run the search again.")
        pairs = parse_qsl(row.query.partition("?")[2], keep_blank_values=True)
        q = parse_search(self.registry, row.res_type, pairs, value_sets=self.value_sets)
        size = min(count or self._page_size(q), self.settings.max_page_size)
        pks = orjson.loads(row.pks)
        total = row.total if row.total >= 0 else None
        return await self._page(uow, q, pks, max(offset, 0), size, total, cache_id, base, row.query, None, guard)

    # ---- internals -------------------------------------------------------------------------------------

    def _page_size(self, q: SearchQuery) -> int:
        count = q.count if q.count is not None else self.settings.default_page_size
        return max(0, min(count, self.settings.max_page_size))

    async def _freeze(
        self, uow: UnitOfWork, res_type: str | None, query_url: str, pks: list[int], total: int | None
    ) -> str:
        """Store the ordered matches; from a read-only unit it takes a short write unit of its own."""
        if not uow.writable:
            async with self.repository.unit_of_work() as writer:
                if writer.postgres:
                    # A frozen result list is disposable: losing the last few on a crash only means a client
                    # reruns its search, so do not wait for the WAL flush on every search.
                    await writer.conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
                return await self._freeze(writer, res_type, query_url, pks, total)
        cache_id = str(uuid.uuid4())
        now = now_us()
        self._freezes += 1
        if self._freezes % 100 == 1:  # expired lists are swept now and then, not on every search
            await uow.conn.execute(delete(t.search_cache).where(t.search_cache.c.expires < now))
        await uow.conn.execute(
            insert(t.search_cache).values(
                id=cache_id,
                created=now,
                expires=now + self.settings.search_cache_seconds * 1_000_000,
                res_type=res_type,
                query=query_url,
                total=-1 if total is None else total,
                pks=orjson.dumps(pks).decode(),
            )
        )
        return cache_id

    async def _page(
        self,
        uow: UnitOfWork,
        q: SearchQuery,
        pks: list[int],
        offset: int,
        count: int,
        total: int | None,
        cache_id: str | None,
        base: str,
        self_url: str,
        outcome_entry: dict[str, Any] | None,
        guard: AccessGuard,
        *,
        loaded: list[StoredResource] | None = None,
    ) -> dict[str, Any]:
        """One page of `pks`; `loaded` are its resources when the caller already has them (already filtered
        by the guard in SQL); otherwise the page is filtered here."""
        page_pks = pks[offset : offset + count]
        if loaded is not None:
            matches = loaded
        else:
            found = await uow.contents(page_pks)
            matches = await guard.keep_visible(uow, Interaction.READ, [found[pk] for pk in page_pks if pk in found])
        entries = [bb.search_entry(base, s, "match", self._shape(q, s)) for s in matches]
        included = await guard.keep_visible(uow, Interaction.READ, await self._includes(uow, q, matches))
        entries.extend(bb.search_entry(base, s, "include", self._shape(q, s)) for s in included)
        if outcome_entry:
            entries.append(outcome_entry)
        links = [{"relation": "self", "url": self_url}]
        if cache_id is not None:
            page_url = f"{base}?_getpages={cache_id}&_count={count}&_getpagesoffset="
            links = [{"relation": "self", "url": f"{page_url}{offset}" if offset else self_url}]
            links.append({"relation": "first", "url": f"{page_url}0"})
            if offset > 0:
                links.append({"relation": "previous", "url": f"{page_url}{max(offset - count, 0)}"})
            if offset + count < len(pks):
                links.append({"relation": "next", "url": f"{page_url}{offset + count}"})
            last = ((len(pks) - 1) // count) * count if count else 0
            links.append({"relation": "last", "url": f"{page_url}{last}"})
        return bb.bundle("searchset", entries, total=total, link=links)

    def _shape(self, q: SearchQuery, stored: StoredResource) -> Any:
        """Apply `_summary` / `_elements`; untouched resources are served as stored bytes."""
        if q.elements:
            keep = set(q.elements) | {"resourceType", "id", "meta"}
        elif q.summary in ("true", "data", "text"):
            if q.summary == "true":
                keep = set(summary_elements(stored.res_type)) | {"resourceType"}
            elif q.summary == "text":
                keep = {"resourceType", "id", "meta", "text"}
            else:
                keep = None
        else:
            return None
        data = orjson.loads(stored.content or b"{}")
        if keep is not None:
            data = {k: v for k, v in data.items() if k in keep or (k.startswith("_") and k[1:] in keep)}
        else:  # _summary=data: everything but the narrative
            data.pop("text", None)
        meta = dict(data.get("meta") or {})
        meta["tag"] = [*meta.get("tag", []), SUBSETTED]
        data["meta"] = meta
        return data

    async def _includes(self, uow: UnitOfWork, q: SearchQuery, matches: list[StoredResource]) -> list[StoredResource]:
        if not matches or (not q.includes and not q.revincludes):
            return []
        seen = {s.pk for s in matches}
        out: list[StoredResource] = []
        frontier = matches
        for depth in range(MAX_INCLUDE_DEPTH):
            found: list[StoredResource] = []
            for inc in q.includes:
                if depth > 0 and not inc.iterate:
                    continue
                found += await self._forward(uow, inc, frontier)
            for inc in q.revincludes:
                if depth > 0 and not inc.iterate:
                    continue
                found += await self._reverse(uow, inc, frontier)
            fresh = []
            for s in found:
                if s.pk not in seen:
                    seen.add(s.pk)
                    fresh.append(s)
            out += fresh
            if not fresh:
                break
            frontier = fresh
        return out

    async def _forward(self, uow: UnitOfWork, inc: Include, sources: list[StoredResource]) -> list[StoredResource]:
        """`_include=Source:param[:Target]`: the resources that `sources` point at through `param`."""
        r = t.idx_reference.c
        src = [s.pk for s in sources if inc.source_type in ("*", s.res_type)]
        if not src:
            return []
        conds: list[ColumnElement[bool]] = [r.resource_pk.in_(src), r.target_id.is_not(None)]
        if inc.param is not None:
            conds.append(r.param == inc.param.code)
        if inc.target_type:
            conds.append(r.target_type == inc.target_type)
        res = t.resource.c
        stmt = (
            select(res.pk)
            .select_from(
                t.idx_reference.join(t.resource, and_(res.res_type == r.target_type, res.res_id == r.target_id))
            )
            .where(*conds, res.deleted.is_(False))
            .distinct()
            .limit(self.max_results)
        )
        pks = [row[0] for row in await uow.conn.execute(stmt)]
        return list((await uow.contents(pks)).values())

    async def _reverse(self, uow: UnitOfWork, inc: Include, targets: list[StoredResource]) -> list[StoredResource]:
        """`_revinclude=Source:param[:Target]`: resources of type Source pointing at `targets` via `param`."""
        r = t.idx_reference.c
        wanted = [s for s in targets if not inc.target_type or inc.target_type == s.res_type]
        if not wanted:
            return []
        by_type: dict[str, list[str]] = {}
        for s in wanted:
            by_type.setdefault(s.res_type, []).append(s.res_id)
        target_cond = or_(*(and_(r.target_type == ty, r.target_id.in_(ids)) for ty, ids in by_type.items()))
        conds = [target_cond]
        if inc.source_type != "*":
            conds.append(r.res_type == inc.source_type)
        if inc.param is not None:
            conds.append(r.param == inc.param.code)
        stmt = select(r.resource_pk).where(*conds).distinct().limit(self.max_results)
        pks = [row[0] for row in await uow.conn.execute(stmt)]
        return list((await uow.contents(pks)).values())

    # ---- Patient/$everything ---------------------------------------------------------------------------

    async def everything(
        self,
        uow: UnitOfWork,
        patient_id: str,
        *,
        types: set[str],
        since: int | None,
        start: int | None,
        end: int | None,
        count: int | None,
        base: str,
        self_url: str,
        guard: AccessGuard,
    ) -> dict[str, Any]:
        """All of a patient's compartment, plus the non-patient resources it references, as one frozen list
        of what the token may read (every type through its own decision)."""
        res = t.resource.c
        comp = t.compartment.c
        conds = [comp.comp_type == "Patient", comp.comp_id == patient_id, res.deleted.is_(False)]
        if since is not None:
            conds.append(res.last_updated >= since)
        if types:
            conds.append(res.res_type.in_(sorted(types)))
        if start is not None or end is not None:
            d = t.idx_date.c
            clinical = d.param.in_(CLINICAL_DATE_PARAMS)
            dated = select(d.resource_pk).where(d.resource_pk == res.pk, clinical).exists()
            window = [d.resource_pk == res.pk, clinical]
            if start is not None:
                window.append(d.high >= start)
            if end is not None:
                window.append(d.low <= end)
            conds.append(or_(~dated, select(d.resource_pk).where(*window).exists()))
        stmt = (
            select(res.pk)
            .select_from(t.compartment.join(t.resource, res.pk == comp.resource_pk))
            .where(*conds)
            .distinct()
            .order_by(res.pk)
            .limit(self.max_results)
        )
        members = [row[0] for row in await uow.conn.execute(stmt)]
        patient = await uow.current("Patient", patient_id) if not types or "Patient" in types else None
        if patient and since is not None and patient.last_updated < since:
            patient = None
        ordered = ([patient.pk] if patient else []) + [pk for pk in members if not patient or pk != patient.pk]
        r = t.idx_reference.c
        ref_stmt = (
            select(res.pk)
            .select_from(
                t.idx_reference.join(t.resource, and_(res.res_type == r.target_type, res.res_id == r.target_id))
            )
            .where(r.resource_pk.in_(ordered), res.deleted.is_(False), res.res_type != "Patient")
            .distinct()
            .limit(self.max_results)
        )
        if types:
            ref_stmt = ref_stmt.where(res.res_type.in_(sorted(types)))
        if since is not None:
            ref_stmt = ref_stmt.where(res.last_updated >= since)
        seen = set(ordered)
        for row in await uow.conn.execute(ref_stmt) if ordered else []:
            if row[0] not in seen:
                seen.add(row[0])
                ordered.append(row[0])
        ordered = await guard.keep_visible_pks(uow, Interaction.READ, ordered)
        q = parse_search(self.registry, None, [])
        size = min(count or self.settings.default_page_size, self.settings.max_page_size)
        cache_id = await self._freeze(uow, None, self_url, ordered, len(ordered)) if len(ordered) > size else None
        return await self._page(uow, q, ordered, 0, size, len(ordered), cache_id, base, self_url, None, guard)


# Date parameters that carry a resource's clinical date, for $everything start/end.
CLINICAL_DATE_PARAMS = (
    "date",
    "effective",
    "onset-date",
    "authored",
    "period",
    "occurrence",
    "recorded-date",
    "issued",
)


def _identifier_keys(stored: StoredResource) -> set[tuple[str, str]]:
    """The (system, value) pairs of a resource's identifiers, as the token index stores them."""
    keys: set[tuple[str, str]] = set()
    for identifier in orjson.loads(stored.content or b"{}").get("identifier") or ():
        if isinstance(identifier, dict):
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(system, str) and isinstance(value, str):
                keys.add((system, value))
    return keys
