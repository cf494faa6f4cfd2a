"""The wheel holds everything the source tree has: code, migrations, templates, assets, fixtures.

``pip install .`` (the README's first command) installs a wheel, not the
source tree, so a folder the packaging forgets (as ``oms/storage/migrations`` once
was) breaks ``oms demo`` for every new user while every editable install
still works. This test builds the wheel as ``pip install .`` does (PEP 517,
isolated build environment) from a snapshot of the source tree and compares
the two listings, so a new file or folder is covered without editing it.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Source folders and where their files land in the wheel.
SHIPPED = {"topology": "topology", "oms": "oms", "webmap": "webmap", "fixtures": "oms/fixtures"}

#: Files next to the packages that ``setup.py`` reads.
PROJECT_FILES = ("setup.py", "pyproject.toml", "README.md")

#: Build and editor leftovers: never part of the source tree.
_JUNK = ("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".DS_Store", "*~", "*.swp", "*.sqlite")

#: The console script and the web commands the root click group loads.
CONSOLE_SCRIPT = "oms.cli:main"
COMMANDS = {
    "serve": "webmap.cli:serve",
    "demo": "webmap.cli:demo",
    "user": "webmap.cli:user",
    "device": "webmap.cli:device",
}


def _source_files(tree: Path) -> dict[str, str]:
    """Every file of the shipped folders of ``tree``: wheel path -> source path."""
    files: dict[str, str] = {}
    for folder, target in SHIPPED.items():
        for path in sorted((tree / folder).rglob("*")):
            rel = path.relative_to(tree / folder)
            if path.is_dir() or any(fnmatch(part, pat) for part in rel.parts for pat in _JUNK):
                continue
            files[str(PurePosixPath(target, *rel.parts))] = str(PurePosixPath(folder, *rel.parts))
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The wheel built from a snapshot of the source tree, and that snapshot's listing.

    The snapshot keeps the build out of the working tree (a stale ``build/``
    there would leak deleted files into the wheel) and fixes the listing the
    wheel is compared with, while the tree itself may be edited meanwhile.
    """
    src = tmp_path_factory.mktemp("src")
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, src / name)
    for folder in SHIPPED:
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns(*_JUNK))
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"building the wheel failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], _source_files(src)


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}


def _entry_points(wheel: Path) -> configparser.ConfigParser:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = zf.read(name).decode("utf-8")
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


@pytest.mark.slow
def test_every_source_file_is_in_the_wheel(built: tuple[Path, dict[str, str]]) -> None:
    wheel, source = built
    names = _names(wheel)
    missing = sorted(
        src if src == dst else f"{src} (as {dst})"
        for dst, src in source.items()
        if dst not in names
    )
    listing = "\n".join(missing)
    assert not missing, f"{len(missing)} source files are not in {wheel.name}:\n{listing}"


@pytest.mark.slow
def test_the_wheel_has_what_oms_demo_needs(built: tuple[Path, dict[str, str]]) -> None:
    """The folders that were once forgotten, named, so an empty listing cannot pass."""
    wheel, source = built
    names = _names(wheel)
    for required in (
        "oms/storage/migrations/__init__.py",
        "oms/storage/migrations/env.py",
        "oms/storage/migrations/script.py.mako",
        "oms/fixtures/__init__.py",
    ):
        assert required in names, f"{required} is not in {wheel.name}"
    for prefix, origin in (
        ("oms/storage/migrations/versions/", "oms/storage/migrations/versions/*.py"),
        ("webmap/templates/", "webmap/templates"),
        ("webmap/static/", "webmap/static"),
        ("oms/static/vendor/", "oms/static/vendor"),
        ("oms/fixtures/demo/", "fixtures/demo"),
    ):
        expected = {dst for dst in source if dst.startswith(prefix)}
        assert expected, f"the source tree has no {origin}"
        assert expected <= names, f"not in the wheel: {sorted(expected - names)}"
    revisions = {n for n in source if n.startswith("oms/storage/migrations/versions/0")}
    assert revisions and all(n.endswith(".py") for n in revisions)


@pytest.mark.slow
def test_the_wheel_ships_only_the_source_tree(built: tuple[Path, dict[str, str]]) -> None:
    """Nothing else: no tests, no bench, no leftovers of an earlier build."""
    wheel, source = built
    shipped = {n for n in _names(wheel) if ".dist-info/" not in n}
    assert {n.split("/", 1)[0] for n in shipped} == {"topology", "oms", "webmap"}
    assert not shipped - source.keys(), f"not in the source tree: {sorted(shipped - source.keys())}"


@pytest.mark.slow
def test_the_wheel_declares_the_entry_points(built: tuple[Path, dict[str, str]]) -> None:
    wheel, _ = built
    eps = _entry_points(wheel)
    assert eps.has_section("console_scripts"), "no console scripts"
    assert eps["console_scripts"].get("oms", "").replace(" ", "") == CONSOLE_SCRIPT
    assert eps.has_section("oms.commands"), "no 'oms.commands' entry-point group"
    commands = {k: v.replace(" ", "") for k, v in eps["oms.commands"].items()}
    assert commands == COMMANDS
    # Every target's module is in the wheel (as a module or a package).
    names = _names(wheel)
    for target in [CONSOLE_SCRIPT, *COMMANDS.values()]:
        module = target.split(":", 1)[0].replace(".", "/")
        assert {f"{module}.py", f"{module}/__init__.py"} & names, f"{target}: module not shipped"
