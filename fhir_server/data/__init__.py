"""Shipped FHIR R4 definition data (see README.md in this folder for sources and licence)."""
