"""Model registry: versioned artifact directories with a manifest and a content hash.

Layout: ``<models_dir>/<name>/<version>/manifest.json`` plus the weight files it lists. The manifest holds
the model config, metrics, a description of the training data, the SHA-256 of every file and one
`content_hash` over all of them. Loading re-hashes everything and refuses an artifact whose files were
changed, removed, or whose name/version/format do not match what was asked for.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from twin_engine.errors import ModelArtifactError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Artifact:
    """A verified artifact on disk: where it is and what its manifest says."""

    name: str
    version: str
    directory: Path
    manifest: dict[str, object]

    @property
    def content_hash(self) -> str:
        """SHA-256 over the manifest's file hashes and config (stable identity of the artifact)."""
        return str(self.manifest["content_hash"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _content_hash(files: dict[str, str], config: object) -> str:
    payload = json.dumps({"files": files, "config": config}, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def save_artifact(
    models_dir: Path,
    name: str,
    version: str,
    write: Callable[[Path], dict[str, object]],
    metrics: dict[str, object],
    training_data: dict[str, object],
) -> Artifact:
    """Create `<models_dir>/<name>/<version>`: `write(dir)` stores weights and returns the config.

    Raises:
        ModelArtifactError: bad version string or the version already exists (artifacts are immutable).
    """
    if not _VERSION_RE.match(version):
        raise ModelArtifactError(f"version must look like 1.2.3, got {version!r}")
    directory = models_dir / name / version
    if directory.exists():
        raise ModelArtifactError(f"{name} {version} already exists at {directory}; bump the version")
    directory.mkdir(parents=True)
    config = write(directory)
    files = {
        p.relative_to(directory).as_posix(): _sha256(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config,
        "metrics": metrics,
        "training_data": training_data,
        "files": files,
        "content_hash": _content_hash(files, config),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return Artifact(name, version, directory, manifest)


def versions(models_dir: Path, name: str) -> list[str]:
    """Versions of `name` present under `models_dir`, oldest first."""
    root = models_dir / name
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)]
    return sorted(found, key=_version_key)


def load_artifact(models_dir: Path, name: str, version: str | None = None) -> Artifact:
    """Load and verify a pinned version (or the newest when `version` is None).

    Raises:
        ModelArtifactError: missing artifact, unreadable manifest, mismatched name/version/format, or any
            file whose hash differs from the manifest.
    """
    if version is None:
        available = versions(models_dir, name)
        if not available:
            raise ModelArtifactError(f"no artifact named {name!r} under {models_dir}")
        version = available[-1]
    directory = models_dir / name / version
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelArtifactError(f"cannot read manifest of {name} {version}: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelArtifactError(f"{name} {version}: unsupported format {manifest.get('format_version')!r}")
    if manifest.get("name") != name or manifest.get("version") != version:
        raise ModelArtifactError(
            f"artifact at {directory} claims to be {manifest.get('name')} {manifest.get('version')}"
        )
    files: dict[str, str] = manifest.get("files", {})
    for rel, expected in files.items():
        path = directory / rel
        if not path.is_file():
            raise ModelArtifactError(f"{name} {version}: file {rel} is missing")
        if _sha256(path) != expected:
            raise ModelArtifactError(f"{name} {version}: file {rel} is corrupted (hash mismatch)")
    if _content_hash(files, manifest.get("config")) != manifest.get("content_hash"):
        raise ModelArtifactError(f"{name} {version}: content hash mismatch (manifest edited?)")
    return Artifact(name, version, directory, manifest)


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a data frame's contents: how an artifact's manifest identifies the data it was trained on."""
    import pandas as pd  # only where a model is trained, not on every import of the registry

    digest = hashlib.sha256()
    for column in frame.columns:
        digest.update(pd.util.hash_pandas_object(frame[column], index=False).to_numpy().tobytes())
    return digest.hexdigest()
