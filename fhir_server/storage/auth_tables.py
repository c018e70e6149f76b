"""Tables of the SMART authorization server (clients, users, sessions, launches, codes, tokens)."""

from __future__ import annotations
