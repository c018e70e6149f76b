"""The importer: validate the whole file first, then send transactions of conditional creates.

The server side is played by a small in-memory stand-in (httpx.MockTransport) that honours `ifNoneExist` on
identifiers the way the real server does; tests/e2e/test_import.py runs the same importer against a real
`novamind serve`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mappings.fhir_client import FhirClient
from mappings.importer import ImportAbortedError, import_bundle, import_wearables
from tests.e2e.apple_export import write_export
from tests.unit.mappings.conftest import FITBIT, valid_r4


class StandInServer:
    """Stores resources by their ifNoneExist identifier; answers 201 the first time, 200 after."""

    def __init__(self, patients: set[str] = frozenset({"p1"})) -> None:  # type: ignore[assignment]
        self.patients = patients
        self.stored: dict[str, dict[str, Any]] = {}
        self.transactions: list[dict[str, Any]] = []
        self.refuse = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "identifier" in request.url.params:
            wanted = [f"identifier={i}" for i in request.url.params["identifier"].split(",")]
            hits = [{"resource": self.stored[w]} for w in wanted if w in self.stored]
            return httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": hits})
        if request.method == "GET":
            found = request.url.path.rsplit("/", 1)[-1] in self.patients
            return httpx.Response(200 if found else 404, json={"resourceType": "Patient"})
        bundle = json.loads(request.content)
        if self.refuse:
            return httpx.Response(422, json={"resourceType": "OperationOutcome", "issue": [{"diagnostics": "no"}]})
        self.transactions.append(bundle)
        out = []
        for entry in bundle["entry"]:
            key = entry["request"].get("ifNoneExist") or json.dumps(entry["resource"])
            status = "200 OK" if key in self.stored else "201 Created"
            self.stored.setdefault(key, entry["resource"])
            out.append({"response": {"status": status}})
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": out})


@pytest.fixture
def server() -> StandInServer:
    return StandInServer()


@pytest.fixture
def client(server: StandInServer) -> FhirClient:
    return FhirClient("http://fhir.test/fhir", "a-token", transport=httpx.MockTransport(server))


def _observations(server: StandInServer) -> list[dict[str, Any]]:
    return [r for r in server.stored.values() if r["resourceType"] == "Observation"]


def test_an_export_is_sent_in_batches_with_its_devices(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    export = tmp_path / "export.xml"
    write_export(export, 1_200)
    summary = import_wearables("apple-health", export, "p1", client, batch_size=500)
    assert (summary.created, summary.unchanged, summary.rejected) == (1_200, 0, 0)
    assert summary.devices_created == 2  # the watch and the phone
    assert [sum(e["request"]["url"] == "Observation" for e in t["entry"]) for t in server.transactions] == [
        500,
        500,
        200,
    ]
    for bundle in server.transactions:
        assert bundle["type"] == "transaction"
        valid_r4(bundle)


def test_a_reimport_creates_nothing(tmp_path: Path, server: StandInServer, client: FhirClient) -> None:
    export = tmp_path / "export.xml"
    write_export(export, 300)
    import_wearables("apple-health", export, "p1", client)
    sent = len(server.transactions)
    again = import_wearables("apple-health", export, "p1", client)
    assert (again.created, again.unchanged, again.devices_created) == (0, 300, 0)
    assert len(_observations(server)) == 300
    assert len(server.transactions) == sent  # known records are found by search and not sent again


def test_records_the_server_already_holds_are_left_out_of_the_bundle(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    export = tmp_path / "export.xml"
    write_export(export, 100)
    import_wearables("apple-health", export, "p1", client)
    write_export(export, 150)  # the same first 100 records, and 50 more
    summary = import_wearables("apple-health", export, "p1", client)
    assert (summary.created, summary.unchanged) == (50, 100)
    assert sum(e["request"]["url"] == "Observation" for e in server.transactions[-1]["entry"]) == 50


def _with_one_bad_record(tmp_path: Path) -> Path:
    good = {
        "heart_rate": {"value": 60, "unit": "beats/min"},
        "effective_time_frame": {"date_time": "2020-01-01T00:00Z"},
    }
    bad = {"heart_rate": {"value": 60, "unit": "beat/min"}, "effective_time_frame": {"date_time": "2020-01-01T00:01Z"}}
    f = tmp_path / "omh.json"
    f.write_text(json.dumps([good, bad]))
    return f


def test_a_file_with_a_rejected_record_imports_nothing(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    summary = import_wearables("openmhealth", _with_one_bad_record(tmp_path), "p1", client)
    assert not summary.imported
    assert summary.rejected == 1
    assert "beat/min" in summary.rejections[0].reason
    assert server.transactions == []
    assert "nothing was imported" in summary.render()


def test_keep_going_imports_the_valid_records(tmp_path: Path, server: StandInServer, client: FhirClient) -> None:
    summary = import_wearables("openmhealth", _with_one_bad_record(tmp_path), "p1", client, keep_going=True)
    assert (summary.created, summary.rejected) == (1, 1)
    assert len(_observations(server)) == 1


def test_an_unknown_patient_stops_before_sending(tmp_path: Path, server: StandInServer, client: FhirClient) -> None:
    with pytest.raises(ImportAbortedError, match="Patient/nobody does not exist"):
        import_wearables("fitbit", FITBIT / "GetHRVSummaryByInterval.json", "nobody", client)
    assert server.transactions == []


def test_a_refused_batch_stops_the_import_unless_keep_going(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    server.refuse = True
    with pytest.raises(ImportAbortedError, match="batch 1 was refused: no"):
        import_wearables("fitbit", FITBIT / "GetHRVSummaryByInterval.json", "p1", client)
    summary = import_wearables("fitbit", FITBIT / "GetHRVSummaryByInterval.json", "p1", client, keep_going=True)
    assert (summary.batches_failed, summary.rejected) == (1, 3)


def test_progress_gets_the_total_then_each_batch(tmp_path: Path, client: FhirClient) -> None:
    export = tmp_path / "export.xml"
    write_export(export, 250)
    seen: list[int] = []

    def start(total: int) -> Any:
        seen.append(total)
        return seen.append

    import_wearables("apple-health", export, "p1", client, batch_size=100, progress=start)
    assert seen == [250, 100, 100, 50]


def test_a_bundle_is_posted_as_one_transaction_with_conditional_creates(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "42"}]}
    f = tmp_path / "bundle.json"
    f.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]}))
    summary = import_bundle(f, client)
    assert summary.created == 1
    [bundle] = server.transactions
    assert bundle["entry"][0]["request"] == {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|42"}


def test_a_bundle_with_an_invalid_resource_imports_nothing(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    f = tmp_path / "bundle.json"
    bad = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": "seven"}
    f.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bad}]}))
    summary = import_bundle(f, client)
    assert summary.rejected == 1
    assert server.transactions == []


def test_keep_going_posts_the_valid_entries_of_a_bundle(
    tmp_path: Path, server: StandInServer, client: FhirClient
) -> None:
    good = {"resourceType": "Patient", "id": "x"}
    bad = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": "seven"}
    f = tmp_path / "bundle.json"
    f.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bad}, {"resource": good}]})
    )
    summary = import_bundle(f, client, keep_going=True)
    assert (summary.created, summary.rejected) == (1, 1)
    [bundle] = server.transactions
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]
