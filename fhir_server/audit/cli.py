"""`novamind audit verify`: seal what is unsealed, recompute the whole hash chain, exit 1 on tampering.

It runs against the same data directory / database as `novamind serve` (while the server runs, too: sealing
is one-at-a-time on both databases). The head hash it prints is what to anchor outside the database (a
ticket, a log shipper, a signed email), since only an anchor reveals a deleted tail of the chain.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhir_server.audit.chain import AuditVerification
    from fhir_server.settings import Settings

SettingsFrom = Callable[[argparse.Namespace], "Settings"]


def register(sub: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    """Add `novamind audit verify` to the CLI; `settings_from` is the CLI's own option -> Settings helper."""
    audit = sub.add_parser("audit", help="the HIPAA audit trail")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = commands.add_parser("verify", help="seal new audit rows, then verify the whole hash chain")
    verify.add_argument("--database-url", default=None)
    verify.add_argument("--data-dir", default=None)
    verify.add_argument("--no-seal", action="store_true", help="only verify; leave unsealed rows as they are")
    verify.set_defaults(host=None, port=None, func=lambda args: _verify(args, settings_from))


def _verify(args: argparse.Namespace, settings_from: SettingsFrom) -> int:
    sealed, result = asyncio.run(_seal_and_verify(settings_from(args), seal=not args.no_seal))
    print(report(result, sealed=sealed))
    return 0 if result.ok else 1


async def _seal_and_verify(settings: Settings, *, seal: bool) -> tuple[int, AuditVerification]:
    from fhir_server.audit.trail import AuditTrail
    from fhir_server.storage.db import create_engine
    from fhir_server.storage.migrate import upgrade

    engine = create_engine(settings.resolved_database_url())
    try:
        await upgrade(engine)
        trail = AuditTrail(engine, base_url=settings.base_url())
        sealed = await trail.seal() if seal else 0
        return sealed, await trail.verify()
    finally:
        await engine.dispose()


def report(result: AuditVerification, *, sealed: int) -> str:
    status = "OK" if result.ok else f"TAMPERED at chain position {result.broken_at}: {result.problem}"
    return "\n".join(
        (
            f"audit trail: {status}",
            f"rows sealed now: {sealed}",
            f"rows verified: {result.checked}",
            f"rows not yet sealed: {result.unsealed}",
            f"{'head' if result.ok else 'last verified'}: position {result.head_seq}, hash {result.head_hash}",
        )
    )
