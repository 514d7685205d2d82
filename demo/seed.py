"""``ssn-demo seed``: a whole program in a directory, built only with the project's own commands.

Every step first looks at the real state (the gateway's answers, the card files, the terminal
directories) and does only what is missing, so a second run changes nothing and a run that was
interrupted finishes the job. Layout of DIR::

    gateway/            the gateway's data directory (gateway.db, SQLite) and the demo catalog
    terminals/S000N/    one enrolled terminal per shop (journal, encrypted key, config)
    cards/card-NN.json  the card simulator's state files
    receipts/           where the printer simulator writes each receipt (.txt and .png)
    logs/               the gateway's and simulators' logs
    demo.env            the demo's passphrases, for `source DIR/demo.env`
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from demo.catalog import APBD, BAZNAS, demo_catalog
from demo.tools import (
    DemoError,
    command,
    port_is_free,
    run,
    start_process,
    stop_process,
    wait_for_gateway,
)
from ledger.verify import business_date

GATEWAY_PASSPHRASE = "demo-gateway-passphrase"
TERMINAL_PASSPHRASE = "demo-terminal-passphrase"
DEMO_ENV = {
    "SSN_GATEWAY_PASSPHRASE": GATEWAY_PASSPHRASE,
    "SSN_TERMINAL_PASSPHRASE": TERMINAL_PASSPHRASE,
}
DEMO_BIC = "BRINIDJA"
DEMO_GIRO = ("1234567890", "Dinas Sosial Kota Samarinda")
DEMO_CONSOLE_PASSWORD = "konsol-demo-2026"
"""Console users of the demo (admin, budi: settlement, sari: approver), in clear for the demo."""
DEMO_CONSOLE_USERS = (
    ("admin", "Admin Diskominfo", "admin"),
    ("budi", "Budi (settlement)", "settlement"),
    ("sari", "Sari (approver)", "approver"),
)
DEMO_CASHIER = "kasir"
DEMO_STAFF_PINS = {"cashier": "2580", "supervisor": "9630"}
"""The demo terminals' cashier and supervisor PINs (in clear for the demo only)."""
HOST = "127.0.0.1"
DEFAULT_GATEWAY_PORT = 8787
DEFAULT_PRINTER_PORT = 9100

APBD_MONTHLY = 200_000
BAZNAS_MONTHLY = 100_000
FUNDED_MONTHS = 12


@dataclass(frozen=True)
class Shop:
    id: str
    name: str
    kind: str
    address: str


@dataclass(frozen=True)
class Holder:
    name: str
    baznas: bool


PROGRAMS = ((APBD, "APBD Sembako"), (BAZNAS, "BAZNAS"))
SHOPS = (
    Shop("S0001", "e-Warong Sejahtera", "ewarong", "Jl. Pangeran Antasari No. 12, Samarinda"),
    Shop("S0002", "Warung Bu Ani", "mitra", "Jl. Juanda Gg. 5 No. 3, Samarinda Ulu"),
    Shop("S0003", "KUBE Mawar", "kube", "Jl. Sungai Pinang Dalam No. 40, Samarinda"),
)
HOLDERS = (
    Holder("Siti Aminah", True),
    Holder("Muhammad Rizky", True),
    Holder("Nur Hidayah", False),
    Holder("Ahmad Fauzi", False),
    Holder("Dewi Lestari", True),
    Holder("Rahmat Hidayat", False),
    Holder("Sri Wahyuni", False),
    Holder("Andi Saputra", True),
    Holder("Fitriani", False),
    Holder("Yusuf Abdullah", False),
)


def pin_of(index: int) -> str:
    """Demo PINs: 123401 for card 1 ... 123410 for card 10 (printed with the seed)."""
    return f"1234{index:02d}"


def month_end(day: dt.date, months_ahead: int) -> dt.date:
    """The last day of the month ``months_ahead`` after ``day``'s (0: this month)."""
    after = day.year * 12 + day.month + months_ahead  # the month after that one, 0-based
    return dt.date(after // 12, after % 12 + 1, 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def gateway(self) -> Path:
        return self.root / "gateway"

    @property
    def database(self) -> str:
        """The database the seeded gateway really uses: ``$SSN_GATEWAY_DB`` when set (the
        gateway's commands read it, e.g. PostgreSQL), else the SQLite file of its data dir.
        A password in the URL is not shown."""
        url = os.environ.get("SSN_GATEWAY_DB") or f"sqlite:///{self.gateway / 'gateway.db'}"
        return make_url(url).render_as_string(hide_password=True)

    def terminal(self, shop: Shop) -> Path:
        return self.root / "terminals" / shop.id

    def card(self, index: int) -> Path:
        return self.root / "cards" / f"card-{index:02d}.json"

    @property
    def receipts(self) -> Path:
        return self.root / "receipts"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def bank(self) -> Path:
        return self.root / "bank.json"


class Seeder:
    def __init__(self, root: Path, gateway_port: int, printer_port: int) -> None:
        self.layout = Layout(root.resolve())
        self.gateway_url = f"http://{HOST}:{gateway_port}"
        self.gateway_port = gateway_port
        self.printer_url = f"tcp://{HOST}:{printer_port}"
        self.today = business_date(int(dt.datetime.now(dt.UTC).timestamp()))
        self.changed: list[str] = []

    def gateway(self, *argv: str) -> Any:
        return run("ssn-gateway", *argv, "--data-dir", str(self.layout.gateway))

    # --- the steps ------------------------------------------------------------------------

    def seed(self) -> dict[str, Any]:
        for path in (self.layout.gateway, self.layout.receipts, self.layout.logs):
            path.mkdir(parents=True, exist_ok=True)
        self._write_env()
        if self.gateway("init")["created_keys"]:
            self.changed.append("gateway keys")
        self._programs()
        self._catalog()
        self._cards_issued()
        waiting = self._loads_created()
        if self._terminals_missing() or waiting:
            self._with_gateway_running(lambda: self._enroll_and_apply(waiting))
        for shop in SHOPS:
            self._staff(self.layout.terminal(shop))
        self._settlement()
        self._console_users()
        return self.describe()

    def _write_env(self) -> None:
        env = self.layout.root / "demo.env"
        text = "".join(f"export {k}={v}\n" for k, v in DEMO_ENV.items())
        text += f"export SSN_GATEWAY_HOME={self.layout.gateway}\n"
        if not env.exists() or env.read_text(encoding="utf-8") != text:
            env.write_text(text, encoding="utf-8")

    def _programs(self) -> None:
        have = {p["code"] for p in self.gateway("programs", "list")}
        monthly = {APBD: APBD_MONTHLY * len(HOLDERS),
                   BAZNAS: BAZNAS_MONTHLY * sum(h.baznas for h in HOLDERS)}  # fmt: skip
        for code, name in PROGRAMS:
            if code in have:
                continue
            self.gateway("programs", "add", "--code", code, "--name", name)
            amount = str(monthly[code] * FUNDED_MONTHS)
            self.gateway("programs", "fund", "--code", code, "--amount", amount)
            self.changed.append(f"program {code}")

    def _catalog(self) -> None:
        path = self.layout.gateway / "demo-catalog.json"
        content = demo_catalog().to_content()
        if path.exists() and json.loads(path.read_text(encoding="utf-8")) == content:
            return  # published when this file was written
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(content, indent=1, ensure_ascii=False), encoding="utf-8")
        self.gateway("catalog", "publish", str(tmp))
        tmp.replace(path)
        self.changed.append("catalog")

    def _cards_issued(self) -> None:
        for index, holder in enumerate(HOLDERS, start=1):
            path = self.layout.card(index)
            if not path.exists():
                run("ssn-sim", "card", "new", "--out", str(path), json_flag=False)
            if _card_state(path)["state"] != "BLANK":
                continue
            programs = f"{APBD},{BAZNAS}" if holder.baznas else APBD
            self.gateway(
                "cards", "issue", "--reader", f"sim:{path}", "--holder", holder.name,
                "--programs", programs, "--pin", pin_of(index),
            )  # fmt: skip
            self.changed.append(f"card {index}")

    def _loads_created(self) -> list[int]:
        """One month's benefit per program, for cards that never had one; returns the cards
        with loads waiting to be applied (created now or left by an interrupted run)."""
        expiry = {APBD: month_end(self.today, 2), BAZNAS: month_end(self.today, 1)}
        amount = {APBD: APBD_MONTHLY, BAZNAS: BAZNAS_MONTHLY}
        waiting: list[int] = []
        for index in range(1, len(HOLDERS) + 1):
            card = _card_state(self.layout.card(index))
            number = card["card_number"]
            shown = self.gateway("cards", "show", number)
            on_card = {p["code"] for p in card["purses"]}
            pending = {p["program"] for p in shown["pending_loads"]}
            missing = [c for c in shown["programs"] if c not in on_card and c not in pending]
            for code in missing:
                self.gateway(
                    "loads", "create", "--card", number, "--program", code,
                    "--amount", str(amount[code]), "--expiry", expiry[code].isoformat(),
                )  # fmt: skip
                self.changed.append(f"load {code} card {index}")
            if pending or missing:
                waiting.append(index)
        return waiting

    def _terminals_missing(self) -> bool:
        return any(not (self.layout.terminal(s) / "terminal.json").exists() for s in SHOPS)

    def _with_gateway_running(self, work: Callable[[], None]) -> None:
        if not port_is_free(HOST, self.gateway_port):
            raise DemoError(
                f"port {self.gateway_port} is in use: stop what runs there (a running "
                f"`ssn-demo up`?) or pass --gateway-port"
            )
        process = start_process(
            command(
                "ssn-gateway",
                "serve",
                "--data-dir",
                str(self.layout.gateway),
                "--host",
                HOST,
                "--port",
                str(self.gateway_port),
            ),
            self.layout.logs / "gateway.log",
            DEMO_ENV,
        )
        try:
            wait_for_gateway(self.gateway_url, process)
            work()
        finally:
            stop_process(process)

    def _enroll_and_apply(self, waiting: list[int]) -> None:
        shops = {s["id"] for s in self.gateway("shops", "list")}
        for shop in SHOPS:
            if shop.id not in shops:
                self.gateway("shops", "add", "--id", shop.id, "--name", shop.name,
                             "--kind", shop.kind)  # fmt: skip
                self.changed.append(f"shop {shop.id}")
            home = self.layout.terminal(shop)
            if (home / "terminal.json").exists():
                continue
            code = self.gateway("enroll-code", "--shop", shop.id)["code"]
            run("ssn-terminal", "init", "--data-dir", str(home), "--gateway", self.gateway_url,
                "--code", code, "--address", shop.address)  # fmt: skip
            run("ssn-terminal", "configure", "--data-dir", str(home), "--printer", self.printer_url)
            self.changed.append(f"terminal for {shop.id}")
        for index in waiting:  # terminals get loads only of cards they serve (S4)
            number = _card_state(self.layout.card(index))["card_number"]
            self.gateway("cards", "assign", number, "--shop", SHOPS[(index - 1) % len(SHOPS)].id)
        for shop in SHOPS:  # each shop fetches the loads of the cards it serves
            run("ssn-terminal", "sync", "--data-dir", str(self.layout.terminal(shop)))
        for index in waiting:
            shop = SHOPS[(index - 1) % len(SHOPS)]  # the holder's usual shop tops the card up
            run("ssn-terminal", "balance", "--data-dir", str(self.layout.terminal(shop)),
                "--reader", f"sim:{self.layout.card(index)}", "--pin", pin_of(index))  # fmt: skip
            self.changed.append(f"loads applied to card {index}")
        for shop in SHOPS:  # upload the load records: the gateway closes the loads
            run("ssn-terminal", "sync", "--data-dir", str(self.layout.terminal(shop)))

    def _settlement(self) -> None:
        """The distributing bank (simulated): the giro funded with what the programs' budgets
        booked, and each shop's account, known to the bank and to the gateway."""
        if self.layout.bank.exists():
            return
        giro, holder = DEMO_GIRO
        funded = self.gateway("bank", "status")["giro_journal"]
        bank = str(self.layout.bank)
        run("ssn-sim", "bank", "init", "--state", bank, "--giro", giro, "--bic", DEMO_BIC,
            "--holder", holder)  # fmt: skip
        run("ssn-sim", "bank", "fund", "--state", bank, "--amount", str(funded))
        self.gateway("settlement", "giro", "--bic", DEMO_BIC, "--account", giro, "--holder", holder)
        for number, shop in enumerate(SHOPS, start=1):
            account = f"00112233{number:02d}"
            run("ssn-sim", "bank", "open-account", "--state", bank, "--account", account,
                "--bic", DEMO_BIC, "--holder", shop.name)  # fmt: skip
            self.gateway("settlement", "shop-account", shop.id, "--bic", DEMO_BIC, "--account",
                         account, "--holder", shop.name, "--operator", "seed")  # fmt: skip
        self.changed.append("bank simulator, giro and shop accounts")

    def _console_users(self) -> None:
        have = {u["username"] for u in self.gateway("users", "list")}
        os.environ["SSN_CONSOLE_PASSWORD"] = DEMO_CONSOLE_PASSWORD
        try:
            for username, name, role in DEMO_CONSOLE_USERS:
                if username not in have:
                    self.gateway("users", "add", username, "--name", name, "--role", role)
                    self.changed.append(f"console user {username}")
        finally:
            del os.environ["SSN_CONSOLE_PASSWORD"]

    def _staff(self, home: Path) -> None:
        """The cashier app's first run, done for the demo: a cashier and a supervisor PIN."""
        if run("ssn-terminal", "staff", "list", "--data-dir", str(home))["cashiers"]:
            return
        os.environ["SSN_DEMO_PIN"] = DEMO_STAFF_PINS["supervisor"]
        run("ssn-terminal", "staff", "supervisor-pin", "--pin-env", "SSN_DEMO_PIN",
            "--data-dir", str(home))  # fmt: skip
        os.environ["SSN_DEMO_PIN"] = DEMO_STAFF_PINS["cashier"]
        run("ssn-terminal", "staff", "cashier", DEMO_CASHIER, "--pin-env", "SSN_DEMO_PIN",
            "--data-dir", str(home))  # fmt: skip
        del os.environ["SSN_DEMO_PIN"]
        self.changed.append(f"cashier and supervisor PINs in {home.name}")

    # --- what the seed prints -------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        shops = []
        for shop in SHOPS:
            home = self.layout.terminal(shop)
            terminal = run("ssn-terminal", "configure", "--data-dir", str(home))
            shops.append({"id": shop.id, "name": shop.name, "kind": shop.kind,
                          "address": shop.address, "terminal_id": terminal["terminal_id"],
                          "terminal_data_dir": str(home)})  # fmt: skip
        cards = []
        for index, holder in enumerate(HOLDERS, start=1):
            path = self.layout.card(index)
            card = _card_state(path)
            cards.append(
                {
                    "state_file": str(path),
                    "number": card["card_number"],
                    "holder": holder.name,
                    "pin": pin_of(index),
                    "balances": {p["code"]: p["balance"] for p in card["purses"]},
                    "expiry": {p["code"]: p["expiry"] for p in card["purses"]},
                }
            )
        return {
            "data_dir": str(self.layout.root),
            "gateway": {
                "url": self.gateway_url,
                "database": self.layout.database,
                "data_dir": str(self.layout.gateway),
            },
            "printer": {"url": self.printer_url, "receipts": str(self.layout.receipts)},
            "env": {**DEMO_ENV, "SSN_GATEWAY_HOME": str(self.layout.gateway)},
            "env_file": str(self.layout.root / "demo.env"),
            "programs": [{"code": c, "name": n} for c, n in PROGRAMS],
            "shops": shops,
            "bank": str(self.layout.bank),
            "console": {
                "url": f"{self.gateway_url}/console/",
                "password": DEMO_CONSOLE_PASSWORD,
                "users": [{"username": u, "role": r} for u, _, r in DEMO_CONSOLE_USERS],
            },
            "staff": {
                "cashier": DEMO_CASHIER,
                **{f"{k}_pin": v for k, v in DEMO_STAFF_PINS.items()},
            },
            "cards": cards,
            "changed": self.changed,
        }


def _card_state(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = run("ssn-sim", "card", "show", str(path), json_flag=False)
    return value


def seed(
    root: Path,
    gateway_port: int = DEFAULT_GATEWAY_PORT,
    printer_port: int = DEFAULT_PRINTER_PORT,
) -> dict[str, Any]:
    """Seed (or finish seeding) ``root``; returns what a user needs to use the system."""
    return Seeder(root, gateway_port, printer_port).seed()
