"""Wearable exports (Open mHealth / IEEE 1752.1, Apple Health `export.xml`, Fitbit Web API) -> FHIR Observations.

Each vendor module turns its payload into `Reading`s (or `Rejection`s / `Skipped`s saying why a record was
not taken); `observation.ObservationBuilder` turns readings into Observation dicts with stable identifiers,
and `device.device_resource` describes the source, so the importer never needs to know the vendor.
"""
