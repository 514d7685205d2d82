"""Text normalised for the printer's code page: nothing prints as "?" garbage, and nothing in
a product name can act as a printer command."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.receipts.text import encode, normalise


@pytest.mark.parametrize(
    ("raw", "printed"),
    [
        ("\u201cBeras\u201d \u2018Pandan\u2019", "\"Beras\" 'Pandan'"),
        ("Gula pasir \u2013 1 kg \u2014 lokal", "Gula pasir - 1 kg - lokal"),
        ("Kecap manis\u2026", "Kecap manis..."),
        ("Caf\u00e9 Cr\u00e8me", "Caf\u00e9 Cr\u00e8me"),  # CP437 has these: kept
        ("S\u00e3o Jo\u00e3o", "Sao Joao"),  # CP437 lacks \u00e3: base letter
        ("\U0001f35a Beras \U0001f35a\U0001f600 5 kg", "Beras 5 kg"),
        ("\ufb01let ikan", "filet ikan"),
        ("Minyak\x1b@goreng\x1dV\x00", "Minyak@gorengV"),
        ("Telur\u00a0ayam\u200b ras", "Telur ayam ras"),
        ("\u65e5\u672c\u7c73", ""),
        ("Susu \u00bd liter", "Susu \u00bd liter"),
    ],
)
def test_names_print_as_a_person_would_write_them(raw: str, printed: str) -> None:
    assert normalise(raw) == printed


def test_other_code_pages_keep_what_they_have() -> None:
    assert normalise("\u00c3 \u20ac", "cp850") == "\u00c3 EUR"
    assert normalise("\u00c3 \u20ac", "cp858") == "\u00c3 \u20ac"
    assert normalise("\u00c3 \u20ac", "cp1252") == "\u00c3 \u20ac"
    assert encode("Caf\u00e9", "cp437") == b"Caf\x82"


@given(st.text(max_size=200))
def test_any_text_encodes_to_printable_bytes_without_question_marks(text: str) -> None:
    data = encode(text)
    assert all(byte >= 0x20 and byte != 0x7F for byte in data)
    assert data.count(b"?") == text.count("?")
    assert len(data) == len(normalise(text)), "one byte per character: columns stay true"
