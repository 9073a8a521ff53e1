"""High-bit-depth and unusual image modes decode to the 8-bit picture they hold (issue 11, item 5).

Each variant is made in the test from a real poster and compared with its 8-bit copy
through the real ONNX export: embedding cosine >= 0.98 (Pillow's own conversion gave 0.25
for a 16-bit greyscale PNG, which came out almost white).
"""

import io

import numpy as np
import pytest
from PIL import Image

from featurize.encoders import poster_encoder
from featurize.errors import PosterError
from featurize.images import load_poster
from featurize.models import Preprocessing
from featurize.posters import cosines
from tests.conftest import REAL_DATA
from tests.images_fixtures import png16

POSTER = REAL_DATA / "posters" / "100.jpg"


def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def tiff(array, **kw):
    tifffile = pytest.importorskip("tifffile")
    buf = io.BytesIO()
    tifffile.imwrite(buf, array, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def poster():
    if not POSTER.exists():
        pytest.skip(f"real poster {POSTER} not found")
    rgb = np.asarray(Image.open(POSTER).convert("RGB"))
    return rgb, np.asarray(Image.fromarray(rgb).convert("L"))


def variants(rgb, grey):
    """{name: (file bytes, its 8-bit copy's bytes, mode Pillow opens it as)}."""
    grey_png, rgb_png = encode(Image.fromarray(grey), "PNG"), encode(Image.fromarray(rgb), "PNG")
    g16 = grey.astype(np.uint16) * 257
    out = {
        "png I;16": (png16(g16), grey_png, "I;16"),
        "tiff I;16B": (tiff(g16.astype(">u2")), grey_png, "I;16B"),
        "tiff I": (encode(Image.fromarray(g16.astype(np.int32)), "TIFF"), grey_png, "I"),
        "tiff F [0,1]": (encode(Image.fromarray(grey.astype(np.float32) / 255), "TIFF"), grey_png, "F"),
        "tiff F [0,255]": (encode(Image.fromarray(grey.astype(np.float32)), "TIFF"), grey_png, "F"),
        "tiff F stretched": (encode(Image.fromarray(grey.astype(np.float32) * 4 - 100), "TIFF"), grey_png, "F"),
        "png RGB 16-bit": (png16(rgb.astype(np.uint16) * 257), rgb_png, "RGB"),
        "tiff RGB 16-bit": (tiff(rgb.astype(np.uint16) * 257, photometric="rgb"), rgb_png, "RGB"),
        "png 1": (encode(Image.fromarray(grey).convert("1"), "PNG"),
                  encode(Image.fromarray(grey).convert("1").convert("L"), "PNG"), "1"),
        "png LA": (encode(Image.fromarray(grey).convert("LA"), "PNG"), grey_png, "LA"),
        "jpeg CMYK": (encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95),
                      encode(Image.fromarray(rgb), "JPEG", quality=95), "CMYK"),
        "tiff LAB": (encode(Image.fromarray(rgb).convert("LAB"), "TIFF"), rgb_png, "LAB"),
        "tiff YCbCr": (encode(Image.fromarray(rgb).convert("YCbCr"), "TIFF"), rgb_png, "YCbCr"),
    }
    return out


def test_high_bit_depth_modes_embed_like_their_8_bit_copies(onnx_cache, poster):
    enc = poster_encoder()
    cases = variants(*poster)
    for name, (data, _, mode) in cases.items():
        assert Image.open(io.BytesIO(data)).mode == mode, name   # the test exercises the mode it names
    pixels = np.stack([load_poster(data, enc.preprocessing) for data, _, _ in cases.values()])
    copies = np.stack([load_poster(copy, enc.preprocessing) for _, copy, _ in cases.values()])
    sims = cosines(enc.embedder.embed(pixels), enc.embedder.embed(copies))
    worst = {name: round(float(s), 4) for name, s in zip(cases, sims) if s < 0.98}
    assert not worst, f"embedding cosine to the 8-bit copy below 0.98: {worst}"
    mean_gap = np.abs(pixels.astype(int) - copies.astype(int)).mean(axis=(1, 2, 3))
    assert mean_gap.max() < 8, dict(zip(cases, mean_gap.round(1)))


def test_sixteen_bit_grey_is_scaled_not_clipped():
    ramp = (np.arange(256, dtype=np.uint16).reshape(16, 16).repeat(8, 0).repeat(8, 1)) * 257
    x = load_poster(png16(ramp), Preprocessing())
    assert 100 < x.mean() < 155   # mid-grey on average, not Pillow's 99.6% white


def test_float_image_with_nan_is_refused_by_name():
    values = np.full((40, 30), 0.5, np.float32)
    values[3, 4] = np.nan
    with pytest.raises(PosterError) as err:
        load_poster(encode(Image.fromarray(values), "TIFF"), Preprocessing())
    assert err.value.kind == "corrupt" and "NaN" in err.value.detail
