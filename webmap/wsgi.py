"""The WSGI entry point for gunicorn (several processes on one PostgreSQL).

    OMS_DATABASE_URL=postgresql+psycopg2://oms@db/oms \\
    gunicorn -w 4 -k gthread --threads 16 -b 0.0.0.0:8080 webmap.wsgi:app

Do not use ``--preload``: each worker opens its own connections and runs
its own engine; one of them (an advisory lock decides) runs the timers.
See ``docs/server.md``.
"""

from __future__ import annotations

from webmap.app import create_app

__all__ = ["app"]

app = create_app()
