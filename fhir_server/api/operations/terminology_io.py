"""What the terminology operations share: reading their input (GET query or POST `Parameters`), writing
`Parameters` answers, authorising, and turning the terminology package's errors into FHIR errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from fhir_server.api.deps import services
from fhir_server.api.negotiation import check_accept, read_body
from fhir_server.api.security import request_access
from fhir_server.auth.policy import Interaction
from fhir_server.errors import InvalidRequest, NotFound, NotSupported
from terminology import (
    BadTerminologyRequest,
    NoHierarchy,
    Terminology,
    TerminologyError,
    UnknownCode,
    UnknownCodeSystem,
    UnknownConceptMap,
    UnknownValueSet,
)


@dataclass(frozen=True, slots=True)
class Coding:
    system: str | None
    code: str | None
    display: str | None = None
    version: str | None = None


class OperationInput:
    """An operation's input parameters by name, from the query string (GET) or a `Parameters` body (POST)."""

    def __init__(self, params: list[dict[str, Any]]) -> None:
        self._params = params

    @classmethod
    def from_query(cls, items: list[tuple[str, str]]) -> OperationInput:
        return cls([{"name": name, "valueString": value} for name, value in items])

    @classmethod
    def from_body(cls, body: Any) -> OperationInput:
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise InvalidRequest("POST the operation's input as a FHIR Parameters resource.")
        params = body.get("parameter") or []
        if not isinstance(params, list) or not all(isinstance(p, dict) and "name" in p for p in params):
            raise InvalidRequest("Parameters.parameter must be a list of named parameters.")
        return cls(params)

    def has(self, name: str) -> bool:
        return bool(self._all(name))

    def _all(self, name: str) -> list[dict[str, Any]]:
        return [p for p in self._params if p.get("name") == name]

    def _value(self, param: dict[str, Any]) -> Any:
        return next((v for k, v in param.items() if k.startswith("value")), None)

    def text(self, name: str) -> str | None:
        found = self._all(name)
        if len(found) > 1:
            raise InvalidRequest(f"The parameter {name!r} may be given only once.")
        if not found:
            return None
        value = self._value(found[0])
        if value is None or isinstance(value, dict | list | bool):
            raise InvalidRequest(f"The parameter {name!r} must be a simple value (a string, code or uri).")
        return str(value)

    def texts(self, name: str) -> list[str]:
        return [str(self._value(p)) for p in self._all(name) if self._value(p) is not None]

    def boolean(self, name: str, default: bool = False) -> bool:
        found = self._all(name)
        if not found:
            return default
        value = self._value(found[-1])
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise InvalidRequest(f"The parameter {name!r} must be true or false, not {value!r}.")

    def whole_number(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise InvalidRequest(f"{name}={raw!r} must be a non-negative whole number.")
        return int(raw)

    def coding(self, name: str) -> Coding | None:
        found = self._all(name)
        if not found:
            return None
        value = found[0].get("valueCoding")
        if not isinstance(value, dict):
            raise InvalidRequest(f"The parameter {name!r} must be a Coding (valueCoding).")
        return _coding(value)

    def codings(self, name: str) -> list[Coding]:
        found = self._all(name)
        if not found:
            return []
        value = found[0].get("valueCodeableConcept")
        if not isinstance(value, dict) or not isinstance(value.get("coding"), list) or not value["coding"]:
            raise InvalidRequest(f"The parameter {name!r} must be a CodeableConcept with at least one coding.")
        if not all(isinstance(c, dict) for c in value["coding"]):
            raise InvalidRequest(f"Every coding of {name!r} must be a Coding.")
        return [_coding(c) for c in value["coding"]]


def _coding(value: dict[str, Any]) -> Coding:
    def text(key: str) -> str | None:
        v = value.get(key)
        return str(v) if v is not None else None

    return Coding(text("system"), text("code"), text("display"), text("version"))


async def operation_input(request: Request, res_type: str, operation: str) -> tuple[OperationInput, Terminology]:
    """Checks format and authorization, then reads the input. These operations touch no patient data, so any
    grant on the type will do (see OPERATION_LETTERS)."""
    check_accept(request)
    (await request_access(request)).guard.require(Interaction.OPERATION, res_type, operation=operation)
    if request.method == "POST":
        given = OperationInput.from_body(await read_body(request))
    else:
        given = OperationInput.from_query(list(request.query_params.multi_items()))
    return given, services(request).terminology


def parameters(*params: dict[str, Any] | None) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [p for p in params if p]}


def param(name: str, key: str, value: Any) -> dict[str, Any] | None:
    """One output parameter, or None (left out) when there is no value."""
    return None if value is None else {"name": name, key: value}


def required(value: str | None, message: str) -> str:
    if not value:
        raise InvalidRequest(message)
    return value


@contextmanager
def terminology_errors() -> Iterator[None]:
    """Unknown artefacts and codes are 404, requests we cannot answer 400, each with the package's message."""
    try:
        yield
    except (UnknownCodeSystem, UnknownValueSet, UnknownConceptMap, UnknownCode) as exc:
        raise NotFound(exc.message) from exc
    except NoHierarchy as exc:
        raise NotSupported(exc.message) from exc
    except BadTerminologyRequest as exc:
        raise InvalidRequest(exc.message) from exc
    except TerminologyError as exc:  # a new kind of error: still the client's request that it is about
        raise InvalidRequest(exc.message) from exc
