"""The simulator's ESC/POS parser and interpreter: every command the composer sends is
understood, unknown ones are reported, and no byte sequence crashes it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.printer.escpos import EscPosParser
from simulators.printer.job import Barcode, Bitmap, Job, QrCode, TextLine
from simulators.printer.paper import Interpreter
from simulators.printer.render import render_png, render_text
from terminal.receipts.compose import compose_sale
from terminal.receipts.config import PAPER_58, ReceiptConfig
from terminal.receipts.model import Copy
from tests.fixtures.printer import sale_receipt


def _print(data: bytes, chunks: list[int] | None = None, dots: int = 576) -> list[Job]:
    jobs: list[Job] = []
    replies: list[str] = []
    interpreter = Interpreter(
        dots,
        can_print=lambda: True,
        reply=lambda c: replies.append(c.name),
        job_done=jobs.append,
    )
    parser = EscPosParser()
    start = 0
    for size in chunks or [len(data)]:
        for command in parser.feed(data[start : start + size]):
            interpreter.apply(command)
        start += size
    for command in parser.feed(data[start:]) + parser.close():
        interpreter.apply(command)
    interpreter.finish(complete=False)
    return jobs


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_printer(data: bytes) -> None:
    for job in _print(data):
        render_text(job, 576)
        if len(job.elements) < 50:
            render_png(job, 576)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"\x1b", b"\x1d", b"\x10\x04", b"\x1d(k", b"\x1dv0", b"\x1b*", b"\x1dk", b"\x00"]
        )
        | st.binary(max_size=8),
        max_size=60,
    )
)
def test_command_fragments_never_crash_the_printer(parts: list[bytes]) -> None:
    for job in _print(b"".join(parts)):
        render_text(job, 384)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), max_size=30))
def test_how_bytes_are_split_does_not_change_the_paper(chunks: list[int]) -> None:
    data = compose_sale(sale_receipt(), Copy.CUSTOMER, ReceiptConfig(PAPER_58))
    whole = [render_text(job, 384) for job in _print(data, dots=384)]
    split = [render_text(job, 384) for job in _print(data, chunks, dots=384)]
    assert split == whole


def test_text_styles_alignment_and_code_page() -> None:
    data = (
        b"\x1b@\x1ba\x01\x1b!\x30BIG\n\x1b!\x00\x1ba\x02\x1bE\x01right\n"
        b"\x1bt\x10caf\xe9\n\x1bt\x00caf\x82\n\x1dVB\x00"
    )
    (job,) = _print(data)
    lines = [e for e in job.elements if isinstance(e, TextLine)]
    assert [line.text for line in lines] == ["BIG", "right", "caf\u00e9", "caf\u00e9"]
    assert lines[0].align == 1 and lines[0].spans[0].style.width == 2
    assert lines[1].align == 2 and lines[1].spans[0].style.bold
    assert job.complete and job.unknown == []
    assert render_text(job, 576).splitlines()[:2] == [" " * 21 + "BIG", " " * 43 + "right"]


def test_images_codes_and_barcodes() -> None:
    raster = b"\x1dv0\x00\x01\x00\x02\x00\xff\x00"
    column = b"\x1b*\x00\x02\x00\x80\x01\n"
    graphics = b"\x1d(L\x0b\x000p0\x01\x011\x08\x00\x01\x00\xaa" + b"\x1d(L\x02\x0002"
    qr = b"\x1d(k\x03\x001C\x04\x1d(k\x07\x001P0ABCD\x1d(k\x03\x001Q0"
    barcode = b"\x1dH\x02\x1dkC\x0d4006381333931" + b"\x1dk\x04CODE\x00"
    (job,) = _print(b"\x1b@" + raster + column + graphics + qr + barcode + b"\x1dV\x00")
    kinds = [type(e).__name__ for e in job.elements]
    assert kinds == ["Bitmap", "Bitmap", "Bitmap", "QrCode", "Barcode", "Barcode"]
    first = job.elements[0]
    assert isinstance(first, Bitmap) and first.image.size == (8, 2)
    assert first.image.getpixel((0, 0)) == 0 and first.image.getpixel((0, 1)) == 255
    code = job.elements[3]
    assert isinstance(code, QrCode) and code.payload == b"ABCD" and code.module == 4
    bar = job.elements[4]
    assert isinstance(bar, Barcode) and bar.name == "EAN13"
    assert "[EAN13 4006381333931]" in render_text(job, 576)
    assert "[QR ABCD]" in render_text(job, 576)


def test_unknown_commands_are_reported_and_printing_goes_on() -> None:
    (job,) = _print(b"\x1b@\x1bzbefore\x07after\n\x1d\x99x\n\x1dVB\x00")
    assert [u["reason"] for u in job.unknown] == [
        "unknown ESC command",
        "control byte",
        "unknown GS command",
    ]
    assert render_text(job, 576) == "before after\nx\n".replace(" ", "")


def test_oversized_raster_header_is_reported_not_waited_for() -> None:
    (job,) = _print(b"\x1b@\x1dv0\x00\xff\xff\xff\xffstill printing\n\x1dVB\x00")
    assert "raster image too large" in str(job.unknown[0]["reason"])
    assert render_text(job, 576) == "still printing\n"


def test_a_job_without_a_cut_ends_at_connection_close_as_incomplete() -> None:
    jobs = _print(b"\x1b@first\n\x1dVB\x00\x1b@torn")
    assert [j.complete for j in jobs] == [True, False]
    assert render_text(jobs[1], 576) == "torn\n"
