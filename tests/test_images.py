"""Poster decoding: odd-but-valid images are handled, broken ones are named errors."""

import io

import numpy as np
import pytest
from PIL import Image

from featurize.errors import PosterError
from featurize.images import load_poster, normalise, open_image
from featurize.models import Preprocessing
from tests.images_fixtures import broken_folder

PRE = Preprocessing()


def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_output_is_uint8_nhwc_and_normalise_gives_the_network_input():
    white = encode(Image.new("RGB", (185, 278), (255, 255, 255)), "JPEG", quality=95)
    x = load_poster(white, PRE)
    assert x.shape == (224, 224, 3) and x.dtype == np.uint8
    assert abs(int(x.min()) - 255) <= 2
    net = normalise(x[None], PRE)
    assert net.shape == (1, 3, 224, 224) and net.dtype == np.float32
    np.testing.assert_allclose(net, (x.transpose(2, 0, 1)[None].astype(np.float32) - 127) / 128, rtol=1e-6)


def test_load_poster_writes_into_a_given_row():
    red = encode(Image.new("RGB", (90, 120), (200, 30, 30)), "PNG")
    rows = np.zeros((2, 224, 224, 3), np.uint8)
    load_poster(red, PRE, out=rows[1])
    assert (rows[0] == 0).all() and tuple(rows[1, 100, 100]) == (200, 30, 30)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "RGBA", "LA", "I;16"])
def test_modes_become_rgb(mode):
    img = Image.new("RGB", (40, 60), (200, 30, 30)).convert(mode)
    fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    x = load_poster(encode(img, fmt), PRE)
    assert x.shape == (224, 224, 3) and x.dtype == np.uint8


def test_transparent_png_is_composited_on_white():
    img = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    rgb = open_image(encode(img, "PNG"))
    assert rgb.mode == "RGB" and rgb.getpixel((10, 10)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (80, 40), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    upright = open_image(encode(img, "JPEG", exif=exif.tobytes()))
    assert upright.size == (40, 80)


@pytest.mark.parametrize("name", ["truncated.jpg", "empty.jpg", "text.jpg", "huge.png"])
def test_broken_files_raise_named_errors(tmp_path, name):
    expected = broken_folder(tmp_path)
    with pytest.raises(PosterError) as err:
        load_poster(tmp_path / name, PRE)
    assert err.value.kind in expected[name]


def test_missing_and_unsupported():
    with pytest.raises(PosterError) as err:
        load_poster("/no/such/poster.jpg", PRE)
    assert err.value.kind == "missing"
    ico = encode(Image.new("RGB", (32, 32)), "ICO")
    with pytest.raises(PosterError) as err:
        load_poster(ico, PRE)
    assert err.value.kind == "unsupported_format"
