"""What happens in a run, drawn from one seed: who shops where and when, what they buy, which
faults strike and which actor cheats. The same seed gives the same plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass

from demo.catalog import DEMO_ITEMS
from simulators.fleet.printing import FAULTS, PrinterFault
from simulators.fleet.shop import Visit

STAPLES = [i.gtin for i in DEMO_ITEMS if i.programs]
NOT_STAPLES = [i.gtin for i in DEMO_ITEMS if not i.programs]
RICE_5KG = DEMO_ITEMS[1].gtin
VISITS_PER_CARD_DAY = 0.15
"""About four or five purchases a month: a month's benefit spent in small baskets."""
PRINTER_FAULT_DAYS = 0.12
"""Shop-days on which something happens to the printer."""
WRONG_CLOCK = 2 * 86_400
AWAY_SHARE = 0.05
"""Of the visits, the share made at another shop than the holder's own (near work, a
relative's): the card is not assigned there, so its loads come only from the host, online."""


@dataclass(frozen=True)
class CardPlan:
    index: int
    path: str
    pin: str
    shop: int


@dataclass(frozen=True)
class DayPlan:
    """One shop's day: its visits, whether the network is up, whether it is killed."""

    visits: list[Visit]
    online: bool
    kill: bool
    clock_offset: int = 0
    printer_fault: PrinterFault | None = None


def pin_of(index: int) -> str:
    return f"{200_000 + index:06d}"[-6:]


def basket(rng: random.Random) -> tuple[list[tuple[str, int]], bool]:
    """Items and whether the holder pays the rest in cash: mostly staples, sometimes a
    non-staple (refused, or paid in cash), sometimes more rice than the month allows."""
    items = [(rng.choice(STAPLES), rng.randint(1, 2)) for _ in range(rng.randint(1, 3))]
    cash = False
    roll = rng.random()
    if roll < 0.15:
        items.append((rng.choice(NOT_STAPLES), 1))
        cash = rng.random() < 0.5
    elif roll < 0.22:
        items.append((RICE_5KG, 3))  # 15 kg: over the 10 kg monthly cap
    return items, cash


def day_plans(
    rng: random.Random, cards: list[CardPlan], shops: int, day_index: int
) -> list[DayPlan]:
    visits: list[list[Visit]] = [[] for _ in range(shops)]
    for card in cards:
        if rng.random() >= VISITS_PER_CARD_DAY:
            continue
        items, cash = basket(rng)
        pin = card.pin if rng.random() > 0.02 else "000000"  # a mistyped PIN now and then
        shop = card.shop
        if shops > 1 and rng.random() < AWAY_SHARE:
            shop = (card.shop + rng.randrange(1, shops)) % shops
        visits[shop].append(
            Visit(
                card=card.path,
                pin=pin,
                items=items,
                cash=cash,
                cancel=rng.random() < 0.06,
                tear=rng.random() < 0.05,
                bare_void=rng.random() < 0.03,
                away=shop != card.shop,
            )
        )
    plans = []
    for shop in range(shops):
        online = day_index == 0 or rng.random() > 0.15  # network cut for the day
        plans.append(DayPlan(visits[shop], online, kill=bool(visits[shop]) and rng.random() < 0.1))
    if day_index == 1:
        plans = _every_fault_once(plans, cards)
    if day_index == 2:  # a dishonest terminal dates its sales two days ahead
        shop = max(range(shops), key=lambda n: len(plans[n].visits))
        plans[shop] = dataclasses.replace(plans[shop], online=True, clock_offset=WRONG_CLOCK)
    return plans


def _every_fault_once(plans: list[DayPlan], cards: list[CardPlan]) -> list[DayPlan]:
    """However small the fleet, one busy shop gets each fault on the second day: a card torn
    during its debit, a cancellation, a bare-reader void, and a kill -9; another shop's
    terminal hides a sale. Where too few holders came, more of the shop's own come in."""
    busiest = max(range(len(plans)), key=lambda n: len(plans[n].visits))
    visits = plans[busiest].visits + _walk_ins(plans, cards, busiest, 2)
    visits[0] = dataclasses.replace(visits[0], tear=True, cancel=False)
    visits[-1] = dataclasses.replace(visits[-1], cancel=True, bare_void=True)
    plans[busiest] = DayPlan(visits, plans[busiest].online, kill=True)
    others = [n for n in range(len(plans)) if n != busiest]
    if not others:
        return plans
    hider = max(others, key=lambda n: len(plans[n].visits))
    shown = plans[hider].visits + _walk_ins(plans, cards, hider, 1)
    hidden = [
        dataclasses.replace(v, hide=True, cancel=v.cancel and n > 0) for n, v in enumerate(shown)
    ]
    plans[hider] = dataclasses.replace(plans[hider], visits=hidden)
    if not any(visit.away for plan in plans for visit in plan.visits):
        for holder in _walk_ins(plans, cards, hider, len(plans[hider].visits) + 1):
            away = dataclasses.replace(holder, away=True)  # the hider's holder, at the busiest
            *before, last = plans[busiest].visits
            plans[busiest] = dataclasses.replace(plans[busiest], visits=[*before, away, last])
    return plans


def _walk_ins(plans: list[DayPlan], cards: list[CardPlan], shop: int, want: int) -> list[Visit]:
    """Visits of ``shop``'s own holders, not out shopping today, so that it has ``want``."""
    today = {visit.card for plan in plans for visit in plan.visits}
    idle = [c for c in cards if c.shop == shop and c.path not in today]
    missing = max(0, want - len(plans[shop].visits))
    return [Visit(c.path, c.pin, [(STAPLES[0], 1)]) for c in idle[:missing]]


def with_printer_faults(seed: int, day_index: int, plans: list[DayPlan]) -> list[DayPlan]:
    """Some shop-days get a printer fault, drawn from the seed on a stream of its own (the
    visits of a seed stay what they were). However small the fleet, the busiest shop of the
    first day runs out of paper in the middle of a receipt, that of the second day loses the
    printer's link in the middle of one and that of the third day right after one's cut, so
    the CI fleet sees all three."""
    rng = random.Random(f"{seed}/printers/{day_index}")
    faults: list[PrinterFault | None] = []
    for plan in plans:
        fault = None
        if rng.random() < PRINTER_FAULT_DAYS:
            kind = rng.choice(FAULTS)
            at = rng.randint(0, len(plan.visits))  # the visit count: at the day close
            amounts = {"paper_out": rng.randint(3, 40), "dropped_connection": rng.randint(50, 1500)}
            fault = PrinterFault(kind, at, at + rng.randint(1, 4), amounts.get(kind, 0))
        faults.append(fault)
    sure = [("paper_out", 20), ("dropped_connection", 400), ("status_lost", 0)]
    if day_index < len(sure):
        busiest = max(range(len(plans)), key=lambda n: len(plans[n].visits))
        kind, amount = sure[day_index]
        faults[busiest] = PrinterFault(kind, 0, rng.randint(1, 3), amount)
    return [dataclasses.replace(p, printer_fault=f) for p, f in zip(plans, faults, strict=True)]


def first_of_next_month(today: dt.date) -> dt.date:
    return (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
