"""Twin-engine results -> FHIR resources, as DESIGN.md §3 models them (the twin engine itself knows no FHIR)."""
