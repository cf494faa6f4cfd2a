"""Packaging for the open outage-management system (topology, oms, webmap)."""

from pathlib import Path

from setuptools import setup

setup(
    name="open-oms",
    version="0.1.0",
    description="GIS outage management and repair dispatch for electric distribution utilities",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=["topology", "oms", "oms.fixtures", "webmap"],
    # fixtures/ is data, not code: it ships inside the oms package.
    package_dir={"oms.fixtures": "fixtures"},
    package_data={
        "oms.fixtures": ["demo/*"],
        "oms": ["static/vendor/*/*", "static/vendor/*/*/*"],
        "webmap": ["templates/*", "static/*", "static/*/*"],
    },
    include_package_data=True,
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
    ],
    extras_require={
        "pandapower": ["pandapower>=3.0"],
        "parquet": ["pyarrow>=12"],
        "test": [
            "pytest>=7.4",
            "pytest-xdist>=3.3",
            "hypothesis>=6.80",
            "ruff>=0.5",
            "mypy>=1.8",
            "pandapower>=3.0",
            "pyarrow>=12",
            "playwright>=1.45",
            "openapi-spec-validator>=0.7",
            "schemathesis>=4.0",
            "aiohttp>=3.9",
            "requests>=2.31",
        ],
    },
    entry_points={"console_scripts": ["oms=webmap.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: GIS",
        "Intended Audience :: Science/Research",
    ],
)
