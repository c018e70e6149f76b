"""CSRF tokens and signed pending requests: bound to what the browser holds, useless anywhere else."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fhir_server.auth.csrf import (
    SECRET_FILE,
    CsrfError,
    CsrfGuard,
    SecretFileError,
    SignedCodec,
    TamperedError,
    load_or_create_secret,
)

SECRET = b"s" * 32


def test_secret_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "keys")
    again = load_or_create_secret(tmp_path / "keys")
    assert first == again
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / "keys" / SECRET_FILE).stat().st_mode) == 0o600


def test_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path)
    (tmp_path / SECRET_FILE).chmod(0o644)
    with pytest.raises(SecretFileError):
        load_or_create_secret(tmp_path)


def test_token_issued_for_a_binding_passes() -> None:
    guard = CsrfGuard(SECRET)
    guard.check("browser-1", guard.token_for("browser-1"))


def test_token_of_another_browser_is_wrong_not_missing() -> None:
    guard = CsrfGuard(SECRET)
    with pytest.raises(CsrfError) as caught:
        guard.check("browser-2", guard.token_for("browser-1"))
    assert caught.value.missing is False


def test_token_made_with_another_secret_is_refused() -> None:
    with pytest.raises(CsrfError):
        CsrfGuard(SECRET).check("browser-1", CsrfGuard(b"t" * 32).token_for("browser-1"))


@pytest.mark.parametrize(("binding", "token"), [(None, "x"), ("browser-1", None), ("browser-1", "")])
def test_missing_token_or_cookie_is_reported_as_missing(binding: str | None, token: str | None) -> None:
    with pytest.raises(CsrfError) as caught:
        CsrfGuard(SECRET).check(binding, token)
    assert caught.value.missing is True


def test_non_ascii_token_is_refused_not_crashing() -> None:
    with pytest.raises(CsrfError):
        CsrfGuard(SECRET).check("browser-1", "é" * 43)


def test_signed_blob_round_trips() -> None:
    codec = SignedCodec(SECRET, "pending")
    assert codec.loads(codec.dumps({"a": 1, "b": "x|y"})) == {"a": 1, "b": "x|y"}


def test_edited_blob_is_refused() -> None:
    codec = SignedCodec(SECRET, "pending")
    _, _, mac = codec.dumps({"patient": "p1"}).partition(".")
    forged = SignedCodec(b"t" * 32, "pending").dumps({"patient": "p2"}).partition(".")[0]
    with pytest.raises(TamperedError):
        codec.loads(f"{forged}.{mac}")


def test_blob_signed_for_another_purpose_is_refused() -> None:
    blob = SignedCodec(SECRET, "other").dumps({"a": 1})
    with pytest.raises(TamperedError):
        SignedCodec(SECRET, "pending").loads(blob)


@pytest.mark.parametrize("blob", ["", "nodot", "abc.", ".abc", "é.é"])
def test_garbage_blob_is_refused(blob: str) -> None:
    with pytest.raises(TamperedError):
        SignedCodec(SECRET, "pending").loads(blob)
