"""NIK and KK: their form, their keyed hashes (how a recipient is found without decrypting
anything), sealing and masking (S4: the NIK is encrypted at rest and shown masked everywhere).

The hash key is derived from the NIK data key (kept sealed under the passphrase like the issuer
keys), so a leaked database cannot be searched for a known NIK.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from functools import cache
from importlib import resources

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from host_gateway.sealing import NONCE_SIZE, unseal

PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53}
    | {61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97}
)
"""Province codes (Kemendagri) a NIK's first two digits may hold."""


def nik_problem(nik: str) -> str | None:
    """Why ``nik`` is not a plausible NIK (None if it is): 16 digits, a known province and a
    non-zero regency and district, a real birth date (day + 40 for women), a non-zero serial."""
    if len(nik) != 16 or not (nik.isascii() and nik.isdigit()):
        return "NIK must be 16 digits"
    if int(nik[:2]) not in PROVINCES or nik[2:4] == "00" or nik[4:6] == "00":
        return f"NIK region code {nik[:6]} is not a province, regency and district"
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    try:
        dt.date(2000 + year, month, day)  # any century: only the day and month are checked
    except ValueError:
        return f"NIK birth date part {nik[6:12]} is not a date"
    if nik[12:] == "0000":
        return "NIK serial number 0000 is not issued"
    return None


def kk_problem(kk: str) -> str | None:
    if len(kk) != 16 or not (kk.isascii() and kk.isdigit()):
        return "KK number must be 16 digits"
    return None


def mask(nik: str) -> str:
    """What operators see: the region code and the last two digits."""
    return f"{nik[:6]}********{nik[-2:]}"


class Identities:
    """Keyed hashes and sealing of NIKs and KK numbers under the NIK data key."""

    def __init__(self, nik_key: bytes) -> None:
        self._key = nik_key
        self._aead = AESGCM(nik_key)
        self._nik_hash_key = hmac.new(nik_key, b"nik-index", hashlib.sha256).digest()
        self._kk_hash_key = hmac.new(nik_key, b"kk-index", hashlib.sha256).digest()

    def nik_hash(self, nik: str) -> bytes:
        return hmac.new(self._nik_hash_key, nik.encode("ascii"), hashlib.sha256).digest()

    def kk_hash(self, kk: str) -> bytes:
        return hmac.new(self._kk_hash_key, kk.encode("ascii"), hashlib.sha256).digest()

    def seal_nik(self, nik: str, nik_hash: bytes) -> bytes:
        """AES-GCM, bound to its own keyed hash (a sealed NIK cannot be moved to another row)."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, nik.encode("ascii"), b"recipient-nik:" + nik_hash)

    def open_nik(self, sealed: bytes, nik_hash: bytes) -> str:
        return unseal(self._key, sealed, b"recipient-nik:" + nik_hash).decode("ascii")


@cache
def samarinda() -> dict[str, frozenset[str]]:
    """Samarinda's 10 kecamatan and their 59 kelurahan (``samarinda.json``)."""
    text = resources.files("host_gateway.programs").joinpath("samarinda.json").read_text("utf-8")
    return {kec: frozenset(kels) for kec, kels in json.loads(text).items()}


def region_problem(kelurahan: str, kecamatan: str) -> str | None:
    places = samarinda()
    if kecamatan not in places:
        return f"unknown kecamatan {kecamatan!r}"
    if kelurahan not in places[kecamatan]:
        return f"kelurahan {kelurahan!r} is not in kecamatan {kecamatan}"
    return None
