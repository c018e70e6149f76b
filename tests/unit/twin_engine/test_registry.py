import json
from pathlib import Path

import pytest

from twin_engine.errors import ModelArtifactError
from twin_engine.registry import load_artifact, save_artifact, versions


def write(directory: Path) -> dict[str, object]:
    (directory / "weights.txt").write_text("1 2 3")
    return {"alpha": 1}


def save(tmp_path: Path, version: str = "1.0.0") -> Path:
    return save_artifact(tmp_path, "toy", version, write, {"mae": 1.0}, {"source": "test"}).directory


def test_round_trip_and_latest_version(tmp_path: Path) -> None:
    save(tmp_path, "1.0.0")
    save(tmp_path, "1.10.0")
    save(tmp_path, "1.2.0")
    assert versions(tmp_path, "toy") == ["1.0.0", "1.2.0", "1.10.0"]
    art = load_artifact(tmp_path, "toy")
    assert art.version == "1.10.0" and art.manifest["config"] == {"alpha": 1}
    assert load_artifact(tmp_path, "toy", "1.0.0").content_hash == art.content_hash


def test_corrupted_file_is_refused(tmp_path: Path) -> None:
    (save(tmp_path) / "weights.txt").write_text("1 2 4")
    with pytest.raises(ModelArtifactError, match="corrupted"):
        load_artifact(tmp_path, "toy", "1.0.0")


def test_missing_file_and_edited_manifest_are_refused(tmp_path: Path) -> None:
    directory = save(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["config"]["alpha"] = 2
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelArtifactError, match="content hash"):
        load_artifact(tmp_path, "toy", "1.0.0")
    (directory / "weights.txt").unlink()
    with pytest.raises(ModelArtifactError, match="missing"):
        load_artifact(tmp_path, "toy", "1.0.0")


def test_mismatched_name_unknown_version_and_overwrite_are_refused(tmp_path: Path) -> None:
    directory = save(tmp_path)
    with pytest.raises(ModelArtifactError):
        load_artifact(tmp_path, "toy", "9.9.9")
    with pytest.raises(ModelArtifactError, match="already exists"):
        save(tmp_path)
    with pytest.raises(ModelArtifactError, match="version"):
        save(tmp_path, "latest")
    moved = tmp_path / "other" / "1.0.0"
    moved.parent.mkdir()
    directory.rename(moved)
    with pytest.raises(ModelArtifactError, match="claims"):
        load_artifact(tmp_path, "other", "1.0.0")
