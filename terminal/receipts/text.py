"""Text made safe for a receipt printer's single-byte code page.

Product names come from the catalog and may hold curly quotes, dashes, accents or emoji. A
printer shows anything its code page lacks as "?" garbage, and a control byte inside a name would
be read as an ESC/POS command. :func:`normalise` returns text whose every character encodes to one
printable byte of the code page: ASCII as is, what the code page has as is, the rest replaced by
a close ASCII spelling or dropped.
"""

from __future__ import annotations

import codecs
import functools
import unicodedata

DEFAULT_CODEC = "cp437"
"""Code page 0 of every Epson-compatible printer: the one that needs no switching."""

_REPLACEMENTS: dict[str, str] = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",  # prime
    "\u00b4": "'",  # acute accent
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": "<<",
    "\u00bb": ">>",
    "\u2039": "<",
    "\u203a": ">",
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",
    "\u2212": "-",  # minus sign
    "\u2026": "...",
    "\u2022": "*",  # bullet
    "\u00b7": ".",
    "\u00d7": "x",
    "\u00f7": "/",
    "\u2122": "TM",
    "\u00a9": "(C)",
    "\u00ae": "(R)",
    "\u20ac": "EUR",
    "\u00bd": "1/2",
    "\u00bc": "1/4",
    "\u00be": "3/4",
    "\u00b0": " deg",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2192": "->",
    "\u00df": "ss",
    "\u00c6": "AE",
    "\u00e6": "ae",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u00d8": "O",
    "\u00f8": "o",
    "\u0141": "L",
    "\u0142": "l",
    "\u0131": "i",
    "\u00d0": "D",
    "\u00f0": "d",
    "\u00de": "Th",
    "\u00fe": "th",
}
_SPACES = {"\t", "\n", "\r", "\u00a0", "\u2007", "\u202f", "\u3000", "\u2002", "\u2003", "\u2009"}


@functools.lru_cache(maxsize=4096)
def _printable_in(codec: str, char: str) -> bool:
    """True when ``char`` is one printable byte in ``codec`` (never a control byte)."""
    if " " <= char <= "~":
        return True
    if unicodedata.category(char)[0] in "CZ":  # controls, format chars, odd spaces
        return False
    try:
        encoded = char.encode(codec)
    except UnicodeEncodeError:
        return False
    return len(encoded) == 1 and encoded[0] >= 0x80  # 0x80.. are glyphs in DOS code pages


def _one(char: str, codec: str) -> str:
    if _printable_in(codec, char):
        return char
    if char in _SPACES or unicodedata.category(char) == "Zs":
        return " "
    if char in _REPLACEMENTS:
        return "".join(c for c in _REPLACEMENTS[char] if _printable_in(codec, c))
    decomposed = unicodedata.normalize("NFKD", char)
    if decomposed != char:
        # Accented letters, ligatures, full-width forms: keep what the code page can print.
        return "".join(_one(c, codec) for c in decomposed if not unicodedata.combining(c))
    return ""  # emoji, symbols, scripts the page lacks: better nothing than "?"


def normalise(text: str, codec: str = DEFAULT_CODEC, *, collapse: bool = True) -> str:
    """``text`` with only characters ``codec`` prints as one byte each; with ``collapse``, runs
    of spaces become one and the ends are trimmed (names), without it layout spaces stay."""
    if text.isascii() and text.isprintable():  # the common case: nothing to replace
        out = text
        return " ".join(out.split()) if collapse else out
    codecs.lookup(codec)  # a wrong codec name is a configuration error: fail loudly here
    out = "".join(_one(char, codec) for char in unicodedata.normalize("NFC", text))
    return " ".join(out.split()) if collapse else out


def encode(text: str, codec: str = DEFAULT_CODEC) -> bytes:
    """Normalised and encoded: one byte per character, never a control byte, never "?"."""
    return normalise(text, codec).encode(codec)
