"""The bad-input corpus: broken catalogs and odd poster folders, generated (never committed).

``make_corpus(root)`` writes every case under ``root`` and returns {case: path}; the tests
use it, and ``python scripts/make_bad_corpus.py DIR`` writes the same files to try by hand.
Each case is what a real catalog or folder has been seen to contain.
"""

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image

HEADER = ["movie_key", "title", "year", "genres", "overview", "poster"]
FOREIGN_HEADER = ["ID", "Name", "Release Date", "Genre", "Plot", "Image"]
BAD_YEARS = {"y-inf": "inf", "y-1e400": "1e400", "y-frac": "1999.9", "y-abc": "abc", "y-neg": "-5",
             "y-3000": "3000", "y-1869": "1869", "y-nan": "nan", "y-empty": ""}
GOOD_YEARS = {"y-int": ("1966", 1966), "y-float0": ("1999.0", 1999), "y-date": ("1995-10-20", 1995),
              "y-2100": ("2100", 2100), "y-1870": ("1870", 1870)}
FIELD_LIMIT = 131072   # Python's csv.field_size_limit() default


def poster(path, seed, size=(60, 90), fmt=None):
    rng = np.random.default_rng(seed)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def _csv(rows, header=HEADER):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _row(i, **kw):
    base = {"movie_key": str(i), "title": f"Movie {i}", "year": "1990", "genres": "Drama",
            "overview": f"A story about thing number {i}.", "poster": "p.jpg"}
    base.update(kw)
    return [base[h] for h in HEADER]


def _catalogs(root):
    out = {}
    good = [_csv([_row(i)]).splitlines()[1] for i in range(1, 10)]
    # 9 data lines; line 4 (id 3) opens a quote in its title and never closes it
    lines = list(good)
    lines[2] = '3,"Broken title,1990,Drama,An overview.,p.jpg'
    out["unterminated_quote"] = "\n".join([",".join(HEADER)] + lines) + "\n"
    # the broken quote is in the overview, and the next row's quoted overview closes it: the swallowed
    # record has the header's width by chance
    lines = list(good)
    lines[4] = '5,Movie 5,1990,Drama,"An overview that never ends,p.jpg'
    lines[5] = '6,Movie 6,1990,Drama,"A quoted overview, with a comma",p.jpg'
    out["unterminated_quote_same_width"] = "\n".join([",".join(HEADER)] + lines) + "\n"
    lines = list(good)
    lines[-1] = '9,Movie 9,1990,Drama,"The last overview,p.jpg'
    out["unterminated_quote_at_eof"] = "\n".join([",".join(HEADER)] + lines) + "\n"
    # a legitimate overview over two lines must stay one row
    out["quoted_newline"] = _csv([_row(1, overview="Line one,\nline two, still the overview"), _row(2)])
    years = [_row(k, year=v) for k, v in BAD_YEARS.items()] + [_row(k, year=v) for k, (v, _) in GOOD_YEARS.items()]
    out["bad_years"] = _csv(years)
    out["skipped_rows"] = _csv([_row(1), _row(1, title="Duplicate"), _row("", title="No id"), ["4", "Too few"],
                                _row(5, overview="x" * (FIELD_LIMIT + 10)), _row(6)])
    out["foreign_header"] = _csv([["a1", "Alpha", "1995-10-20", "Drama|Crime", "A detective in a city.", "p.jpg"],
                                  ["a2", "Beta", "1971", "Comedy", "A family laughs a lot.", "p.jpg"]],
                                 header=FOREIGN_HEADER)
    out["unmappable_header"] = _csv([["a1", "Alpha", "1995", "Drama", "A detective in a long rainy city.", "p.jpg"]],
                                    header=["ID", "Name", "Release Date", "Genre", "Story", "Picture File"])
    paths = {}
    for name, text in out.items():
        paths[name] = root / f"{name}.csv"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _odd_folder(folder):
    """Same stem in four formats, files Pillow may read but onesheet does not take, a subfolder."""
    folder.mkdir(exist_ok=True)
    for k, (suffix, fmt) in enumerate([(".bmp", "BMP"), (".tiff", "TIFF"), (".webp", "WEBP"), (".png", "PNG")]):
        poster(folder / f"img{suffix}", k, fmt=fmt)
    poster(folder / "solo.jpg", 9, fmt="JPEG")
    (folder / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    poster(folder / "icon.ico", 5, size=(32, 32), fmt="ICO")
    poster(folder / "photo.ppm", 6, fmt="PPM")
    (folder / "notes.txt").write_text("not a poster\n")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "sub").mkdir(exist_ok=True)
    poster(folder / "sub" / "inner.jpg", 7, fmt="JPEG")
    poster(folder / "sub" / "img.jpg", 8, fmt="JPEG")
    return folder


def make_corpus(root) -> dict:
    """Write every case under ``root``; {case name: path} (catalogs by name, 'folder' the odd folder)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    poster(root / "p.jpg", 0, fmt="JPEG")
    paths = _catalogs(root)
    paths["folder"] = _odd_folder(root / "odd-posters")
    return paths
