"""The rules of docs/architecture.md, read from the source (ast), not from memory.

- Imports only go downward: webmap -> oms -> topology.
- In ``oms.engine`` only the repository talks to the database.
- The command line's modules import nothing heavy at module level.
- Each package's public names are its ``__all__``, and they exist.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:
            continue
        yield ".".join(p for p in parts if p != "__init__"), path


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Modules ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _roots(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("topology", {"oms", "webmap", "flask", "sqlalchemy"}), ("oms", {"webmap", "flask"})],
)
def test_imports_only_go_downward(package: str, forbidden: set[str]) -> None:
    offenders = {
        module: sorted(_roots(_imports(path)) & forbidden)
        for module, path in _modules(package)
        if _roots(_imports(path)) & forbidden
    }
    assert offenders == {}


def test_only_the_repository_of_the_engine_talks_to_the_database() -> None:
    io = {"sqlalchemy", "psycopg2"}
    offenders = {}
    for module, path in _modules("oms/engine"):
        if module == "oms.engine.repository":
            continue
        used = {
            n
            for n in _imports(path)
            if n in io or n.split(".")[0] in io or n.startswith("oms.storage")
        }
        # The facade may name the connection type the repository hands it.
        used -= {"sqlalchemy.engine", "sqlalchemy.engine.Connection", "sqlalchemy.engine.Engine"}
        if used:
            offenders[module] = sorted(used)
    assert offenders == {}


def test_the_command_line_loads_nothing_heavy_at_start() -> None:
    heavy = {"numpy", "scipy", "sqlalchemy", "flask", "pandas", "geopandas", "pyproj", "shapely"}
    modules = [*_modules("oms/cli"), ("webmap.cli", ROOT / "webmap" / "cli.py")]
    offenders = {
        module: sorted(_roots(_imports(path, top_level_only=True)) & heavy)
        for module, path in modules
        if _roots(_imports(path, top_level_only=True)) & heavy
    }
    assert offenders == {}


@pytest.mark.parametrize("package", ["topology", "oms", "oms.engine", "oms.cli", "webmap"])
def test_public_names_exist(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, f"{package} declares no public names"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
