"""The HTTP service: predictions, embedding lookups and similar posters (FastAPI on uvicorn).

Assembles the pieces: ``service`` (store, models, batcher), ``routes`` (endpoints),
``errors`` (every failure as ``{"error", "detail"}``), ``limits`` (body size and time,
access log), ``refresh`` (following new store versions) and ``server`` (uvicorn with a
header deadline). /docs is served from Swagger UI assets shipped in fastapi-offline, so it
works without network access.
"""

import asyncio
import contextlib
import logging

from fastapi_offline import FastAPIOffline
from fastapi.concurrency import run_in_threadpool

from store.version import PACKAGE_VERSION

from .errors import Scrubber, install
from .limits import AccessLog, BodyGuard, ServeLimits
from .routes import build_router
from .service import Service

log = logging.getLogger("onesheet.serve")


async def _follow(follower):
    """Check the store for a newer version every ``follower.every`` seconds."""
    while True:
        await asyncio.sleep(follower.every)
        try:
            await run_in_threadpool(follower.check)
        except Exception:  # noqa: BLE001 - a failed refresh keeps serving the old version
            log.exception("could not move to the store's newer version; still serving version %d",
                          follower.current.version)


def create_app(store_path, models_dir, max_batch=32, max_wait_ms=5.0, limits=None, device="auto"):
    limits = limits or ServeLimits()
    service = Service(store_path, models_dir, limits, max_batch, max_wait_ms, device)
    scrub = Scrubber([store_path, service.follower.current.folder, models_dir])

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.batcher.start()
        follow = asyncio.create_task(_follow(service.follower))
        yield
        follow.cancel()
        await service.batcher.stop()
        service.close()

    app = FastAPIOffline(title="onesheet", version=PACKAGE_VERSION, lifespan=lifespan,
                         description="Movie genres from posters and overviews; embeddings by movie id. "
                                     "Every error is JSON {error, detail}.")
    app.state.service = service
    install(app, scrub)
    app.include_router(build_router(service, scrub))
    app.add_middleware(BodyGuard, max_body_bytes=limits.max_body_bytes, body_timeout=limits.body_timeout)
    app.add_middleware(AccessLog)
    return app
