"""A printed job as a person sees it: ``.txt`` (the words on the paper, laid out in columns of
font A) and ``.png`` (a picture of the paper at one pixel per printer dot, QR codes included
and decodable by any reader)."""

from __future__ import annotations

import functools
import io
import textwrap
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from simulators.printer.job import (
    FONT_HEIGHT,
    FONT_WIDTH,
    Barcode,
    Bitmap,
    Feed,
    Job,
    Note,
    QrCode,
    Span,
    Style,
    TextLine,
)

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
_QR_EC_CONST = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
MARGIN = 8


def _offset(width: int, dots: int, align: int) -> int:
    if align == 1:
        return max((dots - width) // 2, 0)
    if align == 2:
        return max(dots - width, 0)
    return 0


# -- text ----------------------------------------------------------------------------------------
def render_text(job: Job, dots: int) -> str:
    """The job's words, one paper line per text line; images and codes as short brackets."""
    columns = dots // FONT_WIDTH[0]
    out: list[str] = []

    def place(text: str, width_dots: int, align: int) -> None:
        pad = round(_offset(width_dots, dots, align) / FONT_WIDTH[0])
        out.append((" " * pad + text).rstrip())

    for element in job.elements:
        if isinstance(element, TextLine):
            place(element.text, element.dots, element.align)
        elif isinstance(element, Feed):
            out.extend([""] * (element.dots // 30))
        elif isinstance(element, Bitmap):
            w, h = element.image.size
            label = f"[image {w}x{h}]"
            place(label, len(label) * FONT_WIDTH[0], element.align)
        elif isinstance(element, QrCode):
            text = "[QR " + element.payload.decode("utf-8", errors="replace") + "]"
            out.extend(textwrap.wrap(text, columns, break_long_words=True))
        elif isinstance(element, Barcode):
            data = element.data.decode("latin-1")
            label = f"[{element.name} {data}]"
            place(label, len(label) * FONT_WIDTH[0], element.align)
        elif isinstance(element, Note):
            out.extend(textwrap.wrap(element.text, columns, break_long_words=True))
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# -- picture -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for folder in _FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size)


def _draw_span(canvas: Image.Image, x: int, top: int, base_height: int, span: Span) -> int:
    style = span.style
    cell_w, cell_h = FONT_WIDTH[style.font], FONT_HEIGHT[style.font]
    width = len(span.text) * cell_w
    tile = Image.new("L", (max(width, 1), cell_h), 255)
    draw = ImageDraw.Draw(tile)
    font = _font(20 if style.font == 0 else 15, style.bold)  # advance 12.05 / 9.03 dots
    draw.text((0, 0), span.text, fill=0, font=font)
    if style.underline:
        draw.line([(0, cell_h - 2), (width, cell_h - 2)], fill=0, width=2)
    if style.invert:
        tile = tile.point(lambda v: 255 - v)
    if style.width > 1 or style.height > 1:
        tile = tile.resize((width * style.width, cell_h * style.height), Image.Resampling.NEAREST)
    canvas.paste(tile, (x, top + base_height - tile.height))
    return x + tile.width


def _qr_image(element: QrCode) -> Image.Image:
    code = qrcode.QRCode(
        box_size=element.module,
        border=0,
        error_correction=_QR_EC_CONST[_QR_EC.get(element.ec, "M")],
    )
    code.add_data(element.payload)
    code.make(fit=True)
    image: Image.Image = code.make_image().get_image().convert("L")
    return image


def _barcode_image(element: Barcode) -> Image.Image:
    """Bars drawn from the data's bits: a stand-in picture (the text file has the value)."""
    modules = [1, 0, 1]
    for byte in element.data:
        modules += [(byte >> bit) & 1 for bit in range(7, -1, -1)] + [0]
    modules += [1, 0, 1]
    width = len(modules) * element.module
    image = Image.new("L", (width, element.height), 255)
    draw = ImageDraw.Draw(image)
    for index, bit in enumerate(modules):
        if bit:
            x = index * element.module
            draw.rectangle([x, 0, x + element.module - 1, element.height], fill=0)
    return image


def render_png(job: Job, dots: int) -> bytes:
    """The paper as a grayscale PNG, one pixel per dot, with a white margin round it."""
    blocks: list[tuple[int, Image.Image | TextLine, int]] = []  # (height, what, align)
    for element in job.elements:
        if isinstance(element, TextLine):
            blocks.append((element.height, element, element.align))
        elif isinstance(element, Feed):
            blocks.append((element.dots, Image.new("L", (1, max(element.dots, 1)), 255), 0))
        elif isinstance(element, Bitmap):
            image = element.image.convert("L")
            blocks.append((image.height, image, element.align))
        elif isinstance(element, QrCode):
            image = _qr_image(element)
            pad = 4 * element.module  # the quiet zone a reader needs
            framed = Image.new("L", (image.width, image.height + 2 * pad), 255)
            framed.paste(image, (0, pad))
            blocks.append((framed.height, framed, element.align))
        elif isinstance(element, Barcode):
            image = _barcode_image(element)
            blocks.append((image.height + 8, image, element.align))
        elif isinstance(element, Note):
            line = TextLine([Span(element.text[: dots // 12], Style())], 0, 30)
            blocks.append((line.height, line, 0))
    height = sum(h for h, _, _ in blocks) + 2 * MARGIN
    canvas = Image.new("L", (dots + 2 * MARGIN, max(height, 2 * MARGIN + 1)), 255)
    top = MARGIN
    for block_height, what, align in blocks:
        if isinstance(what, TextLine):
            x = MARGIN + _offset(what.dots, dots, align)
            base = max((FONT_HEIGHT[s.style.font] * s.style.height for s in what.spans), default=24)
            for span in what.spans:
                x = _draw_span(canvas, x, top, base, span)
        else:
            x = MARGIN + _offset(min(what.width, dots), dots, align)
            canvas.paste(what.crop((0, 0, min(what.width, dots), what.height)), (x, top))
        top += block_height
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
