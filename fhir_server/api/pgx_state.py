"""What the pharmacogenomics routers ($medication-recommendations, CDS Hooks) share: the app's advisor, and the
rule that a token confined to one patient may not ask about another.

A token whose every grant is confined to patient A gets 403 for patient B: the answer is decided from the token
alone, before anything is looked up, so it reveals nothing about B (not even whether B exists).
"""

from __future__ import annotations

from fastapi import Request

from fhir_server.auth.errors import InsufficientScope
from fhir_server.auth.policy import Decision
from mappings.pharmacogenomics import PgxAdvisor


def advisor(request: Request) -> PgxAdvisor:
    """The advisor `create_app` built (one per app; it loads CPIC tables and the model on first use)."""
    return request.app.state.pgx_advisor  # type: ignore[no-any-return]


def confine_to_patient(decision: Decision, patient_id: str) -> None:
    confined = decision.compartment_patient
    if confined is not None and confined != patient_id:
        raise InsufficientScope(f"the access token is limited to Patient/{confined}; it may not ask about another")
