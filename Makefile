# The two commands of README.md. Everything else is a detail of these.
.PHONY: up test lint

up:
	./scripts/bootstrap
	.venv/bin/ssn-demo up

test:
	./scripts/bootstrap
	./scripts/services
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy
