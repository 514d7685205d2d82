"""Recipients imported from the data portal (Portal Data SSN) as CSV: first a validation report
that stores nothing, then an import that is all or nothing and idempotent.

Columns (header required, any order): nik, kk, name, address, kelurahan, kecamatan, religion,
programs (codes separated by ``;``). Religion is needed only for a program with an eligibility
rule (BAZNAS: Muslim recipients); it is checked and not stored. A NIK already registered with the
same data is ``unchanged``, so importing the same file twice changes nothing. Reasons name the
line, never the NIK (reports end up in logs and mail).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from host_gateway import cards, events
from host_gateway.db import bulk_insert
from host_gateway.errors import GatewayError, not_found
from host_gateway.programs import identity, terms
from host_gateway.programs.identity import Identities
from host_gateway.programs.models import ProgramTerms, Recipient, RecipientProgram

COLUMNS = ("nik", "kk", "name", "address", "kelurahan", "kecamatan", "religion", "programs")
MUSLIM = "islam"
MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    line: int
    nik: str
    nik_hash: bytes
    kk_hash: bytes
    name: str
    address: str
    kelurahan: str
    kecamatan: str
    programs: tuple[str, ...]


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class Report:
    rows: int = 0
    new: list[Row] = field(default_factory=list)
    unchanged: int = 0
    bad: list[BadRow] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "new": len(self.new),
            "unchanged": self.unchanged,
            "bad": [{"line": b.line, "reason": b.reason} for b in self.bad],
        }


@dataclass(frozen=True)
class _Known:
    """A recipient already registered, as the import compares it."""

    id: int
    fields: tuple[object, ...]


def _lines(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    if len(data) > MAX_BYTES:
        raise GatewayError("invalid", f"the file is larger than {MAX_BYTES // 2**20} MiB")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GatewayError("invalid", f"the file is not UTF-8 (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(content, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing or len(set(header)) != len(header):
        raise GatewayError(
            "invalid", f"line 1: the header needs the columns {', '.join(COLUMNS)} once each"
        )
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield reader.line_num, {"": f"{len(values)} fields, the header has {len(header)}"}
            continue
        yield reader.line_num, {h: v.strip() for h, v in zip(header, values, strict=True)}


def _known(session: Session) -> tuple[dict[bytes, _Known], dict[tuple[bytes, str], int]]:
    """Registered recipients by NIK hash, and active households per program."""
    programs: dict[int, list[str]] = {}
    for rid, code in session.execute(
        select(RecipientProgram.recipient_id, RecipientProgram.program_code)
    ):
        programs.setdefault(rid, []).append(code)
    known: dict[bytes, _Known] = {}
    households: dict[tuple[bytes, str], int] = {}
    for r in session.execute(
        select(
            Recipient.id,
            Recipient.nik_hash,
            Recipient.kk_hash,
            Recipient.name,
            Recipient.address,
            Recipient.kelurahan,
            Recipient.kecamatan,
            Recipient.status,
        )
    ):
        codes = tuple(sorted(programs.get(r.id, [])))
        known[bytes(r.nik_hash)] = _Known(
            r.id, (bytes(r.kk_hash), r.name, r.address, r.kelurahan, r.kecamatan, codes)
        )
        if r.status == "active":
            for code in codes:
                households[(bytes(r.kk_hash), code)] = r.id
    return known, households


def validate(session: Session, ids: Identities, data: bytes) -> Report:
    """Every row checked; nothing stored. Raises only for a file that is not a CSV of ours."""
    program_terms = terms.all_terms(session)
    known, households = _known(session)
    report = Report()
    seen: dict[bytes, int] = {}
    for line, values in _lines(data):
        report.rows += 1
        row_or_reason = _check(line, values, ids, program_terms)
        if isinstance(row_or_reason, str):
            report.bad.append(BadRow(line, row_or_reason))
            continue
        row = row_or_reason
        if row.nik_hash in seen:
            report.bad.append(BadRow(line, f"the same NIK as line {seen[row.nik_hash]}"))
            continue
        seen[row.nik_hash] = line
        fields = (row.kk_hash, row.name, row.address, row.kelurahan, row.kecamatan, row.programs)
        registered = known.get(row.nik_hash)
        if registered is not None:
            if registered.fields == fields:
                report.unchanged += 1
            else:
                report.bad.append(
                    BadRow(
                        line, f"NIK already registered (recipient {registered.id}) with other data"
                    )
                )
            continue
        reason = _household(row, program_terms, households)
        if reason:
            report.bad.append(BadRow(line, reason))
            continue
        for code in row.programs:
            households[(row.kk_hash, code)] = -line
        report.new.append(row)
    return report


def _check(
    line: int, values: dict[str, str], ids: Identities, program_terms: dict[str, ProgramTerms]
) -> Row | str:
    if "" in values:
        return values[""]
    codes = tuple(sorted({c.strip().upper() for c in values["programs"].split(";") if c.strip()}))
    needs_religion = any(program_terms[c].eligibility for c in codes if c in program_terms)
    empty = [c for c in COLUMNS if not values[c] and (c != "religion" or needs_religion)]
    if empty:
        return f"missing {', '.join(empty)}"
    problem = identity.nik_problem(values["nik"]) or identity.kk_problem(values["kk"])
    if problem:
        return problem
    for column in ("name", "address"):
        if len(values[column]) > 200 or not values[column].isprintable():
            return f"{column} must be 1-200 printable characters"
    problem = identity.region_problem(values["kelurahan"], values["kecamatan"])
    if problem:
        return problem
    unknown = [c for c in codes if c not in program_terms]
    if unknown:
        return f"unknown program {', '.join(unknown)}"
    for code in codes:
        if program_terms[code].eligibility == "muslim" and values["religion"].lower() != MUSLIM:
            return f"not eligible for {code} (its funder's rule)"
    nik_hash = ids.nik_hash(values["nik"])
    return Row(
        line,
        values["nik"],
        nik_hash,
        ids.kk_hash(values["kk"]),
        values["name"],
        values["address"],
        values["kelurahan"],
        values["kecamatan"],
        codes,
    )


def _household(
    row: Row, program_terms: dict[str, ProgramTerms], households: dict[tuple[bytes, str], int]
) -> str | None:
    for code in row.programs:
        other = households.get((row.kk_hash, code))
        if other is not None and not program_terms[code].households_allowed:
            where = f"line {-other}" if other < 0 else f"recipient {other}"
            return f"the household (KK) already has an active {code} recipient ({where})"
    return None


def import_rows(
    session: Session, ids: Identities, data: bytes, now: int, *, exclude_bad: bool = False
) -> Report:
    """Store the new rows of a clean file (or, asked, of the good rows only), all at once."""
    report = validate(session, ids, data)
    if report.bad and not exclude_bad:
        raise GatewayError(
            "invalid_rows",
            f"{len(report.bad)} bad rows (first: line {report.bad[0].line}: "
            f"{report.bad[0].reason}); nothing imported: fix them or exclude them",
        )
    if not report.new:
        return report
    first = int(session.scalar(select(func.coalesce(func.max(Recipient.id), 0))) or 0) + 1
    recipients, memberships = [], []
    for number, row in enumerate(report.new, start=first):
        recipients.append(
            {
                "id": number,
                "nik_hash": row.nik_hash,
                "nik_sealed": ids.seal_nik(row.nik, row.nik_hash),
                "kk_hash": row.kk_hash,
                "name": row.name,
                "address": row.address,
                "kelurahan": row.kelurahan,
                "kecamatan": row.kecamatan,
                "status": "active",
                "card_number": None,
                "created": now,
            }
        )
        memberships += [{"recipient_id": number, "program_code": c} for c in row.programs]
    bulk_insert(session, Recipient, recipients)
    bulk_insert(session, RecipientProgram, memberships)
    if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequence on
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('recipients', 'id'), :last)"),
            {"last": first + len(recipients) - 1},
        )
    return report


def reveal_nik(
    session: Session, ids: Identities, recipient_id: int, *, operator: str, reason: str, now: int
) -> str:
    """The NIK in clear, written to the audit log with who asked and why (in the same
    transaction: no reveal without its audit entry)."""
    if not operator.strip() or not reason.strip():
        raise GatewayError("invalid", "revealing a NIK needs the operator and the reason")
    recipient = session.get(Recipient, recipient_id)
    if recipient is None:
        raise not_found(f"recipient {recipient_id}")
    events.audit(
        session, now, operator.strip(), f"reveal NIK of recipient {recipient_id}: {reason}"
    )
    return ids.open_nik(recipient.nik_sealed, recipient.nik_hash)


def find_by_nik(session: Session, ids: Identities, nik: str) -> Recipient:
    problem = identity.nik_problem(nik)
    if problem:
        raise GatewayError("invalid", problem)
    found = session.scalar(select(Recipient).where(Recipient.nik_hash == ids.nik_hash(nik)))
    if found is None:
        raise not_found("a recipient with that NIK")
    return found


def programs_of(session: Session, recipient_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(RecipientProgram.program_code).where(
                RecipientProgram.recipient_id == recipient_id
            )
        )
    )


def masked_nik(ids: Identities, recipient: Recipient) -> str:
    """The NIK as operators see it; opening it to mask it needs the data key."""
    return identity.mask(ids.open_nik(recipient.nik_sealed, recipient.nik_hash))


def programs_of_card(session: Session, card_number: str) -> list[str]:
    return sorted(cards.card_programs(session, [card_number]).get(card_number, set()))
