"""FHIR datatype values -> index rows, one converter per index table.

Each converter appends plain dicts whose keys are exactly the columns of the matching table in
`fhir_server.storage.tables` minus `id`, `resource_pk` and `res_type` (the caller adds those), so the
storage layer can bulk-insert them without knowing FHIR. Values are cut to the column widths so PostgreSQL
never rejects a write that SQLite would have taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from fhir_server.search.values import (
    MAX_INSTANT,
    MIN_INSTANT,
    canonical_quantity,
    date_range,
    decimal_range,
    normalize_string,
)

Row = dict[str, Any]
Converter = Callable[[str, "int | None", Any, list[Row]], None]

_STRING_PARTS = (
    "family",
    "given",
    "prefix",
    "suffix",
    "text",
    "line",
    "city",
    "district",
    "state",
    "postalCode",
    "country",
)
_ABSOLUTE_REF_RE = re.compile(
    r"^(?P<base>.+)/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[^/]+))?$"
)
_RELATIVE_REF_RE = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[^/]+))?$"
)
ISO_4217 = "urn:iso:std:iso:4217"


def _cut(value: str | None, width: int) -> str | None:
    return value[:width] if value is not None else None


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):  # HumanName / Address: every textual part is searchable
        for key in _STRING_PARTS:
            part = node.get(key)
            if isinstance(part, str):
                yield part
            elif isinstance(part, list):
                yield from (p for p in part if isinstance(p, str))


def string_rows(param: str, grp: int | None, node: Any, out: list[Row]) -> None:
    for text in _strings(node):
        out.append({"param": param, "grp": grp, "value": normalize_string(text)[:512], "value_exact": text[:512]})


def _token(param: str, grp: int | None, system: Any, code: Any, text: Any) -> Row:
    return {
        "param": param,
        "grp": grp,
        "system": _cut(system if isinstance(system, str) else None, 512),
        "code": _cut(code if isinstance(code, str) else None, 512),
        "text": _cut(normalize_string(text), 512) if isinstance(text, str) else None,
    }


def token_rows(param: str, grp: int | None, node: Any, out: list[Row]) -> None:
    if isinstance(node, bool):
        out.append(_token(param, grp, None, "true" if node else "false", None))
    elif isinstance(node, str | int | float | Decimal):
        out.append(_token(param, grp, None, str(node), None))
    elif not isinstance(node, dict):
        return
    elif "coding" in node or ("text" in node and "value" not in node and "code" not in node):
        text = node.get("text")
        for coding in node.get("coding") or ():
            if isinstance(coding, dict):
                out.append(_token(param, grp, coding.get("system"), coding.get("code"), coding.get("display") or text))
        if isinstance(text, str):
            out.append(_token(param, grp, None, None, text))
    elif "value" in node:  # Identifier or ContactPoint
        kind = node.get("type")
        out.append(
            _token(
                param,
                grp,
                node.get("system"),
                str(node["value"]),
                kind.get("text") if isinstance(kind, dict) else None,
            )
        )
    elif "code" in node or "system" in node:  # Coding
        out.append(_token(param, grp, node.get("system"), node.get("code"), node.get("display")))


def _date_row(param: str, grp: int | None, low: int, high: int) -> Row:
    return {"param": param, "grp": grp, "low": low, "high": high}


def date_rows(param: str, grp: int | None, node: Any, out: list[Row]) -> None:
    if isinstance(node, str):
        bounds = date_range(node)
        if bounds:
            out.append(_date_row(param, grp, *bounds))
    elif isinstance(node, dict):
        if "start" in node or "end" in node:  # Period: an open end is unbounded
            start = date_range(node["start"]) if isinstance(node.get("start"), str) else None
            end = date_range(node["end"]) if isinstance(node.get("end"), str) else None
            out.append(_date_row(param, grp, start[0] if start else MIN_INSTANT, end[1] if end else MAX_INSTANT))
        elif "event" in node or "repeat" in node:  # Timing: from the first to the last event / bounds
            for event in node.get("event") or ():
                date_rows(param, grp, event, out)
            bounds = (node.get("repeat") or {}).get("boundsPeriod")
            if isinstance(bounds, dict):
                date_rows(param, grp, bounds, out)


def number_rows(param: str, grp: int | None, node: Any, out: list[Row]) -> None:
    if isinstance(node, dict):  # Range (e.g. RiskAssessment.prediction.probabilityRange): its bounds
        range_low = decimal_range((node.get("low") or {}).get("value"))
        range_high = decimal_range((node.get("high") or {}).get("value"))
        known = range_low or range_high
        if known:
            low_value = range_low[0] if range_low else -1e308
            high_value = range_high[0] if range_high else 1e308
            out.append({"param": param, "grp": grp, "value": known[0], "low": low_value, "high": high_value})
        return
    parsed = decimal_range(node) if isinstance(node, int | float | str | Decimal) else None
    if parsed:
        value, low, high = parsed
        out.append({"param": param, "grp": grp, "value": value, "low": low, "high": high})


def _quantity_row(param: str, grp: int | None, node: dict[str, Any], low: float, high: float, value: float) -> Row:
    system = node.get("system")
    code = node.get("code")
    if "currency" in node:  # Money
        system, code = ISO_4217, node.get("currency")
    canonical = canonical_quantity(value, system, code)
    return {
        "param": param,
        "grp": grp,
        "value": value,
        "low": low,
        "high": high,
        "system": _cut(system, 256),
        "code": _cut(code, 128),
        "unit": _cut(node.get("unit"), 128),
        "canonical_value": canonical[0] if canonical else None,
        "canonical_code": canonical[1] if canonical else None,
    }


def quantity_rows(param: str, grp: int | None, node: Any, out: list[Row]) -> None:
    if not isinstance(node, dict):
        return
    if "low" in node or "high" in node:  # Range: the row covers low..high, value is the known bound
        low_q, high_q = node.get("low") or {}, node.get("high") or {}
        low = decimal_range(low_q.get("value")) if "value" in low_q else None
        high = decimal_range(high_q.get("value")) if "value" in high_q else None
        if low or high:
            unit_source = low_q if low else high_q
            value = (low or high)[0]  # type: ignore[index]
            out.append(
                _quantity_row(param, grp, unit_source, low[0] if low else -1e308, high[0] if high else 1e308, value)
            )
        return
    parsed = decimal_range(node["value"]) if "value" in node else None
    if parsed:
        out.append(_quantity_row(param, grp, node, parsed[1], parsed[2], parsed[0]))


def _reference_row(
    param: str,
    grp: int | None,
    target_type: str | None,
    target_id: str | None,
    version: str | None,
    url: str | None,
) -> Row:
    return {
        "param": param,
        "grp": grp,
        "target_type": target_type,
        "target_id": _cut(target_id, 128),
        "target_version": _cut(version, 64),
        "url": _cut(url, 1024),
    }


def parse_reference(
    reference: str, base_url: str | None = None
) -> tuple[str | None, str | None, str | None, str | None]:
    """(target_type, target_id, target_version, url) for a literal reference.

    Relative `Type/id[/_history/v]` fills type/id/version; an absolute URL is kept in `url` and, when it has
    the FHIR shape, parsed to type/id too. References to our own base URL count as relative.
    """
    if base_url and reference.startswith(base_url.rstrip("/") + "/"):
        reference = reference[len(base_url.rstrip("/")) + 1 :]
    match = _RELATIVE_REF_RE.match(reference)
    if match:
        return match["type"], match["id"], match["version"], None
    match = _ABSOLUTE_REF_RE.match(reference) if "://" in reference else None
    if match:
        return match["type"], match["id"], match["version"], reference
    return None, None, None, reference


def reference_rows(
    param: str,
    grp: int | None,
    node: Any,
    out: list[Row],
    base_url: str | None = None,
    identifiers: list[Row] | None = None,
) -> None:
    if isinstance(node, str):  # canonical `url|version` or uri
        canonical, _, canonical_version = node.partition("|")
        out.append(_reference_row(param, grp, None, None, canonical_version or None, canonical))
    elif isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and not ref.startswith("#"):
            target_type, target_id, version, url = parse_reference(ref, base_url)
            out.append(_reference_row(param, grp, target_type or node.get("type"), target_id, version, url))
        elif "resourceType" in node and "id" in node:  # an inline resource (Bundle.entry[0].resource)
            out.append(_reference_row(param, grp, node["resourceType"], node["id"], None, None))
        identifier = node.get("identifier")
        if identifiers is not None and isinstance(identifier, dict):
            token_rows(f"{param}:identifier", grp, identifier, identifiers)


def uri_rows(param: str, grp: int | None, node: Any, out: list[Row]) -> None:
    if isinstance(node, str):
        out.append({"param": param, "grp": grp, "value": node[:1024]})


CONVERTERS: dict[str, Converter] = {
    "string": string_rows,
    "token": token_rows,
    "date": date_rows,
    "number": number_rows,
    "quantity": quantity_rows,
    "uri": uri_rows,
}
