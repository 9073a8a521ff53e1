"""featurize(catalog, store): ingest, then fill every default feature for every movie that lacks it.

Resumable by construction: rows are committed to the store every ``commit_every`` posters
(each commit atomic), and a run only computes rows a feature does not hold yet. An
interrupted run (Ctrl-C, kill -9) therefore continues where it stopped.
"""

import time
from contextlib import closing
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from store import FeatureStore
from store.ingest import ingest

from . import defaults
from .encoders import free_name, poster_encoder, text_encoders
from .errors import DeviceError, FeaturizeError
from .gpu_decode import gpu_batches
from .progress import no_progress
from .stream import poster_batches


TEXT_CHUNK = 1024   # overviews per transform call (the sentence encoder takes about 10 s per chunk on 2 cores)


@dataclass
class FeaturizeOptions:
    poster_model: str = "efficientnet-lite0"
    onnx: str = None
    preprocess: str = None          # "efficientnet" | "imagenet" (for --onnx models)
    word_vectors: str = None        # None = GloVe 6B 50-d
    batch_size: int = None          # None: chosen from the device (defaults.batch_size)
    workers: int = None             # decode workers; None: from the device and cores (defaults.workers)
    decode: str = "auto"            # "process" | "thread" | "inline" | "gpu" (nvJPEG) | "auto" (defaults.decode_mode)
    limit: int = None
    device: str = "auto"
    precision: str = "fp32"         # "fp16" (for CUDA): kept only within cosine 0.999 of fp32
    commit_every: int = 1024
    id_column: str = None
    columns: dict = None            # field -> catalog header name (store.columns)
    posters: bool = True
    text: bool = True
    sentence: bool = True           # overview/minilm (all-MiniLM-L6-v2 through onnxruntime)


@dataclass
class FeatureRun:
    name: str
    written: int = 0
    already: int = 0
    zero_rows: int = 0                           # text rows with no usable word
    skipped: list = field(default_factory=list)  # (id, kind, detail)
    seconds: float = 0.0

    @property
    def rate(self):
        return self.written / self.seconds if self.seconds else 0.0


@dataclass
class FeaturizeSummary:
    ingest: object
    features: list
    providers: list
    seconds: float
    notes: list = field(default_factory=list)   # e.g. "CUDA could not start: running on CPU"


def _missing(store, name, ids):
    """(ids the feature lacks, how many it holds), asked of the store's id hashes: O(len(ids))."""
    held = store.contains(name, ids)
    return [m for m, h in zip(ids, held) if not h], int(held.sum())


def _text_features(store, ids, overviews, word_vectors, progress, sentence=True):
    runs = []
    for name, enc in text_encoders(store, word_vectors, sentence).items():
        t0 = time.perf_counter()
        todo, already = _missing(store, name, ids)
        run = FeatureRun(name, already=already)
        if todo:
            if getattr(enc, "terms", True) is None:
                try:
                    enc.fit([overviews[m] for m in ids])
                except FeaturizeError as exc:
                    run.skipped += [(m, "no_vocabulary", str(exc)) for m in todo]
                    runs.append(run)
                    continue
            bar = progress(name, len(todo))
            texts = [overviews[m] for m in todo]
            parts = []
            for start in range(0, len(texts), TEXT_CHUNK):  # rows are independent: chunks only pace the bar
                parts.append(enc.transform(texts[start:start + TEXT_CHUNK]))
                bar.update(parts[-1].shape[0])
            matrix = sp.vstack(parts, format="csr") if sp.issparse(parts[0]) else np.concatenate(parts)
            run.zero_rows = int((abs(matrix).sum(axis=1) == 0).sum())
            store.write_features(name, todo, matrix, enc.provenance(), artifacts=enc.artifacts() or None)
            run.written = len(todo)
            bar.close()
        run.seconds = time.perf_counter() - t0
        runs.append(run)
    return runs


def _poster_feature(store, ids, posters, opts, progress):
    encoder = poster_encoder(opts.poster_model, opts.onnx, opts.preprocess, opts.device, opts.precision)
    name = free_name(store, encoder.name, encoder.provenance["sha256"])
    todo, already = _missing(store, name, ids)
    run = FeatureRun(name, already=already)
    no_poster = [m for m in todo if not posters[m]]
    run.skipped += [(m, "missing", "catalog gives no readable poster") for m in no_poster]
    todo = [m for m in todo if posters[m]]
    if not todo:
        return run, [], []
    embedder = encoder.embedder
    batch_size = opts.batch_size or defaults.batch_size(embedder.device)
    workers = defaults.workers(embedder.device) if opts.workers is None else opts.workers
    prov = dict(encoder.provenance, providers=embedder.providers, input=embedder.input_layout)
    bar = progress(name, len(todo))
    pending_ids, pending_rows = [], []
    t0 = time.perf_counter()

    def commit():
        if pending_ids:
            store.write_features(name, list(pending_ids), np.concatenate(pending_rows), prov)
            run.written += len(pending_ids)
            pending_ids.clear()
            pending_rows.clear()

    def checked(stream):
        """Tag each batch with its ids and failures; an fp16 graph is first checked against fp32."""
        unchecked = encoder.precision != "fp32"
        for batch_ids, batch, failures in stream:
            if unchecked and batch_ids:
                prov["precision_min_cosine"] = encoder.accept_precision(batch)
                unchecked = False
            yield (batch_ids, failures), batch

    items = ((m, posters[m]) for m in todo)
    if opts.decode == "gpu":
        if embedder.device != "cuda":
            raise DeviceError("--decode gpu needs the model on CUDA (--device cuda with onnxruntime-gpu)")
        stream = gpu_batches(items, encoder.preprocessing, batch_size, workers)
    else:
        stream = poster_batches(items, encoder.preprocessing, batch_size, workers, mode=opts.decode, copy=False,
                                nice=defaults.decode_nice(embedder.device))
    try:
        # closed in this order: the runs in flight finish before the decoders' ring goes
        warm = batch_size if embedder.device == "cuda" else None   # overlaps the decode workers' start-up
        with closing(stream), closing(embedder.embed_stream(checked(stream), warm_up_rows=warm)) as embedded:
            for (batch_ids, failures), emb in embedded:
                run.skipped += [(m, e.kind, e.detail) for m, e in failures]
                if batch_ids:
                    pending_rows.append(emb)
                    pending_ids.extend(batch_ids)
                bar.update(len(batch_ids) + len(failures))
                if len(pending_ids) >= opts.commit_every:
                    commit()
    finally:  # Ctrl-C or an error: keep what was embedded, then let the exception go on
        commit()
        bar.close()
        run.seconds = time.perf_counter() - t0
    return run, embedder.providers, [embedder.note] if embedder.note else []


def featurize(catalog, store_path, options=None, progress=no_progress) -> FeaturizeSummary:
    """Ingest ``catalog`` into ``store_path`` and compute every missing poster and overview feature."""
    opts = options or FeaturizeOptions()
    t0 = time.perf_counter()
    ingested = ingest(catalog, store_path, id_column=opts.id_column, columns=opts.columns)
    with FeatureStore.open(store_path, "a") as store:
        movies = store.movies()
        kept = {r.id for r in ingested.rows}
        ids = [m for m in movies["id"] if m in kept]
        if opts.limit is not None:
            ids = ids[: opts.limit]
        overviews = dict(zip(movies["id"], movies["overview"]))
        posters = dict(zip(movies["id"], movies["poster"]))
        runs, providers, notes = [], [], []
        if opts.text:
            runs += _text_features(store, ids, overviews, opts.word_vectors, progress, opts.sentence)
        if opts.posters:
            run, providers, notes = _poster_feature(store, ids, posters, opts, progress)
            runs.append(run)
    return FeaturizeSummary(ingested, runs, providers, time.perf_counter() - t0, notes)

