"""Any image mode Pillow opens -> 8-bit RGB, scaled by what the mode's numbers mean.

Pillow's own ``convert("RGB")`` clips high-bit-depth modes instead of scaling them: a
16-bit greyscale PNG (``I;16``) comes out almost white, a 32-bit float TIFF (``F``) almost
black. The rules here:

* ``I;16*`` (16-bit unsigned): ``v / 257``, so 65535 -> 255 and 257*k -> k exactly.
* ``I`` (32-bit signed): read as 16-bit when every value lies in 0..65535 (what 16-bit
  PNG/TIFF files decode to), else min..max of the image -> 0..255.
* ``F`` (32-bit float): values within 0..1 are the [0, 1] convention (x 255), within
  0..255 the [0, 255] one (kept), anything else is stretched min..max -> 0..255. NaN or
  infinite pixels are refused (PosterError ``corrupt``).
* Transparency (``RGBA``, ``LA``, ``La``, ``PA``, ``RGBa``, ``P`` with a transparent
  colour) is composited on white; ``1``, ``L``, ``P``, ``CMYK`` (Adobe inversion undone by
  Pillow), ``YCbCr``, ``LAB``, ``HSV``, ``RGBX`` go through Pillow's conversion, which is
  exact for 8-bit modes. 16-bit RGB PNG/TIFF files are already reduced to 8 bits by Pillow.
* Anything else is refused by name (PosterError ``unsupported_mode``).
"""

import numpy as np
from PIL import Image

from .errors import PosterError

EIGHT_BIT = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
TRANSPARENT = ("RGBA", "RGBa", "LA", "La", "PA")


def _grey_to_rgb(values: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L").convert("RGB")


def _scaled(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:  # a flat image: keep its level if it is a plausible 8-bit one, else mid-grey
        return np.full(values.shape, lo if 0 <= lo <= 255 else 128.0)
    return (values - lo) * (255.0 / (hi - lo))


def _high_bit_depth(img, name) -> Image.Image:
    values = np.asarray(img)
    if img.mode.startswith("I;16"):
        return _grey_to_rgb(values.astype(np.float32) / 257.0)
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise PosterError("corrupt", f"{name} is a float image holding NaN or infinite pixels")
    lo, hi = float(values.min()), float(values.max())
    if img.mode == "I":
        return _grey_to_rgb(values / 257.0 if lo >= 0 and hi <= 65535 else _scaled(values, lo, hi))
    if lo >= 0 and hi <= 1:
        return _grey_to_rgb(values * 255.0)
    if lo >= 0 and hi <= 255:
        return _grey_to_rgb(values)
    return _grey_to_rgb(_scaled(values, lo, hi))


def to_rgb(img, name="poster") -> Image.Image:
    """``img`` as an 8-bit RGB image (see the module docstring for the rules per mode)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in TRANSPARENT or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA") if mode != "La" else img.convert("LA").convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode in EIGHT_BIT:
        return img.convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _high_bit_depth(img, name)
    raise PosterError("unsupported_mode", f"{name} has image mode {mode}, which onesheet cannot convert to RGB; "
                                          f"save it as an 8-bit RGB JPEG or PNG")
