"""Granted scopes + launch context + user role -> an `AccessPolicy`, a pure answer to "may this token do X on T?".

The policy is computed once per token and then asked, for each interaction on each resource type, for a
`Decision`: whether it is allowed at all and, if so, under which `AccessRule`s. A resource is visible when it
satisfies at least one rule; a rule is an AND of search filters (from granular scopes such as
`patient/Observation.rs?category=...|laboratory`) and, for `patient/` scopes, confinement to the token
patient's compartment (R4 CompartmentDefinition for Patient, the Patient resource itself included).

How scopes become grants:
- `patient/` scopes require a patient context (a token without one is invalid) and never reach audit types.
- `user/` scopes are intersected with the signed-in user's role permissions (`fhir_server.auth.roles`); a
  user without a clinician role gets nothing from `user/` scopes (fail closed).
- `system/` scopes apply as written (backend services, no user).
- A `*` type never covers `AuditEvent`; only a grant that names it does.

Interactions map to SMART permission letters: create -> c; read, vread, history_instance -> r; update,
patch -> u (an update that creates, "upsert", needs only u, as the specification says); delete -> d;
search_type, history_type -> s (system-level search and history need s on each type they return).
Operations require the letters in `OPERATION_LETTERS` (all of them; an empty set means any grant on the
type); unknown operations are denied.
System-wide interactions (whole-system search or history, batch/transaction) are decided per resource
type and per entry by the caller.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from fhir_server.auth.errors import InsufficientScope, InvalidToken
from fhir_server.auth.roles import AUDIT_RESOURCE_TYPES, WILDCARD, Role, RoleGrant, role_grants
from fhir_server.auth.scopes import ResourceScope, ScopeContext, ScopeSet

Filter = tuple[str, str]


class Interaction(StrEnum):
    READ = "read"
    VREAD = "vread"
    HISTORY_INSTANCE = "history_instance"
    HISTORY_TYPE = "history_type"
    SEARCH_TYPE = "search_type"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    OPERATION = "operation"


INTERACTION_LETTERS: Mapping[Interaction, frozenset[str]] = MappingProxyType(
    {
        Interaction.CREATE: frozenset("c"),
        Interaction.READ: frozenset("r"),
        Interaction.VREAD: frozenset("r"),
        Interaction.HISTORY_INSTANCE: frozenset("r"),
        Interaction.UPDATE: frozenset("u"),
        Interaction.PATCH: frozenset("u"),
        Interaction.DELETE: frozenset("d"),
        Interaction.SEARCH_TYPE: frozenset("s"),
        Interaction.HISTORY_TYPE: frozenset("s"),
    }
)

# Operation name (without `$`) -> letters required on the type it is invoked on.
OPERATION_LETTERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "everything": frozenset("rs"),  # each returned type is then filtered through its own decision
        # Reads the patient's inputs through the caller's guard; stores the derived results as the server.
        "medication-recommendations": frozenset("rs"),
        "lastn": frozenset("s"),
        "validate": frozenset(),  # touches no stored data; any grant on the type will do
        # Terminology operations answer from the shipped content, never from patient data: any grant will do.
        "lookup": frozenset(),
        "validate-code": frozenset(),
        "expand": frozenset(),
        "translate": frozenset(),
        "subsumes": frozenset(),
    }
)


def covers(pattern: str, resource_type: str) -> bool:
    """Whether a grant written for `pattern` (a type or `*`) reaches `resource_type`."""
    if pattern == WILDCARD:
        return resource_type not in AUDIT_RESOURCE_TYPES
    return pattern == resource_type


@dataclass(frozen=True, slots=True)
class Grant:
    """One effective permission after role intersection; `patient` set means compartment-confined."""

    resource_type: str
    letters: frozenset[str]
    filters: tuple[Filter, ...] = ()
    patient: str | None = None


@dataclass(frozen=True, slots=True)
class AccessRule:
    """Resources visible under one grant: in `patient`'s compartment (when set) and matching every filter."""

    patient: str | None = None
    filters: tuple[Filter, ...] = ()

    @property
    def unrestricted(self) -> bool:
        return self.patient is None and not self.filters

    def subsumes(self, other: AccessRule) -> bool:
        """Whether every resource `other` admits is admitted by this rule too."""
        same_scope = self.patient is None or self.patient == other.patient
        return same_scope and set(self.filters) <= set(other.filters)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one (interaction, type): allowed iff `rules` is non-empty; resources must match a rule."""

    interaction: Interaction
    resource_type: str
    rules: tuple[AccessRule, ...]

    @property
    def allowed(self) -> bool:
        return bool(self.rules)

    @property
    def unrestricted(self) -> bool:
        return any(rule.unrestricted for rule in self.rules)

    @property
    def compartment_patient(self) -> str | None:
        """The patient whose compartment confines every rule, or None when some rule is not confined."""
        patients = {rule.patient for rule in self.rules}
        if len(patients) == 1:
            return patients.pop()
        return None

    @property
    def needs_disjunction(self) -> bool:
        """True when the rules cannot be written as one AND of filters: the caller must OR `rules`."""
        return len(self.rules) > 1

    @property
    def filters(self) -> tuple[Filter, ...]:
        """The (param, value) pairs to AND onto a search or check on a read, for a single-rule decision."""
        if self.needs_disjunction:
            raise ValueError("several access rules apply; OR `rules` instead of ANDing one filter list")
        return self.rules[0].filters if self.rules else ()


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """What one token may do; build it with `build_policy`. Pure and immutable."""

    grants: tuple[Grant, ...]
    patient: str | None = None

    def decide(self, interaction: Interaction, resource_type: str, *, operation: str | None = None) -> Decision:
        required = _required_letters(interaction, operation)
        if required is None:
            return Decision(interaction, resource_type, ())
        rules = [
            AccessRule(grant.patient, grant.filters)
            for grant in self.grants
            if covers(grant.resource_type, resource_type) and required <= grant.letters and (required or grant.letters)
        ]
        return Decision(interaction, resource_type, _normalise(rules))

    def allows(self, interaction: Interaction, resource_type: str, *, operation: str | None = None) -> bool:
        return self.decide(interaction, resource_type, operation=operation).allowed

    def require(self, interaction: Interaction, resource_type: str, *, operation: str | None = None) -> Decision:
        """The decision, or `InsufficientScope` when the token may not do this at all."""
        decision = self.decide(interaction, resource_type, operation=operation)
        if not decision.allowed:
            what = f"${operation}" if interaction is Interaction.OPERATION else interaction.value
            raise InsufficientScope(f"the access token does not permit {what} on {resource_type}")
        return decision


def build_policy(scopes: ScopeSet, *, patient: str | None = None, role: Role | None = None) -> AccessPolicy:
    """Turn granted scopes and the token's context into an `AccessPolicy`.

    Raises:
        InvalidToken: a `patient/` scope was granted without a patient context (SMART requires one).
    """
    grants: list[Grant] = []
    for scope in scopes.resource_scopes:
        if scope.context is ScopeContext.PATIENT:
            if not patient:
                raise InvalidToken("patient/ scopes were granted without a patient context")
            if scope.resource_type in AUDIT_RESOURCE_TYPES:
                continue
            grants.append(Grant(scope.resource_type, scope.permissions, scope.query, patient))
        elif scope.context is ScopeContext.USER:
            if role is not None:
                grants.extend(_intersect(scope, grant) for grant in role_grants(role) if _overlaps(scope, grant))
        else:
            grants.append(Grant(scope.resource_type, scope.permissions, scope.query))
    return AccessPolicy(tuple(grant for grant in grants if grant.letters), patient)


def _required_letters(interaction: Interaction, operation: str | None) -> frozenset[str] | None:
    if interaction is Interaction.OPERATION:
        return OPERATION_LETTERS.get((operation or "").removeprefix("$"))
    return INTERACTION_LETTERS[interaction]


def _overlaps(scope: ResourceScope, grant: RoleGrant) -> bool:
    return _narrower_type(scope.resource_type, grant.resource_type) is not None


def _narrower_type(a: str, b: str) -> str | None:
    """The type both patterns reach when one contains the other, else None."""
    if a == b:
        return a
    if a == WILDCARD and covers(a, b):
        return b
    if b == WILDCARD and covers(b, a):
        return a
    return None


def _intersect(scope: ResourceScope, grant: RoleGrant) -> Grant:
    resource_type = _narrower_type(scope.resource_type, grant.resource_type)
    assert resource_type is not None  # guarded by _overlaps
    return Grant(resource_type, scope.permissions & grant.letters, scope.query)


def _normalise(rules: list[AccessRule]) -> tuple[AccessRule, ...]:
    """Drop rules another rule subsumes, then merge same-parameter single-filter rules into one OR value."""
    unique = list(dict.fromkeys(rules))
    kept = [r for r in unique if not any(o is not r and o.subsumes(r) and not r.subsumes(o) for o in unique)]
    merged: dict[tuple[str | None, str], list[str]] = {}
    result: list[AccessRule] = []
    for rule in kept:
        if len(rule.filters) == 1:
            (name, value) = rule.filters[0]
            key = (rule.patient, name)
            if key not in merged:
                merged[key] = []
                result.append(rule)
            merged[key].append(value)
        else:
            result.append(rule)
    return tuple(_merged(rule, merged) for rule in result)


def _merged(rule: AccessRule, merged: dict[tuple[str | None, str], list[str]]) -> AccessRule:
    if len(rule.filters) != 1:
        return rule
    name = rule.filters[0][0]
    values = merged[(rule.patient, name)]
    if len(values) == 1:
        return rule
    # Scope values are FHIR search syntax already, where a comma between values means OR.
    return AccessRule(rule.patient, ((name, ",".join(values)),))
