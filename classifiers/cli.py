"""`onesheet fit` and `onesheet predict`: thin click shells over classifiers' library API."""

import json

import click
from featurize.errors import FeaturizeError
from store.cliutil import echo_json, progress_bars, user_errors

from .predict.batch import catalog_rows, folder_rows, predict_rows
from .model.decades import DEFAULT_CONFIGS, FitOptions, fit
from .model.heads import HEADS
from .predict.predictor import Predictor
from .reports.fit_summary import format_fit


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
    opts = FitOptions(decades=[int(d) for d in decades.split(",")] if decades else None, min_movies=min_movies,
                      balance=not no_balance, seed=seed, head_params=params)
    manifest = fit(store_path, models_dir, configs, opts, progress=progress_bars("model"),
                   best_poster=not (heads or specs))
    click.echo(format_fit(manifest, [f"{h}__" for h, _ in configs], models_dir))


@click.command("predict")
@click.argument("posters", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--overview", default=None, help="The movie's overview text (single-poster mode).")
@click.option("--year", type=int, default=None, help="Release year: picks that decade's model.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--catalog", type=click.Path(dir_okay=False, exists=True), help="Predict a whole catalog CSV.")
@click.option("--posters", "folder", type=click.Path(file_okay=False, exists=True), help="Predict a folder of images.")
@click.option("--out", type=click.Path(dir_okay=False), help="Predictions CSV (catalog/folder mode).")
@click.option("--id-column", default=None)
@click.option("--word-vectors", default=None, help="Path of the word vectors used at featurize time, if not GloVe.")
@click.option("--prior-shift", is_flag=True, help="Catalog/folder mode: correct for the collection's own genre mix "
                                                  "(EM re-estimation of the genre priors, Saerens et al. 2002).")
@user_errors(FeaturizeError)
def predict_cmd(posters, models_dir, overview, year, as_json, catalog, folder, out, id_column, word_vectors,
                prior_shift):
    """Genres for POSTER(s), or for a whole --catalog / --posters folder into --out CSV."""
    predictor = Predictor(models_dir, word_vectors=word_vectors)
    if catalog or folder:
        if posters or not out:
            raise click.UsageError("catalog mode takes --catalog CSV or --posters DIR with --out FILE, no POSTER args")
        id_header, rows = catalog_rows(catalog, id_column) if catalog else folder_rows(folder, year)
        with progress_bars("movie")("predict", len(rows)) as bar:
            n, errors = predict_rows(predictor, rows, out, id_header, progress=bar, prior_shift=prior_shift)
        click.echo(f"{n} movies predicted into {out} ({errors} with an error column)")
        return
    if not posters:
        raise click.UsageError("give a POSTER file, or --catalog / --posters with --out")
    preds = predictor.predict(list(posters), [overview or ""] * len(posters), [year] * len(posters))
    if as_json:
        echo_json([{"poster": p, "genres": r.genres, "probabilities": r.probabilities, "model": r.model,
                    "error": r.error or None, "warning": r.warning or None} for p, r in zip(posters, preds)])
        return
    for p, r in zip(posters, preds):
        if r.error:
            click.echo(f"{p}: error: {r.error}")
            continue
        click.echo(f"{p}: {', '.join(r.genres)}   [{r.model}]")
        if r.warning:
            click.echo(f"  warning: {r.warning}")
        for g, prob in list(r.probabilities.items())[:5]:
            click.echo(f"  {g:<16} {prob:.2f}")


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
    result = evaluate(store_path, models_dir, min_test=min_test, balance_check=not quick, era=not quick,
                      progress=progress_bars("config"), prior_shift=prior_shift)
    path = build(result, out_dir)
    best = next(c for c in result["configs"] if c["name"] == result["best"])
    click.echo(f"best: {best['name']}: test micro-F1 {best['per_decade_system']['f1_micro']:.3f}, "
               f"macro-F1 {best['per_decade_system']['f1_macro']:.3f}")
    era = result["cross_era"].get(result["best"])
    if era and "relative_drop_micro" in era:
        click.echo(f"trained on 1990+, tested on earlier decades: relative micro-F1 drop {100 * era['relative_drop_micro']:.1f}%")
    if era and "earlier_prior_shift" in era:
        click.echo(f"  earlier decades with prior-shift EM: micro-F1 {era['earlier_prior_shift']['f1_micro']:.3f} "
                   f"(without: {era['earlier']['f1_micro']:.3f})")
    click.echo(f"report: {path}")


@click.command("run")
@click.argument("catalog", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--quiet", is_flag=True, help="No progress bars.")
@user_errors(FeaturizeError)
def run_cmd(catalog, out_dir, quiet):
    """The main job: featurize CATALOG, fit every model, and write the evaluation report."""
    from featurize.cli import format_summary
    from featurize.pipeline import no_progress
    from .experiment.job import run_job

    movies, models = progress_bars("movie"), progress_bars("model")

    def bar(desc, total):  # featurize counts movies; fit and evaluate count models
        return (movies if desc.startswith(("poster/", "overview/")) else models)(desc, total)

    job = run_job(catalog, out_dir, progress=no_progress if quiet else bar)
    click.echo(format_summary(job.featurize_summary, show=5))
    best = next(c for c in job.metrics["configs"] if c["name"] == job.metrics["best"])
    s = best["per_decade_system"]
    click.echo(f"best model {best['name']}: test micro-F1 {s['f1_micro']:.3f}, macro-F1 {s['f1_macro']:.3f}, "
               f"top-class accuracy {s['top_class_accuracy']:.3f}")
    click.echo("time: " + ", ".join(f"{k} {v:.0f} s" for k, v in job.seconds.items()))
    click.echo(f"store:  {job.store}\nmodels: {job.models}\nreport: {job.report}")


@click.command("explore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--per-group", default=120, show_default=True, help="Posters sampled per genre / decade for colours.")
@user_errors(FeaturizeError)
def explore_cmd(source, out_dir, per_group):
    """Explore a catalog CSV or a store: genres, co-occurrence, colours by genre and decade."""
    from .experiment.explore import explore
    path, summary = explore(source, out_dir, per_group=per_group,
                            progress=progress_bars("group"))
    click.echo(f"{summary['movies']} movies; genres clustered as: {', '.join(summary['cooccurrence_order'])}")
    click.echo(f"report: {path}")


@click.command("serve")
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--max-batch", default=32, show_default=True, help="Posters per ONNX batch across requests.")
@click.option("--max-wait-ms", default=5.0, show_default=True, help="Longest a request waits for a batch to fill.")
@click.option("--max-upload-mb", default=25.0, show_default=True)
@user_errors(FeaturizeError)
def serve_cmd(store_path, models_dir, host, port, max_batch, max_wait_ms, max_upload_mb):
    """Serve predictions, embeddings and similar posters over HTTP (OpenAPI at /docs, /openapi.json)."""
    import uvicorn
    from .serve.app import create_app
    app = create_app(store_path, models_dir, max_batch=max_batch, max_wait_ms=max_wait_ms,
                     max_upload_bytes=int(max_upload_mb * 2**20))
    click.echo(f"serving on http://{host}:{port} (OpenAPI schema at /openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
