"""Poster bytes -> one (crop, crop, 3) uint8 RGB array, or a PosterError saying why not.

Safety limits come first: a file over MAX_FILE_BYTES or an image over MAX_PIXELS is
refused before any pixel is decoded, formats are whitelisted, and a truncated file is an
error rather than a half-grey image. The output stays uint8 (a quarter of float32's bytes
to move between processes and onto a GPU); the model graph casts and normalises it, see
``featurize.graph``. ``normalise`` is the same arithmetic on the host, for tests and for
torch.
"""

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import PosterError
from .models import Preprocessing
from .pixels import to_rgb

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 60_000_000          # ~ 7,700 x 7,700; a poster scan larger than this is refused
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO")

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow raises DecompressionBombError above 2x this


def read_bytes(path) -> bytes:
    try:
        size = os.path.getsize(path)
    except OSError:
        raise PosterError("missing", f"{path} does not exist") from None
    if size == 0:
        raise PosterError("empty", f"{path} is 0 bytes")
    if size > MAX_FILE_BYTES:
        raise PosterError("too_large", f"{path} is {size / 2**20:.0f} MiB (limit {MAX_FILE_BYTES // 2**20} MiB)")
    with open(path, "rb") as f:
        return f.read()



def open_image(data: bytes, name="poster", draft_to=None):
    """Decode ``data`` into an upright RGB PIL image, enforcing every limit."""
    if not data:
        raise PosterError("empty", f"{name} is 0 bytes")
    if len(data) > MAX_FILE_BYTES:
        raise PosterError("too_large", f"{name} is {len(data) / 2**20:.0f} MiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in FORMATS:
                raise PosterError("unsupported_format", f"{name} is {img.format}, not one of {', '.join(FORMATS)}")
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise PosterError("too_large", f"{name} is {w}x{h} pixels (limit {MAX_PIXELS:,})")
            if draft_to and img.format == "JPEG":
                img.draft("RGB", draft_to)  # DCT-domain downscale: decode only what is needed
            img.load()
            if img.getexif().get(0x0112, 1) != 1:  # only rotate when the file says so (avoids a copy)
                img = ImageOps.exif_transpose(img)
            return to_rgb(img, name)
    except PosterError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PosterError("too_large", f"{name}: {exc}") from None
    except UnidentifiedImageError:
        raise PosterError("not_an_image", f"{name} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        kind = "truncated" if "truncat" in str(exc).lower() else "corrupt"
        raise PosterError(kind, f"{name}: {exc}") from None


def preprocess(img, pre: Preprocessing, out=None) -> np.ndarray:
    """Resize the shorter side to ``pre.resize`` and centre-crop ``pre.crop``: (crop, crop, 3) uint8.

    The crop is taken in source coordinates and resampled straight to crop x crop, which is
    the same picture as resize-then-crop at a third of the cost. ``out``: an array of that
    shape (e.g. a row of a shared-memory batch) to write into instead of a new one.
    """
    w, h = img.size
    if pre.height:                                  # whole-poster models: no crop at all
        img = img.resize((pre.crop, pre.height), Image.BILINEAR)
    else:
        side = min(w, h) * pre.crop / pre.resize      # the crop's size in source pixels
        left, top = (w - side) / 2, (h - side) / 2
        img = img.resize((pre.crop, pre.crop), Image.BILINEAR, box=(left, top, left + side, top + side))
    pixels = np.asarray(img)
    if out is None:
        return pixels
    out[...] = pixels
    return out


def normalise(batch: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """(n, H, W, 3) uint8 -> (n, 3, H, W) float32 ``(x - mean) / std``, as a float-input network expects."""
    x = np.asarray(batch, dtype=np.float32)
    x -= np.asarray(pre.mean, np.float32)
    x *= 1.0 / np.asarray(pre.std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def load_poster(source, pre: Preprocessing, out=None) -> np.ndarray:
    """A path or raw bytes -> (crop, crop, 3) uint8 array; raises PosterError for any bad input."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "upload"
    else:
        data, name = read_bytes(source), str(source)
    size = (pre.resize, pre.resize)
    return preprocess(open_image(data, name, draft_to=size), pre, out)
