"""The search parser's view of the terminology: a value set's URL -> its codes (token modifiers `:in`/`:not-in`)."""

from __future__ import annotations

from fhir_server.errors import InvalidRequest
from fhir_server.search.params import ValueSetCodes
from terminology import Terminology, TerminologyError


def value_set_codes(terminology: Terminology) -> ValueSetCodes:
    def codes(url: str) -> tuple[tuple[str, str], ...]:
        try:
            return tuple((m.system, m.code) for m in terminology.members(url))
        except TerminologyError as exc:
            raise InvalidRequest(
                f"{exc.message} Search with :in / :not-in names a value set the server holds."
            ) from exc

    return codes
