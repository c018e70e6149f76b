"""The FHIR R4 REST facade of NovaMind Twin.

`fhir_server.app.create_app(settings)` is the composition root; nothing happens at import time.
"""
