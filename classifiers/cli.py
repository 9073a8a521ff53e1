"""`onesheet fit` and `onesheet predict`: thin click shells over classifiers' library API."""

import os
import sys

import click
from featurize.errors import FeaturizeError
from store.cliutil import catalog_options, echo_json, progress_bars, user_errors
from store.schema import MAX_YEAR, MIN_YEAR

from .predict.batch import catalog_rows, folder_rows, predict_rows
from .model.decades import DEFAULT_CONFIGS, FitOptions, fit
from .model.heads import HEADS
from .predict.predictor import Predictor
from .predict.show import format_prediction, prediction_dict
from .reports.fit_summary import format_fit


def _decades(text):
    """--decades 1970,1980 -> [1970, 1980]; anything else is a usage error, not a traceback."""
    if not text:
        return None
    try:
        return [int(d) for d in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r}: give comma-separated decades as years, like 1970,1980",
                                 param_hint="--decades") from None


@click.command("fit")
@click.argument("store_path", type=click.Path(dir_okay=False))
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False), help="Model directory.")
@click.option("--head", "heads", multiple=True, type=click.Choice(sorted(HEADS)), help="Head(s) to fit.")
@click.option("--features", "specs", multiple=True, help="Feature spec(s), e.g. poster/efficientnet-lite0+overview/tfidf.")
@click.option("--decades", default=None, help="Comma-separated decades to fit own models for (default: all).")
@click.option("--min-movies", default=150, show_default=True, help="Movies a decade needs for its own model.")
@click.option("--no-balance", is_flag=True, help="Turn class balancing off.")
@click.option("--seed", default=0, show_default=True)
@click.option("--kernel", type=click.Choice(["linear", "rbf"]), default=None, help="SVM kernel (svm head only).")
@user_errors(FeaturizeError)
def fit_cmd(store_path, models_dir, heads, specs, decades, min_movies, no_balance, seed, kernel):
    """Fit per-decade and pooled genre models from the store into --models DIR."""
    if heads or specs:
        configs = [(h, s) for h in (heads or ["svm"]) for s in (specs or [DEFAULT_CONFIGS[0][1]])]
    else:
        configs = list(DEFAULT_CONFIGS)
    params = {"kernel": kernel} if kernel else {}
    if kernel and any(h != "svm" for h, _ in configs):
        raise click.UsageError("--kernel applies to --head svm only")
    opts = FitOptions(decades=_decades(decades), min_movies=min_movies,
                      balance=not no_balance, seed=seed, head_params=params)
    result = fit(store_path, models_dir, configs, opts, progress=progress_bars("model"),
                 best_poster=not (heads or specs))
    click.echo(format_fit(result, models_dir))


@click.command("predict")
@click.argument("posters", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--overview", default=None, help="The movie's overview text (single-poster mode).")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), default=None,
              help="Release year: picks that decade's model.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--catalog", type=click.Path(dir_okay=False, exists=True), help="Predict a whole catalog CSV.")
@click.option("--posters", "folder", type=click.Path(file_okay=False, exists=True), help="Predict a folder of images.")
@click.option("--recursive", is_flag=True, help="With --posters: the images in subfolders too (ids: relative paths).")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Predictions CSV (catalog/folder mode; default: standard output).")
@catalog_options
@click.option("--word-vectors", default=None, help="Path of the word vectors used at featurize time, if not GloVe.")
@click.option("--prior-shift", is_flag=True, help="Catalog/folder mode: correct for the collection's own genre mix "
                                                  "(EM re-estimation of the genre priors, Saerens et al. 2002).")
@user_errors(FeaturizeError)
def predict_cmd(posters, models_dir, overview, year, as_json, catalog, folder, recursive, out, id_column, columns,
                word_vectors, prior_shift):
    """Genres for POSTER(s), or for a whole --catalog / --posters folder as CSV.

    Exit status: 0 when every prediction was made, 2 when some failed (every row is still
    written, with its error), 1 when nothing could run.
    """
    if catalog and folder:
        raise click.UsageError("give --catalog CSV or --posters DIR, not both")
    if (catalog or folder) and posters:
        raise click.UsageError("--catalog / --posters take no POSTER arguments")
    if not (catalog or folder or posters):
        raise click.UsageError("give a POSTER file, or --catalog CSV / --posters DIR")
    predictor = Predictor(models_dir, word_vectors=word_vectors)
    if catalog or folder:
        notes = []
        if catalog:
            id_header, rows = catalog_rows(catalog, id_column, columns)
        else:
            id_header, rows, notes = folder_rows(folder, year, recursive)
        for note in notes:
            click.echo(f"note: {note}", err=True)
        to_stdout = out in (None, "-")
        target = sys.stdout if to_stdout else out
        with progress_bars("movie")("predict", len(rows)) as bar:
            n, errors = predict_rows(predictor, rows, target, id_header, progress=bar, prior_shift=prior_shift)
        click.echo(f"{n} movies predicted into {'standard output' if to_stdout else out}", err=to_stdout)
        _exit_on_failures(errors, n)
        return
    preds = predictor.predict(list(posters), [overview or ""] * len(posters), year)
    if as_json:
        echo_json([prediction_dict(r, p) for p, r in zip(posters, preds)])
    else:
        click.echo("\n".join(format_prediction(p, r) for p, r in zip(posters, preds)))
    _exit_on_failures(sum(bool(r.error) for r in preds), len(preds))


def _exit_on_failures(failed, total):
    """Exit 2 with a count on stderr when some asked predictions failed (their rows are written)."""
    if failed:
        click.echo(f"error: {failed} of {total} prediction(s) failed (see their error)", err=True)
        raise SystemExit(2)


@click.command("evaluate")
@click.argument("store_path", type=click.Path(dir_okay=False))
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report directory.")
@click.option("--min-test", default=20, show_default=True, help="Test movies a decade needs to be judged.")
@click.option("--quick", is_flag=True, help="Skip the refits behind the balancing and cross-era comparisons.")
@click.option("--prior-shift", is_flag=True, help="Also score the cross-era check after EM re-estimation of the "
                                                  "genre priors on the earlier decades (Saerens et al. 2002).")
@user_errors(FeaturizeError)
def evaluate_cmd(store_path, models_dir, out_dir, min_test, quick, prior_shift):
    """Score the held-out test split: report.md, report.html and metrics.json in --out."""
    from .experiment.evaluate import evaluate
    from .reports.evaluation import build
    from .reports.lines import best_line, config_line
    result = evaluate(store_path, models_dir, min_test=min_test, balance_check=not quick, era=not quick,
                      progress=progress_bars("config"), on_config=lambda r, era: click.echo(config_line(r, era)),
                      prior_shift=prior_shift)
    path = build(result, out_dir)
    click.echo(best_line(result))
    era = result["cross_era"].get(result["best"]) if result["best"] else None
    if era and era.get("earlier_prior_shift", {}).get("f1_micro") is not None:
        click.echo(f"  earlier decades with prior-shift EM: micro-F1 {era['earlier_prior_shift']['f1_micro']:.3f} "
                   f"(without: {era['earlier']['f1_micro']:.3f})")
    click.echo(f"report: {path}")


@click.command("run")
@click.argument("catalog", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--quiet", is_flag=True, help="No progress bars.")
@catalog_options
@user_errors(FeaturizeError)
def run_cmd(catalog, out_dir, quiet, id_column, columns):
    """The main job: featurize CATALOG, fit every model, and write the evaluation report."""
    from featurize.cli import format_summary
    from featurize.pipeline import FeaturizeOptions, no_progress
    from .experiment.job import RUN_POSTER_MODEL, run_job
    from .reports.lines import best_line, config_line, stage_header

    movies, models = progress_bars("movie"), progress_bars("model")

    def bar(desc, total):  # featurize counts movies; fit and evaluate count models
        return (movies if desc.startswith(("poster/", "overview/")) else models)(desc, total)

    def show(kind, payload):  # the job reports as it goes; this prints it
        if kind == "stage":
            click.echo(stage_header(payload))
        elif kind == "stage_done":
            click.echo(f"   {payload['name']} done in {payload['seconds']:.0f} s ({payload['cpu_seconds']:.0f} s of CPU)")
        elif kind == "featurized":
            click.echo(format_summary(payload, show=5))
        elif kind == "fit":
            click.echo(format_fit(payload, os.path.join(out_dir, "models")))
        elif kind == "config":
            click.echo(config_line(payload["result"], payload["cross_era"]))

    options = FeaturizeOptions(poster_model=RUN_POSTER_MODEL, id_column=id_column, columns=columns)
    job = run_job(catalog, out_dir, options,
                  progress=no_progress if quiet else bar, on_event=show)
    click.echo(best_line(job.metrics))
    click.echo("time: " + ", ".join(f"{k} {v:.0f} s ({job.cpu_seconds[k]:.0f} s CPU)" for k, v in job.seconds.items()))
    click.echo(f"store:  {job.store}\nmodels: {job.models}\nreport: {job.report}")


@click.command("explore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--per-group", default=120, show_default=True, help="Posters sampled per genre / decade for colours.")
@catalog_options
@user_errors(FeaturizeError)
def explore_cmd(source, out_dir, per_group, id_column, columns):
    """Explore a catalog CSV or a store: genres, co-occurrence, colours by genre and decade."""
    from .experiment.explore import explore
    path, summary = explore(source, out_dir, per_group=per_group, progress=progress_bars("group"),
                            id_column=id_column, columns=columns)
    click.echo(f"{summary['movies']} movies; genres clustered as: {', '.join(summary['cooccurrence_order'])}")
    click.echo(f"report: {path}")


@click.command("serve")
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--max-batch", default=32, show_default=True, help="Posters per ONNX batch across requests.")
@click.option("--max-wait-ms", default=5.0, show_default=True, help="Longest a request waits for a batch to fill.")
@click.option("--max-upload-mb", default=25.0, show_default=True, help="Largest request body (poster upload, JSON).")
@click.option("--max-ids", default=1000, show_default=True, help="Most ids in one POST /embeddings.")
@click.option("--max-response-mb", default=32.0, show_default=True, help="Largest POST /embeddings answer.")
@click.option("--header-timeout", default=10.0, show_default=True, help="Seconds a client has to send its headers.")
@click.option("--body-timeout", default=60.0, show_default=True, help="Seconds a client has to send its body.")
@click.option("--refresh-seconds", default=2.0, show_default=True, help="How often to check the store for a new version.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="One line per request on stderr.")
@user_errors(FeaturizeError)
def serve_cmd(store_path, models_dir, host, port, max_batch, max_wait_ms, max_upload_mb, max_ids, max_response_mb,
              header_timeout, body_timeout, refresh_seconds, access_log):
    """Serve predictions, embeddings and similar posters over HTTP (OpenAPI at /docs, /openapi.json)."""
    from .serve.app import create_app
    from .serve.limits import ServeLimits
    from .serve.server import run
    limits = ServeLimits(max_body_bytes=int(max_upload_mb * 2**20), max_ids=max_ids,
                         max_response_bytes=int(max_response_mb * 2**20), header_timeout=header_timeout,
                         body_timeout=body_timeout, refresh_seconds=refresh_seconds)
    app = create_app(store_path, models_dir, max_batch=max_batch, max_wait_ms=max_wait_ms, limits=limits)
    click.echo(f"serving on http://{host}:{port} (docs at /docs, OpenAPI schema at /openapi.json)")
    run(app, host, port, limits, access_log=access_log)
