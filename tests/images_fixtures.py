"""Builders of deliberately broken and unusual image files."""

import struct
import zlib

import numpy as np
from PIL import Image


def huge_png_header(path, width=20_000, height=20_000):
    """A valid PNG signature and IHDR claiming width x height, with a tiny IDAT: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    path.write_bytes(data)
    return path


def broken_folder(folder):
    """{name: expected PosterError kind} of broken files written into ``folder``."""
    folder.mkdir(exist_ok=True)
    good = folder / "good.jpg"
    Image.fromarray((np.random.default_rng(0).random((90, 60, 3)) * 255).astype(np.uint8)).save(good, quality=90)
    data = good.read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("this is not an image, just a renamed text file\n" * 20)
    huge_png_header(folder / "huge.png")
    return {"truncated.jpg": {"truncated", "corrupt"}, "empty.jpg": {"empty"}, "text.jpg": {"not_an_image"},
            "huge.png": {"too_large"}}


def png16(pixels) -> bytes:
    """A 16-bit PNG (greyscale for (h, w), RGB for (h, w, 3) uint16 arrays); Pillow cannot write 16-bit RGB."""
    pixels = np.asarray(pixels, np.uint16)
    h, w = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = pixels.reshape(h, -1).astype(">u2")
    raw = b"".join(b"\0" + rows[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
