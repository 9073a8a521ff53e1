"""Helpers shared by every click command: error mapping and output formatting."""

import functools
import json

import click
from tqdm import tqdm

from .columns import parse_mapping
from .errors import CatalogError, OnesheetError


def user_errors(*extra):
    """Turn named domain errors into one-line ClickExceptions (exit 1, no traceback)."""
    handled = (OnesheetError,) + extra

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except handled as exc:
                raise click.ClickException(str(exc)) from None
        return inner
    return wrap


def catalog_options(fn):
    """``--id-column`` and ``--columns FIELD=COLUMN,...`` for every command that reads a catalog."""
    def parse(ctx, param, value):
        try:
            return parse_mapping(value) if value else None
        except CatalogError as exc:
            raise click.BadParameter(str(exc)) from None
    fn = click.option("--columns", default=None, callback=parse, metavar="FIELD=COLUMN,...",
                      help="Catalog columns by name where they are not the usual ones, e.g. "
                           "overview=Plot,poster=Image (fields: id, title, year, genres, overview, poster).")(fn)
    return click.option("--id-column", default=None,
                        help="Id column (default: the first of id, movie_key, tmdb_id, movie_id, imdb_id).")(fn)


def echo_json(obj):
    click.echo(json.dumps(obj, indent=2, default=str))


def progress_bars(unit, **options):
    """A factory for the library's ``progress=`` hooks: (desc, total) -> a tqdm bar counting ``unit``."""
    def make(desc, total):
        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, **options)
    return make
