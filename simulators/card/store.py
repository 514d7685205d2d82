"""The card's state file, replaced atomically so a tear leaves the old state or the new one.

Write to a temporary file in the same directory, fsync it, rename it over the old file, fsync
the directory: after a crash at any point the file holds one complete state, never a mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from simulators.card.state import CardData, CardFileError


class CardStore:
    """One card's state file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> CardData:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CardFileError(f"cannot read card file {self.path}: {exc.strerror}") from exc
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CardFileError(f"card file {self.path} is not JSON: {exc}") from exc
        return CardData.from_json(value)

    def save(self, data: CardData) -> None:
        payload = json.dumps(data.to_json(), indent=1).encode("utf-8") + b"\n"
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{self.path.name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def create(self, data: CardData, *, overwrite: bool = False) -> None:
        if self.path.exists() and not overwrite:
            raise CardFileError(f"{self.path} already exists")
        self.save(data)
