"""The search parser's view of the terminology: value set members (token `:in` / `:not-in`) and the codes a
code subsumes or is subsumed by (token `:below` / `:above`).

Terminology errors become `InvalidRequest` here, with the terminology's own message (which already says
whether a code system is unknown, has no hierarchy, or does not hold the code), so the client gets a 400
that says why the search cannot be answered.
"""

from __future__ import annotations

from typing import Literal

from fhir_server.errors import InvalidRequest
from fhir_server.search.params import TerminologyLookups
from terminology import Terminology, TerminologyError


class TerminologySearchLookups:
    """`TerminologyLookups` over the shipped terminology (immutable, so one instance serves every request)."""

    def __init__(self, terminology: Terminology) -> None:
        self._terminology = terminology

    def members(self, value_set_url: str) -> tuple[tuple[str, str], ...]:
        try:
            return tuple((m.system, m.code) for m in self._terminology.members(value_set_url))
        except TerminologyError as exc:
            raise InvalidRequest(
                f"{exc.message} Search with :in / :not-in names a value set the server holds."
            ) from exc

    def related(self, system: str, code: str, direction: Literal["above", "below"]) -> tuple[str, ...]:
        try:
            return self._terminology.subsumption_closure(system, code, direction)
        except TerminologyError as exc:
            raise InvalidRequest(
                f"{exc.message} Search with :above / :below needs a code the server holds in a code system "
                f"shipped with its hierarchy ({', '.join(self._hierarchical())})."
            ) from exc

    def _hierarchical(self) -> list[str]:
        return [cs.url for cs in self._terminology.code_systems if cs.hierarchical]


def terminology_lookups(terminology: Terminology) -> TerminologyLookups:
    return TerminologySearchLookups(terminology)
