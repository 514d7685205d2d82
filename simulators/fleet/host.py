"""The host's side of a fleet run, done as its operators do it: through the host's own services
(the functions the CLI and the web console call), at the fleet's clock.

Setup: keys, the APBD program and its funding, the catalog, shops with bank accounts, recipients
imported from a portal CSV and their cards issued, the bank simulator. Every month: aid prepared
by one operator and approved by another (the same operator approving is refused, maker-checker).
Every day: the window closed, the payout prepared and released by two operators, the pain.001
taken by the bank simulator, its pain.002 and camt.053 read back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from console import UserError
from demo.catalog import demo_catalog
from drivers.card.readers import connected_card
from host_gateway import distribution, postings, refunds, releases, shops
from host_gateway.cli import main as gateway_main
from host_gateway.db import transaction
from host_gateway.enrollment import create_code
from host_gateway.errors import GatewayError
from host_gateway.gateway import Gateway
from host_gateway.models import Load, LoadSupersession, Refund, StoredRecord
from host_gateway.programs import aid, cardlife, recipients, terms
from host_gateway.programs.identity import Identities
from host_gateway.settlement import accounts, payouts, reconcile, windows
from ledger.cardproofs import LoadAuthorization
from ledger.verify import WITA
from simulators.bank import bank
from simulators.card.state import CardData
from simulators.card.store import CardStore
from simulators.fleet.clock import FileClock

PASSPHRASE = "fleet-gateway-passphrase"
PROGRAM = "APBD"
BENEFIT = 200_000
GIRO = ("BPDKIDJ1", "0011223344", "Dinas Sosial Kota Samarinda")
MAKER, CHECKER = "Ani", "Budi"
STALE = "proof_time_stale"
"""Held because the record came in after the host's offline window: a long network cut."""
CSV_HEADER = "nik,kk,name,address,kelurahan,kecamatan,religion,programs"


def nik(serial: int) -> str:
    """A plausible Samarinda NIK (64 72 district, a birth date DDMMYY, a serial)."""
    district, number = divmod(serial - 1, 9_999)  # serial 0000 is not a NIK
    return f"6472{district + 1:02d}120385{number + 1:04d}"


def shop_account(index: int) -> str:
    return f"{9_000_000_000 + index}"


@dataclass
class Counts:
    refusals: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1


@dataclass
class Host:
    gateway: Gateway
    clock: FileClock
    bank_path: Path
    answers: Path
    counts: Counts = field(default_factory=Counts)

    @classmethod
    def create(cls, db: str, data_dir: Path, clock: FileClock) -> Host:
        os.environ["SSN_GATEWAY_PASSPHRASE"] = PASSPHRASE
        gateway_command("init", "--db", db, "--data-dir", str(data_dir))
        gateway = Gateway.open(db, PASSPHRASE.encode(), workers=1, clock=clock)
        state = bank.new_bank(GIRO[1], GIRO[0], GIRO[2])
        path = data_dir / "bank.json"
        state.save(path)
        answers = data_dir / "bank-answers"
        answers.mkdir(exist_ok=True)
        return cls(gateway, clock, path, answers)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with transaction(self.gateway.factory) as session:
            yield session

    # --- setup ----------------------------------------------------------------------------

    def setup(self, shop_ids: list[str], months: int, card_count: int) -> None:
        now = self.clock()
        funding = BENEFIT * card_count * months
        with self.session() as session:
            terms.define(
                session,
                terms.TermsInput(PROGRAM, "APBD Sembako", "APBD", ["beras", "minyak"], BENEFIT),
                now,
            )
            entry = postings.Entry("funding", f"giro funding for {PROGRAM}")
            postings.post(
                session, now, [entry.transfer(postings.GIRO, postings.fund(PROGRAM), funding)]
            )
            distribution.publish_catalog(
                session, self.gateway.keys, demo_catalog().to_content(), now
            )
            accounts.set_giro(session, GIRO[0], GIRO[1], GIRO[2])
            for index, shop_id in enumerate(shop_ids):
                shops.add_shop(session, f"e-Warong {shop_id}", "ewarong", now, shop_id)
                accounts.set_shop_account(
                    session, shop_id, "BRINIDJA", shop_account(index), f"Toko {shop_id}", MAKER, now
                )
        state = bank.BankState.load(self.bank_path)
        bank.fund(state, funding, f"{PROGRAM} funding", now)
        for index, shop_id in enumerate(shop_ids):
            state.accounts[shop_account(index)] = bank.Account("BRINIDJA", f"Toko {shop_id}")
        state.save(self.bank_path)

    def import_recipients(self, count: int) -> None:
        rows = [
            f"{nik(n)},647206{n:010d},Warga {n},Jl. Pramuka {n},Sempaja Selatan,"
            f"Samarinda Utara,Islam,{PROGRAM}"
            for n in range(1, count + 1)
        ]
        data = ("\n".join([CSV_HEADER, *rows]) + "\n").encode()
        with self.session() as session:
            report = recipients.import_rows(session, self.ids, data, self.clock())
        if report.bad:
            raise FleetError(f"the recipients import refused rows: {report.bad[:3]}")

    @property
    def ids(self) -> Identities:
        return Identities(self.gateway.keys.nik_key)

    def issue_card(self, serial: int, path: Path, pin: str) -> str:
        """A blank card written for recipient ``serial`` through a reader."""
        CardStore(path).create(CardData.blank())
        with self.session() as session:
            recipient_id = recipients.find_by_nik(session, self.ids, nik(serial)).id
        with connected_card(f"sim:{path}", None) as (_, connection):
            issued = cardlife.issue_for_recipient(
                self.gateway.factory, self.gateway.keys, connection, recipient_id=recipient_id,
                display_name=None, pin=pin, now=self.clock(), operator=MAKER,
            )  # fmt: skip
        return issued.card.number

    def replace_lost(self, old: Path, new: Path, pin: str) -> dict[str, int]:
        """The holder reports the card lost: it is hotlisted and a blank card issued in its
        place, carrying the old card's last confirmed balance (docs/programs.md)."""
        certificate = CardStore(old).load().certificate
        assert certificate is not None
        CardStore(new).create(CardData.blank())
        with connected_card(f"sim:{new}", None) as (_, connection):
            _, carried = cardlife.replace(
                self.gateway.factory, self.gateway.keys, connection,
                old_number=certificate.card_number, pin=pin, now=self.clock(), operator=MAKER,
            )  # fmt: skip
        return carried

    def card_number(self, path: Path) -> str:
        certificate = CardStore(path).load().certificate
        assert certificate is not None
        return certificate.card_number

    def assign(self, numbers: list[str], shop_id: str) -> None:
        """The holders' shop: its terminals carry these cards' loads, even offline."""
        with self.session() as session:
            for number in numbers:
                distribution.assign_card(session, number, shop_id)

    def enroll_code(self, shop_id: str) -> str:
        with self.session() as session:
            return create_code(session, shop_id, self.clock())

    # --- every month, every day -----------------------------------------------------------

    def monthly_aid(self, period: str) -> int:
        """Prepare (maker) and approve (checker); the maker approving is refused. Cards signed."""
        with self.session() as session:
            batch = aid.prepare(session, PROGRAM, period, MAKER, self.clock()).batch.id
        try:
            with self.session() as session:
                aid.approve(session, self.gateway.keys, batch, f" {MAKER.lower()} ", self.clock())
            raise FleetError("the maker approved their own aid batch: maker-checker broken")
        except GatewayError as exc:
            self.counts.refuse(f"host:maker_approves_own_aid:{exc.code}")
        with self.session() as session:
            return aid.approve(session, self.gateway.keys, batch, CHECKER, self.clock())

    def settle(self, day: dt.date) -> dict[str, int]:
        """Close ``day``'s window and pay it out through the bank simulator."""
        now = self.clock()
        with self.session() as session:
            window = windows.close(session, day, MAKER, now)
        if window.payout_total == 0:
            return {"transfers": 0, "total": 0}
        with self.session() as session:
            payouts.prepare(session, day, MAKER, now)
        try:
            with self.session() as session:
                payouts.release(session, day, MAKER, now)
            raise FleetError("a payout was released by who prepared it")
        except GatewayError as exc:
            self.counts.refuse(f"host:maker_releases_own_payout:{exc.code}")
        with self.session() as session:
            released = payouts.release(session, day, CHECKER, now)
        state = bank.BankState.load(self.bank_path)
        outputs = bank.submit(state, released.xml, now)
        state.save(self.bank_path)
        for output in outputs:
            (self.answers / output.name).write_bytes(output.data)
            with self.session() as session:
                if b"pain.002" in output.data[:400]:
                    reconcile.import_status(session, output.data, now)
                else:
                    reconcile.import_statement(session, output.data, now)
        return {"transfers": released.transfers, "total": released.total}

    def refund_some(
        self, rng: random.Random, day: dt.date, share: float, most: int | None = None
    ) -> dict[str, int]:
        """After ``day``'s payout, operators give back part or all of a few of its accepted
        sales (goods returned): one asks, another approves (the asker approving is refused), and
        someone then asks for more than the sale has left (refused). The REFUND loads reach the
        card at its next online presentation. ``most``: refunds at most this many."""
        start = int(dt.datetime.combine(day, dt.time(), WITA).timestamp())
        with self.session() as session:
            already = select(Refund.record_id)
            sales = session.execute(
                select(StoredRecord.terminal_id, StoredRecord.seq)
                .where(StoredRecord.type == "sale", StoredRecord.status == "accepted",
                       StoredRecord.in_chain, StoredRecord.terminal_time >= start,
                       StoredRecord.terminal_time < start + 86_400,
                       StoredRecord.id.not_in(already))
                .order_by(StoredRecord.terminal_id, StoredRecord.seq)
            ).all()  # fmt: skip
        done = {"refunds": 0, "refunded": 0}
        for terminal_id, seq in sales:
            if rng.random() >= share or done["refunds"] == most:
                continue
            reference = f"{terminal_id}/{seq}"
            with self.session() as session:
                paid = refunds.find_sale(session, reference).proof.total
            amount = paid if rng.random() < 0.5 else rng.randint(1, paid)
            try:
                with self.session() as session:
                    asked = refunds.create(session, reference, amount, MAKER, "retur", self.clock())
                    refund_id = asked.id
            except GatewayError as exc:  # the sale was cancelled on the card, say
                cancelled = "cancelled" in exc.message
                self.counts.refuse(
                    "host:refund_of_cancelled_sale" if cancelled else f"host:refund:{exc.code}"
                )
                continue
            with self.must_refuse("host:refund_approved_by_asker") as session:
                refunds.approve(session, self.gateway.keys, refund_id, MAKER, self.clock())
            with self.must_refuse("host:refund_over_sale") as session:
                refunds.create(session, reference, paid - amount + 1, MAKER, "retur", self.clock())
            try:
                with self.session() as session:
                    refunds.approve(session, self.gateway.keys, refund_id, CHECKER, self.clock())
            except GatewayError as exc:  # the card was replaced, say: nothing is signed
                self.counts.refuse(f"host:refund:{exc.code}")
                continue
            done["refunds"] += 1
            done["refunded"] += amount
        return done

    def release_stale(self) -> int:
        """Operators review the held sales: those held only because their shop's network was
        down longer than the host's window are honest, and are released to the shop (Ani asks,
        her own approval is refused, Budi approves). A sale dated ahead by a wrong clock stays
        held."""
        with self.session() as session:
            stale = [v for v in releases.held_sales(session, 100_000) if v.held_as == STALE]
        for view in stale:
            with self.session() as session:
                asked = releases.ask(session, view.record, MAKER, "jaringan putus", self.clock())
                release_id = asked.id
            with self.must_refuse("host:release_approved_by_asker") as session:
                releases.approve(session, release_id, MAKER, self.clock())
            with self.session() as session:
                releases.approve(session, release_id, CHECKER, self.clock())
        return len(stale)

    def refunds_waiting(self) -> set[str]:
        """Cards with an approved refund the card has not taken yet."""
        with self.session() as session:
            waiting = session.execute(
                select(Load.card_number, Load.authorization).where(
                    Load.applied_at.is_(None), Load.id.not_in(select(LoadSupersession.load_id))
                )
            ).all()
        return {
            number
            for number, data in waiting
            if LoadAuthorization.decode(data).purpose == LoadAuthorization.REFUND
        }

    @contextlib.contextmanager
    def must_refuse(self, reason: str) -> Iterator[Session]:
        """A step the host must refuse (maker-checker, an amount the sale never paid): counted
        under ``reason``; allowed, it fails the run."""
        try:
            with self.session() as session:
                yield session
        except GatewayError:
            self.counts.refuse(reason)
            return
        raise FleetError(f"the host allowed what it must refuse: {reason}")

    def close(self) -> None:
        self.gateway.close()


class FleetError(Exception):
    """The run found a difference (or could not go on): the message says which."""


def gateway_command(*argv: str) -> str:
    """``ssn-gateway ARGV`` in this process, as an operator types it; its output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = gateway_main(list(argv))
    if code != 0:
        raise UserError(f"ssn-gateway {' '.join(argv)} failed: {err.getvalue() or out.getvalue()}")
    return out.getvalue()
