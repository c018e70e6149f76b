"""A FHIR Device for the watch, phone or app a wearable record came from.

The Device gets a stable identifier (a hash of the patient and the device's identity), so each import can
send it as a conditional create and every Observation from that source points at the same Device. The
software version is deliberately not part of the identity: a watch that updates its OS is the same watch.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from mappings.wearables.reading import DeviceInfo

DEVICE_SYSTEM = "http://novamind.example.org/fhir/sid/wearable-device"
_NAMESPACE = uuid.UUID("6f1d3c1e-4f7e-5a3b-9c57-2f0c6d1e8a41")


def device_key(device: DeviceInfo, patient_id: str) -> str:
    """The Device's identifier value: the same device of the same patient always hashes the same."""
    parts = [patient_id, device.name, device.manufacturer, device.model, device.hardware, device.app]
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:40]


def device_full_url(device: DeviceInfo, patient_id: str) -> str:
    """A deterministic `urn:uuid:` so Observations in a transaction can reference a Device not yet stored."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, device_key(device, patient_id))}"


def device_resource(device: DeviceInfo, patient_id: str) -> dict[str, Any]:
    names = [{"name": device.name, "type": "user-friendly-name"}]
    if device.model:
        names.append({"name": device.model, "type": "model-name"})
    if device.app and device.app != device.name:
        names.append({"name": device.app, "type": "other"})
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "identifier": [{"system": DEVICE_SYSTEM, "value": device_key(device, patient_id)}],
        "status": "active",
        "deviceName": names,
        "patient": {"reference": f"Patient/{patient_id}"},
    }
    if device.manufacturer:
        resource["manufacturer"] = device.manufacturer
    if device.hardware:
        resource["modelNumber"] = device.hardware
    return resource
