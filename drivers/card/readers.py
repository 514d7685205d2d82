"""Choosing a card reader from one string, the way the printer driver chooses by URL.

``None`` or a plain name is a PC/SC reader (the first one when None). ``sim:PATH`` is the card
simulator's state file reached in-process: what the demo and issuance use where pcscd is not
running. The simulator is imported only when asked for, so a shop terminal never loads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from drivers.card.pcsc import PcscReader
from drivers.card.transport import CardConnection, CardReader, NoCard

SIMULATOR_PREFIX = "sim:"


def open_reader(spec: str | None) -> CardReader:
    """The reader ``spec`` names; a missing simulator file is "no card", as a real slot would be."""
    if spec is None or not spec.startswith(SIMULATOR_PREFIX):
        return PcscReader(spec)
    path = Path(spec.removeprefix(SIMULATOR_PREFIX))
    from simulators.card.card import SimulatedCard
    from simulators.card.direct import DirectReader
    from simulators.card.state import CardFileError

    reader = DirectReader(f"simulated card {path.name}")
    try:
        reader.insert(SimulatedCard.from_file(path))
    except CardFileError as exc:
        raise NoCard(str(exc)) from exc
    return reader


@contextlib.contextmanager
def connected_card(spec: str | None, wait: float | None) -> Iterator[tuple[str, CardConnection]]:
    """The reader's name and an exclusive connection to its card; :class:`NoCard` when no card
    came within ``wait`` seconds. The reader is released however the block ends."""
    reader = open_reader(spec)
    try:
        name = reader.name
        if not reader.wait_for_card(wait):
            raise NoCard(f"no card in reader {name!r}")
        with reader.connect() as connection:
            yield name, connection
    finally:
        reader.close()
