"""The end of a run: read every card, and prove the money adds up (M2, M3, S2, S5).

- per card and purse: what the host holds of the card's signed messages moves the purse from
  0 to exactly what the card itself holds now (loads − expiries − debits + cancellations +
  refunds = balance), with every counter the card used seen by the host;
- the host's double-entry journal sums to zero and its shadow balances match (ssn-gateway check);
- per shop: every debit the cards signed at its terminals is paid by the bank exactly once, or
  still payable (after the last cut-off) or held with a reason: net card sales = paid + payable
  + the refunds the shop pays back;
- per terminal: day closes agree with the host, chains are whole (closes.py);
- the bank's giro statement matches the host's books, and every transfer to a shop's account
  is a payout the host released;
- every dishonest act was refused or flagged (bare-reader void, maker approving their own batch
  or payout, sales dated ahead by a wrong terminal clock: held by the host, a lost card used by
  its finder after the holder had it replaced, a record hidden by its terminal: flagged by the
  host as a counter gap or read from the card's log into suspense).

Any difference is collected and the run fails with all of them listed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import gaps, shops
from host_gateway.check import CheckReport, run_check
from host_gateway.models import (
    Card,
    CardTransaction,
    Event,
    HeldRelease,
    Load,
    LoadSupersession,
    PurseProof,
    Refund,
    StoredRecord,
    Terminal,
)
from host_gateway.programs.models import AidBatch
from host_gateway.settlement import reconcile
from ledger.cardproofs import LoadAuthorization
from simulators.bank import bank
from simulators.card.store import CardStore
from simulators.fleet import paper
from simulators.fleet.closes import prove_closes
from simulators.fleet.host import PROGRAM, FleetError, shop_account
from simulators.fleet.shop import Log

if TYPE_CHECKING:
    from simulators.fleet.run import Fleet


def prove(fleet: Fleet) -> dict[str, Any]:
    problems: list[str] = []
    counts = _tally_logs(fleet.spec.out / "days", problems)
    paper.prove(fleet, counts, problems)  # the receipts on paper against the journals
    with fleet.host.session() as session:
        check = run_check(session, fleet.clock())
        hidden = counts.pop("hidden")
        aged = [gap for gap in check.aged_gaps if gap["card"] not in hidden]
        if check.journal_total or check.discrepancies or check.mismatches or aged:
            problems.append(f"host check: total {check.journal_total}, {check.discrepancies}")
        if check.cloned_cards or check.unexplained_credits:
            problems.append(f"clones {check.cloned_cards}, credits {check.unexplained_credits}")
        unseen = _hidden_ones_flagged(hidden, check, problems)
        flagged = sum(1 for debit in check.unrecorded_debits if debit["card"] in hidden)
        counts["refusals"]["flagged:hidden_record"] = flagged
        counts["hidden_not_yet_seen_by_host"] = len(hidden) - len(
            {debit["card"] for debit in check.unrecorded_debits}
        )
        money = _cards(fleet, session, problems, unseen)
        money["totals"]["hidden_by_terminals"] = sum(sum(amounts) for amounts in hidden.values())
        settled = _shops(fleet, session, problems)
        counts["terminals"] = prove_closes(fleet, session, counts.pop("hidden_at"), problems)
        counts["refusals"]["flagged:hidden_record_day_close"] = counts["terminals"].pop(
            "hidden_flagged_by_day_close"
        )
        books = reconcile.books(session)
        if not books.ok or books.payouts_open:
            problems.append(f"giro/payout books differ from the bank: {books}")
        counts["records_at_host"] = int(
            session.scalar(select(func.count()).select_from(StoredRecord)) or 0
        )
        counts["aid_batches"] = int(session.scalar(select(func.count()).select_from(AidBatch)) or 0)
        counts["held_by_shop"] = gaps.held_by_shop(session)
        counts["host_records"] = {
            f"{status}:{code}": int(n)
            for status, code, n in session.execute(
                select(StoredRecord.status, StoredRecord.code, func.count()).group_by(
                    StoredRecord.status, StoredRecord.code
                )
            )
        }
        counts["host_events"] = dict(
            session.execute(select(Event.code, func.count()).group_by(Event.code)).all()
        )
    future = sum(n for k, n in counts["host_records"].items() if k.endswith(":proof_time_future"))
    if counts["wrong_clock_sales"] > future:
        problems.append(
            f"{counts['wrong_clock_sales']} sales dated ahead by a wrong clock, the host held"
            f" only {future}"
        )
    state = bank.BankState.load(fleet.host.bank_path)
    if books.giro_bank != state.stated_balance:
        problems.append(f"bank statement {state.stated_balance} != host's view {books.giro_bank}")
    for reason, n in fleet.host.counts.refusals.items():
        counts["refusals"][reason] = counts["refusals"].get(reason, 0) + n
    result = {"ok": not problems, "problems": problems, "counts": counts,
              "money": money, "settlement": settled}  # fmt: skip
    if problems:
        raise FleetError("the money does not add up:\n  " + "\n  ".join(problems[:50]))
    return result


def _tally_logs(days: Path, problems: list[str]) -> dict[str, Any]:
    sales: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    recoveries: Counter[str] = Counter()
    per_day: Counter[str] = Counter()
    wrong_clock_sales = 0
    hidden: dict[str, list[int]] = {}
    hidden_at: set[str] = set()
    for path in sorted(days.glob("*.jsonl")):
        day = path.name[:10]
        events = Log.read(path)
        wrong_clock = any(e.get("clock_offset") for e in events)
        for event in events:
            kind, status = event.get("kind"), event.get("status")
            if wrong_clock and kind == "sale" and status == "completed":
                wrong_clock_sales += 1
            if kind == "sale" and event.get("finder"):
                refusals[f"finder_of_lost_card:{event['reason']}"] += status != "completed"
                if status == "completed":
                    problems.append(f"a lost card, replaced, bought in {path.name}")
            elif kind == "sale":
                sales[str(status)] += 1
                if status == "completed":
                    per_day[day] += 1
                if status == "refused":
                    refusals[f"terminal:{event['reason']}"] += 1
                for reason in event.get("refused_lines", []):
                    refusals[f"line:{reason}"] += 1
                if event.get("cash"):
                    sales["split_tender"] += 1
                if event.get("away"):
                    sales[f"away_from_home_{status}"] += 1
                if event.get("tear"):
                    faults["card_tear"] += 1
            elif kind == "void":
                sales[f"cancel_{status}"] += 1
            elif kind == "recovery":
                for result in event.get("resolutions", []):
                    recoveries[f"resolved_{result}"] += 1
            elif kind == "hidden":
                faults["record_hidden_by_terminal"] += 1
                hidden_at.add(path.stem)
                number = CardStore(Path(event["card"])).load().certificate
                assert number is not None
                hidden.setdefault(number.card_number, []).append(event["card_total"])
            elif kind == "balance":
                recoveries[f"balance_{status}"] += 1
            elif kind == "restart":
                recoveries["terminal_restarted"] += 1
            elif kind == "bare_void":
                refusals["card:bare_reader_void"] += status == "refused"
                if status != "refused":
                    problems.append(f"a bare reader cancelled a debit on the card ({path.name})")
            elif kind == "sync" and not event.get("ok"):
                problems.append(f"sync failed in {path.name}: {event.get('error')}")
    return {
        "sales": dict(sales),
        "refusals": dict(refusals),
        "faults": dict(faults),
        "recoveries": dict(recoveries),
        "completed_per_day": dict(sorted(per_day.items())),
        "wrong_clock_sales": wrong_clock_sales,
        "hidden": hidden,
        "hidden_at": hidden_at,
    }


def _hidden_ones_flagged(
    hidden: dict[str, list[int]], check: CheckReport, problems: list[str]
) -> dict[str, tuple[int, int]]:
    """Every debit the host holds no record of must be one a terminal hid, for its full amount:
    flagged as a counter gap (or read from the card's log into suspense) once the card made a
    later transaction, or not yet seen at all when it made none since (the host cannot know of
    a counter no message shows). Returns per card the counters and money the host has no
    message for."""
    flagged: Counter[str] = Counter()
    unseen: dict[str, tuple[int, int]] = {}
    for debit in check.unrecorded_debits:
        flagged[debit["card"]] += debit["amount"]
        if debit["source"] == "counter gap":
            counters, fall = unseen.get(debit["card"], (0, 0))
            unseen[debit["card"]] = (counters + len(debit["missing"]), fall + debit["amount"])
    for card in flagged.keys() - hidden.keys():
        problems.append(f"card {card}: a debit the host has no record of, and no terminal hid")
    for card, amounts in hidden.items():
        if flagged[card] == 0:  # the card has not been used since: its last counters are unknown
            unseen[card] = (len(amounts), sum(amounts))
        elif flagged[card] != sum(amounts):
            problems.append(f"card {card}: hidden {sum(amounts)}, flagged {flagged[card]}")
    for gap in check.gaps:
        if gap["card"] not in hidden:
            problems.append(f"a counter gap no terminal hid: {gap}")
    return unseen


def _cards(
    fleet: Fleet, session: Any, problems: list[str], unseen: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    """Every card read; its purses against what the host holds of its signed messages, and
    the gaps it flagged where a terminal hid a record."""
    moved: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(PurseProof.card_number, PurseProof.purse_code, CardTransaction.kind,
               func.sum(PurseProof.delta))
        .join(CardTransaction, (CardTransaction.card_number == PurseProof.card_number)
              & (CardTransaction.counter == PurseProof.counter))
        .group_by(PurseProof.card_number, PurseProof.purse_code, CardTransaction.kind)
    )  # fmt: skip
    host: dict[tuple[str, str], dict[str, int]] = {}
    for number, purse, kind, delta in rows:
        host.setdefault((number, purse), {})[kind] = int(delta)
    counters = dict(
        session.execute(
            select(CardTransaction.card_number, func.count()).group_by(CardTransaction.card_number)
        ).all()
    )
    refunded = _refund_loads(session)
    approved = _refunds_by_shop(session)
    totals: Counter[str] = Counter()
    for plan in [*fleet.cards, *fleet.lost]:
        card = CardStore(Path(plan.path)).load()
        assert card.certificate is not None
        number = card.certificate.card_number
        gap_counters, gap_fall = unseen.get(number, (0, 0))
        seen = int(counters.get(number, 0)) + gap_counters
        if seen != card.counter:
            problems.append(f"card {number}: counter {card.counter}, host saw {seen} counters")
        for purse in card.purses:
            by_kind = host.get((number, purse.code), {})
            refunds = refunded.get((number, purse.code), 0)
            loads = by_kind.get("load", 0) - refunds
            debits = -by_kind.get("sale", 0)
            voids = by_kind.get("void", 0)
            other = sum(v for k, v in by_kind.items() if k not in ("load", "sale", "void"))
            debits += gap_fall if purse.code == PROGRAM else 0  # the fleet's cards hold one purse
            if loads - debits + voids + refunds + other != purse.balance:
                problems.append(
                    f"card {number} purse {purse.code}: loads {loads} - debits {debits} + voids"
                    f" {voids} + refunds {refunds} + other {other} != balance on the card"
                    f" {purse.balance}"
                )
            totals["loads_net_of_expiry"] += loads
            totals["refunds"] += refunds
            totals["debits"] += debits
            totals["cancellations"] += voids
            totals["on_cards"] += purse.balance
            moved.setdefault(purse.code, Counter())
            moved[purse.code]["loads"] += loads
            moved[purse.code]["spent"] += debits - voids - refunds
            moved[purse.code]["on_cards"] += purse.balance
    totals["refunds_approved"] = sum(approved.values())
    totals["pending_on_ended_cards"] = int(
        session.scalar(  # issued for a card that was replaced or closed before it took them
            select(func.coalesce(func.sum(Load.amount), 0))
            .join(Card, Card.number == Load.card_number)
            .where(
                Load.applied_at.is_(None),
                Load.id.not_in(select(LoadSupersession.load_id)),
                Card.status != "active",
            )
        )
        or 0
    )
    if totals["refunds"] > totals["refunds_approved"]:
        problems.append(f"cards took {totals['refunds']} of refunds, approved only"
                        f" {totals['refunds_approved']}")  # fmt: skip
    return {"totals": dict(totals), "by_program": {k: dict(v) for k, v in moved.items()}}


def _shops(fleet: Fleet, session: Any, problems: list[str]) -> dict[str, Any]:
    """Net card money of the records the host accepted from each shop's terminals, and of the held
    ones operators released to it, = paid by the bank + still payable + the refunds it pays
    back; what the host did not accept and nobody released is held, with its reason."""
    signed = dict(
        session.execute(
            select(Terminal.shop_id, func.sum(PurseProof.delta))
            .join(CardTransaction, (CardTransaction.card_number == PurseProof.card_number)
                  & (CardTransaction.counter == PurseProof.counter))
            .join(StoredRecord, StoredRecord.id == CardTransaction.record_id)
            .join(Terminal, Terminal.id == StoredRecord.terminal_id)
            .where(CardTransaction.kind.in_(("sale", "void")), StoredRecord.status == "accepted")
            .group_by(Terminal.shop_id)
        ).all()
    )  # fmt: skip
    held = session.execute(
        select(Terminal.shop_id, StoredRecord.status, StoredRecord.code, func.sum(PurseProof.delta))
        .join(CardTransaction, (CardTransaction.card_number == PurseProof.card_number)
              & (CardTransaction.counter == PurseProof.counter))
        .join(StoredRecord, StoredRecord.id == CardTransaction.record_id)
        .join(Terminal, Terminal.id == StoredRecord.terminal_id)
        .where(CardTransaction.kind.in_(("sale", "void")), StoredRecord.status != "accepted",
               StoredRecord.id.not_in(select(HeldRelease.record_id)
                                      .where(HeldRelease.approved_at.is_not(None))))
        .group_by(Terminal.shop_id, StoredRecord.status, StoredRecord.code)
    ).all()  # fmt: skip
    held_by: dict[str, dict[str, int]] = {}
    for shop_id, status, code, delta in held:
        held_by.setdefault(shop_id, {})[f"{status}:{code}"] = -int(delta or 0)
    state = bank.BankState.load(fleet.host.bank_path)
    given_back = _refunds_by_shop(session)
    released = dict(
        session.execute(
            select(HeldRelease.shop_id, func.sum(HeldRelease.amount))
            .where(HeldRelease.approved_at.is_not(None))
            .group_by(HeldRelease.shop_id)
        ).all()
    )
    out: dict[str, Any] = {}
    for index, shop_id in enumerate(fleet.shop_ids):
        released_here = int(released.get(shop_id, 0))
        net = -int(signed.get(shop_id, 0) or 0) + released_here
        paid = state.accounts[shop_account(index)].balance
        payable = shops.payable(session, shop_id)
        refunds = given_back.get(shop_id, 0)
        if net != paid + payable + refunds:
            problems.append(f"shop {shop_id}: cards signed {net}, bank paid {paid} + payable"
                            f" {payable} + refunds it pays back {refunds}")  # fmt: skip
        out[shop_id] = {"net_card_sales": net, "paid": paid, "payable": payable,
                        "refunds": refunds, "held_released_to_shop": released_here,
                        "held_with_reason": held_by.get(shop_id, {})}  # fmt: skip
    return out


def _refund_loads(session: Session) -> dict[tuple[str, str], int]:
    """Per card and purse, the REFUND loads the cards took (each an issuer-signed load of an
    approved refund; :func:`_refunds_by_shop` is what the shops pay back for them)."""
    taken: Counter[tuple[str, str]] = Counter()
    rows = session.execute(
        select(Load.card_number, Load.purse_code, Load.amount, Load.authorization).where(
            Load.applied_at.is_not(None)
        )
    )
    for number, purse, amount, data in rows:
        if LoadAuthorization.decode(data).purpose == LoadAuthorization.REFUND:
            taken[(number, purse)] += int(amount)
    return dict(taken)


def _refunds_by_shop(session: Session) -> dict[str, int]:
    """Approved refunds per shop: each moved the money from the shop's payable back to the
    card's pending load when it was approved, delivered or not."""
    given: Counter[str] = Counter()
    for shop_id, amounts in session.execute(
        select(Refund.shop_id, Refund.amounts).where(Refund.approved_at.is_not(None))
    ):
        given[shop_id] += sum(int(a) for a in json.loads(amounts).values())
    return dict(given)
