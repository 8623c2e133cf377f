"""The layout shows the architecture: a test fails when an import crosses a boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
OURS = {"ingest", "workers", "pipeline", "storage"}
ALLOWED = {
    "pipeline": set(),
    "storage": set(),
    "workers": {"pipeline", "storage"},
    "ingest": {"workers", "storage"},
}
FORBIDDEN_THIRD_PARTY = {"pipeline": {"celery", "kombu", "sqlalchemy", "minio", "alembic"}}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependency_direction(package: str):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        imported = imported_top_levels(path)
        crossing = (imported & OURS) - ALLOWED[package] - {package}
        assert not crossing, f"{path.relative_to(ROOT)} imports {crossing}"
        banned = imported & FORBIDDEN_THIRD_PARTY.get(package, set())
        assert not banned, f"{path.relative_to(ROOT)} imports {banned}"


def test_only_the_settings_module_reads_the_environment():
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text()
            if path.name == "settings.py" or "os.environ" not in source:
                continue
            # pipeline/ocr may only *default* OMP_THREAD_LIMIT for tesseract; nothing reads config.
            assert "os.environ.get" not in source, path
            assert "os.environ[" not in source, path
