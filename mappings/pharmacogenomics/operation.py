"""The OperationDefinition of `Patient/{id}/$medication-recommendations`, published under our canonical base.

A CapabilityStatement names each operation by the canonical URL of its definition; for the core operations
that is the specification's, for ours it must be a resource the server itself serves, or clients and
validators cannot learn the parameters. The results are stored (searchable RiskAssessments and their
basis), so the operation affects state; it is idempotent (content-derived ids: a rerun writes nothing),
which is why the server also accepts GET for it.
"""

from __future__ import annotations

from typing import Any

CODE = "medication-recommendations"


def medication_recommendations_definition(canonical_base: str) -> dict[str, Any]:
    base = canonical_base.rstrip("/")
    return {
        "resourceType": "OperationDefinition",
        "id": CODE,
        "url": f"{base}/OperationDefinition/{CODE}",
        "name": "MedicationRecommendations",
        "title": "Pharmacogenomic medication recommendations and predicted response",
        "status": "active",
        "kind": "operation",
        "publisher": "NovaMind Twin",
        "description": (
            "CPIC guidance for the patient's genotype and predicted response and side-effect probabilities per "
            "candidate medication, as RiskAssessments (best balance first) with the metabolizer-phenotype "
            "Observations, MedicationKnowledge entries and model Device they reference. Results are stored and "
            "searchable; a rerun on the same inputs writes nothing. Not for clinical use without review."
        ),
        "affectsState": True,
        "code": CODE,
        "resource": ["Patient"],
        "system": False,
        "type": False,
        "instance": True,
        "parameter": [
            _in(
                "medication",
                "*",
                "string",
                "A drug name or RxNorm code (repeat, or comma-separate). Default: the response model's catalogue "
                "plus every drug with actionable CPIC guidance for this patient.",
            ),
            _in("condition", "1", "string", "ICD-10-CM code, system|code, or one of MDD, GAD, bipolar."),
            _in(
                "min-efficacy",
                "1",
                "decimal",
                "Leave out candidates whose response probability is lower (0-1); with either filter, candidates "
                "without a model estimate are left out too.",
            ),
            _in(
                "max-side-effect-risk",
                "1",
                "decimal",
                "Leave out candidates whose largest side-effect probability is higher (0-1).",
            ),
            {
                "name": "return",
                "use": "out",
                "min": 1,
                "max": "1",
                "type": "Bundle",
                "documentation": "A collection Bundle: RiskAssessments, then what they reference.",
            },
        ],
    }


def _in(name: str, most: str, kind: str, documentation: str) -> dict[str, Any]:
    return {"name": name, "use": "in", "min": 0, "max": most, "type": kind, "documentation": documentation}
