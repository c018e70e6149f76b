"""Wearable import benchmark: records/s per importer (mapping only, and through a server) and the peak memory
of the Apple Health parse at two file sizes (flat memory shows the streaming works).

    .venv/bin/python bench/import_bench.py --sizes 100000 1000000 --server-records 5000

Mapping only = parse + map + build the transaction Bundles, no HTTP. Through the server = `import_wearables`
against a fresh `novamind serve --no-auth` on SQLite (started here on a free port). Peak memory is measured in
a fresh subprocess per size: `ru_maxrss` (whole process) and the tracemalloc peak (Python heap) of a second,
traced run. Figures and the machine they came from go in docs/benchmarks.md ("Wearable import").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mappings.importer import _chunks, wearable_bundle  # noqa: E402
from mappings.wearables.formats import READERS  # noqa: E402
from mappings.wearables.observation import ObservationBuilder  # noqa: E402
from tests.e2e.apple_export import write_export  # noqa: E402

FITBIT_SAMPLE = ROOT / "tests" / "data" / "wearables" / "fitbit_web_api" / "IntradayActivitiesSteps.json"


def map_file(fmt: str, path: Path) -> int:
    """The importer's second pass without HTTP: parse, build Observations, group into transaction Bundles."""
    builder = ObservationBuilder(fmt, "bench-patient")
    count = 0
    for batch in _chunks(READERS[fmt](path, UTC), 500):
        wearable_bundle(batch, builder)
        count += len(batch)
    return count


def measure_child(path: Path, traced: bool) -> dict[str, float]:
    """Run in a fresh process: one Apple parse+map of `path`; its own peak memory."""
    if traced:
        tracemalloc.start()
    t = time.perf_counter()
    n = map_file("apple-health", path)
    seconds = time.perf_counter() - t
    out = {"records": n, "seconds": seconds, "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if traced:
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    return out


def _child(path: Path, traced: bool) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", str(path)] + (["--traced"] if traced else [])
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _omh_file(path: Path, n: int) -> Path:
    points = [
        {
            "heart_rate": {"value": 50 + i % 90, "unit": "beats/min"},
            "effective_time_frame": {"date_time": f"2024-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"},
        }
        for i in range(n)
    ]
    path.write_text(json.dumps(points))
    return path


def _fitbit_file(path: Path) -> Path:
    """The Fitbit intraday steps sample (one day: 1,084 minutes + the daily total), BOM stripped."""
    doc = json.loads(FITBIT_SAMPLE.read_text(encoding="utf-8-sig"))
    doc["activities-steps"][0]["dateTime"] = "2024-01-01"
    path.write_text(json.dumps(doc))
    return path


def mapping_rates(tmp: Path) -> dict[str, float]:
    rates = {}
    for fmt, path in (
        ("openmhealth", _omh_file(tmp / "omh.json", 20_000)),
        ("fitbit", _fitbit_file(tmp / "fitbit.json")),
    ):
        repeats = 20 if fmt == "fitbit" else 1
        t = time.perf_counter()
        n = sum(map_file(fmt, path) for _ in range(repeats))
        rates[fmt] = n / (time.perf_counter() - t)
    return rates


def through_server(tmp: Path, records: int) -> dict[str, float]:
    import httpx

    from mappings.fhir_client import FhirClient
    from mappings.importer import import_wearables
    from tests.e2e.conftest import running_server

    apple = tmp / "server-export.xml"
    write_export(apple, records, seed=11)
    files = {
        "apple-health": apple,
        "openmhealth": _omh_file(tmp / "omh-server.json", records),
        "fitbit": _fitbit_file(tmp / "fb.json"),
    }
    rates = {}
    with running_server(["--no-auth", "--data-dir", str(tmp / "data")], tmp) as base:
        httpx.put(f"{base}/Patient/bench", json={"resourceType": "Patient", "id": "bench"}).raise_for_status()
        with FhirClient(base, None) as client:
            for fmt, path in files.items():
                t = time.perf_counter()
                summary = import_wearables(fmt, path, "bench", client)
                rates[fmt] = summary.created / (time.perf_counter() - t)
                t = time.perf_counter()
                again = import_wearables(fmt, path, "bench", client)
                rates[f"{fmt} (re-import)"] = again.unchanged / (time.perf_counter() - t)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--server-records", type=int, default=5_000, help="0 skips the through-the-server run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_child(args.child, args.traced)))
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for size in args.sizes:
            path = tmp / f"export-{size}.xml"
            write_export(path, size)
            plain = _child(path, traced=False)
            traced = _child(path, traced=True)
            mib = path.stat().st_size / 2**20
            rate = plain["records"] / plain["seconds"]
            rss, heap = plain["maxrss_mib"], traced["tracemalloc_peak_mib"]
            print(
                f"apple-health {size:>9,} records ({mib:,.0f} MiB): {rate:,.0f} records/s mapped; "
                f"peak RSS {rss:,.0f} MiB; tracemalloc peak {heap:,.1f} MiB",
                flush=True,
            )
            path.unlink()
        for fmt, rate in mapping_rates(tmp).items():
            print(f"{fmt}: {rate:,.0f} records/s mapped", flush=True)
        if args.server_records:
            for fmt, rate in through_server(tmp, args.server_records).items():
                print(f"{fmt} through the server: {rate:,.0f} records/s", flush=True)


if __name__ == "__main__":
    main()
