"""The fleet run: set up the host and the shops, play the days, prove the money (audit.py).

Each shop's day is a separate process (shop.py) so that it can be killed with SIGKILL at any
instant; a few run at once. The gateway is its own process (gateway.py), reached over HTTP.
The host's operators act in this process, through the host's services.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from simulators.fleet import audit
from simulators.fleet.clock import FileClock, at_wita
from simulators.fleet.host import PASSPHRASE, FleetError, Host
from simulators.fleet.plan import (
    RICE_5KG,
    CardPlan,
    DayPlan,
    day_plans,
    first_of_next_month,
    pin_of,
    with_printer_faults,
)
from simulators.fleet.printers import Printers
from simulators.fleet.shop import SUPERVISOR_PIN, Log, ShopDay, Visit, sync
from terminal.cli import main as terminal_main
from terminal.home import TerminalHome
from terminal.staff import set_supervisor_pin

TERMINAL_PASSPHRASE = "fleet-terminal-passphrase"
REFUND_SHARE = 0.03
"""Of a day's accepted sales, the share whose goods come back for a refund."""
Progress = Callable[[str, int, int], None]
"""(what, done, total): the command line draws it as a bar."""


@dataclass(frozen=True)
class FleetSpec:
    shops: int
    cards: int
    days: int
    seed: int
    out: Path
    db: str | None = None
    start: dt.date | None = None
    parallel: int = 2


@dataclass
class Fleet:
    spec: FleetSpec
    host: Host
    clock: FileClock
    url: str
    cards: list[CardPlan]
    shop_ids: list[str]
    lost: list[CardPlan] = dataclasses.field(default_factory=list)
    """Cards reported lost and replaced: still read and proven at the end."""
    faults: dict[str, int] = dataclasses.field(default_factory=dict)
    away: dict[int, set[str]] = dataclasses.field(default_factory=dict)
    """Per shop, the cards of other shops' holders it served (their files)."""
    per_day: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    printers: Printers | None = None
    """The shops' printers (printers.py); shop ``n`` prints on ``printers.printers[n]``."""

    def home(self, shop: int) -> Path:
        return self.spec.out / "terminals" / self.shop_ids[shop]

    def count(self, what: str, n: int = 1) -> None:
        self.faults[what] = self.faults.get(what, 0) + n


def run_fleet(spec: FleetSpec, progress: Progress) -> dict[str, Any]:
    started = time.monotonic()
    spec.out.mkdir(parents=True, exist_ok=True)
    for sub in ("gateway", "terminals", "cards", "days", "printers"):
        (spec.out / sub).mkdir(exist_ok=True)
    os.environ["SSN_TERMINAL_PASSPHRASE"] = TERMINAL_PASSPHRASE
    start = spec.start or first_of_next_month(dt.date.today())
    days = [start + dt.timedelta(d) for d in range(spec.days)]
    clock = FileClock(spec.out / "clock")
    clock.set(at_wita(start, 6))
    db = spec.db or f"sqlite:///{spec.out / 'gateway' / 'gateway.db'}"
    host = Host.create(db, spec.out / "gateway", clock)
    shop_ids = [f"S{n:04d}" for n in range(1, spec.shops + 1)]
    months = len({(d.year, d.month) for d in days})
    host.setup(shop_ids, months, spec.cards)
    host.import_recipients(spec.cards)
    cards = [
        CardPlan(i, str(spec.out / "cards" / f"card-{i:05d}.json"), pin_of(i), i % spec.shops)
        for i in range(1, spec.cards + 1)
    ]
    numbers: list[list[str]] = [[] for _ in shop_ids]
    for n, card in enumerate(cards, start=1):
        numbers[card.shop].append(host.issue_card(card.index, Path(card.path), card.pin))
        progress("issuing cards", n, len(cards))
    port = _free_port()
    gateway = _start_gateway(db, port, clock, spec.out / "gateway" / "gateway.log")
    fleet = Fleet(spec, host, clock, f"http://127.0.0.1:{port}", cards, shop_ids)
    try:
        fleet.printers = printers = Printers.start(spec.out / "printers", spec.shops, _env())
        _wait_for(fleet.url, gateway)
        for shop in range(spec.shops):
            _enroll(fleet, shop)
            printers.attach(fleet.home(shop), shop)
            host.assign(numbers[shop], shop_ids[shop])
        rng = random.Random(spec.seed)
        for n, day in enumerate(days):
            _play_day(fleet, rng, day, n)
            progress("days", n + 1, len(days))
        # One more morning: every shop online, its outbox synced; that day's window closed.
        after = days[-1] + dt.timedelta(1)
        clock.set(at_wita(after, 9))
        printers.fix_all()  # and every queue catches up at the shop's day end
        _run_shops(fleet, after, _last_morning(fleet))
        fleet.count("held_sales_released", host.release_stale())
        clock.set(at_wita(after + dt.timedelta(1), 0, 30))
        host.settle(after)
        clock.set(at_wita(after + dt.timedelta(1), 1))
        printers.settle()
        result = audit.prove(fleet)
    finally:
        if fleet.printers is not None:
            fleet.printers.stop()
        _stop(gateway)
        host.close()
    wall = time.monotonic() - started
    result["run"] = {
        "shops": spec.shops, "cards": spec.cards, "days": spec.days, "seed": spec.seed,
        "database": "postgresql" if db.startswith("postgresql") else "sqlite",
        "wall_seconds": round(wall, 1),
        "records": result["counts"]["records_at_host"],
        "records_per_second": round(result["counts"]["records_at_host"] / wall, 1),
    }  # fmt: skip
    result["faults"] = fleet.faults
    result["per_day"] = fleet.per_day
    return result


def _play_day(fleet: Fleet, rng: random.Random, day: dt.date, index: int) -> None:
    fleet.clock.set(at_wita(day, 7))
    loads = 0
    if day.day == 1 or index == 0:
        loads = fleet.host.monthly_aid(f"{day.year:04d}-{day.month:02d}")
    if index == 2:
        _lose_a_card(fleet, rng)
    fleet.clock.set(at_wita(day, 12))
    plans = with_printer_faults(
        fleet.spec.seed, index, day_plans(rng, fleet.cards, fleet.spec.shops, index)
    )
    if index == 2:  # someone found the lost card and tries it at its shop
        lost = fleet.lost[-1]
        found = Visit(lost.path, "000000", [(RICE_5KG, 1)], finder=True)
        plans[lost.shop] = dataclasses.replace(
            plans[lost.shop], visits=[*plans[lost.shop].visits, found]
        )
    for shop, plan in enumerate(plans):
        fleet.away.setdefault(shop, set()).update(v.card for v in plan.visits if v.away)
    _run_shops(fleet, day, plans)
    fleet.clock.set(at_wita(day + dt.timedelta(1), 0, 30))
    paid = fleet.host.settle(day)
    fleet.clock.set(at_wita(day + dt.timedelta(1), 1))
    rng_refunds = random.Random(f"{fleet.spec.seed}/refunds/{day.isoformat()}")
    first = not any(d["refunded"] for d in fleet.per_day)  # however small the run: one refund
    share, most = (1.0, 1) if first else (REFUND_SHARE, None)
    refunded = fleet.host.refund_some(rng_refunds, day, share, most)
    fleet.count("held_sales_released", fleet.host.release_stale())
    fleet.per_day.append({"day": day.isoformat(), "visits": sum(len(p.visits) for p in plans),
                          "aid_loads": loads, "payout": paid["total"],
                          "refunded": refunded["refunded"]})  # fmt: skip


def _last_morning(fleet: Fleet) -> list[DayPlan]:
    """Every shop online. Holders whose card a terminal still waits for come back to that
    shop; holders with a refund waiting, or whose sale a terminal hid, ask their own shop for
    their balance: the card takes the refund, or tells the host (its counter, in the lookup) of
    the debit no record brought, which the terminal then reads from the card's log."""
    due = fleet.host.refunds_waiting()
    hidden = {
        event["card"]
        for log in (fleet.spec.out / "days").glob("*.jsonl")
        for event in Log.read(log)
        if event.get("kind") == "hidden"
    }
    plans = []
    for shop in range(fleet.spec.shops):
        away = fleet.away.get(shop, set())
        visits = [Visit(c.path, c.pin, [], returning=True) for c in fleet.cards
                  if c.shop == shop or c.path in away]  # fmt: skip
        asking = [c for c in fleet.cards if c.shop == shop]
        visits += [Visit(c.path, c.pin, [], balance=True) for c in asking
                   if c.path in hidden or fleet.host.card_number(Path(c.path)) in due]  # fmt: skip
        plans.append(DayPlan(visits, True, False))
    return plans


def _lose_a_card(fleet: Fleet, rng: random.Random) -> None:
    """A holder reports the card lost before the shops open; the new card takes its place."""
    n = rng.randrange(len(fleet.cards))
    old = fleet.cards[n]
    new = dataclasses.replace(old, path=old.path.replace(".json", "-r.json"))
    fleet.host.replace_lost(Path(old.path), Path(new.path), new.pin)
    fleet.host.assign([fleet.host.card_number(Path(new.path))], fleet.shop_ids[new.shop])
    fleet.cards[n] = new
    fleet.lost.append(old)
    fleet.count("lost_card_replaced")


def _run_shops(fleet: Fleet, day: dt.date, plans: list[DayPlan]) -> None:
    with ThreadPoolExecutor(max_workers=fleet.spec.parallel) as pool:
        jobs = [pool.submit(_shop_day, fleet, day, shop, plan) for shop, plan in enumerate(plans)]
        for job in jobs:
            job.result()


def _shop_day(fleet: Fleet, day: dt.date, shop: int, plan: DayPlan) -> None:
    name = f"{day.isoformat()}-{fleet.shop_ids[shop]}"
    log = fleet.spec.out / "days" / f"{name}.jsonl"
    path = fleet.spec.out / "days" / f"{name}.json"
    value = ShopDay(
        str(fleet.home(shop)),
        day.isoformat(),
        str(fleet.clock.path),
        str(log),
        plan.online,
        plan.visits,
        plan.clock_offset,
        printer_control=fleet.printers.printers[shop].control if fleet.printers else None,
        printer_fault=plan.printer_fault,
    )
    path.write_text(json.dumps(dataclasses.asdict(value)), encoding="utf-8")
    if not plan.online:
        fleet.count("network_cut_days")
    if plan.clock_offset:
        fleet.count("wrong_clock_days")
    if plan.printer_fault is not None:
        fleet.count(plan.printer_fault.counter)
    rng = random.Random(f"{fleet.spec.seed}/{name}")
    process = _spawn(path)
    if plan.kill:  # at a random instant of the day's work (not while Python starts)
        while process.poll() is None and not any(e.get("kind") == "started" for e in Log.read(log)):
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.15 * len(plan.visits)))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            fleet.count("terminal_kill9")
            process = _spawn(path)  # the cashier restarts the terminal
    code = process.wait()
    if code != 0 or not any(e.get("kind") == "end" for e in Log.read(log)):
        tail = (log.read_text() if log.exists() else "")[-2000:]
        raise FleetError(f"shop {name} exited with {code}: {tail}")


def _spawn(day_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "simulators.fleet.shop", str(day_file)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=open(day_file.with_suffix(".err"), "ab"),
    )


def _env() -> dict[str, str]:
    env = {**os.environ, "SSN_GATEWAY_PASSPHRASE": PASSPHRASE,
           "SSN_TERMINAL_PASSPHRASE": TERMINAL_PASSPHRASE}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _enroll(fleet: Fleet, shop: int) -> None:
    """``ssn-terminal init`` with a one-time code, as a shop does; then a supervisor PIN (for
    cancellations) and a first sync on the fleet's clock (init's own ran on the wall clock and
    the host refused its clock)."""
    code = fleet.host.enroll_code(fleet.shop_ids[shop])
    home = fleet.home(shop)
    argv = ["init", "--data-dir", str(home), "--gateway", fleet.url, "--code", code, "--json"]
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        status = terminal_main(argv)
    if status != 0:
        raise FleetError(f"terminal of {fleet.shop_ids[shop]} could not enroll")
    with TerminalHome.open(home) as opened:
        set_supervisor_pin(opened, SUPERVISOR_PIN)
        first = sync(opened, fleet.clock)
    if not first["ok"]:
        raise FleetError(f"terminal of {fleet.shop_ids[shop]} could not sync: {first}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_gateway(db: str, port: int, clock: FileClock, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulators.fleet.gateway",
                "--db",
                db,
                "--port",
                str(port),
                "--clock",
                str(clock.path),
            ],
            env=_env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise FleetError(f"the gateway exited with {process.returncode}; see its log")
            try:
                if client.get(f"{url}/v1/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise FleetError("the gateway did not answer within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
