"""``ssn-sim fleet``: run a fleet (docs/fleet.md), a progress bar on the terminal while it runs,
the result as JSON and a summary picture next to it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from console import UserError, print_json
from simulators.fleet.host import FleetError
from simulators.fleet.run import FleetSpec, run_fleet


def register(subparsers: Any) -> None:
    fleet = subparsers.add_parser("fleet", help="many shops, cards and days; prove the money")
    fleet.add_argument("--shops", type=int, default=3)
    fleet.add_argument("--cards", type=int, default=30)
    fleet.add_argument("--days", type=int, default=5)
    fleet.add_argument("--seed", type=int, default=1)
    fleet.add_argument("--db", default=None, help="gateway database URL (default: SQLite)")
    fleet.add_argument("--out", type=Path, default=None, help="run directory (default: temp)")
    fleet.add_argument("--start", type=dt.date.fromisoformat, default=None, help="first day")
    fleet.add_argument("--parallel", type=int, default=2, help="shop processes at once")
    fleet.add_argument("--json", action="store_true")
    fleet.set_defaults(func=cmd_fleet)


def cmd_fleet(args: argparse.Namespace) -> int:
    if min(args.shops, args.cards, args.days, args.parallel) < 1 or args.cards < args.shops:
        raise UserError("--shops, --cards, --days and --parallel must be >= 1, cards >= shops")
    out = args.out or Path(tempfile.mkdtemp(prefix="ssn-fleet-"))
    if (out / "clock").exists():
        raise UserError(f"{out} holds an earlier run: give a new --out")
    spec = FleetSpec(args.shops, args.cards, args.days, args.seed, out, args.db, args.start,
                     args.parallel)  # fmt: skip
    try:
        with Bar() as bar:
            result = run_fleet(spec, bar.update)
    except FleetError as exc:
        raise UserError(f"FLEET FAILED: {exc} (run directory {out})") from exc
    (out / "fleet.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    result["picture"] = str(draw(result, out / "fleet.png"))
    if args.json:
        print_json(result)
    else:
        print(f"fleet ok: {result['run']} -> {out / 'fleet.json'}")
    return 0


class Bar:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Bar:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True))
            self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, what: str, done: int, total: int) -> None:
        if self._progress is None:
            return
        if what not in self._tasks:
            self._tasks[what] = self._progress.add_task(what, total=total)
        self._progress.update(self._tasks[what], completed=done)


def draw(result: dict[str, Any], path: Path) -> Path:
    """Sales per day, money by program, faults and recoveries: one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4.5))
    per_day = result["counts"]["completed_per_day"]
    a.bar(range(len(per_day)), list(per_day.values()))
    a.set_xticks(range(len(per_day)), [d[5:] for d in per_day], rotation=90, fontsize=7)
    a.set_title("completed sales per day")
    programs = result["money"]["by_program"]
    names = ["loads", "spent", "on_cards"]
    for i, (code, money) in enumerate(programs.items()):
        b.bar([n + i * 0.3 for n in range(3)], [money[k] for k in names], width=0.3, label=code)
    b.set_xticks(range(3), names)
    b.set_title("money by program (Rp)")
    b.legend()
    events = {**result["faults"], **result["counts"]["faults"], **result["counts"]["recoveries"]}
    c.barh(list(events), list(events.values()))
    c.set_title("faults and recoveries")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
