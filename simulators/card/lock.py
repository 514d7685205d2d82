"""A card's state file is held by one process at a time, as a physical card is in one reader.

Two processes that each load the same file would each go on from the same counter: the card
would be forked, and the host would rightly flag it as a clone. So the process that serves or
uses a card holds an exclusive ``flock`` on ``FILE.lock`` while any of its
:class:`~simulators.card.card.SimulatedCard` objects for that file lives; another process gets
:class:`CardInUse`. Inside one process the lock is shared and counted (the cashier app opens a
``sim:FILE`` reader twice: one to watch for insert/remove, one to talk to the card). The kernel
drops the lock when the holder dies, kill -9 included. A child forked while the lock is held
shares it (``flock`` belongs to the open file description): start card users with exec.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

from simulators.card.state import CardFileError

_guard = threading.Lock()
_held: dict[str, list[int]] = {}
"""Real path of the card file -> [lock file descriptor, holders in this process]."""


class CardInUse(CardFileError):  # noqa: N818 - a state of the card, as CardFileError
    """Another process has this card (serves it in a slot, or uses it through ``sim:FILE``)."""


def _lock_path(key: str) -> str:
    return key + ".lock"


def acquire(path: Path) -> str:
    """Hold ``path`` for this process; returns the key to :func:`release` it with."""
    key = os.path.realpath(path)
    with _guard:
        held = _held.get(key)
        if held is not None:
            held[1] += 1
            return key
        fd = os.open(_lock_path(key), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CardInUse(
                f"card in use: {path} is held by another process (a card is in one reader at"
                " a time; take it out there first)"
            ) from None
        _held[key] = [fd, 1]
        return key


def release(key: str) -> None:
    """One holder in this process lets go; the last one unlocks the file."""
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] <= 0:
            del _held[key]
            os.close(held[0])


class CardFileLock:
    """This process's hold on one card file, let go by :meth:`release` or when collected."""

    def __init__(self, path: Path) -> None:
        self._finalizer = weakref.finalize(self, release, acquire(path))

    def release(self) -> None:
        self._finalizer()
