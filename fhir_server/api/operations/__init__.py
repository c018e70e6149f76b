"""One module per $operation; `OPERATIONS` tells the CapabilityStatement where each is offered."""

from fhir_server.api.operations import (
    everything,
    expand,
    lookup,
    medication_recommendations,
    subsumes,
    translate,
    validate,
    validate_code,
)

OPERATIONS: dict[str, tuple[str, ...]] = {
    "$everything": everything.OFFERED_ON,
    "$validate": validate.OFFERED_ON,
    "$lookup": lookup.OFFERED_ON,
    "$validate-code": validate_code.OFFERED_ON,
    "$expand": expand.OFFERED_ON,
    "$translate": translate.OFFERED_ON,
    "$subsumes": subsumes.OFFERED_ON,
    "$medication-recommendations": medication_recommendations.OFFERED_ON,
}
ROUTERS = (
    everything.router,
    validate.router,
    lookup.router,
    validate_code.router,
    expand.router,
    translate.router,
    subsumes.router,
    medication_recommendations.router,
)
