"""`novamind users|clients|token|keys …`: administering the authorization server.

The commands work on the same database and key directory as `novamind serve` with the same options (and
`NOVAMIND_*` variables), migrating the database first, so they can run before the server ever started.
Secrets go only where they must: passwords are read with `getpass` (or one line of stdin for scripts) and
never echoed; a symmetric client's generated secret and a requested token are printed once, to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fhir_server.auth.components import AuthComponents, build_auth_components
from fhir_server.auth.errors import InvalidScope
from fhir_server.auth.keys import SIGNING_ALGORITHMS
from fhir_server.auth.records import Client, ClientKind, User
from fhir_server.auth.roles import Role
from fhir_server.auth.scopes import parse_scopes
from fhir_server.auth.store import AuthRecordExistsError
from fhir_server.settings import Settings
from fhir_server.storage.db import create_engine
from fhir_server.storage.migrate import upgrade

SettingsFrom = Callable[[argparse.Namespace], Settings]
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class AdminError(Exception):
    """A command cannot do what was asked; the message is printed and the exit status is 2."""


def register(sub: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    """Add the `users`, `clients` and `token` commands; `settings_from` is the CLI's settings helper."""
    _add_users(sub, settings_from)
    _add_clients(sub, settings_from)
    _add_token(sub, settings_from)
    _add_keys(sub, settings_from)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--host", default=None, help="with --port: the server whose issuer tokens name")
    parser.add_argument("--port", type=int, default=None)


def _command(
    parser: argparse.ArgumentParser,
    settings_from: SettingsFrom,
    action: Callable[[AuthComponents, argparse.Namespace], Awaitable[None]],
) -> None:
    _server_options(parser)

    def run(args: argparse.Namespace) -> int:
        try:
            asyncio.run(_with_auth(settings_from(args), action, args))
        except AdminError as exc:
            print(f"novamind {args.command}: {exc}", file=sys.stderr)
            return 2
        return 0

    parser.set_defaults(func=run)


async def _with_auth(
    settings: Settings,
    action: Callable[[AuthComponents, argparse.Namespace], Awaitable[None]],
    args: argparse.Namespace,
) -> None:
    engine = create_engine(settings.resolved_database_url())
    try:
        await upgrade(engine)
        await action(build_auth_components(settings, engine), args)
    finally:
        await engine.dispose()


# -- users ------------------------------------------------------------------------------------------------


def _add_users(sub: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    users = sub.add_parser("users", help="sign-in accounts: clinicians (with a role) and patients")
    commands = users.add_subparsers(dest="users_command", required=True)
    add = commands.add_parser("add", help="add a user; the password is asked for (or read from stdin)")
    add.add_argument("username")
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("--role", choices=[r.value for r in Role], help="a clinician's role")
    who.add_argument("--patient", metavar="PATIENT_ID", help="a patient: the Patient resource id they are")
    add.add_argument("--fhir-user", help="the fhirUser reference, e.g. Practitioner/123 (patients: Patient/<id>)")
    add.add_argument("--name", help="display name (defaults to the username)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    _command(add, settings_from, _users_add)
    _command(commands.add_parser("list", help="list users"), settings_from, _users_list)


async def _users_add(auth: AuthComponents, args: argparse.Namespace) -> None:
    fhir_user = args.fhir_user or (f"Patient/{args.patient}" if args.patient else None)
    user = User(
        username=args.username,
        display_name=args.name or args.username,
        role=Role(args.role) if args.role else None,
        patient_id=args.patient,
        fhir_user=fhir_user,
    )
    password = _read_password(args.password_stdin)
    try:
        await auth.store.add_user(user, password)
    except AuthRecordExistsError as exc:
        raise AdminError(str(exc)) from exc
    print(f"added user {user.username}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise AdminError("the passwords do not match")
    if len(password) < 8:
        raise AdminError("the password must have at least 8 characters")
    return password


async def _users_list(auth: AuthComponents, _: argparse.Namespace) -> None:
    for user in await auth.store.users():
        kind = f"role={user.role.value}" if user.role else f"patient={user.patient_id}"
        print("\t".join((user.username, kind, user.fhir_user or "-", user.display_name)))


# -- clients ------------------------------------------------------------------------------------------------


def _add_clients(sub: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    clients = sub.add_parser("clients", help="registered apps and backend services")
    commands = clients.add_subparsers(dest="clients_command", required=True)
    add = commands.add_parser("add", help="register a client (symmetric: prints its generated secret once)")
    add.add_argument("client_id")
    add.add_argument("--kind", required=True, choices=[k.value for k in ClientKind])
    add.add_argument("--redirect-uri", action="append", default=[], help="exact redirect URI (repeatable)")
    add.add_argument("--scope", required=True, help='the scopes it may ever be granted, e.g. "launch patient/*.rs"')
    keys = add.add_mutually_exclusive_group()
    keys.add_argument("--jwks", type=Path, help="asymmetric: a file holding the client's public JWK Set")
    keys.add_argument("--jwks-url", help="asymmetric: where the client publishes its JWK Set")
    add.add_argument("--can-launch", action="store_true", help="an EHR allowed to mint launch handles")
    add.add_argument("--name", help="display name (defaults to the client id)")
    _command(add, settings_from, _clients_add)
    _command(commands.add_parser("list", help="list clients"), settings_from, _clients_list)


async def _clients_add(auth: AuthComponents, args: argparse.Namespace) -> None:
    kind = ClientKind(args.kind)
    _check_scope(args.scope)
    if kind is ClientKind.ASYMMETRIC and args.jwks is None and args.jwks_url is None:
        raise AdminError("an asymmetric client needs --jwks FILE or --jwks-url URL")
    if kind is not ClientKind.ASYMMETRIC and (args.jwks is not None or args.jwks_url is not None):
        raise AdminError("--jwks and --jwks-url are for asymmetric clients only")
    if kind is ClientKind.PUBLIC and not args.redirect_uri:
        raise AdminError("a public client needs at least one --redirect-uri")
    client = Client(
        client_id=args.client_id,
        name=args.name or args.client_id,
        kind=kind,
        redirect_uris=tuple(args.redirect_uri),
        scope=args.scope,
        jwks=_read_jwks(args.jwks) if args.jwks is not None else None,
        jwks_uri=args.jwks_url,
        can_launch=args.can_launch,
    )
    secret = secrets.token_urlsafe(32) if kind is ClientKind.SYMMETRIC else None
    try:
        await auth.store.add_client(client, secret=secret)
    except AuthRecordExistsError as exc:
        raise AdminError(str(exc)) from exc
    print(f"registered {kind.value} client {client.client_id}")
    if secret is not None:
        print(f"client_secret: {secret}")
        print("(shown once: store it now; only its hash is kept)", file=sys.stderr)


def _check_scope(scope: str) -> None:
    try:
        if not parse_scopes(scope):
            raise AdminError("--scope names no scopes")
    except InvalidScope as exc:
        raise AdminError(exc.description) from exc


def _read_jwks(path: Path) -> Mapping[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdminError(f"cannot read a JSON JWK Set from {path}: {exc}") from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
        raise AdminError(f"{path} is not a JWK Set (an object with a non-empty 'keys' list)")
    if any(_PRIVATE_JWK_MEMBERS & set(key) for key in keys):
        raise AdminError(f"{path} holds private key material; register the public keys only")
    return document  # type: ignore[no-any-return]


async def _clients_list(auth: AuthComponents, _: argparse.Namespace) -> None:
    for client in await auth.store.clients():
        keys = client.jwks_uri or ("jwks" if client.jwks else "-")
        launch = "can-launch" if client.can_launch else "-"
        print(
            "\t".join(
                (client.client_id, client.kind.value, client.scope, ",".join(client.redirect_uris) or "-", keys, launch)
            )
        )


# -- token --------------------------------------------------------------------------------------------------


def _add_token(sub: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    token = sub.add_parser("token", help="print a signed access token (scripting and tests)")
    token.add_argument("--client-id", required=True, help="a registered client; the token is issued to it")
    token.add_argument("--scope", required=True, help="within the client's registered scopes")
    token.add_argument("--patient", help="the patient in context (patient/ scopes)")
    token.add_argument("--user", help="issue on behalf of this user (role, fhirUser) instead of the client")
    token.add_argument("--lifetime", type=int, help="seconds (default: the server's access token lifetime)")
    _command(token, settings_from, _token)


async def _token(auth: AuthComponents, args: argparse.Namespace) -> None:
    client = await auth.store.client(args.client_id)
    if client is None:
        raise AdminError(f"no client {args.client_id!r} is registered")
    try:
        requested = parse_scopes(args.scope)
    except InvalidScope as exc:
        raise AdminError(exc.description) from exc
    if not requested or requested.within(parse_scopes(client.scope)) != requested:
        raise AdminError(f"--scope must lie within the client's registered scopes ({client.scope})")
    if args.lifetime is not None and args.lifetime <= 0:
        raise AdminError("--lifetime must be a positive number of seconds")
    user = await auth.store.user(args.user) if args.user else None
    if args.user and user is None:
        raise AdminError(f"no user {args.user!r}")
    if user is not None and user.patient_id and args.patient not in (None, user.patient_id):
        raise AdminError("a patient user's token can only be for their own record")
    issued = await auth.issue_access_token(
        subject=user.username if user else client.client_id,
        client_id=client.client_id,
        scopes=requested,
        patient=args.patient or (user.patient_id if user else None),
        fhir_user=user.fhir_user if user else None,
        role=user.role if user else None,
        lifetime=timedelta(seconds=args.lifetime) if args.lifetime else None,
    )
    print(issued.token)


# -- keys ---------------------------------------------------------------------------------------------------


def _add_keys(sub: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    keys = sub.add_parser("keys", help="the server's signing keys (under <data dir>/keys)")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = commands.add_parser(
        "rotate", help="make new active keys; the old ones keep verifying (and stay in the JWKS) until retired"
    )
    rotate.add_argument("--alg", choices=list(SIGNING_ALGORITHMS), help="one algorithm (default: all)")
    rotate.add_argument(
        "--retire-after",
        type=int,
        default=86_400,
        help="seconds the old keys still verify; at least the longest token lifetime (default one day)",
    )
    _command(rotate, settings_from, _keys_rotate)
    _command(commands.add_parser("list", help="list keys: kid, algorithm, created, retires"), settings_from, _keys_list)


async def _keys_rotate(auth: AuthComponents, args: argparse.Namespace) -> None:
    if args.retire_after < 0:
        raise AdminError("--retire-after must not be negative")
    for key in auth.keys.rotate(args.alg, retire_after=timedelta(seconds=args.retire_after)):
        print(f"new active {key.alg} key {key.kid}")


async def _keys_list(auth: AuthComponents, args: argparse.Namespace) -> None:
    for key in auth.keys.keys:
        retires = key.retire_at.isoformat() if key.retire_at else "active"
        print("\t".join((key.kid, key.alg, key.created_at.isoformat(), retires)))
