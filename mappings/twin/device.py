"""The software Device a twin result names as its author: one per model artifact (name, version, content hash).

Results reference it from `device` (Observation) or `performer` (RiskAssessment), so a reader can tell which
model version produced a number and find every result of a version that turns out to be wrong.
"""

from __future__ import annotations

from typing import Any

from mappings.ids import stable_id


def model_device_id(model: str, version: str, content_hash: str) -> str:
    return stable_id("novamind-model", model, version, content_hash)


def model_device(model: str, version: str, content_hash: str) -> dict[str, Any]:
    """The Device for one registry artifact (`twin_engine.registry`: its name, version and content hash)."""
    versions = [(f"{model} model version", version), (f"{model} model content SHA-256", content_hash)]
    return software_device(model_device_id(model, version, content_hash), f"NovaMind Twin {model} model", versions)


def software_device(device_id: str, name: str, versions: list[tuple[str, str]]) -> dict[str, Any]:
    """A NovaMind Twin software Device: `versions` are (what, value) pairs, e.g. a model's version and hash."""
    return {
        "resourceType": "Device",
        "id": device_id,
        "status": "active",
        "manufacturer": "NovaMind Twin",
        "deviceName": [{"name": name, "type": "user-friendly-name"}],
        "type": {"text": "Software"},
        "version": [{"type": {"text": what}, "value": value} for what, value in versions],
    }
