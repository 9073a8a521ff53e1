"""`onesheet ingest` and `onesheet store ...`: thin click shells over store's library API."""

import json
import sys

import click
import numpy as np

from .cliutil import catalog_options, echo_json, progress_bars, user_errors
from .h5 import FeatureStore
from .ingest import ingest
from .report_text import format_info, format_validation


@click.command("ingest")
@click.argument("catalog", type=click.Path(dir_okay=False))
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False), help="HDF5 store to create or update.")
@catalog_options
@click.option("--show", default=20, show_default=True, help="How many problem rows to list.")
@user_errors()
def ingest_cmd(catalog, store_path, id_column, columns, show):
    """Read a movies CSV into the store's movie table and labels."""
    result = ingest(catalog, store_path, id_column=id_column, columns=columns)
    click.echo(format_validation(result.report.to_dict(), show))
    click.echo(f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged "
               f"(id column {result.id_column!r})")
    for name, n in result.invalidated.items():
        click.echo(f"  {name}: {n} row(s) dropped because their input changed; re-run featurize")


@click.group("store")
def store_group():
    """Inspect a feature store and look embeddings up by movie id."""


@store_group.command("info")
@click.argument("store_path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors()
def info_cmd(store_path, as_json):
    """Movies, decades, genres and features with their provenance."""
    with FeatureStore.open(store_path) as store:
        info = store.info()
    if as_json:
        echo_json(info)
    else:
        click.echo(format_info(info))


def _read_ids(ids, ids_file):
    out = [i.strip() for i in (ids or "").split(",") if i.strip()]
    if ids_file:
        with open(ids_file, encoding="utf-8") as f:
            out += [line.strip() for line in f if line.strip()]
    if not out:
        raise click.UsageError("give ids with --ids 100,10003 or --ids-file FILE")
    return out


@store_group.command("lookup")
@click.argument("store_path", type=click.Path(dir_okay=False))
@click.option("--feature", required=True, help="Feature name, e.g. poster/efficientnet-lite0.")
@click.option("--ids", default=None, help="Comma-separated movie ids.")
@click.option("--ids-file", type=click.Path(exists=True, dir_okay=False), help="One id per line.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "npy"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write here instead of stdout (required for npy).")
@user_errors()
def lookup_cmd(store_path, feature, ids, ids_file, fmt, out):
    """Print the feature vectors of the given ids, in the asked order."""
    wanted = _read_ids(ids, ids_file)
    with FeatureStore.open(store_path) as store:
        rows = store.lookup(wanted, feature=feature)
    dense = rows.toarray() if hasattr(rows, "toarray") else rows
    if fmt == "npy":
        if not out:
            raise click.UsageError("--format npy needs --out FILE.npy")
        np.save(out, dense)
        return
    if fmt == "json":
        # an object keyed by id, in the asked order; a repeated id appears once
        text = json.dumps({i: [float(x) for x in row] for i, row in zip(wanted, dense)})
    else:
        lines = ["id," + ",".join(f"f{j}" for j in range(dense.shape[1]))]
        lines += [i + "," + ",".join(repr(float(x)) for x in row) for i, row in zip(wanted, dense)]
        text = "\n".join(lines)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


@store_group.command("verify")
@click.argument("store_path", type=click.Path(dir_okay=False))
@user_errors()
def verify_cmd(store_path):
    """Check the store's structure; exit 1 if anything is wrong."""
    with FeatureStore.open(store_path) as store:
        problems = store.verify()
        n, feats, version = len(store), len(store.features()), store.schema_version
    if problems:
        for p in problems:
            click.echo(f"problem: {p}", err=True)
        raise click.ClickException(f"{len(problems)} problem(s) in {store_path}; restore a backup, or move it aside "
                                   f"and rebuild it with onesheet featurize")
    click.echo(f"ok: {n} movies, {feats} features, schema v{version}")


@store_group.command("compact")
@click.argument("store_path", type=click.Path(dir_okay=False))
@click.option("--feature", default=None, help="Only this feature (default: all).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@user_errors()
def compact_cmd(store_path, feature, quiet):
    """Merge each feature's segments into one and drop superseded rows (readers keep reading)."""
    with FeatureStore.open(store_path, "a") as store:
        done = store.compact(feature, progress=None if quiet else progress_bars("rows"))
        version = store.version
    for name, (before, after) in done.items():
        click.echo(f"{name}: {before} segment(s) -> {after}")
    click.echo(f"version {version}")


@store_group.command("migrate")
@click.argument("store_path", type=click.Path(dir_okay=False))
@user_errors()
def migrate_cmd(store_path):
    """Convert a store written by an older onesheet to the current schema, in place and atomically."""
    from .migrate import migrate
    result = migrate(store_path)
    if result["migrated"]:
        click.echo(f"migrated {result['path']} from schema v{result['from']} to v{result['to']}: "
                   f"{result['movies']} movies, {len(result['features'])} features")
    else:
        click.echo(f"{result['path']} already has schema v{result['to']}; nothing to do")
