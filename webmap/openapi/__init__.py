"""The OpenAPI 3.1 description of the HTTP API, generated from the routes.

=========== =================================================================
metadata    :func:`~webmap.openapi.metadata.operation`, the description a view
            declares beside its route, and small JSON Schema helpers
shapes      the named schemas of the answers (``Outage``, ``Job``, ``Error``...)
document    the document built from the app's routes, and its blueprint:
            ``GET /api/openapi.json``
=========== =================================================================

Who may call a route is stated once, by :func:`webmap.auth.require`; the
document reads it from the view (``x-roles``, ``security``). The API
modules import :mod:`~webmap.openapi.metadata` and
:mod:`~webmap.openapi.shapes`, and :mod:`~webmap.openapi.document` imports
no API module: it reads the routes of the app it is given. This package
itself imports nothing, so that :mod:`webmap.auth` can describe its routes
while the document module imports :mod:`webmap.auth`.
"""

from __future__ import annotations

__all__: list[str] = []
