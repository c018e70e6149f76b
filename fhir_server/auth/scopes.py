"""The SMART App Launch 2.2 scope grammar, v1 and v2, parsed into frozen values.

Resource scopes are `<context>/<type>.<permissions>[?<query>]` where context is `patient`, `user` or `system`,
type is a FHIR resource type or `*`, and permissions are either the v2 letters `c r u d s` (a non-empty
subset, written in that order, e.g. `rs`, `cud`, `cruds`) or the v1 words `read`, `write`, `*`. The query
(v2 only) narrows a scope with search parameters, e.g.
`patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory`;
several `&`-joined parameters must all match.

v1 maps to v2 as the specification's equivalence table says: `read` = `rs`, `write` = `cud` (v1 write does
not include read), `*` = `cruds`. The scope remembers which syntax it was written in so the token response
can echo v1 scopes to a v1 client.

Non-resource scopes are the launch-context and identity scopes the server supports: `openid`, `fhirUser`,
`profile`, `launch`, `launch/patient`, `launch/encounter`, `offline_access`, `online_access`. Anything else is
an `InvalidScope` (RFC 6749 `invalid_scope`): we fail closed rather than carry scopes we do not understand.

Invariants of `ResourceScope`: `permissions` is a non-empty subset of `PERMISSION_LETTERS`; `query` is empty
for v1 scopes; no query parameter is a result-shaping parameter (`_include`, `_count`, ...), because a scope
may narrow what is visible but never change the shape of a response.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import quote, unquote

from fhir_server.auth.errors import InvalidScope

PERMISSION_LETTERS = "cruds"
WILDCARD = "*"

V1_PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset("rs"),
    "write": frozenset("cud"),
    "*": frozenset("cruds"),
}

_ALL = frozenset(PERMISSION_LETTERS)

NON_RESOURCE_SCOPES = frozenset(
    {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    }
)

# Search/result parameters that change the shape of a response rather than filter it; a scope restriction
# made of them would be meaningless or (for _include/_revinclude/_has) a way around the restriction itself.
FORBIDDEN_QUERY_PARAMS = frozenset(
    {
        "_include",
        "_revinclude",
        "_has",
        "_count",
        "_sort",
        "_summary",
        "_elements",
        "_contained",
        "_containedType",
        "_total",
        "_format",
        "_pretty",
    }
)

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<perms>[^?]+)(?:\?(?P<query>.*))?$"
)
_QUERY_PARAM_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_.:-]*$")


class ScopeContext(StrEnum):
    PATIENT = "patient"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class ResourceScope:
    """One resource scope; equality ignores the syntax it was written in (`read` == `rs`)."""

    context: ScopeContext
    resource_type: str  # a FHIR resource type or "*"
    permissions: frozenset[str]
    query: tuple[tuple[str, str], ...] = ()
    v1: bool = field(default=False, compare=False)

    def allows(self, letter: str) -> bool:
        return letter in self.permissions

    def covers(self, resource_type: str) -> bool:
        """Whether this scope names `resource_type` (the wildcard covers every type)."""
        return self.resource_type in (WILDCARD, resource_type)

    @property
    def letters(self) -> str:
        """The v2 permission letters in canonical order, e.g. `rs`."""
        return "".join(letter for letter in PERMISSION_LETTERS if letter in self.permissions)

    def to_v2(self) -> str:
        text = f"{self.context.value}/{self.resource_type}.{self.letters}"
        if self.query:
            text += "?" + "&".join(f"{quote(k, safe='')}={_quote_value(v)}" for k, v in self.query)
        return text

    def to_v1(self) -> str | None:
        """The v1 spelling, or None when the permissions have no v1 word (e.g. `s` alone) or a query."""
        if self.query:
            return None
        for word, perms in V1_PERMISSIONS.items():
            if perms == self.permissions:
                return f"{self.context.value}/{self.resource_type}.{word}"
        return None

    def __str__(self) -> str:
        """The scope as the client wrote it: v1 syntax when asked in v1, else v2."""
        if self.v1:
            v1 = self.to_v1()
            if v1 is not None:
                return v1
        return self.to_v2()

    def is_within(self, other: ResourceScope) -> bool:
        """Whether everything this scope permits is also permitted by `other` (used to down-scope requests).

        `other` must have the same context, name the same type or `*`, hold every permission, and carry no
        restriction that this scope lacks (a narrower scope has more query parameters, not fewer).
        """
        return (
            self.context == other.context
            and other.covers(self.resource_type)
            and self.permissions <= other.permissions
            and set(other.query) <= set(self.query)
        )


@dataclass(frozen=True, slots=True)
class NamedScope:
    """A launch-context or identity scope (`openid`, `launch/patient`, `offline_access`, ...)."""

    name: str

    def __str__(self) -> str:
        return self.name


Scope = ResourceScope | NamedScope


@dataclass(frozen=True, slots=True)
class ScopeSet:
    """The scopes of one request or token, de-duplicated, in the order first written."""

    scopes: tuple[Scope, ...] = ()

    def __iter__(self) -> Iterator[Scope]:
        return iter(self.scopes)

    def __len__(self) -> int:
        return len(self.scopes)

    def __contains__(self, name: object) -> bool:
        """`"openid" in scopes` tests for a named scope."""
        return any(isinstance(s, NamedScope) and s.name == name for s in self.scopes)

    @property
    def resource_scopes(self) -> tuple[ResourceScope, ...]:
        return tuple(s for s in self.scopes if isinstance(s, ResourceScope))

    @property
    def named(self) -> frozenset[str]:
        return frozenset(s.name for s in self.scopes if isinstance(s, NamedScope))

    def contexts(self) -> frozenset[ScopeContext]:
        return frozenset(s.context for s in self.resource_scopes)

    def to_string(self) -> str:
        """Space-separated, in the syntax each scope was requested in (RFC 6749 `scope`)."""
        return " ".join(str(s) for s in self.scopes)

    def to_v2_string(self) -> str:
        return " ".join(s.to_v2() if isinstance(s, ResourceScope) else s.name for s in self.scopes)

    def within(self, allowed: ScopeSet) -> ScopeSet:
        """These scopes cut down to what `allowed` (e.g. a client's registered scopes) permits.

        Named scopes are kept only if allowed. A resource scope keeps the permissions that allowed scopes of
        its context, covering its type and no more restricted than it, grant between them (SMART: `.rs` is
        equivalent to `.r .s`); it is dropped when none remain.
        """
        kept: list[Scope] = []
        for scope in self.scopes:
            if isinstance(scope, NamedScope):
                if scope in allowed.scopes:
                    kept.append(scope)
                continue
            granted = frozenset().union(
                *(a.permissions for a in allowed.resource_scopes if scope.is_within(replace(a, permissions=_ALL)))
            )
            if scope.permissions & granted:
                kept.append(replace(scope, permissions=scope.permissions & granted))
        return ScopeSet(tuple(dict.fromkeys(kept)))


def parse_scope(text: str) -> Scope:
    """Parse one scope token; raises `InvalidScope` for anything outside the grammar or unsupported."""
    if text in NON_RESOURCE_SCOPES:
        return NamedScope(text)
    match = _RESOURCE_SCOPE.match(text)
    if match is None:
        raise InvalidScope(f"unsupported or malformed scope {text!r}")
    context = ScopeContext(match["context"])
    perms_text, query_text = match["perms"], match["query"]
    if perms_text in V1_PERMISSIONS:
        if query_text is not None:
            raise InvalidScope(f"scope {text!r}: query restrictions need v2 permissions (e.g. .rs)")
        return ResourceScope(context, match["type"], V1_PERMISSIONS[perms_text], (), v1=True)
    permissions = _parse_letters(perms_text, text)
    query = _parse_query(query_text, text) if query_text is not None else ()
    return ResourceScope(context, match["type"], permissions, query)


def parse_scopes(text: str | Iterable[str]) -> ScopeSet:
    """Parse a space-separated scope string (or its tokens); one bad token fails the whole set."""
    tokens = text.split() if isinstance(text, str) else list(text)
    seen: dict[Scope, None] = {}
    for token in tokens:
        seen.setdefault(parse_scope(token), None)
    return ScopeSet(tuple(seen))


def _parse_letters(perms_text: str, scope: str) -> frozenset[str]:
    # The letters must be a subsequence of "cruds": each at most once, in that order.
    position = 0
    for letter in perms_text:
        found = PERMISSION_LETTERS.find(letter, position)
        if found < 0:
            raise InvalidScope(f"scope {scope!r}: permissions must be a subset of 'cruds' in that order")
        position = found + 1
    return frozenset(perms_text)


def _parse_query(query_text: str, scope: str) -> tuple[tuple[str, str], ...]:
    if not query_text:
        raise InvalidScope(f"scope {scope!r}: empty query restriction")
    pairs: list[tuple[str, str]] = []
    for part in query_text.split("&"):
        name, sep, value = part.partition("=")
        name, value = unquote(name), unquote(value)
        if not sep or not value or not _QUERY_PARAM_NAME.match(name):
            raise InvalidScope(f"scope {scope!r}: query restriction {part!r} is not param=value")
        if name.split(":", 1)[0] in FORBIDDEN_QUERY_PARAMS:
            raise InvalidScope(f"scope {scope!r}: {name!r} cannot restrict a scope")
        pairs.append((name, value))
    return tuple(pairs)


def _quote_value(value: str) -> str:
    # Keep the characters FHIR token and URI values use readable; escape what would break the scope string.
    return quote(value, safe="|:/.,-_~")
