"""Tables of the hash-chained audit trail."""

from __future__ import annotations
