"""Programs (funders), their recipients, the life of a recipient's card and monthly aid.

Services are plain functions over a SQLAlchemy session (the CLI and, later, the web console call
the same ones); tables are in :mod:`host_gateway.programs.models`. See docs/programs.md.
"""
