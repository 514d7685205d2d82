# The two commands of README.md. Everything else is a detail of these.
.PHONY: up test lint

up:
	./scripts/bootstrap
	./scripts/services pcscd || echo "pcscd is not available: the demo reaches its cards in-process"
	.venv/bin/ssn-demo up --data-dir demo-data

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
