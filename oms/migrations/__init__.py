"""Alembic migrations of the oms database (run by :func:`oms.db.migrate`)."""
