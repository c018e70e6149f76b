"""The content as FHIR R4 JSON (plain dicts): CodeSystem, ValueSet, ConceptMap and $expand results.

Built here, next to the content, so that the server and any importer publish identical artefacts; the
server validates them with its FHIR models before storing them.
"""

from __future__ import annotations

import uuid
from typing import Any

from terminology.model import CodeSystem, Concept, ConceptMap, Expansion, PropertyType, PropertyValue, ValueSet
from terminology.service import Terminology

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
_VALUE_KEY = {
    PropertyType.CODE: "valueCode",
    PropertyType.STRING: "valueString",
    PropertyType.INTEGER: "valueInteger",
    PropertyType.BOOLEAN: "valueBoolean",
}


def all_resources(terminology: Terminology) -> list[dict[str, Any]]:
    """Every artefact, code systems first (value sets and maps refer to them)."""
    return [
        *(code_system_resource(cs) for cs in terminology.code_systems),
        *(value_set_resource(vs, terminology) for vs in terminology.value_sets),
        *(concept_map_resource(cm) for cm in terminology.concept_maps),
    ]


def property_value(cs: CodeSystem, code: str, value: PropertyValue) -> dict[str, Any]:
    """`{"valueX": value}` typed as the code system declares property `code`."""
    definition = next((p for p in cs.properties if p.code == code), None)
    kind = definition.type if definition else PropertyType.STRING
    return {_VALUE_KEY[kind]: value}


def _metadata(artefact: CodeSystem | ValueSet | ConceptMap, res_type: str) -> dict[str, Any]:
    return {
        "resourceType": res_type,
        "id": artefact.id,
        "url": artefact.url,
        "version": artefact.version,
        "name": artefact.name,
        "title": artefact.title,
        "status": "active",
        "experimental": False,
        "publisher": artefact.publisher,
        "description": artefact.description,
        "copyright": artefact.copyright,
    }


def code_system_resource(cs: CodeSystem) -> dict[str, Any]:
    resource = _metadata(cs, "CodeSystem")
    if cs.content == "fragment":
        resource["description"] += f" Version {cs.version} is the version of this subset, not a release of {cs.url}."
    resource.update({"caseSensitive": cs.case_sensitive, "content": cs.content, "count": len(cs.concepts)})
    if cs.hierarchical:
        resource["hierarchyMeaning"] = "is-a"
    if cs.properties:
        resource["property"] = [
            {"code": p.code, "description": p.description, "type": p.type.value} for p in cs.properties
        ]
    roots = cs.children(None) if cs.hierarchical else list(cs.concepts.values())
    resource["concept"] = [_concept(cs, c, nested=cs.hierarchical) for c in roots]
    return resource


def _concept(cs: CodeSystem, concept: Concept, *, nested: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"code": concept.code, "display": concept.display}
    if concept.definition:
        out["definition"] = concept.definition
    if concept.designations:
        out["designation"] = [
            {k: v for k, v in (("language", d.language), ("value", d.value)) if v} for d in concept.designations
        ]
    props = [{"code": name, **property_value(cs, name, value)} for name, value in concept.properties]
    if props:
        out["property"] = props
    if nested:
        children = cs.children(concept.code)
        if children:
            out["concept"] = [_concept(cs, child) for child in children]
    return out


def value_set_resource(vs: ValueSet, terminology: Terminology) -> dict[str, Any]:
    resource = _metadata(vs, "ValueSet")
    includes: dict[str, list[dict[str, Any]]] = {}
    for member in vs.members:
        entry: dict[str, Any] = {
            "code": member.code,
            "display": terminology.concept(member.system, member.code).display,
        }
        if member.ordinal is not None:
            entry["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": member.ordinal}]
        includes.setdefault(member.system, []).append(entry)
    resource["compose"] = {
        "include": [{"system": system, "concept": concepts} for system, concepts in includes.items()]
    }
    return resource


def concept_map_resource(cm: ConceptMap) -> dict[str, Any]:
    resource = _metadata(cm, "ConceptMap")
    elements = []
    for el in cm.elements:
        target: dict[str, Any] = {"equivalence": el.equivalence.value}
        if el.target_code:
            target.update({"code": el.target_code, "display": el.target_display})
        if el.comment:
            target["comment"] = el.comment
        elements.append({"code": el.source_code, "display": el.source_display, "target": [target]})
    if cm.source_value_set:
        resource["sourceCanonical"] = cm.source_value_set
    if cm.target_value_set:
        resource["targetCanonical"] = cm.target_value_set
    resource["group"] = [{"source": cm.source_system, "target": cm.target_system, "element": elements}]
    return resource


def expansion_resource(expansion: Expansion, timestamp: str) -> dict[str, Any]:
    """The value set with its `expansion` (what ValueSet/$expand returns); `timestamp` is an R4 dateTime."""
    vs = expansion.value_set
    resource = _metadata(vs, "ValueSet")
    parameters: list[dict[str, Any]] = [{"name": "offset", "valueInteger": expansion.offset}]
    if expansion.filter:
        parameters.append({"name": "filter", "valueString": expansion.filter})
    contains = []
    for entry in expansion.entries:
        item: dict[str, Any] = {"system": entry.system, "code": entry.code, "display": entry.display}
        if entry.abstract:
            item["abstract"] = True
        if entry.ordinal is not None:
            item["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": entry.ordinal}]
        contains.append(item)
    resource["expansion"] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": timestamp,
        "total": expansion.total,
        "offset": expansion.offset,
        "parameter": parameters,
        **({"contains": contains} if contains else {}),
    }
    return resource
