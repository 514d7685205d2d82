"""The fleet (docs/fleet.md): a small run of real terminal processes against a real gateway
process proves the money adds up, and the receipts on paper, with every fault struck once; and
a card's state file is held by one process at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from simulators.card.card import SimulatedCard
from simulators.card.state import CardData
from simulators.card.store import CardStore


def _python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


SIM = "from simulators.cli import main; raise SystemExit(main())"


def test_a_small_fleet_proves_the_money_with_every_fault(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _python(SIM, "fleet", "--shops", "2", "--cards", "16", "--days", "3", "--seed", "7",
                   "--out", str(out), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["ok"] and result["problems"] == []
    counts = result["counts"]
    assert counts["sales"]["completed"] > 0
    assert result["faults"]["terminal_kill9"] >= 1
    assert counts["recoveries"]["terminal_restarted"] == result["faults"]["terminal_kill9"]
    assert counts["faults"]["card_tear"] >= 1
    assert counts["refusals"]["card:bare_reader_void"] >= 1
    assert counts["refusals"]["host:maker_approves_own_aid:same_operator"] == 1
    money = result["money"]["totals"]
    assert money["loads_net_of_expiry"] == (
        money["on_cards"] + money["debits"] - money["cancellations"] - money["refunds"]
    )
    shops = result["settlement"].values()
    held = sum(sum(s["held_with_reason"].values()) for s in shops)
    assert held > 0  # the wrong clock's sales
    paid = sum(s["paid"] + s["payable"] for s in shops)
    hidden = money["hidden_by_terminals"]
    assert paid + held + hidden == money["debits"] - money["cancellations"] - money["refunds"]
    # goods brought back: one operator asks, another approves; the card takes the refund
    assert money["refunds"] == money["refunds_approved"] > 0
    assert money["pending_on_ended_cards"] == 0  # the lost card's aid went to the new card
    assert counts["refusals"]["host:refund_approved_by_asker"] >= 1
    assert counts["refusals"]["host:refund_over_sale"] >= 1
    assert sum(s["refunds"] for s in shops) == money["refunds_approved"]
    # a holder shopping away from home
    assert sum(n for k, n in counts["sales"].items() if k.startswith("away_from_home_")) >= 1
    # the hider's day close names a record the host never got; every other day agrees
    terminals = counts["terminals"]
    assert terminals["day_checks"]["cannot confirm yet"] == 1
    assert terminals["day_checks"]["agreed"] == 2 * 4 - 1  # 2 terminals x (3 days + 1 morning)
    assert counts["refusals"]["flagged:hidden_record_day_close"] == 1
    assert terminals["chains"]["chains_broken_by_hiding"] == 1, terminals
    assert terminals["chains"]["records_written"] == counts["records_at_host"] + 1
    assert result["faults"]["wrong_clock_days"] == 1
    assert result["faults"]["lost_card_replaced"] == 1
    assert counts["faults"]["record_hidden_by_terminal"] == 1
    # the card shows the hidden debit at its next online presentation, a balance inquiry too
    assert counts["refusals"]["flagged:hidden_record"] == 1
    assert counts["hidden_not_yet_seen_by_host"] == 0
    assert sum(n for k, n in counts["refusals"].items() if k.startswith("finder_of_lost_card")) == 1
    assert counts["host_records"]["rejected:proof_time_future"] == counts["wrong_clock_sales"]
    faults = result["faults"]
    assert faults["printer_paper_out"] >= 1 and faults["printer_dropped_connection"] >= 1
    # a receipt cut whole, then the link dropped before its status: on paper once unmarked,
    # later copies only SALINAN (paper.py (d))
    assert faults["printer_status_lost"] >= 1
    assert all(counts["faults"][k] == n for k, n in faults.items() if k.startswith("printer_"))
    paper = counts["paper"]
    assert paper["torn"] >= 1  # a receipt torn by the paper running out or the link dropping
    assert paper["status_lost"] == faults["printer_status_lost"]
    lost_then = paper.get("status_lost_then_salinan", 0) + paper.get("status_lost_not_again", 0)
    assert lost_then == paper["status_lost"]
    assert paper["salinan"] >= 1 and counts["recoveries"]["receipts_marked_salinan"] >= 1
    assert counts["recoveries"]["receipts_printed_late"] >= 1
    assert paper["journal_jobs"] > 0 and paper["originals"] <= paper["journal_jobs"]
    # each sale's customer receipt: whole on paper, at most one unmarked original
    assert paper["customer_receipts"] == paper["customer_receipts_proven"]
    assert paper["customer_receipts"] >= counts["sales"]["completed"]
    assert Path(result["picture"]).stat().st_size > 0
    assert json.loads((out / "fleet.json").read_text())["ok"]


def test_a_card_is_in_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    CardStore(path).create(CardData.blank())
    held = SimulatedCard.from_file(path)
    again = SimulatedCard.from_file(path)  # the cashier app: two readers on one card, one process
    other = _python(
        "import sys; from pathlib import Path; from simulators.card.card import SimulatedCard;"
        " SimulatedCard.from_file(Path(sys.argv[1]))",
        str(path),
    )
    assert other.returncode != 0
    assert "card in use" in other.stderr
    info = _python(
        "from terminal.cli import main; raise SystemExit(main())",
        "card", "info", "--reader", f"sim:{path}", "--json",
    )  # fmt: skip
    assert info.returncode != 0 and "card in use" in info.stderr + info.stdout
    held.release()
    again.release()
    free = _python(
        "import sys; from pathlib import Path; from simulators.card.card import SimulatedCard;"
        " SimulatedCard.from_file(Path(sys.argv[1]))",
        str(path),
    )
    assert free.returncode == 0, free.stderr
