"""One module per $operation; `OPERATIONS` tells the CapabilityStatement where each is offered."""

from fhir_server.api.operations import everything, validate

OPERATIONS: dict[str, tuple[str, ...]] = {
    "$everything": everything.OFFERED_ON,
    "$validate": validate.OFFERED_ON,
}
ROUTERS = (everything.router, validate.router)
