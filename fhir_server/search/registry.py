"""The R4 search parameters the server understands, loaded once from the shipped SearchParameter Bundle.

The official definitions are the single source of truth for which parameters exist, their types, and the
FHIRPath that fills the index tables on write; nothing here is hand-maintained. Multi-base definitions
(`Account.subject | Observation.subject | ...`) are split per base so each resource type only evaluates the
part of the expression that can match it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

# Parameters defined on these abstract bases apply to every resource type.
ABSTRACT_BASES = ("Resource", "DomainResource")


@dataclass(frozen=True, slots=True)
class SearchParamDef:
    """One search parameter as it applies to one resource type (expression already narrowed to it)."""

    code: str
    type: str  # number date string token reference composite quantity uri
    base: tuple[str, ...]
    expression: str | None
    targets: tuple[str, ...] = ()
    # For composites: (code of the component parameter, FHIRPath relative to the composite's element).
    components: tuple[tuple[str, str], ...] = ()
    url: str = ""


def split_top_level(expression: str, separator: str) -> list[str]:
    """Split FHIRPath at `separator` where it stands outside parentheses and string literals."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(expression):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    return parts


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath union at top-level `|` (never inside parentheses or string literals)."""
    return [p.strip() for p in split_top_level(expression, "|") if p.strip()]


def _head_type(part: str) -> str:
    """The resource type a union part starts from: `(Observation.value as X)` -> `Observation`."""
    text = part.lstrip("(")
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[:end]


def narrow_expression(expression: str | None, res_type: str) -> str | None:
    """Keep only the union parts of `expression` that apply to `res_type` (None when none do)."""
    if expression is None:
        return None
    parts = split_union(expression)
    kept = [p for p in parts if _head_type(p) in (res_type, *ABSTRACT_BASES) or not _head_type(p)[:1].isupper()]
    return " | ".join(kept) if kept else None


class SearchRegistry:
    """Lookup of search parameters per resource type; immutable after construction."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        by_url = {e["url"]: e for e in entries if "url" in e}
        common: dict[str, SearchParamDef] = {}
        per_type: dict[str, dict[str, SearchParamDef]] = {}
        for entry in entries:
            if entry.get("type") == "special":
                continue
            for base in entry.get("base", ()):
                definition = self._definition(entry, base, by_url)
                if base in ABSTRACT_BASES:
                    common[definition.code] = definition
                elif definition.expression is not None:
                    per_type.setdefault(base, {})[definition.code] = definition
        self._common = MappingProxyType(common)
        self._by_type = {t: MappingProxyType({**common, **defs}) for t, defs in per_type.items()}

    @staticmethod
    def _definition(entry: dict[str, Any], base: str, by_url: dict[str, dict[str, Any]]) -> SearchParamDef:
        components = tuple(
            (by_url.get(c["definition"], {}).get("code", c["definition"].rsplit("-", 1)[-1]), c["expression"])
            for c in entry.get("component", ())
        )
        return SearchParamDef(
            code=entry["code"],
            type=entry["type"],
            base=tuple(entry.get("base", ())),
            expression=narrow_expression(entry.get("expression"), base),
            targets=tuple(entry.get("target", ())),
            components=components,
            url=entry.get("url", ""),
        )

    @classmethod
    def from_bundle(cls, bundle: dict[str, Any]) -> SearchRegistry:
        return cls([e["resource"] for e in bundle.get("entry", ()) if "resource" in e])

    @classmethod
    def load_default(cls) -> SearchRegistry:
        """The registry for the shipped R4 definitions (parsed once per process; the object is immutable)."""
        return _default_registry()

    def get(self, res_type: str | None, code: str) -> SearchParamDef | None:
        """The parameter `code` for `res_type`; with `res_type=None` only the Resource-level ones."""
        if res_type is None:
            return self._common.get(code)
        return self.for_type(res_type).get(code)

    def for_type(self, res_type: str) -> Mapping[str, SearchParamDef]:
        return self._by_type.get(res_type, self._common)

    def common(self) -> Mapping[str, SearchParamDef]:
        """Parameters every resource type has (`_id`, `_lastUpdated`, `_tag`, `_profile`, `_security`...)."""
        return self._common

    def resource_types(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_type))


@cache
def _default_registry() -> SearchRegistry:
    data = resources.files("fhir_server.data").joinpath("search-parameters.json").read_text("utf-8")
    return SearchRegistry.from_bundle(json.loads(data))


@cache
def patient_compartment() -> Mapping[str, tuple[str, ...]]:
    """R4 CompartmentDefinition/patient: resource type -> the params that put it in the compartment."""
    data = resources.files("fhir_server.data").joinpath("compartment-patient.json").read_text("utf-8")
    return MappingProxyType({t: tuple(p) for t, p in json.loads(data)["resource"].items()})
