"""The shared Observation and Device builders: stable identifiers and the device reference."""

from __future__ import annotations

from mappings.wearables.device import DEVICE_SYSTEM, device_full_url, device_resource
from mappings.wearables.observation import ObservationBuilder, record_key
from mappings.wearables.reading import DeviceInfo, Quantity, Reading
from tests.unit.mappings.conftest import valid_r4

WATCH = DeviceInfo(name="Apple Watch", manufacturer="Apple Inc.", model="Watch", hardware="Watch6,1", app="Apple Watch")


def _hr(value: float = 61, at: str = "2024-01-01T08:00:00+00:00") -> Reading:
    return Reading("heart-rate", at, None, Quantity(value, "/min"), WATCH)


def test_the_identifier_is_the_same_for_the_same_record() -> None:
    assert record_key("apple-health", "p1", _hr()) == record_key("apple-health", "p1", _hr())


def test_the_identifier_differs_by_patient_value_time_and_source() -> None:
    base = record_key("apple-health", "p1", _hr())
    assert base != record_key("apple-health", "p2", _hr())
    assert base != record_key("apple-health", "p1", _hr(value=62))
    assert base != record_key("apple-health", "p1", _hr(at="2024-01-01T08:00:01+00:00"))
    assert base != record_key("fitbit", "p1", _hr())


def test_the_observation_references_the_device_its_bundle_creates() -> None:
    obs = ObservationBuilder("apple-health", "p1").build(_hr())
    assert obs["device"] == {"reference": device_full_url(WATCH, "p1")}


def test_the_device_describes_manufacturer_model_and_app_and_belongs_to_the_patient() -> None:
    device = valid_r4(device_resource(WATCH, "p1"))
    assert device["manufacturer"] == "Apple Inc."
    assert device["modelNumber"] == "Watch6,1"
    assert {"name": "Watch", "type": "model-name"} in device["deviceName"]
    assert device["patient"] == {"reference": "Patient/p1"}
    assert device["identifier"][0]["system"] == DEVICE_SYSTEM


def test_the_device_identity_is_its_description_and_patient() -> None:
    same = DeviceInfo(
        name="Apple Watch", manufacturer="Apple Inc.", model="Watch", hardware="Watch6,1", app="Apple Watch"
    )
    assert device_full_url(same, "p1") == device_full_url(WATCH, "p1")
    assert device_full_url(WATCH, "p1") != device_full_url(WATCH, "p2")
    assert device_full_url(WATCH, "p1") != device_full_url(DeviceInfo(name="iPhone"), "p1")
