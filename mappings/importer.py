"""Import a wearable export or a FHIR Bundle into a running server, as transaction Bundles.

Validate first, then send. A file is read twice: the first pass maps every record and counts the
rejections without sending anything; only when there are none (or `keep_going` is set) does the second pass
map it again and post it in batches. We chose two passes over staging the mapped Bundles on disk because
parsing is cheap next to the server's writes (a re-parse costs a few percent of the import), memory stays
flat for multi-gigabyte Apple exports, nothing is left behind in a temporary directory, and the first pass
also gives the progress bar its total.

Each batch is one transaction of up to `batch_size` Observations plus a conditional create of each Device
they reference. Every Observation is a conditional create on its stable identifier (`ifNoneExist`), so a
re-import stores nothing twice and an import stopped half-way (a refused batch, a lost connection) can simply
be run again: the batches already stored come back as "unchanged".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from mappings.fhir_client import FhirClient, FhirRequestError
from mappings.import_summary import ImportSummary
from mappings.wearables.device import DEVICE_SYSTEM, device_full_url, device_key, device_resource
from mappings.wearables.formats import READERS
from mappings.wearables.observation import RECORD_SYSTEM, ObservationBuilder
from mappings.wearables.reading import Reading, Rejection, Skipped

Progress = Callable[[int], None]
DEFAULT_BATCH = 500


class ImportAbortedError(Exception):
    """An import that cannot go on; the summary says what was stored before it stopped."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


def _no_progress(_: int) -> None:
    return None


def _validate(records: Iterable[object], summary: ImportSummary) -> int:
    """The first pass: count what would be sent, note every rejection and skipped type."""
    readings = 0
    for item in records:
        if isinstance(item, Reading):
            readings += 1
        elif isinstance(item, Rejection):
            summary.reject(item)
        elif isinstance(item, Skipped):
            summary.skipped[item.kind] += 1
    return readings


def _chunks(records: Iterable[object], size: int) -> Iterator[list[Reading]]:
    batch: list[Reading] = []
    for item in records:
        if isinstance(item, Reading):
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def wearable_bundle(
    readings: list[Reading], builder: ObservationBuilder, present: Callable[[list[str]], set[str]] | None = None
) -> tuple[dict[str, Any] | None, int, int]:
    """A transaction for one batch: (bundle or None when nothing is new, Device entries, records left out).

    `present(keys)` names the record identifiers the server already holds; those records are left out (and
    counted as unchanged) so a re-import costs one search per batch, not one conditional create per record.
    Every record that is sent is still a conditional create, so a concurrent import cannot duplicate it.
    """
    patient = builder.patient_id
    built: dict[str, tuple[Reading, dict[str, Any]]] = {}
    for reading in readings:
        obs = builder.build(reading)
        built.setdefault(obs["identifier"][0]["value"], (reading, obs))
    known = present(list(built)) if present else set()
    devices: dict[str, dict[str, Any]] = {}
    observations: list[dict[str, Any]] = []
    for key, (reading, obs) in built.items():
        if key in known:
            continue
        observations.append(
            {
                "resource": obs,
                "request": {"method": "POST", "url": "Observation", "ifNoneExist": f"identifier={RECORD_SYSTEM}|{key}"},
            }
        )
        dkey = device_key(reading.device, patient)
        if dkey not in devices:
            devices[dkey] = {
                "fullUrl": device_full_url(reading.device, patient),
                "resource": device_resource(reading.device, patient),
                "request": {"method": "POST", "url": "Device", "ifNoneExist": f"identifier={DEVICE_SYSTEM}|{dkey}"},
            }
    left_out = len(readings) - len(observations)
    if not observations:
        return None, 0, left_out
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [*devices.values(), *observations]}
    return bundle, len(devices), left_out


def _count(response: dict[str, Any], devices: int, summary: ImportSummary) -> None:
    for i, entry in enumerate(response.get("entry") or []):
        created = str(entry.get("response", {}).get("status", "")).startswith("201")
        if i < devices:
            summary.devices_created += created
        elif created:
            summary.created += 1
        else:
            summary.unchanged += 1


def import_wearables(
    fmt: str,
    path: Path,
    patient_id: str,
    client: FhirClient,
    *,
    zone: tzinfo = UTC,
    batch_size: int = DEFAULT_BATCH,
    keep_going: bool = False,
    progress: Callable[[int], Progress] | None = None,
) -> ImportSummary:
    """Import one wearable export for one patient; `progress(total)` returns the per-batch callback."""
    reader = READERS[fmt]
    summary = ImportSummary()
    summary.mapped = _validate(reader(path, zone), summary)
    if summary.rejected and not keep_going:
        return summary
    if not client.exists("Patient", patient_id):
        raise ImportAbortedError(f"Patient/{patient_id} does not exist on {client.base}; create it first", summary)
    summary.imported = True
    step = progress(summary.mapped) if progress else _no_progress
    builder = ObservationBuilder(fmt, patient_id)

    def present(keys: list[str]) -> set[str]:
        return client.existing_identifiers("Observation", RECORD_SYSTEM, keys)

    for n, batch in enumerate(_chunks(reader(path, zone), batch_size)):
        left_out = 0  # records of the batch not sent: duplicates in the batch, or already on the server
        try:
            bundle, devices, left_out = wearable_bundle(batch, builder, present)
            if bundle is not None:
                _count(client.transaction(bundle), devices, summary)
        except FhirRequestError as exc:
            if not keep_going or exc.status in (401, 403):
                raise ImportAbortedError(f"batch {n + 1} was refused: {exc}", summary) from exc
            summary.batches_failed += 1
            refused = len(batch) - left_out
            summary.rejected += refused - 1  # `reject` below counts the last one and keeps the reason
            summary.reject(Rejection(f"batch {n + 1} ({refused} records)", str(exc)))
        summary.unchanged += left_out
        step(len(batch))
    return summary


def _bundle_rejections(bundle: object, name: str) -> Iterator[tuple[int, Rejection]]:
    """(entry index, why) for every entry that is not a valid R4 resource; index -1 for the whole file."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        yield -1, Rejection(name, "not a FHIR Bundle")
        return
    for i, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            yield i, Rejection(f"{name} entry[{i}]", "the entry has no resource")
            continue
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except (ValidationError, KeyError, ValueError) as exc:
            message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            yield i, Rejection(f"{name} entry[{i}] ({resource['resourceType']})", message)


def _as_transaction_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Collection/searchset entries become creates, conditional on their first identifier when they have one."""
    if entry.get("request"):
        return entry
    resource = entry["resource"]
    request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
    for ident in resource.get("identifier") or []:
        if ident.get("system") and ident.get("value"):
            request["ifNoneExist"] = f"identifier={ident['system']}|{ident['value']}"
            break
    return {**entry, "request": request}


def import_bundle(
    path: Path, client: FhirClient, *, keep_going: bool = False, progress: Callable[[int], Progress] | None = None
) -> ImportSummary:
    """Post a FHIR Bundle as one transaction, so references between its entries (urn:uuid) resolve."""
    summary = ImportSummary()
    try:
        bundle = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        summary.reject(Rejection(path.name, f"not a readable JSON file: {exc}"))
        return summary
    rejected: set[int] = set()
    for index, rejection in _bundle_rejections(bundle, path.name):
        rejected.add(index)
        summary.reject(rejection)
    if rejected and (not keep_going or -1 in rejected):
        return summary
    entries = [_as_transaction_entry(e) for i, e in enumerate(bundle.get("entry") or []) if i not in rejected]
    summary.mapped = len(entries)
    summary.imported = True
    step = progress(len(entries)) if progress else _no_progress
    if entries:
        try:
            response = client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
        except FhirRequestError as exc:
            raise ImportAbortedError(f"the server refused the Bundle: {exc}", summary) from exc
        _count(response, 0, summary)
    step(len(entries))
    return summary
