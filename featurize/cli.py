"""`onesheet featurize`: a thin click shell over featurize.pipeline.featurize."""

import logging

import click
from store.cliutil import catalog_options, progress_bars, user_errors
from store.report_text import format_validation

from .pipeline import FeaturizeOptions, featurize, no_progress


def format_summary(summary, show=10) -> str:
    lines = [format_validation(summary.ingest.report.to_dict(), show)]
    for run in summary.features:
        line = f"{run.name:<30} {run.written:>6} embedded, {run.already:>6} already stored"
        if run.written:
            line += f", {run.rate:,.0f}/s"
        if run.zero_rows:
            line += f", {run.zero_rows} zero vectors (empty or no known word)"
        lines.append(line)
        if run.skipped:
            kinds = {}
            for _, kind, _ in run.skipped:
                kinds[kind] = kinds.get(kind, 0) + 1
            lines.append(f"  skipped {len(run.skipped)}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
            for movie_id, kind, detail in run.skipped[:show]:
                lines.append(f"    {movie_id}: {kind}: {detail}")
    if summary.providers:
        lines.append(f"onnxruntime providers: {', '.join(summary.providers)}")
    lines += [f"note: {note}" for note in summary.notes]
    lines.append(f"done in {summary.seconds:.1f} s")
    return "\n".join(lines)


@click.command("featurize")
@click.argument("catalog", type=click.Path(dir_okay=False))
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False))
@click.option("--poster-model", default="efficientnet-lite0", show_default=True,
              help="Pretrained CNN: efficientnet-lite0 or resnet50.")
@click.option("--onnx", type=click.Path(dir_okay=False), help="Bring your own ONNX image model instead.")
@click.option("--preprocess", type=click.Choice(["efficientnet", "imagenet"]), help="Normalisation for --onnx models.")
@click.option("--word-vectors", default=None, help="glove-6b-50d (default) or a word2vec/GloVe file path.")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Posters per model run [default: 256 on CUDA, 32 on CPU].")
@click.option("--workers", type=click.IntRange(0), default=None,
              help="Poster decoding workers, 0 = in line [default: cores - 2 on CUDA, cores / 8 (at least 1) on CPU].")
@click.option("--decode", type=click.Choice(["auto", "process", "thread", "inline", "gpu"]), default="auto",
              show_default=True, help="Decode in worker processes (shared-memory batches), threads, or JPEGs on the "
                                      "GPU (nvJPEG, CUDA only); auto: processes for 3+ workers unless the run is tiny.")
@click.option("--precision", type=click.Choice(["fp32", "fp16"]), default="fp32", show_default=True,
              help="fp16 (for CUDA) is a separate feature <name>-fp16, refused unless within cosine 0.999 of fp32.")
@click.option("--limit", type=int, help="Only featurize the first N movies of the catalog.")
@click.option("--commit-every", default=1024, show_default=True,
              help="Posters per atomic commit: what an interrupted run can lose at most.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@catalog_options
@click.option("--no-posters", is_flag=True, help="Only the overview features.")
@click.option("--no-text", is_flag=True, help="Only the poster feature.")
@click.option("--no-minilm", is_flag=True, help="Skip overview/minilm (the sentence encoder: about 2/3 of a minute "
                                                "of CPU per 1,000 overviews).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@user_errors()
def featurize_cmd(catalog, store_path, poster_model, onnx, preprocess, word_vectors, batch_size, workers, decode,
                  precision, limit, commit_every, device, id_column, columns, no_posters, no_text, no_minilm, quiet):
    """Embed every poster and overview of CATALOG into the store (resumable, incremental)."""
    logging.basicConfig(level=logging.WARNING)
    opts = FeaturizeOptions(poster_model=poster_model, onnx=onnx, preprocess=preprocess, word_vectors=word_vectors,
                            batch_size=batch_size, workers=workers, decode=decode, precision=precision, limit=limit,
                            device=device, commit_every=commit_every,
                            id_column=id_column, columns=columns, posters=not no_posters, text=not no_text,
                            sentence=not no_minilm)
    progress = no_progress if quiet else progress_bars("movie", smoothing=0.1)
    summary = featurize(catalog, store_path, opts, progress=progress)
    click.echo(format_summary(summary))
