"""Pharmacogenomics engine: table load time and lookup speed (all CPIC drugs for one genotype, one drug at a time).

    .venv/bin/python bench/pgx_bench.py --repeat 2000

Exactness counts come from the tests (`tests/unit/twin_engine/pharmacogenomics/test_pgx_exactness.py`); this
measures speed only. Figures go in docs/benchmarks.md ("Pharmacogenomics (issue 7)").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin_engine.pharmacogenomics import PharmacogenomicsEngine  # noqa: E402
from twin_engine.pharmacogenomics.tables import CpicTables  # noqa: E402

GENOTYPE = {"CYP2D6": "*1/*4", "CYP2C19": "*2/*17", "CYP2B6": "*1/*6", "HLA-A": "*31:01 negative", "HLA-B": "negative"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    started = time.perf_counter()
    tables = CpicTables.from_directory(ROOT / "twin_engine" / "pharmacogenomics" / "data")
    engine = PharmacogenomicsEngine(tables)
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    rows = 0
    for _ in range(args.repeat):
        rows += sum(len(g.recommendations) for g in engine.recommend_all(GENOTYPE))
    all_s = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(args.repeat):
        engine.recommend("amitriptyline", GENOTYPE)
    one_s = time.perf_counter() - started

    print(f"tables load + index: {load_s * 1000:.0f} ms")
    print(f"recommend_all (all drugs, 5 genes): {args.repeat / all_s:,.0f} genotypes/s, {rows / all_s:,.0f} rows/s")
    print(f"recommend one drug (amitriptyline): {args.repeat / one_s:,.0f} lookups/s (genotype parsing included)")


if __name__ == "__main__":
    main()
