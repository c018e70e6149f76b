"""A search request's (name, value) pairs -> an immutable `SearchQuery` the SQL builder can trust.

Everything the client can get wrong is caught here, with a message naming the parameter, so
`fhir_server.storage.search_sql` never sees an ill-formed clause. Unknown parameters are collected rather
than rejected: whether that is an error (`Prefer: handling=strict`) is the service's decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from fhir_server.errors import InvalidRequest, NotSupported
from fhir_server.search.registry import SearchParamDef, SearchRegistry
from fhir_server.search.values_parse import (
    Value,
    parse_missing,
    parse_value,
    split_unescaped,
    unescape,
)

# Modifiers we evaluate, per parameter type (`:[type]` on references is handled separately).
SUPPORTED_MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains", "missing"}),
    "token": frozenset({"not", "text", "missing"}),
    "reference": frozenset({"identifier", "missing"}),
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "uri": frozenset({"missing", "above", "below"}),
    "composite": frozenset({"missing"}),
}
TERMINOLOGY_MODIFIERS = frozenset({"above", "below", "in", "not-in", "of-type"})
VALUE_SET_MODIFIERS = frozenset({"in", "not-in"})
HIERARCHY_MODIFIERS = frozenset({"above", "below"})


class TerminologyLookups(Protocol):
    """What the parser asks the terminology, so token modifiers become plain ORs of (system, code) values.

    Both methods raise a FhirError whose message says why they cannot answer (an unknown value set, a code
    system without hierarchy, a code outside the subset held): the search then fails with that message
    instead of silently matching nothing.
    """

    def members(self, value_set_url: str) -> Sequence[tuple[str, str]]:
        """The value set's members as (system, code), for `:in` / `:not-in`."""
        ...

    def related(self, system: str, code: str, direction: Literal["above", "below"]) -> Sequence[str]:
        """`code` and its ancestors (`above`) or descendants (`below`) in `system`, for `:above` / `:below`."""
        ...


SUMMARY_MODES = frozenset({"true", "text", "data", "count", "false"})
TOTAL_MODES = frozenset({"none", "estimate", "accurate"})
IGNORED = frozenset({"_format", "_pretty"})
# Defined by the spec but evaluated by nobody here (special parameters, filters): reported as unknown.
UNSUPPORTED_SPECIAL = frozenset({"_text", "_content", "_query", "_list", "_filter"})


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One forward hop `ref_param:Type.` of a chain; `target_types` are the types the hop may land on."""

    param: SearchParamDef
    target_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HasLink:
    """One reverse hop `_has:Type:ref_param:`: a `res_type` resource whose `param` refers to us."""

    res_type: str
    param: SearchParamDef


@dataclass(frozen=True, slots=True)
class Clause:
    """One search parameter: the OR of `values`; a query's clauses are ANDed.

    Evaluation walks `has` (reverse hops) first, then `chain` (forward hops), and applies `param` with
    `modifier` to the resource reached. `name` is the parameter as the client wrote it, for messages.
    """

    name: str
    param: SearchParamDef
    values: tuple[Value, ...]
    modifier: str | None = None
    chain: tuple[ChainLink, ...] = ()
    has: tuple[HasLink, ...] = ()


@dataclass(frozen=True, slots=True)
class SortKey:
    param: SearchParamDef
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Include:
    """`_include` / `_revinclude` `source_type:param[:target_type]`; `param` None means `*`."""

    source_type: str
    param: SearchParamDef | None
    target_type: str | None = None
    iterate: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    res_type: str | None
    clauses: tuple[Clause, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int | None = None
    offset: int | None = None
    includes: tuple[Include, ...] = ()
    revincludes: tuple[Include, ...] = ()
    summary: str | None = None
    elements: tuple[str, ...] = ()
    total: str | None = None
    contained: str | None = None
    types: tuple[str, ...] = ()  # `_type` on system-level search
    unknown: tuple[str, ...] = ()


def _invalid(name: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"Search parameter '{name}': {message}", expression=[name])


class SearchParser:
    """Parses queries against one registry; stateless apart from it, so one instance serves all requests."""

    def __init__(self, registry: SearchRegistry, value_sets: TerminologyLookups | None = None) -> None:
        self._registry = registry
        self._terminology = value_sets

    def _params(self, res_type: str | None) -> dict[str, SearchParamDef]:
        return dict(self._registry.common() if res_type is None else self._registry.for_type(res_type))

    def parse(self, res_type: str | None, pairs: Iterable[tuple[str, str]]) -> SearchQuery:
        builder = _QueryBuilder(self, res_type)
        for name, value in pairs:
            builder.add(name, value)
        return builder.build()

    # -- parameter names ---------------------------------------------------------------------------------

    def clause(self, res_type: str | None, name: str, raw: str) -> Clause | None:
        """The clause for `name=raw`, or None when the parameter is unknown for `res_type`."""
        if name.startswith("_has:"):
            return self._has_clause(res_type, name, name[len("_has:") :], raw, ())
        chain_text = split_unescaped(name, ".")
        head, modifier = _split_modifier(chain_text[0])
        param = self._params(res_type).get(head)
        if param is None:
            return None
        if len(chain_text) == 1:
            return self._leaf(name, param, modifier, raw)
        links: list[ChainLink] = []
        for next_name in chain_text[1:]:
            link = self._chain_link(name, param, modifier, next_name)
            links.append(link)
            next_head, modifier = _split_modifier(next_name)
            candidates = [self._registry.get(t, next_head) for t in link.target_types]
            param = next(p for p in candidates if p is not None)
        clause = self._leaf(name, param, modifier, raw)
        return Clause(name, clause.param, clause.values, clause.modifier, tuple(links))

    def _chain_link(self, name: str, param: SearchParamDef, modifier: str | None, next_name: str) -> ChainLink:
        if param.type != "reference":
            raise _invalid(name, f"'{param.code}' is a {param.type} parameter and cannot be chained")
        targets = (modifier,) if modifier else param.targets
        if modifier and modifier not in param.targets:
            raise _invalid(name, f"'{param.code}' cannot refer to '{modifier}' (allowed: {', '.join(param.targets)})")
        next_head = _split_modifier(next_name)[0]
        reachable = tuple(t for t in targets if self._registry.get(t, next_head) is not None)
        if not reachable:
            raise _invalid(name, f"none of the types '{param.code}' refers to has a parameter '{next_head}'")
        return ChainLink(param, reachable)

    def _has_clause(self, res_type: str | None, name: str, rest: str, raw: str, outer: tuple[HasLink, ...]) -> Clause:
        parts = rest.split(":", 2)
        if len(parts) < 3 or res_type is None:
            raise _invalid(name, "_has needs the form _has:Type:reference-param:param=value on a type-level search")
        source_type, ref_code, remainder = parts
        ref_param = self._registry.get(source_type, ref_code)
        if source_type not in self._registry.resource_types() or ref_param is None:
            raise _invalid(name, f"'{source_type}' has no search parameter '{ref_code}'")
        if ref_param.type != "reference" or (ref_param.targets and res_type not in ref_param.targets):
            raise _invalid(name, f"'{source_type}.{ref_code}' does not refer to '{res_type}'")
        links = (*outer, HasLink(source_type, ref_param))
        if remainder.startswith("_has:"):
            return self._has_clause(source_type, name, remainder[len("_has:") :], raw, links)
        inner = self.clause(source_type, remainder, raw)
        if inner is None:
            raise _invalid(name, f"'{source_type}' has no search parameter '{remainder}'")
        return Clause(name, inner.param, inner.values, inner.modifier, inner.chain, links)

    def _leaf(self, name: str, param: SearchParamDef, modifier: str | None, raw: str) -> Clause:
        param_type = param.type
        if modifier == "missing":
            return Clause(name, param, (parse_missing(name, raw),), modifier)
        if modifier in VALUE_SET_MODIFIERS and param_type == "token" and self._terminology is not None:
            return self._in_value_sets(name, param, modifier, raw, self._terminology)
        if modifier in HIERARCHY_MODIFIERS and param_type == "token" and self._terminology is not None:
            return self._subsumed(name, param, modifier, raw, self._terminology)
        if modifier in TERMINOLOGY_MODIFIERS and not (param_type == "uri" and modifier in ("above", "below")):
            raise NotSupported(
                f"Search parameter '{name}': modifier ':{modifier}' is not supported yet", expression=[name]
            )
        if param_type == "reference" and modifier and modifier[:1].isupper():
            if param.targets and modifier not in param.targets:
                raise _invalid(name, f"'{param.code}' cannot refer to '{modifier}'")
        elif modifier is not None and modifier not in SUPPORTED_MODIFIERS.get(param_type, frozenset()):
            raise _invalid(name, f"modifier ':{modifier}' is not valid for a {param_type} parameter")
        value_type = "token" if modifier == "identifier" else param_type
        if modifier == "text":
            value_type = "string"
        alternatives = split_unescaped(raw, ",")
        if param_type == "composite":
            values = tuple(self._composite(name, param, alt) for alt in alternatives)
        else:
            values = tuple(parse_value(name, value_type, alt) for alt in alternatives)
        return Clause(name, param, values, modifier)

    @staticmethod
    def _in_value_sets(
        name: str, param: SearchParamDef, modifier: str, raw: str, terminology: TerminologyLookups
    ) -> Clause:
        """`:in` is the OR of the value sets' codes; `:not-in` is `:not` over them (no coding in any of them)."""
        values: list[Value] = []
        for url in split_unescaped(raw, ","):
            if not url.strip():
                raise _invalid(name, f":{modifier} needs the canonical URL of a value set")
            values += [
                Value(text=f"{system}|{code}", system=system, code=code, has_system=True)
                for system, code in terminology.members(unescape(url).strip())
            ]
        if not values:
            raise _invalid(name, f"the value set(s) {raw} have no codes to search for")
        return Clause(name, param, tuple(values), None if modifier == "in" else "not")

    @staticmethod
    def _subsumed(name: str, param: SearchParamDef, modifier: str, raw: str, terminology: TerminologyLookups) -> Clause:
        """`:below` is the OR of each code and its descendants, `:above` of each code and its ancestors.

        Subsumption is only defined within a code system, so every value needs `system|code`.
        """
        direction: Literal["above", "below"] = "above" if modifier == "above" else "below"
        values: dict[tuple[str, str], Value] = {}
        for alt in split_unescaped(raw, ","):
            value = parse_value(name, "token", alt)
            if not value.system or not value.code:
                raise _invalid(
                    name, f":{modifier} needs system|code (subsumption is defined within a code system), not '{alt}'"
                )
            for code in terminology.related(value.system, value.code, direction):
                values[(value.system, code)] = Value(
                    text=f"{value.system}|{code}", system=value.system, code=code, has_system=True
                )
        return Clause(name, param, tuple(values.values()), None)

    def _composite(self, name: str, param: SearchParamDef, raw: str) -> Value:
        parts = split_unescaped(raw, "$")
        if len(parts) != len(param.components):
            raise _invalid(name, f"composite value '{raw}' needs {len(param.components)} parts separated by '$'")
        components = []
        for (code, _expr), part in zip(param.components, parts, strict=True):
            component = next((self._registry.get(b, code) for b in param.base if self._registry.get(b, code)), None)
            component_type = component.type if component else "token"
            components.append(parse_value(name, component_type, part))
        return Value(text=unescape(raw), components=tuple(components))


def _split_modifier(name: str) -> tuple[str, str | None]:
    code, _, modifier = name.partition(":")
    return code, modifier or None


class _QueryBuilder:
    """Accumulates one request's pairs; result parameters (`_sort`, `_count`, ...) are parsed inline."""

    def __init__(self, parser: SearchParser, res_type: str | None) -> None:
        self.parser = parser
        self.res_type = res_type
        self.clauses: list[Clause] = []
        self.unknown: list[str] = []
        self.fields: dict[str, object] = {"includes": [], "revincludes": [], "sort": [], "elements": []}

    def add(self, name: str, raw: str) -> None:
        base = name.split(":", 1)[0]
        handler = getattr(self, "_" + base.lstrip("_"), None) if base in _RESULT_PARAMS else None
        if handler is not None:
            handler(name, raw)
        elif base in IGNORED:
            return
        elif base in UNSUPPORTED_SPECIAL:
            self.unknown.append(name)
        else:
            clause = self.parser.clause(self.res_type, name, raw)
            if clause is None:
                self.unknown.append(name)
            else:
                self.clauses.append(clause)

    def _int(self, name: str, raw: str) -> int:
        if not raw.isdigit():
            raise _invalid(name, f"'{raw}' is not a non-negative integer")
        return int(raw)

    def _count(self, name: str, raw: str) -> None:
        self.fields["count"] = self._int(name, raw)

    def _offset(self, name: str, raw: str) -> None:
        self.fields["offset"] = self._int(name, raw)

    def _choice(self, name: str, raw: str, allowed: frozenset[str], field: str) -> None:
        if raw not in allowed:
            raise _invalid(name, f"'{raw}' is not one of {', '.join(sorted(allowed))}")
        self.fields[field] = raw

    def _summary(self, name: str, raw: str) -> None:
        self._choice(name, raw, SUMMARY_MODES, "summary")

    def _total(self, name: str, raw: str) -> None:
        self._choice(name, raw, TOTAL_MODES, "total")

    def _contained(self, name: str, raw: str) -> None:
        self._choice(name, raw, frozenset({"true", "false", "both"}), "contained")

    def _elements(self, name: str, raw: str) -> None:
        self.fields["elements"].extend(e.strip() for e in raw.split(",") if e.strip())  # type: ignore[attr-defined]

    def _type(self, name: str, raw: str) -> None:
        self.fields["types"] = tuple(t.strip() for t in raw.split(",") if t.strip())

    def _sort(self, name: str, raw: str) -> None:
        params = self.parser._params(self.res_type)
        for item in (i.strip() for i in raw.split(",")):
            code = item.lstrip("-")
            param = params.get(code)
            if param is None or param.type == "composite":
                raise _invalid(name, f"cannot sort by '{code}': not a sortable parameter of this type")
            self.fields["sort"].append(SortKey(param, item.startswith("-")))  # type: ignore[attr-defined]

    def _include(self, name: str, raw: str) -> None:
        self._inclusion(name, raw, "includes")

    def _revinclude(self, name: str, raw: str) -> None:
        self._inclusion(name, raw, "revincludes")

    def _inclusion(self, name: str, raw: str, field: str) -> None:
        modifier = name.partition(":")[2]
        if modifier not in ("", "iterate", "recurse"):
            raise _invalid(name, f"unknown modifier ':{modifier}' (use :iterate)")
        for spec in raw.split(","):
            self.fields[field].append(self._include_spec(name, spec.strip(), modifier != ""))  # type: ignore[attr-defined]

    def _include_spec(self, name: str, spec: str, iterate: bool) -> Include:
        if spec == "*":
            return Include(self.res_type or "*", None, None, iterate)
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise _invalid(name, f"'{spec}' must be Type:param or Type:param:TargetType")
        source_type, code = parts[0], parts[1]
        if code == "*":
            return Include(source_type, None, parts[2] if len(parts) == 3 else None, iterate)
        param = self.parser._registry.get(source_type, code)
        if param is None or param.type != "reference":
            raise _invalid(name, f"'{source_type}' has no reference parameter '{code}'")
        target = parts[2] if len(parts) == 3 else None
        if target and param.targets and target not in param.targets:
            raise _invalid(name, f"'{source_type}.{code}' cannot refer to '{target}'")
        return Include(source_type, param, target, iterate)

    def build(self) -> SearchQuery:
        f = self.fields
        return SearchQuery(
            res_type=self.res_type,
            clauses=tuple(self.clauses),
            sort=tuple(f["sort"]),  # type: ignore[arg-type]
            count=f.get("count"),  # type: ignore[arg-type]
            offset=f.get("offset"),  # type: ignore[arg-type]
            includes=tuple(f["includes"]),  # type: ignore[arg-type]
            revincludes=tuple(f["revincludes"]),  # type: ignore[arg-type]
            summary=f.get("summary"),  # type: ignore[arg-type]
            elements=tuple(f["elements"]),  # type: ignore[arg-type]
            total=f.get("total"),  # type: ignore[arg-type]
            contained=f.get("contained"),  # type: ignore[arg-type]
            types=f.get("types", ()),  # type: ignore[arg-type]
            unknown=tuple(self.unknown),
        )


_RESULT_PARAMS = frozenset(
    {
        "_count",
        "_offset",
        "_summary",
        "_total",
        "_contained",
        "_elements",
        "_type",
        "_sort",
        "_include",
        "_revinclude",
    }
)


def parse_search(
    registry: SearchRegistry,
    res_type: str | None,
    pairs: Iterable[tuple[str, str]],
    *,
    value_sets: TerminologyLookups | None = None,
) -> SearchQuery:
    """Convenience wrapper: `parse_search(reg, "Observation", [("code", "http://loinc.org|8867-4")])`;
    without `value_sets` (the terminology), token `:in`, `:not-in`, `:above` and `:below` are reported as
    not supported."""
    return SearchParser(registry, value_sets).parse(res_type, pairs)
