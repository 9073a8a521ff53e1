"""The endpoints. Store reads run on one snapshot (``StoreFollower.using``); an unknown id or
feature first checks for a newer store version and tries once more on it."""

import asyncio
from typing import Optional

import orjson
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from featurize.errors import PosterError
from store.errors import UnknownFeatureError, UnknownIdsError
from store.schema import MAX_YEAR, MIN_YEAR
from store.version import PACKAGE_VERSION

from .errors import error_response
from .schemas import Embedding, Embeddings, EmbeddingsRequest, Health, Prediction, Similar, error_responses
from .service import embeddings_json

POSTER_STATUS = {"too_large": 413, "not_an_image": 415, "unsupported_format": 415}


def _json(obj):
    # vectors are long float arrays: orjson writes numpy rows directly, ~50x faster than
    # FastAPI's generic encoder walking every float
    return Response(content=orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


class HeldResponse(Response):
    """A JSON answer that keeps a semaphore until its bytes are sent: the answers alive at once stay bounded."""

    def __init__(self, content, semaphore):
        super().__init__(content=content, media_type="application/json")
        self._semaphore = semaphore

    def render(self, content):
        return content              # the bytearray as built: no copy of a large answer

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._semaphore.release()


def build_router(service, scrub):
    router = APIRouter()
    follower, limits = service.follower, service.limits
    heavy = asyncio.Semaphore(2)    # POST /embeddings answers built or being sent at once: bounds their memory

    def feature_or_default(feature):
        feature = feature or service.default_feature
        if feature is None:
            raise UnknownFeatureError("the store has no poster feature; name one with ?feature=")
        return feature

    async def on_snapshot(fn, threaded=True):
        """fn(store) on the current snapshot; after an unknown id/feature, once more on a newer one."""
        for attempt in (0, 1):
            try:
                with follower.using() as store:
                    return await run_in_threadpool(fn, store) if threaded else fn(store)
            except (UnknownIdsError, UnknownFeatureError):
                if attempt or not await run_in_threadpool(follower.check):
                    raise

    @router.get("/health", response_model=Health)
    async def health():
        store = follower.current
        return {"status": "ok", "version": PACKAGE_VERSION, "movies": len(store),
                "store": {"path": scrub(store.path), "version": store.version, "movies": len(store),
                          "checked_at": follower.checked_at, "refresh_seconds": follower.every},
                "providers": {n: e.embedder.providers for n, e in service.encoders.items()}}

    @router.get("/models")
    async def models():
        p = service.predictor
        return {"models": scrub(str(p.directory)), "genres": p.genres,
                "configs": {n: {"head": c["head"], "features": c["features"], "validation": c["validation"],
                                "decades": {d: ch["use"] for d, ch in c["choice"].items()}}
                            for n, c in p.configs().items()},
                "encoders": p.manifest["encoders"],
                "batching": {"max_batch": service.batcher.max_batch, "max_wait_ms": service.batcher.max_wait * 1000,
                             "batches": service.batcher.batches, "items": service.batcher.items}}

    @router.post("/predict", response_model=Prediction, responses=error_responses(400, 408, 413, 415, 422))
    async def predict(poster: UploadFile = File(...), overview: str = Form(""),
                      year: Optional[int] = Form(None, ge=MIN_YEAR, le=MAX_YEAR)):
        data = await poster.read()
        with service.batcher.expect():
            try:
                arrays = await asyncio.get_running_loop().run_in_executor(service.decode_pool, service.preprocess, data)
            except PosterError as exc:
                return error_response(POSTER_STATUS.get(exc.kind, 422), exc.kind, exc.detail, scrub)
            future = asyncio.ensure_future(service.batcher.submit(arrays))
            await asyncio.sleep(0)  # let the item reach the queue before we stop counting as on the way
        embedding = await future
        embeddings = ({n: v[None] for n, v in embedding.items()}, {})
        result = (await run_in_threadpool(service.predictor.predict, [b"poster"], [overview], [year],
                                          poster_embeddings=embeddings))[0]
        if result.error:
            return error_response(422, "no_prediction", result.error, scrub)
        return {"genres": result.genres, "probabilities": result.probabilities, "thresholds": result.thresholds,
                "model": result.model, "decade": (year // 10 * 10) if year else None,
                "warning": result.warning or None, "notes": result.notes}

    @router.get("/embeddings/{movie_id:path}", response_model=Embedding, responses=error_responses(404, 422))
    async def embedding(movie_id: str, feature: Optional[str] = None):
        """One stored vector. Ids containing '/' are reachable as they are (or %2F-encoded)."""
        feature = feature_or_default(feature)

        def one(store):
            rows = store.lookup([movie_id], feature)
            return rows[0].toarray()[0] if hasattr(rows, "toarray") else rows[0]

        vector = await on_snapshot(one, threaded=False)
        follower.note(feature)      # only names that answered: the set cannot be grown by junk
        return _json({"id": movie_id, "feature": feature, "vector": vector})

    @router.post("/embeddings", response_model=Embeddings, responses=error_responses(400, 404, 408, 413, 422))
    async def embeddings(body: EmbeddingsRequest):
        feature = feature_or_default(body.feature)
        await heavy.acquire()
        try:
            content = await on_snapshot(lambda store: embeddings_json(store, body.ids, feature, limits))
        except BaseException:
            heavy.release()
            raise
        follower.note(feature)
        return HeldResponse(content, heavy)

    @router.get("/similar/{movie_id:path}", response_model=Similar, responses=error_responses(404, 422))
    async def similar(movie_id: str, feature: Optional[str] = None, k: int = Query(10, ge=1, le=100)):
        """The k nearest movies by cosine similarity: exact for small features, ANN (faiss) for large ones."""
        feature = feature_or_default(feature)

        def nearest(store):
            index = follower.similar_index(store, feature)
            if movie_id not in index:
                raise UnknownIdsError(f"1 id(s) not in feature {feature!r}: {movie_id}", [movie_id])
            return index.nearest(movie_id, k)

        found = await on_snapshot(nearest)
        follower.note(feature, similar=True)
        return {"id": movie_id, "feature": feature, "similar": [{"id": m, "similarity": s} for m, s in found]}

    return router
