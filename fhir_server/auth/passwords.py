"""Password and client-secret hashing with argon2id (RFC 9106), off the event loop.

Verification of an unknown name runs against a dummy hash made with the same parameters, so a caller cannot
tell "no such user" from "wrong password" by timing. Hashing is deliberately slow (tens of milliseconds and
tens of megabytes), so it runs in a worker thread rather than stalling every other request.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """argon2id hashing with one set of cost parameters (RFC 9106's second recommendation by default)."""

    def __init__(self, *, time_cost: int = 3, memory_cost_kib: int = 65_536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism, type=Type.ID
        )
        self._dummy: str | None = None  # made on first need: hashing costs most of a second per process

    async def hash(self, password: str) -> str:
        if not password:
            raise ValueError("an empty password cannot be hashed")
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no stored hash, the same work is done and False returned."""
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is None and self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        try:
            matched = self._hasher.verify(stored_hash or self._dummy or "", password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and stored_hash is not None
