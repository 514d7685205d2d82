"""``ssn-demo up``: the seeded program running, ready for a first sale.

Starts the gateway, the printer simulator (receipts to DIR/receipts) and, when pcscd runs with
the vpcd driver, the card simulator holding demo card 1 in a vpcd slot (otherwise every card is
reached in-process with ``--reader sim:FILE``). Prints a walkthrough, then waits; Ctrl-C or
SIGTERM stops the children in reverse order and exits 0.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from demo.catalog import DEMO_ITEMS
from demo.seed import HOST, seed
from demo.tools import (
    DemoError,
    command,
    port_is_free,
    start_process,
    stop_process,
    wait_for_gateway,
)
from drivers.card.pcsc import list_readers
from drivers.card.transport import CardTransportError

VPCD_PREFIX = "Virtual PCD"


class Services:
    """The children of ``up``, stopped in reverse order of starting."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.logs / f"{name}.log"
        process = start_process(argv, log, {})
        self.running.append((name, process))
        return process, log

    def discard(self, name: str) -> None:
        """Stops one child that could not do its job; the demo goes on without it."""
        for entry in [e for e in self.running if e[0] == name]:
            stop_process(entry[1])
            self.running.remove(entry)

    def died(self) -> str | None:
        for name, process in self.running:
            if process.poll() is not None:
                return f"{name} exited with code {process.returncode} (see {self.logs}/{name}.log)"
        return None

    def stop(self) -> None:
        for _, process in reversed(self.running):
            stop_process(process)
        self.running.clear()


def vpcd_reader(slot: int) -> str | None:
    """The vpcd reader of ``slot`` if pcscd runs with the vpcd driver, else None."""
    try:
        readers = list_readers()
    except CardTransportError:
        return None
    wanted = [r for r in readers if r.startswith(VPCD_PREFIX) and r.endswith(f" {slot:02d}")]
    return wanted[0] if wanted else None


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while port_is_free(HOST, port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise DemoError(f"the {what} did not start listening on port {port}; see its log")
        time.sleep(0.05)


def wait_for_ready(log: Path, offset: int, process: subprocess.Popen[bytes]) -> None:
    """``ssn-sim card serve`` prints a ready event once its card is in the slot."""
    deadline = time.monotonic() + 15
    while True:
        with log.open("rb") as handle:
            handle.seek(offset)
            if b'"ready"' in handle.read():
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise DemoError(f"the card simulator could not take the vpcd slot; see {log}")
        time.sleep(0.05)


def bring_up(
    data_dir: Path, gateway_port: int, printer_port: int, slot: int, *, app: bool = False
) -> int:
    for port, what in ((gateway_port, "gateway"), (printer_port, "printer simulator")):
        if not port_is_free(HOST, port):
            raise DemoError(f"port {port} for the {what} is in use (another `ssn-demo up`?)")
    print("seeding (first time only) ...", flush=True)
    seeded = seed(data_dir, gateway_port, printer_port)
    root = Path(seeded["data_dir"])
    services = Services(root / "logs")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        gateway, _ = services.start(
            "gateway",
            command(
                "ssn-gateway",
                "serve",
                "--data-dir",
                seeded["gateway"]["data_dir"],
                "--host",
                HOST,
                "--port",
                str(gateway_port),
            ),
        )
        wait_for_gateway(seeded["gateway"]["url"], gateway)
        printer, _ = services.start(
            "printer",
            command(
                "ssn-sim",
                "printer",
                "serve",
                "--tcp",
                f"{HOST}:{printer_port}",
                "--out",
                seeded["printer"]["receipts"],
            ),
        )
        wait_for_port(printer_port, printer, "printer simulator")
        reader = vpcd_reader(slot)
        demo_card = seeded["cards"][0]
        if reader is not None:
            log = root / "logs" / "card.log"
            offset = log.stat().st_size if log.exists() else 0
            card, log = services.start(
                "card",
                command(
                    "ssn-sim",
                    "card",
                    "serve",
                    "--state",
                    demo_card["state_file"],
                    "--slot",
                    str(slot),
                ),
            )
            try:
                wait_for_ready(log, offset, card)
            except DemoError as exc:
                print(f"{exc}: the demo card stays in-process instead", file=sys.stderr)
                services.discard("card")
                reader = None
        print(walkthrough(seeded, reader), flush=True)
        if app:
            cashier_app(seeded, reader)
            print("the cashier app closed; the rest keeps running: Ctrl-C stops it", flush=True)
        while not stop.wait(0.5):
            problem = services.died()
            if problem is not None:
                print(f"stopping: {problem}", file=sys.stderr)
                return 1
    finally:
        services.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
    print("stopped: gateway, printer and card simulators are down")
    return 0


def cashier_app(seeded: dict[str, Any], reader: str | None) -> None:
    """The first shop's cashier app in front, in this terminal, until the cashier quits."""
    card = seeded["cards"][0]
    argv = ["run", "--data-dir", seeded["shops"][0]["terminal_data_dir"]]
    argv += ["--reader", reader if reader is not None else f"sim:{card['state_file']}"]
    staff = seeded["staff"]
    print(
        f"starting the cashier app: cashier {staff['cashier']} PIN {staff['cashier_pin']}, "
        f"supervisor PIN {staff['supervisor_pin']}, card PIN {card['pin']}",
        flush=True,
    )
    time.sleep(2)  # time to read the PINs before the screen changes
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the app now
    try:
        subprocess.run(command("ssn-terminal", *argv), check=False)
    finally:
        signal.signal(signal.SIGINT, previous)


def _gtin(name: str) -> str:
    return next(item.gtin for item in DEMO_ITEMS if item.name == name)


def walkthrough(seeded: dict[str, Any], reader: str | None) -> str:
    bin_dir = Path(sys.executable).parent
    card = seeded["cards"][0]
    other = seeded["cards"][2]
    terminal = seeded["shops"][0]["terminal_data_dir"]
    if reader is not None:
        where = f'in the pcscd reader "{reader}" (card simulator)'
        reader_option = "" if reader.endswith(" 00") else f' --reader "{reader}"'
    else:
        where = "in-process (no pcscd reader for it): --reader sim:FILE"
        reader_option = f" --reader sim:{card['state_file']}"
    items = (
        f"{_gtin('Beras Medium 5 kg')},{_gtin('Minyakita 1 L')}x2,{_gtin('Rokok Kretek 12 batang')}"
    )
    console = seeded["console"]
    t = f"{bin_dir}/ssn-terminal"
    g = f"{bin_dir}/ssn-gateway"
    return f"""
SSN demo is up. Ctrl-C stops everything.
  gateway  {seeded["gateway"]["url"]}  (database {seeded["gateway"]["database"]})
  printer  {seeded["printer"]["url"]}  receipts as .txt and .png in {seeded["printer"]["receipts"]}
  card     {card["holder"]} {card["number"]} PIN {card["pin"]} {where}
  shops    {", ".join(f"{s['name']} ({s['terminal_id']})" for s in seeded["shops"])}
  logs     {seeded["data_dir"]}/logs

Try it in another shell:
  source {seeded["env_file"]}
  T={terminal}
  # the holder's balance, then a sale: rice and oil are paid, the cigarettes refused by name
  {t} balance --data-dir $T --pin {card["pin"]}{reader_option}
  {t} sale --data-dir $T --pin {card["pin"]}{reader_option} --items {items}
  # the receipt as the paper shows it (.txt) and as a picture with its QR code (.png)
  ls {seeded["printer"]["receipts"]}
  # upload the sale, then look at it from the gateway
  {t} sync --data-dir $T
  {g} cards show {card["number"]}
  {g} check
  # settle today's sales: the demo moves the day's cut-off to the next minute and waits for it;
  # budi closes the window and prepares the payout, sari releases it, the bank executes it
  G={seeded["gateway"]["data_dir"]}; D=$(TZ=Asia/Makassar date +%F); H=$(TZ=Asia/Makassar date +%H)
  M=$((10#$H * 60 + 10#$(TZ=Asia/Makassar date +%M) + 1))
  {g} settings set settlement_cutoff_minutes $M --data-dir $G; sleep $((61 - 10#$(date +%S)))
  {g} settlement close --date $D --operator budi --data-dir $G
  {g} settlement prepare --date $D --operator budi --data-dir $G
  {g} settlement release --date $D --operator sari --out payout.xml --data-dir $G
  {bin_dir}/ssn-sim bank submit --state {seeded["bank"]} --out bank-files payout.xml
  {g} bank import bank-files/*.xml --data-dir $G && {g} bank status --data-dir $G
The operator console: {console["url"]}  (admin, budi, sari; password {console["password"]})
Other cards: --reader sim:{other["state_file"]} --pin {other["pin"]}
  (cards/card-01.json .. card-10.json, PIN 123401 .. 123410)
"""
