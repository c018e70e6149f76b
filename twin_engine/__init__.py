"""Pure ML for the digital twin: frames in, dataclasses out.

No FHIR, HTTP or database inside (see the dependency contracts in pyproject.toml).
"""
