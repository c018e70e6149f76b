"""Typed errors of the terminology API; the FHIR server decides how each is reported over HTTP."""

from __future__ import annotations


class TerminologyError(Exception):
    """Base class; `message` is written for the person who sent the request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownCodeSystem(TerminologyError):
    """No code system with that URL (and version) is held here."""


class UnknownValueSet(TerminologyError):
    """No value set with that URL (and version) is held here."""


class UnknownConceptMap(TerminologyError):
    """No concept map with that URL (and version), or none between the systems asked for."""


class UnknownCode(TerminologyError):
    """The code system is held, but the code is not in it (or not in the subset shipped for it)."""


class NoHierarchy(TerminologyError):
    """Subsumption was asked of a code system whose shipped content has no hierarchy."""


class BadTerminologyRequest(TerminologyError):
    """The request itself is malformed (a missing code, a negative count, ...)."""
