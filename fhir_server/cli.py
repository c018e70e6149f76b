"""The `novamind` command line.

Server commands live here; other packages contribute command groups through the `novamind.commands`
entry-point group (each entry point is a `register(subparsers)` callable), so the server package never
imports the ML engine and the CLI still offers `novamind train …` / `novamind evaluate …`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from fhir_server import admin_cli
from fhir_server.audit import cli as audit_cli


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the FHIR server (embedded SQLite unless --database-url is given)")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--database-url", default=None, help="e.g. postgresql+asyncpg://user:pw@host/db")
    p.add_argument("--data-dir", default=None, help="where the embedded database lives (./novamind-data)")
    p.add_argument("--demo", action="store_true", help="load the demo patients before serving")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--observation-coding-check",
        choices=("off", "warn", "reject"),
        default=None,
        help="Observations with a LOINC measure in a wrong or non-UCUM unit: store and warn (default), or reject",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="local development only: serve the FHIR API without authorization (loopback only; warns on start)",
    )
    p.set_defaults(func=_serve)


def _settings_from(args: argparse.Namespace):
    from fhir_server.settings import Settings

    overrides = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
            "data_dir": args.data_dir,
            "insecure_no_auth": True if getattr(args, "no_auth", False) else None,
            "observation_coding_check": getattr(args, "observation_coding_check", None),
        }.items()
        if v is not None
    }
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    from fhir_server.server import serve

    return serve(_settings_from(args), demo=args.demo, workers=args.workers)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="load synthetic demo patients into the database")
    p.add_argument("--database-url", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from fhir_server.demo import load_demo

    count = asyncio.run(load_demo(_settings_from(args)))
    print(f"loaded {count} demo resources")
    return 0


def _add_launch(sub: argparse._SubParsersAction) -> None:
    from fhir_server.api.oauth.launch import add_launch_command

    add_launch_command(sub, _settings_from)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="novamind", description="NovaMind Twin FHIR server")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_demo(sub)
    audit_cli.register(sub, _settings_from)
    _add_launch(sub)
    admin_cli.register(sub, _settings_from)
    for ep in sorted(entry_points(group="novamind.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
