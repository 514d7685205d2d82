"""Alembic migrations of the gateway schema, shipped inside the package."""
