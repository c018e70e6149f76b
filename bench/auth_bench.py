"""Authorization cost: what checking an access token costs per request, and read throughput with auth on and off.

    .venv/bin/python bench/auth_bench.py micro [--runs 5000]
    .venv/bin/python bench/auth_bench.py http [--duration 10] [--connections 16]
    .venv/bin/python bench/auth_bench.py all

`micro` times, in process on the real app (no HTTP): `AccessTokenService.verify` for RS384 and ES384 tokens,
the revocation lookup `AuthStore.access_token_active`, building an `AccessPolicy` from scratch, and the whole
per-request check the FHIR API runs (`fhir_server.api.security.request_access`: verify + revocation lookup +
cached policy), for a system token and a patient-scoped token. Each figure is p50/p99 over `--runs` calls
after a warm-up, in microseconds.

`http` starts `novamind serve` on one data directory, loads patients and Observations, and drives
`GET /fhir/Patient/{id}` and `GET /fhir/Observation/{id}` with wrk: with a full-access (`system/*.rs`) token,
with a patient-scoped (`patient/*.rs`) token for the patient who owns the resources read (the compartment
check), and on the same database restarted with `--no-auth`. All three read the same resources, so only the
authorization work differs (every read is audited in all three).

Both run on SQLite, and on PostgreSQL too when NOVAMIND_BENCH_POSTGRES_URL names an empty database that may be
wiped. Needs wrk for `http`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("NOVAMIND_BENCH_POSTGRES_URL")
REDIRECT = "http://127.0.0.1/bench-callback"


def databases() -> list[tuple[str, str | None]]:
    """(label, database URL or None for the embedded SQLite of the data directory)."""
    found: list[tuple[str, str | None]] = [("SQLite", None)]
    if POSTGRES_URL:
        found.append(("PostgreSQL", POSTGRES_URL))
    return found


def wipe_postgres(url: str) -> None:
    from tests.conftest import _reset_postgres

    asyncio.run(_reset_postgres(url))


# ---- micro: the per-request check, in process ----------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    name: str
    p50_us: float
    p99_us: float
    mean_us: float


def _summary(name: str, samples_ns: list[int]) -> Timing:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Timing(name, statistics.median(ordered) / 1000, p99 / 1000, statistics.fmean(ordered) / 1000)


def time_sync(name: str, call: Callable[[], object], runs: int) -> Timing:
    for _ in range(min(200, runs)):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return _summary(name, samples)


async def time_async(name: str, call: Callable[[], Awaitable[object]], runs: int) -> Timing:
    for _ in range(min(200, runs)):
        await call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        await call()
        samples.append(time.perf_counter_ns() - start)
    return _summary(name, samples)


async def micro(database_url: str | None, runs: int) -> list[Timing]:
    from jose import jwk, jwt
    from jose.utils import base64url_decode
    from starlette.requests import Request

    from fhir_server.api.security import request_access
    from fhir_server.app import create_app
    from fhir_server.auth.policy import build_policy
    from fhir_server.auth.records import Client, ClientKind
    from fhir_server.auth.scopes import parse_scopes
    from fhir_server.auth.tokens import AccessTokenService
    from fhir_server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="novamind-authbench-") as tmp:
        data = Path(tmp)
        settings = Settings(
            database_url=database_url or f"sqlite+aiosqlite:///{data / 'bench.sqlite3'}",
            data_dir=data,
            keys_dir=data / "keys",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            auth = app.state.services.auth
            await auth.store.add_client(
                Client("bench", "bench", ClientKind.PUBLIC, (REDIRECT,), "system/*.rs patient/*.rs")
            )
            system = await auth.issue_access_token(
                subject="bench", client_id="bench", scopes=parse_scopes("system/*.rs")
            )
            patient = await auth.issue_access_token(
                subject="bench", client_id="bench", scopes=parse_scopes("patient/*.rs"), patient="pat-1"
            )
            es384 = AccessTokenService(auth.keys, issuer=auth.issuer, audience=auth.issuer, algorithm="ES384")
            es_token = es384.issue(subject="bench", client_id="bench", scopes=parse_scopes("system/*.rs"))

            def request_with(token: str) -> Callable[[], Awaitable[object]]:
                headers = [(b"authorization", f"Bearer {token}".encode())]

                def call() -> Awaitable[object]:
                    scope = {
                        "type": "http",
                        "app": app,
                        "method": "GET",
                        "path": "/fhir/Patient/pat-1",
                        "query_string": b"",
                        "headers": headers,
                        "client": ("127.0.0.1", 40000),
                    }
                    return request_access(Request(scope))

                return call

            patient_scopes = parse_scopes("patient/*.rs")
            # The floor under `verify`: the RS384 signature check alone, with the key object built once.
            signing_input, _, signature = system.token.encode("ascii").rpartition(b".")
            rs384_key = auth.keys.verification_key(jwt.get_unverified_header(system.token)["kid"])
            verifying_key = jwk.construct(dict(rs384_key.public_jwk), "RS384")
            raw_signature = base64url_decode(signature)
            return [
                time_sync(
                    "RS384 signature only (key object built once)",
                    lambda: verifying_key.verify(signing_input, raw_signature),
                    runs,
                ),
                time_sync(
                    "verify RS384 token (AccessTokenService.verify)", lambda: auth.tokens.verify(system.token), runs
                ),
                time_sync(
                    "verify ES384 token (AccessTokenService.verify)", lambda: auth.tokens.verify(es_token.token), runs
                ),
                await time_async(
                    "revocation lookup (AuthStore.access_token_active)",
                    lambda: auth.store.access_token_active(system.claims.jti),
                    runs,
                ),
                time_sync(
                    "policy built from scratch (build_policy, patient/*.rs)",
                    lambda: build_policy(patient_scopes, patient="pat-1"),
                    runs,
                ),
                await time_async("full check, system/*.rs token (request_access)", request_with(system.token), runs),
                await time_async("full check, patient/*.rs token (request_access)", request_with(patient.token), runs),
            ]


def run_micro(runs: int) -> None:
    print(f"== per-request token check, {runs} runs each after a warm-up (µs)")
    for label, url in databases():
        if url:
            wipe_postgres(url)
        timings = asyncio.run(micro(url, runs))
        print(f"\n{label}\n\n| step | p50 µs | p99 µs | mean µs |\n|---|---|---|---|")
        for t in timings:
            print(f"| {t.name} | {t.p50_us:,.1f} | {t.p99_us:,.1f} | {t.mean_us:,.1f} |")


# ---- http: read throughput with auth on and off ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def novamind(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "fhir_server.cli", *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout.strip()


@contextlib.contextmanager
def serving(args: list[str], port: int, log: Path) -> Iterator[str]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            time.sleep(0.3)
        yield base
    finally:
        # Shutting down writes and seals the audit records still queued: after a load run that takes a while.
        stopping = time.monotonic()
        proc.terminate()
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"   (server on port {port} took {time.monotonic() - stopping:.1f} s to stop)", flush=True)


def seed(base: str, token: str, patients: int, per_patient: int) -> dict[str, list[str]]:
    """Patients and their Observations, in transaction Bundles; the ids of the first patient's resources."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    first_observations: list[str] = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for p in range(patients):
            pid = f"authbench-{p}"
            patient = {"resourceType": "Patient", "id": pid, "name": [{"family": f"Bench{p}"}]}
            http.put(f"/Patient/{pid}", json=patient).raise_for_status()
            entries = [
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                        "subject": {"reference": f"Patient/{pid}"},
                        "valueQuantity": {"value": i % 27, "system": "http://unitsofmeasure.org", "code": "{score}"},
                    },
                    "request": {"method": "POST", "url": "Observation"},
                }
                for i in range(per_patient)
            ]
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            response = http.post("", json=bundle)
            response.raise_for_status()
            if p == 0:
                locations = [e["response"]["location"] for e in response.json()["entry"]]
                first_observations = [re.search(r"Observation/([^/]+)", loc).group(1) for loc in locations]  # type: ignore[union-attr]
    return {"Patient": ["authbench-0"], "Observation": first_observations}


def lua_script(directory: Path, res_type: str, ids: list[str]) -> Path:
    ids_file = directory / f"{res_type}.ids"
    ids_file.write_text("\n".join(ids) + "\n")
    script = directory / f"read_{res_type}.lua"
    script.write_text(
        f"""local ids = {{}}
for line in io.lines("{ids_file}") do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/fhir/{res_type}/" .. ids[(i % #ids) + 1])
end
"""
    )
    return script


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50: str
    p99: str
    non_2xx: int


def wrk(port: int, script: Path, token: str | None, duration: int, connections: int) -> WrkResult:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    if token is not None:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return WrkResult(rate, p50, p99, int(non_2xx.group(1)) if non_2xx else 0)


def run_http(duration: int, connections: int, patients: int, per_patient: int) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the http benchmark (apt-get install wrk)")
    print(f"== read throughput, wrk -t2 -c{connections} -d{duration}s; {os.cpu_count()} CPUs")
    for label, url in databases():
        with tempfile.TemporaryDirectory(prefix="novamind-authbench-") as tmp:
            work = Path(tmp)
            args = ["--data-dir", str(work / "data")]
            workers = ["--workers", "1"]
            if url:
                wipe_postgres(url)
                args += ["--database-url", url]
                workers = ["--workers", "2"]
            port = _free_port()
            log = work / "server.log"
            novamind("clients", "add", "authbench", "--kind", "public", "--redirect-uri", REDIRECT,
                     "--scope", "system/*.cruds patient/*.rs", *args)  # fmt: skip
            scripts: dict[str, Path] = {}
            results: dict[tuple[str, str], WrkResult] = {}
            with serving([*args, *workers], port, log) as base:
                token_args = ["--client-id", "authbench", "--port", str(port), *args]
                writer = novamind("token", "--scope", "system/*.cruds", *token_args)
                ids = seed(base, writer, patients, per_patient)
                scripts = {t: lua_script(work, t, v) for t, v in ids.items()}
                system = novamind("token", "--scope", "system/*.rs", *token_args)
                own = novamind("token", "--scope", "patient/*.rs", "--patient", "authbench-0", *token_args)
                for mode, token in (("system/*.rs token", system), ("patient/*.rs token", own)):
                    for res_type, script in scripts.items():
                        results[(mode, res_type)] = wrk(port, script, token, duration, connections)
                        print(f"   {res_type} {mode}: {results[(mode, res_type)]}", flush=True)
            with serving([*args, *workers, "--no-auth"], port, log):
                for res_type, script in scripts.items():
                    results[("--no-auth", res_type)] = wrk(port, script, None, duration, connections)
                    print(f"   {res_type} --no-auth: {results[('--no-auth', res_type)]}", flush=True)
        print(f"\n{label}, {patients} patients × {per_patient} Observations\n")
        print("| read | auth | reads/s | p50 | p99 | non-2xx |\n|---|---|---|---|---|---|")
        for res_type in ("Patient", "Observation"):
            for mode in ("--no-auth", "system/*.rs token", "patient/*.rs token"):
                r = results[(mode, res_type)]
                print(f"| {res_type}/{{id}} | {mode} | {r.requests_per_s:,.0f} | {r.p50} | {r.p99} | {r.non_2xx} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["micro", "http", "all"], nargs="?", default="all")
    parser.add_argument("--runs", type=int, default=5000, help="micro: timed calls per step")
    parser.add_argument("--duration", type=int, default=10, help="http: seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--per-patient", type=int, default=50)
    args = parser.parse_args()
    print(f"== machine: {os.cpu_count()} CPUs, {sys.platform}, Python {sys.version.split()[0]}")
    if args.what in ("micro", "all"):
        run_micro(args.runs)
    if args.what in ("http", "all"):
        run_http(args.duration, args.connections, args.patients, args.per_patient)


if __name__ == "__main__":
    main()
