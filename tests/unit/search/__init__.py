"""Unit tests of the search subsystem (registry, FHIRPath fast path, extraction, parsing)."""
