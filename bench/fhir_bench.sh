#!/usr/bin/env bash
# FHIR server benchmark: ingest (transaction bundles of 100), read-by-id and search under concurrent load.
# Usage: bash bench/fhir_bench.sh sqlite|postgres [WORKERS]
# For postgres set NOVAMIND_BENCH_POSTGRES_URL (an empty database we may wipe). Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-sqlite}
WORKERS=${2:-2}
PORT=${PORT:-18080}
DATA=$(mktemp -d /tmp/novamind-bench.XXXXXX)
ARGS=(serve --port "$PORT" --data-dir "$DATA" --workers "$WORKERS")
if [ "$DB" = postgres ]; then
  : "${NOVAMIND_BENCH_POSTGRES_URL:?set NOVAMIND_BENCH_POSTGRES_URL}"
  .venv/bin/python - <<PY
import asyncio
from tests.conftest import _reset_postgres
asyncio.run(_reset_postgres("$NOVAMIND_BENCH_POSTGRES_URL"))
PY
  ARGS+=(--database-url "$NOVAMIND_BENCH_POSTGRES_URL")
fi
.venv/bin/novamind "${ARGS[@]}" >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/fhir/metadata" >/dev/null && break; sleep 0.3; done
B="http://127.0.0.1:$PORT/fhir"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; database: $DB; workers: $WORKERS"
echo "== ingest"
.venv/bin/python bench/fhir_ingest.py "$B" --patients "${PATIENTS:-50}" --per-patient "${PER_PATIENT:-200}" --concurrency 4
.venv/bin/python -c "import json;d=json.load(open('bench/.ids.json'));open('bench/.obs_ids.txt','w').write('\n'.join(d['observations']));open('bench/.patient_ids.txt','w').write('\n'.join(d['patients']))"
echo "== read by id (wrk, 16 connections, 20 s)"
wrk -t2 -c16 -d20s --latency -s bench/read.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "== search Observation?patient&code&date=ge&_count=50 (wrk, 16 connections, 20 s)"
wrk -t2 -c16 -d20s --latency -s bench/search.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|50%|99%|Non-2xx"
