"""How long to wait before trying again, for everything of the terminal's that retries (the
sync client against the host, the print service against the printer).

Exponential: ``base·2ⁿ`` for the n-th retry (0 first), capped; with jitter, times a random
factor in [½, 1], so terminals that failed together do not retry together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 0.2
    cap: float = 10.0
    attempts: int = 6
    """How many tries in all, for callers that give up (the sync client)."""
    jitter: bool = True
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (0 is the first retry)."""
        wait = min(self.cap, self.base * 2.0 ** max(retry, 0))
        return wait * (0.5 + self.rng.random() / 2) if self.jitter else wait


def printer_backoff() -> Backoff:
    """A failing printer: 2, 4, 8 ... up to a minute (one print service per terminal)."""
    return Backoff(base=2.0, cap=60.0, jitter=False)
