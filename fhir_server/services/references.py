"""Walking the literal references (`Reference.reference`) inside a resource's JSON.

One walker serves every rule that looks at references: referential integrity, conditional references in
transactions, and the rewriting of `urn:uuid:` fullUrls to the ids the server assigns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

LOCAL_REFERENCE_RE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def iter_references(node: Any) -> Iterator[str]:
    """Every `reference` string in the resource, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from iter_references(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                yield from iter_references(item)


def local_references(resource: Any) -> set[tuple[str, str]]:
    """Relative `Type/id` references (contained `#x`, URLs and conditional references are not ours)."""
    found = set()
    for ref in iter_references(resource):
        match = LOCAL_REFERENCE_RE.match(ref)
        if match:
            found.add((match.group(1), match.group(2)))
    return found


def conditional_references(resource: Any) -> set[str]:
    """`Type?criteria` references, which a transaction resolves to exactly one resource."""
    return {ref for ref in iter_references(resource) if "?" in ref and not ref.startswith("#")}


def rewrite_references(node: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of `node` with every reference found in `mapping` replaced by its target."""
    if isinstance(node, dict):
        return {
            key: mapping.get(value, value)
            if key == "reference" and isinstance(value, str)
            else rewrite_references(value, mapping)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [rewrite_references(v, mapping) for v in node]
    return node
