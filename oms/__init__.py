"""The outage and dispatch domain: events, outages, crews, dispatch, reports, CLI.

Builds on :mod:`topology`; never imports :mod:`webmap` or Flask.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
