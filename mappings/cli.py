"""`novamind import FORMAT FILE --patient ID`, contributed through the `novamind.commands` entry point.

The importer talks to a running server over HTTP, like any other client, so it needs a token
(`--token` or `NOVAMIND_TOKEN`; mint one with `novamind token --client-id … --scope 'system/*.cruds'`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from tqdm import tqdm

from mappings.fhir_client import FhirClient, FhirRequestError
from mappings.import_summary import ImportSummary
from mappings.importer import DEFAULT_BATCH, ImportAbortedError, import_bundle, import_wearables
from mappings.wearables.formats import NO_TIMEZONE, READERS

DEFAULT_SERVER = "http://127.0.0.1:8080/fhir"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="import a wearable export, a legacy payload or a FHIR Bundle into a running server",
        description="Validates the whole file first: nothing is imported if a record is rejected, unless "
        "--keep-going. Re-importing a file adds nothing (each record has a stable identifier).",
    )
    p.add_argument("format", choices=[*READERS, "bundle"])
    p.add_argument("file", type=Path)
    p.add_argument("--patient", help="the Patient id the records belong to (required except for bundle)")
    p.add_argument("--server", default=DEFAULT_SERVER, help=f"FHIR base URL (default {DEFAULT_SERVER})")
    p.add_argument("--token", default=None, help="bearer token (default: $NOVAMIND_TOKEN)")
    p.add_argument("--keep-going", action="store_true", help="import the valid records even if some are rejected")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="Observations per transaction Bundle")
    p.add_argument(
        "--timezone",
        default=None,
        help="IANA zone of local times written without a UTC offset: Fitbit's (default UTC) and a legacy "
        "payload's (without this option such times are rejected)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_import)


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    return ZoneInfo(name)


def _progress(quiet: bool) -> Callable[[int], Callable[[int], None]]:
    def start(total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, unit="rec", disable=quiet, file=sys.stderr)
        return bar.update

    return start


def run_import(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("NOVAMIND_TOKEN")
    if args.format != "bundle" and not args.patient:
        print("novamind import: --patient is required for every format but bundle", file=sys.stderr)
        return 2
    if args.batch < 1:
        print("novamind import: --batch must be at least 1", file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"novamind import: {args.file} is not a file", file=sys.stderr)
        return 2
    try:
        zone = NO_TIMEZONE if args.timezone is None else _zone(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"novamind import: unknown time zone {args.timezone!r}", file=sys.stderr)
        return 2
    progress = _progress(args.quiet)
    summary: ImportSummary
    try:
        with FhirClient(args.server, token) as client:
            if args.format == "bundle":
                summary = import_bundle(args.file, client, keep_going=args.keep_going, progress=progress)
            else:
                summary = import_wearables(
                    args.format,
                    args.file,
                    args.patient,
                    client,
                    zone=zone,
                    batch_size=args.batch,
                    keep_going=args.keep_going,
                    progress=progress,
                )
    except ImportAbortedError as exc:
        print(exc.summary.render(), file=sys.stderr)
        print(f"novamind import: {exc}", file=sys.stderr)
        return 1
    except (FhirRequestError, httpx.HTTPError, OSError) as exc:
        print(f"novamind import: {exc}", file=sys.stderr)
        return 1
    print(summary.render())
    return 0 if summary.imported and not summary.batches_failed else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m mappings.cli import …`: the same command without loading the server and the ML engine."""
    parser = argparse.ArgumentParser(prog="novamind")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
