"""The authorization server's HMAC secret, and the two things it signs: CSRF tokens and pending-request tickets.

The secret is 32 random bytes in `<keys_dir>/browser-secret`, created on first use with mode 0600 beside the
signing keys (never in the repository); a file readable by group or others is refused, as `KeyRing` does.
Every process sharing the keys directory shares the secret, so a form rendered by one worker verifies in
another.

CSRF tokens are `HMAC(secret, "csrf" || binding)` where the binding is a value only the user's browser holds
in an HttpOnly cookie (the login session id once signed in, a random pre-login cookie before). A cross-site
page can make the browser send the cookie but cannot read it, so it cannot compute the token; comparing with
`hmac.compare_digest` keeps the check constant-time.

Signed blobs (`SignedCodec`) carry state between the pages of one authorization (see
`fhir_server.auth.authorize_request.PendingAuthorization`): base64url JSON, a dot, and the HMAC over the
purpose and the payload, so a blob signed for one purpose is useless for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

SECRET_FILE = "browser-secret"
_SECRET_BYTES = 32


class CsrfError(Exception):
    """A state-changing form arrived without a valid CSRF token; `missing` tells absent from wrong."""

    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing


class TamperedError(Exception):
    """A signed blob was altered, signed for another purpose, or is not one of ours."""


class SecretFileError(Exception):
    """The secret file exists but is unsafe (readable by others) or malformed: a start-up failure."""


def load_or_create_secret(directory: Path) -> bytes:
    """The server's browser-facing HMAC secret, made on first use (mode 0600, atomically, race-safe)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(_SECRET_BYTES))
        handle.flush()
        os.fsync(handle.fileno())
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & 0o077:
        raise SecretFileError(f"{path} is readable by other users (mode {oct(mode & 0o777)}); expected 0600")
    data = path.read_bytes()
    if len(data) != _SECRET_BYTES:
        # Another process may be between creating and writing the file; its content is checked next start.
        raise SecretFileError(f"{path} does not hold a {_SECRET_BYTES}-byte secret")
    return data


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CsrfGuard:
    """Issues and checks CSRF tokens bound to a browser-held cookie value."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token_for(self, binding: str) -> str:
        return _b64(hmac.new(self._secret, b"csrf\0" + binding.encode("utf-8"), hashlib.sha256).digest())

    def check(self, binding: str | None, token: str | None) -> None:
        """Raise `CsrfError` unless `token` was issued for `binding`."""
        if not token or not binding:
            raise CsrfError("the form's CSRF token or its cookie is missing", missing=True)
        if not hmac.compare_digest(self.token_for(binding).encode("ascii"), token.encode("utf-8", "replace")):
            raise CsrfError("the form's CSRF token does not match this browser", missing=False)


class SignedCodec:
    """JSON objects signed with the server secret for one purpose; tamper-evident, not encrypted."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._secret = secret
        self._purpose = purpose.encode("utf-8")

    def _mac(self, payload: str) -> str:
        message = self._purpose + b"\0" + payload.encode("ascii")
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any]) -> str:
        payload = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def loads(self, blob: str) -> dict[str, Any]:
        payload, dot, mac = blob.partition(".")
        if not dot or not payload.isascii() or not hmac.compare_digest(self._mac(payload).encode(), mac.encode()):
            raise TamperedError("the signed value was altered or is not ours")
        try:
            data = json.loads(_unb64(payload))
        except ValueError as exc:
            raise TamperedError("the signed value does not decode") from exc
        if not isinstance(data, dict):
            raise TamperedError("the signed value is not an object")
        return data
