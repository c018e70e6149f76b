"""FHIRPath evaluation for search-parameter expressions: a fast path over plain dicts, fhirpathpy otherwise.

fhirpathpy costs tens to hundreds of microseconds per call, and ingest evaluates ~40 expressions per
Observation, so that alone would cap ingestion far below the 3,000 resources/s goal. Almost every R4
search expression is a navigation path (`Observation.code`, `(Observation.value as Quantity)`,
`Observation.subject.where(resolve() is Patient)`, `Patient.telecom.where(system='phone')`), which we compile
into a list of steps walked directly over the JSON dicts. Anything else is compiled once with fhirpathpy
and its R4 model. `tests/unit/search/test_fhirpath_agreement.py` checks both give the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from fhir_server.search.registry import split_top_level, split_union

Evaluator = Callable[[Any], list[Any]]

_MODEL: dict[str, Any] = models["r4"]
_CHOICES: dict[str, list[str]] = _MODEL["choiceTypePaths"]
_PATH_TYPES: dict[str, str] = _MODEL["path2Type"]
_ELSEWHERE: dict[str, str] = _MODEL["pathsDefinedElsewhere"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_STEP_RE = re.compile(
    rf"(?P<child>{_IDENT})(?:\[(?P<index>\d+)\])?"
    rf"|where\(resolve\(\) is (?P<resolve>{_IDENT})\)"
    rf"|where\((?P<field>{_IDENT})\s*=\s*'(?P<literal>[^'\\]*)'\)"
    rf"|(?:as|ofType)\((?P<cast>{_IDENT})\)"
)
_PAREN_CAST_RE = re.compile(rf"^\((?P<inner>[^()]+) as (?P<cast>{_IDENT})\)(?:\.(?P<rest>.+))?$")
_RESOLVE_RE = re.compile(rf"where\(resolve\(\) is ({_IDENT})\)")
_PAREN_AS_RE = re.compile(rf"\(([A-Za-z_.]+) as ({_IDENT})\)")
_ABSTRACT_HEAD_RE = re.compile(r"(?<![A-Za-z.])(?:Resource|DomainResource)\.")
_REF_TYPE_RE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[^/]+(?:/_history/[^/]+)?$")


class Unsupported(Exception):
    """The expression is outside the fast path's grammar."""


@dataclass(frozen=True, slots=True)
class _Child:
    name: str
    choices: tuple[str, ...]  # type suffixes when the element is a choice `name[x]`; () otherwise

    @property
    def keys(self) -> tuple[str, ...]:
        """The JSON keys holding the element (`valueQuantity`, `valueString`, ... for a choice)."""
        return tuple(self.name + t for t in self.choices) if self.choices else (self.name,)


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _WhereResolve:
    type_name: str


@dataclass(frozen=True, slots=True)
class _WhereEquals:
    field: str
    literal: str


Step = _Child | _Index | _WhereResolve | _WhereEquals


def reference_type(reference: str) -> str | None:
    """The resource type a literal reference points at (`Patient/1`, `http://x/fhir/Patient/1/_history/2`)."""
    match = _REF_TYPE_RE.search(reference)
    return match.group(1) if match else None


def _split_steps(path: str) -> list[str]:
    """Split `a.b.where(x='y.z').c` at top-level dots."""
    return split_top_level(path, ".")


def _next_type_path(path: str, name: str) -> str:
    """Follow the R4 model so choice detection works inside datatypes.

    `Observation.code` continues as `CodeableConcept`, so `CodeableConcept.coding` is looked up next.
    """
    full = f"{path}.{name}"
    full = _ELSEWHERE.get(full, full)
    type_name = _PATH_TYPES.get(full)
    if type_name and type_name[0].isupper() and type_name not in ("Resource", "System.String"):
        return type_name
    return full


def _cast(steps: list[Step], cast: str) -> tuple[list[Step], str]:
    """Apply `as T` to the last step: only meaningful (and only fast-pathed) on choice elements."""
    last = steps[-1] if steps else None
    suffix = cast[0].upper() + cast[1:]
    if not isinstance(last, _Child) or suffix not in last.choices:
        raise Unsupported(cast)
    steps[-1] = _Child(last.name, (suffix,))
    return steps, suffix


def _compile_steps(text: str, type_path: str, steps: list[Step]) -> tuple[list[Step], str]:
    for raw in _split_steps(text):
        match = _STEP_RE.fullmatch(raw.strip())
        if match is None:
            raise Unsupported(raw)
        if match["child"]:
            name = match["child"]
            if name in ("exists", "empty", "not", "first", "resolve"):
                raise Unsupported(name)
            choices = tuple(_CHOICES.get(f"{type_path}.{name}", ()))
            steps.append(_Child(name, choices))
            type_path = _next_type_path(type_path, name)
            if match["index"] is not None:
                steps.append(_Index(int(match["index"])))
        elif match["resolve"]:
            steps.append(_WhereResolve(match["resolve"]))
        elif match["field"]:
            steps.append(_WhereEquals(match["field"], match["literal"]))
        else:
            steps, suffix = _cast(steps, match["cast"])
            type_path = suffix
    return steps, type_path


def compile_fast(part: str, context_path: str) -> list[Step]:
    """Compile one union part; `context_path` is the type path relative expressions start from."""
    part = part.strip()
    paren = _PAREN_CAST_RE.match(part)
    inner = paren["inner"] if paren else part
    first, _, rest = inner.partition(".")
    if first[:1].isupper() and re.fullmatch(_IDENT, first):
        type_path = first if first not in ("Resource", "DomainResource") else "Resource"
        text = rest
    else:
        type_path, text = context_path, inner
    if not text:
        return []
    steps, type_path = _compile_steps(text, type_path, [])
    if paren:
        steps, type_path = _cast(steps, paren["cast"])
        if paren["rest"]:
            steps, type_path = _compile_steps(paren["rest"], type_path, steps)
    return steps


def _walk_child(nodes: list[Any], keys: tuple[str, ...]) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        for key in keys:
            value = node.get(key)
            if value is None:
                continue
            if isinstance(value, list):
                out.extend(v for v in value if v is not None)
            else:
                out.append(value)
    return out


_Op = tuple[int, Any]
_CHILD, _INDEX, _RESOLVE, _EQUALS = range(4)


def _ops(steps: list[Step]) -> tuple[_Op, ...]:
    """Flatten steps into (opcode, argument) pairs: the hot loop avoids isinstance chains and attributes."""
    ops: list[_Op] = []
    for step in steps:
        if isinstance(step, _Child):
            ops.append((_CHILD, step.keys))
        elif isinstance(step, _Index):
            ops.append((_INDEX, step.index))
        elif isinstance(step, _WhereResolve):
            ops.append((_RESOLVE, step.type_name))
        else:
            ops.append((_EQUALS, (step.field, step.literal)))
    return tuple(ops)


def _run(ops: tuple[_Op, ...], root: Any) -> list[Any]:
    nodes = [root]
    for code, arg in ops:
        if code == _CHILD:
            nodes = _walk_child(nodes, arg)
        elif code == _INDEX:
            nodes = nodes[arg : arg + 1]
        elif code == _RESOLVE:
            nodes = [n for n in nodes if isinstance(n, dict) and reference_type(n.get("reference") or "") == arg]
        else:
            nodes = [n for n in nodes if isinstance(n, dict) and n.get(arg[0]) == arg[1]]
        if not nodes:
            return nodes
    return nodes


def fhirpathpy_dialect(expression: str) -> str:
    """Rewrite R4 expressions into what fhirpathpy evaluates with the intended meaning.

    fhirpathpy has no `resolve()`, insists that `as` gets a singleton (the R4 expressions apply it to
    collections, as every server does), and does not map `Resource.` onto the concrete type.
    """
    text = _RESOLVE_RE.sub(r"where(reference.matches('(^|/)\1/[^/]+(/_history/[^/]+)?$'))", expression)
    text = _PAREN_AS_RE.sub(r"\1.ofType(\2)", text)
    text = text.replace(".as(", ".ofType(")
    return _ABSTRACT_HEAD_RE.sub("", text)


def compile_fhirpathpy(expression: str) -> Evaluator:
    compiled = fhirpathpy.compile(fhirpathpy_dialect(expression), _MODEL)

    def evaluate(resource: Any) -> list[Any]:
        return list(compiled(resource, {}))

    return evaluate


def type_path_of(expression: str) -> str:
    """The R4 model type path a plain navigation expression ends on (`ActivityDefinition.useContext` ->
    `UsageContext`), so relative composite components can resolve their choice elements."""
    head, *names = split_union(expression)[0].strip("()").split(".")
    path = head
    for name in names:
        path = _next_type_path(path, name)
    return path


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled expression: `root_keys` (fast path only) are the top-level JSON keys it can start from,
    so callers skip it outright for resources that have none of them (most parameters, most resources)."""

    evaluate: Evaluator
    fast: bool
    root_keys: frozenset[str] | None = None


def _root_keys(ops: tuple[_Op, ...]) -> frozenset[str] | None:
    if not ops or ops[0][0] != _CHILD:
        return None
    return frozenset(ops[0][1])


def _patient_deceased(resource: Any) -> list[Any]:
    """`Patient.deceased.exists() and Patient.deceased != false`, the one R4 expression outside the grammar."""
    if not isinstance(resource, dict):
        return []
    if "deceasedDateTime" in resource:
        return [True]
    return [resource.get("deceasedBoolean") is True]


# Hand-written equivalents of expressions the step grammar cannot express; checked against fhirpathpy
# by the same agreement test as the compiled fast path.
_HANDWRITTEN: dict[str, Compiled] = {
    "Patient.deceased.exists() and Patient.deceased != false": Compiled(_patient_deceased, True, None),
}


@cache
def compile_expression(expression: str, context_path: str = "") -> Compiled:
    """Compile `expression` once: onto the fast path when its grammar allows, else with fhirpathpy."""
    if expression in _HANDWRITTEN:
        return _HANDWRITTEN[expression]
    try:
        compiled = [_ops(compile_fast(part, context_path)) for part in split_union(expression)]
    except Unsupported:
        return Compiled(compile_fhirpathpy(expression), False)
    roots = [_root_keys(ops) for ops in compiled]
    root_keys = None if any(r is None for r in roots) else frozenset().union(*roots)  # type: ignore[arg-type]
    if len(compiled) == 1:
        only = compiled[0]
        return Compiled(lambda root: _run(only, root), True, root_keys)

    def evaluate_union(root: Any) -> list[Any]:
        out: list[Any] = []
        for ops in compiled:
            out.extend(_run(ops, root))
        return out

    return Compiled(evaluate_union, True, root_keys)
