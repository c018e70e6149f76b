"""Terminology content and a small FHIR-free API.

Comes with the terminology issue: LOINC, SNOMED CT, RxNorm, ICD-10-CM and UCUM subsets shipped as data,
with lookup / validate-code / expand / translate functions that the FHIR server exposes as operations.
"""
