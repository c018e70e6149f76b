"""Use cases with FHIR semantics (versioning, conditional operations, bundles, search), free of HTTP."""
