"""Deterministic sample media, generated in code (the repository holds no binary files).

Every function returns ``bytes``; the same arguments always give the same bytes, so callers can
compare ``hashlib.sha256`` digests across runs and machines.

* :func:`png` is a real PNG (8-bit RGB, one IDAT, CRCs checked by any decoder).
* :func:`jpeg` is a real baseline JPEG (JFIF, 4:4:4 YCbCr, every 8x8 block a flat colour): it is
  encoded here with DC-only blocks, which needs no DCT and decodes in any viewer.
* :func:`gif` is a real GIF89a (two-colour palette, LZW written in the "uncompressed" style).
* :func:`sized_payload` is *not* a decodable image: the right magic header for the content type,
  then deterministic pseudo-random filler up to exactly ``n`` bytes (for size-limit and big-file
  tests). A JPEG-typed payload also ends with the EOI marker ``FF D9`` ("JPEG-framed").
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterable

Rgb = tuple[int, int, int]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_JFIF_APP0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_GIF_HEADER = b"GIF89a"

# Magic headers (and trailers) for sized_payload, by content type.
_MAGIC: dict[str, tuple[bytes, bytes]] = {
    "image/png": (_PNG_SIGNATURE, b""),
    "image/jpeg": (_JPEG_SOI + _JFIF_APP0, _JPEG_EOI),
    "image/gif": (_GIF_HEADER, b";"),
    "video/mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", b""),
    "audio/amr": (b"#!AMR\n", b""),
    "application/pdf": (b"%PDF-1.4\n", b"\n%%EOF\n"),
}

_MAX_SIDE = 4096


def _check_size(width: int, height: int) -> None:
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise ValueError("image sides must be between 1 and 4096 pixels")


def _check_rgb(rgb: Rgb) -> None:
    if any(not 0 <= c <= 255 for c in rgb):
        raise ValueError("colour components must be between 0 and 255")


# ----------------------------------------------------------------------------------------------- PNG
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int = 16, height: int = 16, rgb: Rgb = (220, 40, 40)) -> bytes:
    """A valid PNG of one flat colour (8-bit RGB, no interlace)."""
    _check_size(width, height)
    _check_rgb(rgb)
    row = b"\x00" + bytes(rgb) * width  # filter type 0 (None) then the pixels
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(row * height, 9)
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------- JPEG
# Huffman tables for DC-only blocks. DC: categories 0..11, every code 4 bits long (0000..1011, so no
# all-ones code). AC: only EOB (0x00) and ZRL (0xF0), two 2-bit codes (00, 01).
_DC_COUNTS = bytes([0, 0, 0, 12] + [0] * 12)
_DC_SYMBOLS = bytes(range(12))
_AC_COUNTS = bytes([0, 2] + [0] * 14)
_AC_SYMBOLS = b"\x00\xf0"
_DC_CODE_BITS = 4
_AC_EOB_CODE, _AC_EOB_BITS = 0b00, 2


class _BitWriter:
    """MSB-first bit packer with JPEG byte stuffing (0xFF is followed by 0x00)."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._acc = 0
        self._count = 0

    def write(self, value: int, bits: int) -> None:
        for shift in range(bits - 1, -1, -1):
            self._acc = (self._acc << 1) | ((value >> shift) & 1)
            self._count += 1
            if self._count == 8:
                self._emit()

    def _emit(self) -> None:
        self._out.append(self._acc)
        if self._acc == 0xFF:
            self._out.append(0x00)
        self._acc = 0
        self._count = 0

    def finish(self) -> bytes:
        while self._count:  # pad the last byte with one-bits, as the standard asks
            self.write(1, 1)
        return bytes(self._out)


def _ycbcr(rgb: Rgb) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return tuple(max(0, min(255, round(c))) for c in (y, cb, cr))  # type: ignore[return-value]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _encode_dc(writer: _BitWriter, diff: int) -> None:
    category = abs(diff).bit_length()
    writer.write(category, _DC_CODE_BITS)  # the DC table's code for category c is simply c
    if category:
        writer.write(diff if diff > 0 else diff + (1 << category) - 1, category)
    writer.write(_AC_EOB_CODE, _AC_EOB_BITS)


def jpeg(width: int = 16, height: int = 16, rgb: Rgb = (40, 120, 220)) -> bytes:
    """A valid baseline JFIF JPEG of one flat colour (three components, no subsampling, quality 100)."""
    _check_size(width, height)
    _check_rgb(rgb)
    # With every quantiser 1, a flat 8x8 block of level-shifted value v has DC coefficient 8 * v.
    dc_values = [8 * (c - 128) for c in _ycbcr(rgb)]
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    writer = _BitWriter()
    previous = [0, 0, 0]
    for _ in range(blocks):
        for component, value in enumerate(dc_values):
            _encode_dc(writer, value - previous[component])
            previous[component] = value
    dqt = b"\x00" + b"\x01" * 64
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    dht = b"\x00" + _DC_COUNTS + _DC_SYMBOLS + b"\x10" + _AC_COUNTS + _AC_SYMBOLS
    sos = b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"
    return b"".join(
        [
            _JPEG_SOI,
            _JFIF_APP0,
            _jpeg_segment(0xDB, dqt),
            _jpeg_segment(0xC0, sof),
            _jpeg_segment(0xC4, dht),
            _jpeg_segment(0xDA, sos),
            writer.finish(),
            _JPEG_EOI,
        ]
    )


# ----------------------------------------------------------------------------------------------- GIF
def _lzw_uncompressed(indices: Iterable[int], min_code_size: int) -> bytes:
    """LZW data that never grows the code width: a clear code before every few pixels."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    width = min_code_size + 1
    per_clear = (1 << min_code_size) - 2  # codes a decoder accepts before its width grows
    acc = nbits = 0
    out = bytearray()

    def put(code: int) -> None:
        nonlocal acc, nbits
        acc |= code << nbits  # GIF packs codes least-significant bit first
        nbits += width
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    for position, index in enumerate(indices):
        if position % per_clear == 0:
            put(clear)
        put(index)
    put(end)
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def _gif_sub_blocks(data: bytes) -> bytes:
    parts = [bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)]
    return b"".join(parts) + b"\x00"


def gif(width: int = 16, height: int = 16, rgb: Rgb = (40, 180, 90), stripe_rgb: Rgb = (255, 255, 255)) -> bytes:
    """A valid GIF89a: a flat colour with a one-pixel stripe of ``stripe_rgb`` on the first row."""
    _check_size(width, height)
    _check_rgb(rgb)
    _check_rgb(stripe_rgb)
    min_code_size = 2
    palette = bytes(rgb) + bytes(stripe_rgb) + b"\x00\x00\x00" * 2  # 4 entries (size field 1)
    screen = struct.pack("<HHBBB", width, height, 0x80 | 0x01, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    indices = (1 if position < width else 0 for position in range(width * height))
    data = _lzw_uncompressed(indices, min_code_size)
    return _GIF_HEADER + screen + palette + descriptor + bytes([min_code_size]) + _gif_sub_blocks(data) + b";"


# ----------------------------------------------------------------------------------- sized payloads
def sized_payload(n: int, content_type: str = "image/jpeg", seed: int = 0) -> bytes:
    """Exactly ``n`` bytes: the content type's magic header, deterministic filler, its trailer.

    Unknown content types get no header. The filler comes from ``random.Random(seed)``, so it is
    the same on every run and does not compress, and a truncated or reordered copy changes the
    sha256. Raises ``ValueError`` when ``n`` is smaller than the header and trailer.
    """
    head, tail = _MAGIC.get(content_type.split(";", 1)[0].strip().lower(), (b"", b""))
    filler = n - len(head) - len(tail)
    if filler < 0:
        raise ValueError("n is smaller than the magic header and trailer of this content type")
    return head + random.Random(seed).randbytes(filler) + tail


def sample_set() -> dict[str, tuple[bytes, str]]:
    """A few named samples for demos: name -> (body, content type)."""
    return {
        "sample.png": (png(), "image/png"),
        "sample.jpg": (jpeg(), "image/jpeg"),
        "sample.gif": (gif(), "image/gif"),
    }
