"""Alembic migrations of the oms database (run by :func:`oms.storage.db.migrate`)."""
