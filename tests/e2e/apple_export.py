"""Writes a synthetic Apple Health `export.xml` of any size, in the layout the Health app exports.

Used by the end-to-end import test and by bench/import_bench.py. One record in a thousand is of a
type we do not map (body mass index) and the file carries the DTD, `<Me>`, `<Workout>` and
`<ActivitySummary>` elements real exports have, so the parser meets them. Deterministic for a given seed.

    python -m tests.e2e.apple_export OUT.xml --records 1000000
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

_TZ = timezone(timedelta(hours=-8))
_WATCH = (
    'sourceName="Apple Watch" sourceVersion="10.1" device="&lt;&lt;HKDevice: 0x283c31a90&gt;, name:Apple Watch, '
    'manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1&gt;"'
)
_PHONE = (
    'sourceName="iPhone" sourceVersion="17.1" device="&lt;&lt;HKDevice: 0x283c31b00&gt;, name:iPhone, '
    'manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1&gt;"'
)
_STAGES = ("InBed", "AsleepCore", "AsleepDeep", "AsleepREM", "Awake")
_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2024-06-01 09:00:00 -0800"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-02-02"
     HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""
# Measured records per kind, cycling: mostly heart rate, as in real exports.
_KINDS = ("hr", "hr", "hr", "hr", "hr", "steps", "steps", "hrv", "resting", "sleep")


def _date(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S %z")


def _record(i: int, rng: random.Random, start: datetime) -> str:
    t = start + timedelta(seconds=30 * i)
    kind = _KINDS[i % len(_KINDS)]
    s = _date(t)
    if kind == "hr":
        return (
            f' <Record type="HKQuantityTypeIdentifierHeartRate" {_WATCH} unit="count/min" creationDate="{s}" '
            f'startDate="{s}" endDate="{s}" value="{rng.randint(48, 150)}">\n'
            '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
        )
    end = _date(t + timedelta(seconds=30))
    if kind == "steps":
        return (
            f' <Record type="HKQuantityTypeIdentifierStepCount" {_PHONE} unit="count" creationDate="{end}" '
            f'startDate="{s}" endDate="{end}" value="{rng.randint(0, 60)}"/>\n'
        )
    if kind == "hrv":
        return (
            f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" {_WATCH} unit="ms" '
            f'creationDate="{s}" startDate="{s}" endDate="{end}" value="{rng.uniform(15, 120):.3f}"/>\n'
        )
    if kind == "resting":
        return (
            f' <Record type="HKQuantityTypeIdentifierRestingHeartRate" {_WATCH} unit="count/min" '
            f'creationDate="{s}" startDate="{s}" endDate="{end}" value="{rng.randint(45, 80)}"/>\n'
        )
    stage = _STAGES[rng.randrange(len(_STAGES))]
    return (
        f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" {_WATCH} creationDate="{end}" startDate="{s}" '
        f'endDate="{end}" value="HKCategoryValueSleepAnalysis{stage}"/>\n'
    )


def write_export(path: Path, records: int, *, seed: int = 7) -> int:
    """Write `records` mapped records (plus a few unmapped ones); returns how many unmapped were added."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=_TZ)
    unmapped = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(_HEADER)
        chunk: list[str] = []
        for i in range(records):
            chunk.append(_record(i, rng, start))
            if i % 1000 == 999:
                unmapped += 1
                chunk.append(
                    ' <Record type="HKQuantityTypeIdentifierBodyMassIndex" sourceName="Health Mate" unit="count" '
                    f'startDate="{_date(start)}" endDate="{_date(start)}" value="22.5"/>\n'
                )
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
        out.write(
            f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" durationUnit="min" '
            f'sourceName="Apple Watch" startDate="{_date(start)}" endDate="{_date(start)}">\n'
            f'  <WorkoutRoute sourceName="iPhone"><Location date="{_date(start)}" latitude="37.7" longitude="-122.4"/>'
            "</WorkoutRoute>\n </Workout>\n"
            ' <ActivitySummary dateComponents="2024-01-01" activeEnergyBurned="500" activeEnergyBurnedUnit="kcal"/>\n'
            "</HealthData>\n"
        )
    return unmapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write_export(args.out, args.records, seed=args.seed)


if __name__ == "__main__":
    main()
