"""What ``Predictor.predict`` accepts: one movie or many, one year for all or one each.

``predict("x.jpg")`` used to iterate over the characters of the path and ``years=1975``
raised a TypeError; both now mean what a person means by them.
"""

import os

import numpy as np

from store.catalog import parse_year
from store.schema import MAX_YEAR, MIN_YEAR

from ..errors import PredictInputError


def _one_year(year):
    """(year or None, warning) for one ``years`` entry: int, numeric str, None."""
    if year is None or (isinstance(year, str) and not year.strip()):
        return None, ""
    if isinstance(year, (bool, np.bool_)):
        raise PredictInputError(f"years: {year!r} is not a year")
    if isinstance(year, (int, np.integer)) or (isinstance(year, (float, np.floating)) and float(year).is_integer()):
        value, problem = int(year), None if MIN_YEAR <= int(year) <= MAX_YEAR else "impossible_year"
    elif isinstance(year, str):
        value, problem = parse_year(year)
    elif isinstance(year, (float, np.floating)):
        value, problem = -1, "invalid_year"
    else:
        raise PredictInputError(f"years: {year!r} is not a year (give an int, or None when unknown)")
    if problem:
        return None, f"{problem}: year {year!r} is not a whole number from {MIN_YEAR} to {MAX_YEAR}; pooled model used"
    return value, ""


def normalise_inputs(posters, overviews=None, years=None):
    """(posters, overviews, years, year warnings, single) as equal-length lists.

    One poster (a path, ``os.PathLike``, bytes or None) is one movie, not a sequence of
    characters; one year (or None) applies to every poster; overviews are one per poster.
    """
    single = posters is None or isinstance(posters, (str, bytes, bytearray, memoryview, os.PathLike))
    posters = [posters] if single else list(posters)
    posters = [os.fspath(p) if isinstance(p, os.PathLike) else bytes(p) if isinstance(p, (bytearray, memoryview))
               else p for p in posters]
    n = len(posters)
    if overviews is None:
        overviews = [""] * n
    elif isinstance(overviews, str):
        if not single and n != 1:
            raise PredictInputError(f"overviews: one string for {n} posters; give a list with one overview per poster")
        overviews = [overviews]
    else:
        overviews = ["" if o is None else o for o in overviews]
    if years is None or isinstance(years, (str, int, float, np.integer, np.floating)):
        years = [years] * n
    else:
        years = list(years)
    for name, values in (("overviews", overviews), ("years", years)):
        if len(values) != n:
            raise PredictInputError(f"{name}: {len(values)} given for {n} posters; give one per poster")
    checked = [_one_year(y) for y in years]
    return posters, overviews, [y for y, _ in checked], {i: w for i, (_, w) in enumerate(checked) if w}, single
