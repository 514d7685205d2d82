"""The paper proof: what came off each shop's printer against the print jobs its terminal's
journal committed (docs/printing.md, "What must hold").

An auditor reads the paper: a receipt is known by what it shows (shop, terminal, record number,
kind of copy, the QR with the record id, the lines), so each printed piece is matched to the
journal job whose stored bytes, rendered the way the printer renders them, read the same; a
torn piece by the lines it got to. The SALINAN banner and closing line, and the header of a
held receipt printed away from its holder, are read off the top and bottom first.

- (a) per journal job, at most one unmarked original on paper, whole or torn (a torn piece is
  "maybe on paper": it counts), and never after a SALINAN of it; a torn piece that shows too
  little to name its job must be the original of some job that has none yet (a matching);
- (b) every job is on paper whole at least once (original or SALINAN), and the journal has it
  printed; an original or a SALINAN only of a job the journal marked sent (write-ahead);
- (c) every piece of paper is a job of its terminal's journal;
- (d) a piece cut right before the printer dropped the link (the simulator's ``after_cut drop``:
  whole on paper, its status never reached the terminal) is the last unmarked copy of its
  receipt: every later copy of it is SALINAN, or there is none.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulators.fleet.printers import printer_dir
from simulators.fleet.shop import Log
from simulators.printer.device import AFTER_CUT_DROP
from simulators.printer.escpos import EscPosParser
from simulators.printer.job import Job
from simulators.printer.paper import Interpreter
from simulators.printer.render import render_text
from terminal.receipts.model import Language
from terminal.receipts.strings import strings_for

if TYPE_CHECKING:
    from simulators.fleet.run import Fleet

Lines = tuple[str, ...]
_STRINGS = [strings_for(language) for language in Language]
SALINAN = frozenset(f"*** {s.reprint} ***" for s in _STRINGS)
HELD = frozenset(f"*** {s.held} ***" for s in _STRINGS)
DOTS = {80: 576, 58: 384}


@dataclass(frozen=True)
class Piece:
    """One job off the printer, as read: whole (cut) or torn, marked or not."""

    number: int
    complete: bool
    salinan: bool
    held: str | None
    """The held header's line naming the transaction, if printed under one."""
    body: Lines
    """The receipt's own lines (stripped), without the banners and the closing SALINAN line;
    empty when the piece ends inside a banner."""
    status_lost: bool = False
    """Cut, then the link dropped before the status after it was answered (``after_cut drop``)."""


@dataclass(frozen=True)
class JournalJob:
    job_id: int
    kind: str
    status: str
    first_sent: int | None
    seq: int | None
    body: Lines
    reprint: bool
    """The job's stored bytes carry the SALINAN mark already (a reprint job)."""


@dataclass
class PaperReport:
    problems: list[str]
    counts: Counter[str]


def render(data: bytes, dots: int = 576) -> list[str]:
    """ESC/POS bytes as the simulated printer puts them on paper (its ``.txt``), one job."""
    jobs: list[Job] = []
    interpreter = Interpreter(dots, can_print=lambda: True, reply=lambda _: None,
                              job_done=jobs.append)  # fmt: skip
    parser = EscPosParser()
    for command in [*parser.feed(data), *parser.close()]:
        interpreter.apply(command)
    interpreter.finish(complete=False)
    return [line for job in jobs for line in render_text(job, dots).splitlines()]


def read(lines: Iterable[str], complete: bool, number: int = 0, status_lost: bool = False) -> Piece:
    """A printed job's text split into its banners and the receipt's own lines."""
    rest = [line.strip() for line in lines]
    salinan, held = False, None
    while rest and (rest[0] in SALINAN or rest[0] in HELD):
        end = next((i for i, line in enumerate(rest) if i and set(line) == {"*"}), None)
        if end is None:  # torn inside the banner: no receipt line on this paper
            return Piece(number, complete, salinan or rest[0] in SALINAN, held, (), status_lost)
        if rest[0] in SALINAN:
            salinan = True
        else:
            held = rest[1] if end > 1 else ""
        rest = rest[end + 1 :]
    if len(rest) == 1 and not complete and any(m.startswith(rest[0]) for m in SALINAN | HELD):
        return Piece(number, complete, True, held, (), status_lost)  # a banner's first line, torn
    if salinan and rest and rest[-1] in SALINAN:
        rest = rest[:-1]
    elif salinan and complete:
        rest.append("(no closing SALINAN line)")  # matches nothing: reported
    return Piece(number, complete, salinan, held, tuple(rest), status_lost)


def read_paper(folder: Path) -> list[Piece]:
    pieces = []
    for meta_path in sorted(folder.glob("job-*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        text = meta_path.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
        lost = meta.get("after_cut") == AFTER_CUT_DROP
        pieces.append(read(text, bool(meta["complete"]), int(meta["job"]), lost))
    return pieces


def read_journal(path: Path, dots: int = 576) -> list[JournalJob]:
    """Every print job the journal holds, read as an auditor would: the file, read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT p.job_id, p.kind, p.data, p.status, p.first_sent, r.seq FROM print_jobs p"
            " LEFT JOIN records r ON r.id = p.record_id ORDER BY p.job_id"
        ).fetchall()
    finally:
        db.close()
    jobs = []
    for job_id, kind, data, status, first_sent, seq in rows:
        piece = read(render(bytes(data), dots), complete=True)
        jobs.append(JournalJob(job_id, kind, status, first_sent, seq, piece.body, piece.salinan))
    return jobs


def _torn_fits(torn: Lines, whole: Lines) -> bool:
    """A torn piece's lines begin the whole receipt's (its last line may be cut short)."""
    if not torn or len(torn) > len(whole):
        return False
    *full, last = torn
    return list(full) == list(whole[: len(full)]) and whole[len(full)].startswith(last)


def _match(wants: Sequence[list[Lines]]) -> list[int]:
    """Which torn unmarked pieces find no original of their own (augmenting paths)."""
    owner: dict[Lines, int] = {}

    def place(piece: int, seen: set[Lines]) -> bool:
        for body in wants[piece]:
            if body not in seen:
                seen.add(body)
                if body not in owner or place(owner[body], seen):
                    owner[body] = piece
                    return True
        return False

    return [n for n in range(len(wants)) if not place(n, set())]


def prove_printer(pieces: Sequence[Piece], jobs: Sequence[JournalJob], where: str) -> PaperReport:
    """(a), (b), (c) for one printer and its terminal's journal."""
    problems: list[str] = []
    counts: Counter[str] = Counter()
    copies: dict[Lines, list[JournalJob]] = {}
    for job in jobs:
        copies.setdefault(job.body, []).append(job)
    whole: Counter[Lines] = Counter()
    originals: dict[Lines, list[int]] = {}
    marked: dict[Lines, list[int]] = {}
    torn_originals: list[tuple[Piece, list[Lines]]] = []
    sent = {b for b, same in copies.items() if any(j.first_sent is not None for j in same)}
    for piece in pieces:
        counts["paper_jobs"] += 1
        counts["torn"] += not piece.complete
        if not piece.body:
            continue  # a banner's first lines only: no receipt on it
        if piece.complete:
            fits = [piece.body] if piece.body in copies else []
        else:
            tails = [(mark,) for mark in SALINAN] if piece.salinan else [()]
            fits = [b for b in copies if any(_torn_fits(piece.body, b + t) for t in tails)]
        if not fits:
            problems.append(f"{where} paper job {piece.number}: no journal job reads like it")
            continue
        if not set(fits) & sent:
            problems.append(f"{where} paper job {piece.number}: on paper, never marked sent")
        if not piece.complete:
            if not piece.salinan:
                torn_originals.append((piece, [b for b in fits if b in sent]))
            continue
        whole[piece.body] += 1
        (marked if piece.salinan else originals).setdefault(piece.body, []).append(piece.number)
        counts["salinan" if piece.salinan else "originals"] += 1
        if piece.held is not None:
            counts["held_printed"] += 1
            _check_held(piece, copies[piece.body], where, problems)
    for body, numbers in originals.items():
        if len(numbers) > 1:
            problems.append(f"{where}: a second unmarked original on paper: jobs {numbers}")
        if min(marked.get(body, [numbers[0] + 1])) < numbers[0]:
            problems.append(f"{where}: unmarked original {numbers[0]} after a SALINAN of it")
    free = [[b for b in fits if b not in originals] for _, fits in torn_originals]
    for n in _match(free):
        piece = torn_originals[n][0]
        problems.append(
            f"{where} paper job {piece.number}: a torn unmarked original, and every job it"
            " could be has its unmarked original on paper already"
        )
    for body, same in copies.items():
        if whole[body] < len(same):
            ids = [j.job_id for j in same]
            problems.append(f"{where}: journal jobs {ids} on paper whole {whole[body]} times")
        for job in same:
            if job.status != "printed" or job.first_sent is None:
                problems.append(
                    f"{where}: journal job {job.job_id} is {job.status}, sent {job.first_sent}"
                )
            if job.kind == "sale-customer":
                counts["customer_receipts"] += 1
                proven = whole[body] >= len(same) and len(originals.get(body, [])) <= 1
                counts["customer_receipts_proven"] += proven
    counts["journal_jobs"] += len(jobs)
    _check_status_lost(pieces, where, problems, counts)
    return PaperReport(problems, counts)


def _check_status_lost(
    pieces: Sequence[Piece], where: str, problems: list[str], counts: Counter[str]
) -> None:
    """(d) After a receipt cut whole whose status was lost, only SALINAN copies of it."""
    for n, piece in enumerate(pieces):
        if not piece.status_lost:
            continue
        counts["status_lost"] += 1
        later = [p for p in pieces[n + 1 :] if p.complete and p.body == piece.body]
        again = [p.number for p in later if not p.salinan]
        if again:
            problems.append(
                f"{where} paper job {piece.number}: cut before its status was lost, then printed"
                f" unmarked again: jobs {again}"
            )
        counts["status_lost_then_salinan" if later else "status_lost_not_again"] += 1


def _check_held(piece: Piece, jobs: list[JournalJob], where: str, problems: list[str]) -> None:
    """A held receipt's header names its own transaction."""
    names = {s.held_of.format(seq=f"{j.seq:06d}") for j in jobs if j.seq for s in _STRINGS}
    names |= {s.held_of_earlier for s in _STRINGS} if any(j.seq is None for j in jobs) else set()
    if piece.held not in names:
        problems.append(f"{where} paper job {piece.number}: held header {piece.held!r}")


def prove(fleet: Fleet, counts: dict[str, Any], problems: list[str]) -> None:
    """Every shop's printer against its terminal's journal; the printer faults and the
    recoveries from the shops' logs. Adds to the audit's ``counts`` and ``problems``."""
    total: Counter[str] = Counter()
    for shop, shop_id in enumerate(fleet.shop_ids):
        folder = printer_dir(fleet.spec.out / "printers", shop)
        report = prove_printer(
            read_paper(folder), read_journal(fleet.home(shop) / "journal.sqlite"), shop_id
        )
        problems.extend(report.problems)
        total.update(report.counts)
    struck: Counter[str] = Counter()
    late = 0
    for path in sorted((fleet.spec.out / "days").glob("*.jsonl")):
        events = Log.read(path)
        struck.update({f"printer_{e['fault']}" for e in events if e.get("kind") == "printer_fault"})
        late += sum(len(e["printed"]) for e in events if e.get("kind") == "print_catch_up")
    planned = {k: n for k, n in fleet.faults.items() if k.startswith("printer_")}
    if planned != dict(struck):
        problems.append(f"printer faults planned {planned}, struck {dict(struck)}")
    if total["status_lost"] != struck["printer_status_lost"]:
        problems.append(
            f"printer status_lost struck {struck['printer_status_lost']} times, but"
            f" {total['status_lost']} receipts were cut before a lost status"
        )
    counts["faults"].update(struck)
    counts["recoveries"]["receipts_printed_late"] = late
    counts["recoveries"]["receipts_marked_salinan"] = total["salinan"]
    counts["paper"] = dict(sorted(total.items()))
