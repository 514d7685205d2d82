"""Injected crash points: ``SSN_CRASH_AT=<name>`` makes the terminal SIGKILL itself there.

Tests use it to prove that recovery works from every step of the sale state machine
(docs/sale-state-machine.md). Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "SSN_CRASH_AT"

POINTS = ("after-intent", "after-card-answer", "after-record", "after-print")


def reached(name: str) -> None:
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
