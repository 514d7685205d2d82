"""docs/api.md's table of ingest result codes stays true: every refusal code the host can give is
documented there, and the table names no code the host no longer gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REFUSAL = re.compile(r'(?:\.reject|VerificationError)\(\s*"([a-z_]+)"')


def refusal_codes_in_code() -> set[str]:
    codes: set[str] = set()
    for package in ("host_gateway", "ledger"):
        for path in (ROOT / package).rglob("*.py"):
            codes |= set(_REFUSAL.findall(path.read_text()))
    return codes


def codes_in_table() -> set[str]:
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("#### Ingest result codes", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def test_every_refusal_code_is_in_the_table_and_nothing_else() -> None:
    in_code, in_table = refusal_codes_in_code(), codes_in_table()
    assert len(in_code) > 20  # the scan found the refusals (a broken pattern finds none)
    assert in_code - in_table == set(), "refusal codes missing from docs/api.md"
    assert in_table - in_code == set(), "docs/api.md names codes the host never gives"
