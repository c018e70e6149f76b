import ast
from pathlib import Path

import twin_engine
import twin_engine.forecast
import twin_engine.simulate

FORBIDDEN = ("fhir", "fhir_core", "fhir_server", "mappings", "terminology", "sqlalchemy", "fastapi", "httpx")


def test_exported_members_are_pinned() -> None:
    assert twin_engine.__all__ == [
        "DeviceUnavailableError",
        "FrameSchemaError",
        "InsufficientDataError",
        "ModelArtifactError",
        "NotFittedError",
        "TwinEngineError",
        "validate_observations",
    ]
    assert set(twin_engine.forecast.__all__) == {
        "LEVELS",
        "MAX_HORIZON",
        "QUANTILES",
        "Forecast",
        "ForecasterConfig",
        "TwinForecaster",
        "load_bundle",
    }
    assert "simulate_cohort" in twin_engine.simulate.__all__


def test_twin_engine_imports_nothing_from_the_server_side() -> None:
    root = Path(twin_engine.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path} imports {name}"
