"""The HTTP service: predictions, embedding lookups and similar posters (FastAPI on uvicorn).

Bad input is always a 4xx with a JSON body ``{"error": kind, "detail": text}``; the server
keeps serving. Concurrent /predict requests are decoded in worker threads and their ONNX
embeddings computed together by one MicroBatcher.
"""

import asyncio
import concurrent.futures
import contextlib
from typing import List, Optional

import numpy as np
import orjson
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from featurize.errors import PosterError
from featurize.images import MAX_FILE_BYTES, load_poster
from store import FeatureStore
from store.errors import OnesheetError, UnknownFeatureError, UnknownIdsError
from store.similar import CosineIndex
from store.version import PACKAGE_VERSION

from .batching import MicroBatcher
from ..predict.predictor import Predictor

POSTER_STATUS = {"too_large": 413, "not_an_image": 415, "unsupported_format": 415}


class EmbeddingsRequest(BaseModel):
    ids: List[str] = Field(..., min_length=1, max_length=10_000)
    feature: Optional[str] = None


def _error(status, kind, detail):
    return JSONResponse(status_code=status, content={"error": kind, "detail": detail})


class Service:
    """What the app holds: the store, the predictor, the poster encoders, the batcher."""

    def __init__(self, store_path, models_dir, max_batch=32, max_wait_ms=5.0, device="auto"):
        self.store = FeatureStore.open(store_path)
        self.predictor = Predictor(models_dir, device=device)
        names = self.predictor.poster_features()
        self.encoders = self.predictor.featurizer(names).posters if names else {}
        self.batcher = MicroBatcher(self._embed, max_batch=max_batch, max_wait_ms=max_wait_ms)
        features = self.store.features()
        self.default_feature = next((n for n in names if n in features),
                                    next((n for n in features if n.startswith("poster/")), None))
        self._indexes = {}
        # decoding gets its own small pool: dozens of concurrent decodes would only fight
        # onnxruntime for the same cores
        self.decode_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode")

    def _embed(self, items):
        """items: [{feature: preprocessed array}] -> [{feature: embedding row}] (one ONNX run per feature)."""
        out = [{} for _ in items]
        for name, enc in self.encoders.items():
            emb = enc.embedder.embed(np.stack([it[name] for it in items]))
            for row, dst in zip(emb, out):
                dst[name] = row
        return out

    def preprocess(self, data):
        return {name: load_poster(data, enc.preprocessing) for name, enc in self.encoders.items()}

    def index(self, feature):
        if feature not in self._indexes:
            self._indexes[feature] = CosineIndex.from_store(self.store, feature)
        return self._indexes[feature]

    def close(self):
        self.decode_pool.shutdown(wait=False)
        self.store.close()


def create_app(store_path, models_dir, max_batch=32, max_wait_ms=5.0, max_upload_bytes=MAX_FILE_BYTES // 2,
               device="auto"):
    service = Service(store_path, models_dir, max_batch, max_wait_ms, device)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.batcher.start()
        yield
        await service.batcher.stop()
        service.close()

    app = FastAPI(title="onesheet", version=PACKAGE_VERSION, lifespan=lifespan,
                  description="Movie genres from posters and overviews; embeddings by movie id.")
    app.state.service = service
    index_lock = asyncio.Lock()

    @app.middleware("http")
    async def limit_upload(request: Request, call_next):
        length = request.headers.get("content-length")
        if request.method == "POST" and length and length.isdigit() and int(length) > max_upload_bytes:
            return _error(413, "too_large", f"request body over {max_upload_bytes} bytes")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, exc):
        return _error(422, "invalid_request", str(exc.errors())[:2000])

    @app.exception_handler(UnknownIdsError)
    async def unknown_ids(request, exc):
        return JSONResponse(status_code=404, content={"error": "unknown_ids", "detail": str(exc), "ids": exc.ids[:100]})

    @app.exception_handler(UnknownFeatureError)
    async def unknown_feature(request, exc):
        return _error(404, "unknown_feature", str(exc))

    @app.exception_handler(OnesheetError)
    async def store_error(request, exc):
        return _error(400, "bad_request", str(exc))

    @app.get("/health")
    async def health():
        return {"status": "ok", "version": PACKAGE_VERSION, "movies": len(service.store),
                "providers": {n: e.embedder.providers for n, e in service.encoders.items()}}

    @app.get("/models")
    async def models():
        p = service.predictor
        return {"models": p.directory, "genres": p.genres,
                "configs": {n: {"head": c["head"], "features": c["features"], "validation": c["validation"],
                                "decades": {d: ch["use"] for d, ch in c["choice"].items()}}
                            for n, c in p.configs().items()},
                "encoders": p.manifest["encoders"],
                "batching": {"max_batch": service.batcher.max_batch, "max_wait_ms": service.batcher.max_wait * 1000,
                             "batches": service.batcher.batches, "items": service.batcher.items}}

    @app.post("/predict")
    async def predict(poster: UploadFile = File(...), overview: str = Form(""),
                      year: Optional[int] = Form(None, ge=1800, le=2200)):
        data = await poster.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            return _error(413, "too_large", f"poster over {max_upload_bytes} bytes")
        with service.batcher.expect():
            try:
                arrays = await asyncio.get_running_loop().run_in_executor(service.decode_pool, service.preprocess, data)
            except PosterError as exc:
                return _error(POSTER_STATUS.get(exc.kind, 422), exc.kind, exc.detail)
            future = asyncio.ensure_future(service.batcher.submit(arrays))
            await asyncio.sleep(0)  # let the item reach the queue before we stop counting as on the way
        embedding = await future
        embeddings = ({n: v[None] for n, v in embedding.items()}, {})
        result = (await run_in_threadpool(service.predictor.predict, [b"poster"], [overview], [year],
                                          poster_embeddings=embeddings))[0]
        if result.error:
            return _error(422, "no_prediction", result.error)
        return {"genres": result.genres, "probabilities": result.probabilities, "model": result.model,
                "decade": (year // 10 * 10) if year else None, "warning": result.warning or None}

    def _vectors(ids, feature):
        rows = service.store.lookup(ids, feature=feature)
        rows = rows.toarray() if hasattr(rows, "toarray") else rows
        return dict(zip(ids, rows))

    def _json(obj):
        # vectors are long float arrays: orjson writes numpy rows directly, ~50x faster than
        # FastAPI's generic encoder walking every float
        return Response(content=orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")

    def _feature(feature):
        feature = feature or service.default_feature
        if feature is None:
            raise UnknownFeatureError("the store has no poster feature; name one with ?feature=")
        return feature

    @app.get("/embeddings/{movie_id}")
    async def embedding(movie_id: str, feature: Optional[str] = None):
        feature = _feature(feature)
        return _json({"id": movie_id, "feature": feature, "vector": _vectors([movie_id], feature)[movie_id]})

    @app.post("/embeddings")
    async def embeddings(body: EmbeddingsRequest):
        feature = _feature(body.feature)
        return _json({"feature": feature, "vectors": await run_in_threadpool(_vectors, body.ids, feature)})

    @app.get("/similar/{movie_id}")
    async def similar(movie_id: str, feature: Optional[str] = None, k: int = Query(10, ge=1, le=100)):
        feature = _feature(feature)
        async with index_lock:  # building an index raises UnknownFeatureError for an unknown name
            idx = await run_in_threadpool(service.index, feature)
        if movie_id not in idx:
            raise UnknownIdsError(f"1 id(s) not in feature {feature!r}: {movie_id}", [movie_id])
        return {"id": movie_id, "feature": feature,
                "similar": [{"id": m, "similarity": s} for m, s in idx.nearest(movie_id, k)]}

    return app
