"""Helpers shared by every click command: error mapping and output formatting."""

import functools
import json

import click
from tqdm import tqdm

from .errors import OnesheetError


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


def echo_json(obj):
    click.echo(json.dumps(obj, indent=2, default=str))


def progress_bars(unit, **options):
    """A factory for the library's ``progress=`` hooks: (desc, total) -> a tqdm bar counting ``unit``."""
    def make(desc, total):
        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, **options)
    return make
