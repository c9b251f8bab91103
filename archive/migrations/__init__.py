"""Alembic migrations of the archive schema (run by ``evolve.archive.db.migrate``)."""
