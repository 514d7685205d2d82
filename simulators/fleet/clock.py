"""The fleet's simulated time: one file every process reads (the gateway, each shop, the host).

A run plays weeks in minutes, so nobody may read the wall clock: terminals sign records with
this time, the gateway receives them at this time, aid and settlement are decided at it. The
coordinator alone moves it, and only forward, between phases of the day.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

WITA = dt.timezone(dt.timedelta(hours=8))


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __call__(self) -> int:
        return int(self.path.read_text(encoding="ascii"))

    def set(self, now: int) -> None:
        if self.path.exists() and now < self():
            raise ValueError("the fleet's clock only goes forward")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(now), encoding="ascii")
        os.replace(tmp, self.path)

    def set_wita(self, day: dt.date, hour: int, minute: int = 0) -> int:
        now = at_wita(day, hour, minute)
        self.set(now)
        return now


def at_wita(day: dt.date, hour: int, minute: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=WITA).timestamp())
