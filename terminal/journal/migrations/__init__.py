"""Alembic migrations of the terminal journal, packaged with the code and run on open."""
