"""Assemble response Bundles around stored JSON without parsing it again (orjson fragments)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from fhir_server.storage.clock import now_us, to_instant
from fhir_server.storage.repository import StoredResource


def resource_fragment(stored: StoredResource) -> orjson.Fragment:
    return orjson.Fragment(stored.content or b"{}")


def full_url(base: str, stored: StoredResource) -> str:
    return f"{base}/{stored.res_type}/{stored.res_id}"


def search_entry(base: str, stored: StoredResource, mode: str, resource: Any = None) -> dict[str, Any]:
    return {
        "fullUrl": full_url(base, stored),
        "resource": resource if resource is not None else resource_fragment(stored),
        "search": {"mode": mode},
    }


def bundle(bundle_type: str, entries: Iterable[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": to_instant(now_us())},
        "type": bundle_type,
    }
    out.update({k: v for k, v in fields.items() if v is not None})
    entry_list = list(entries)
    if entry_list:
        out["entry"] = entry_list
    return out


def history_entry(base: str, stored: StoredResource) -> dict[str, Any]:
    method = stored.method or "PUT"
    url = f"{stored.res_type}/{stored.res_id}" if method != "POST" else stored.res_type
    status = {"POST": "201 Created", "DELETE": "204 No Content"}.get(method, "200 OK")
    entry: dict[str, Any] = {
        "fullUrl": full_url(base, stored),
        "request": {"method": "PUT" if method == "PATCH" else method, "url": url},
        "response": {
            "status": status,
            "etag": f'W/"{stored.version}"',
            "lastModified": to_instant(stored.last_updated),
        },
    }
    if not stored.deleted and stored.content:
        entry["resource"] = resource_fragment(stored)
    return entry
