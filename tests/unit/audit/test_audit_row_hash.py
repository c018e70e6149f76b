"""The chain's row hash: every stored field counts, and nothing ambiguous about how they are joined."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fhir_server.audit.chain import GENESIS, row_hash


@dataclass(frozen=True)
class Row:
    pk: int = 1
    recorded: int = 1_700_000_000_000_000
    kind: str = "rest"
    type_code: str = "rest"
    subtype: str = "read"
    action: str = "R"
    outcome: str = "0"
    client_id: str | None = "app"
    subject: str | None = "dr.rivera"
    fhir_user: str | None = "Practitioner/p1"
    source_ip: str | None = "10.0.0.7"
    content: bytes = b'{"resourceType":"AuditEvent"}'


def test_the_hash_is_deterministic_hex_sha256() -> None:
    digest = row_hash(GENESIS, Row(), ["Patient/p1"])
    assert digest == row_hash(GENESIS, Row(), ["Patient/p1"])
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_every_field_changes_the_hash() -> None:
    original = row_hash(GENESIS, Row(), [])
    changes = {
        "pk": 2,
        "recorded": 1,
        "kind": "token",
        "type_code": "110114",
        "subtype": "vread",
        "action": "U",
        "outcome": "4",
        "client_id": None,
        "subject": "someone",
        "fhir_user": "Practitioner/p2",
        "source_ip": "10.0.0.8",
        "content": b'{"resourceType":"AuditEvent","x":1}',
    }
    for name, value in changes.items():
        assert row_hash(GENESIS, replace(Row(), **{name: value}), []) != original, name


def test_the_previous_hash_and_the_references_are_covered() -> None:
    original = row_hash(GENESIS, Row(), ["Patient/p1"])
    assert row_hash("1" * 64, Row(), ["Patient/p1"]) != original
    assert row_hash(GENESIS, Row(), ["Patient/p2"]) != original
    assert row_hash(GENESIS, Row(), []) != original


def test_the_order_references_were_read_in_does_not_matter() -> None:
    assert row_hash(GENESIS, Row(), ["Patient/a", "Observation/b"]) == row_hash(
        GENESIS, Row(), ["Observation/b", "Patient/a"]
    )


def test_moving_text_between_adjacent_fields_changes_the_hash() -> None:
    # Length prefixes: "ab" + "c" must not hash like "a" + "bc", nor None like "".
    assert row_hash(GENESIS, Row(client_id="ab", subject="c"), []) != row_hash(
        GENESIS, Row(client_id="a", subject="bc"), []
    )
    assert row_hash(GENESIS, Row(client_id=None), []) != row_hash(GENESIS, Row(client_id=""), [])
