"""The HTTP edge: routers, content negotiation and OperationOutcome rendering. No business rules here."""
