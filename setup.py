"""Packaging for the open outage-management system (topology, oms, webmap)."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

# Package discovery, never a hand-written list: every folder under topology/,
# oms/ and webmap/ ships without editing this, even one that has no __init__.py
# yet (data folders such as static/ are found too; they hold no modules).
PACKAGES = find_namespace_packages(
    include=["topology", "topology.*", "oms", "oms.*", "webmap", "webmap.*"]
)
# fixtures/ is data, not code: it ships inside the oms package as oms.fixtures.
FIXTURES = ["oms.fixtures", *(f"oms.fixtures.{p}" for p in find_namespace_packages("fixtures"))]

setup(
    name="open-oms",
    version="0.1.0",
    description="GIS outage management and repair dispatch for electric distribution utilities",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[*PACKAGES, *FIXTURES],
    package_dir={"oms.fixtures": "fixtures"},
    # Data files, all named here, with recursive globs so a new subfolder ships
    # too (tests/test_packaging.py builds the wheel and compares it with the
    # source tree). There is no MANIFEST.in for include_package_data to read.
    package_data={
        "oms": ["static/**/*"],
        "oms.storage.migrations": ["**/*.mako"],
        "oms.fixtures": ["demo/**/*"],
        "webmap": ["templates/**/*", "static/**/*"],
    },
    include_package_data=False,
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "networkx>=3.0",
        "shapely>=2.0",
        "pyproj>=3.5",
        "geopandas>=0.14",
        "pyogrio>=0.7",
        "folium>=0.15",
        "click>=8.1",
        "flask>=3.0",
        "sqlalchemy>=2.0",
        "alembic>=1.12",
        "psycopg2-binary>=2.9",
        "matplotlib>=3.7",
        "flask-wtf>=1.2",
        "waitress>=3.0",
        "gunicorn>=22",
        "paho-mqtt>=2.0",
        "segno>=1.5",
        # Contract-1 GeoJSON decoded against typed structures (topology/fastio.py).
        "msgspec>=0.19",
    ],
    extras_require={
        "pandapower": ["pandapower>=3.0"],
        # OpenDSS import (topology/opendss.py): the DSS C-API engine, a 22 MB wheel.
        "opendss": ["OpenDSSDirect.py>=0.9"],
        # CIM import (topology/cim.py): RDF/XML parsing, pure Python.
        "cim": ["rdflib>=7.0"],
        "parquet": ["pyarrow>=12"],
        "test": [
            "pytest>=7.4",
            "pytest-xdist>=3.3",
            "hypothesis>=6.80",
            "ruff>=0.5",
            "mypy>=1.8",
            "pandapower>=3.0",
            "OpenDSSDirect.py>=0.9",
            "rdflib>=7.0",
            "pyarrow>=12",
            "playwright>=1.45",
            "openapi-spec-validator>=0.7",
            "schemathesis>=4.0",
            "aiohttp>=3.9",
            "requests>=2.31",
            "time-machine>=2.10",
            "build>=1.0",
        ],
    },
    entry_points={
        "console_scripts": ["oms = oms.cli:main"],
        # The web commands, loaded by the root click group of oms.cli (as Flask
        # loads its plugin commands), so the oms package stays free of Flask.
        "oms.commands": [
            "serve = webmap.cli:serve",
            "demo = webmap.cli:demo",
            "user = webmap.cli:user",
            "device = webmap.cli:device",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: GIS",
        "Intended Audience :: Science/Research",
    ],
)
