"""The HIPAA audit trail (45 CFR 164.312(b)): AuditEvent records, written cheaply and hash-chained.

`records` is what callers build, `trail` writes them, `events` renders them as FHIR AuditEvents (IHE BALP),
`chain` seals and verifies the hash chain, `cli` is `novamind audit verify`.
"""
