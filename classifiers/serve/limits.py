"""What one request may cost the server, and the ASGI middleware that enforces it.

``BodyGuard`` counts the body bytes as they arrive (Content-Length or chunked alike) and
stops reading at ``max_body_bytes``: a declared length over the limit is refused before a
byte is read, and a chunked body is cut off when its running total passes the limit, so
the multipart parser never spools more than the limit to a temporary file. It also gives
the whole body ``body_timeout`` seconds to arrive. Both answer with ``connection: close``
so the server stops reading the rest. ``AccessLog`` writes one line per request.
"""

import asyncio
import dataclasses
import logging
import time

import orjson
from starlette.exceptions import HTTPException

access_log = logging.getLogger("onesheet.serve.access")


@dataclasses.dataclass(frozen=True)
class ServeLimits:
    max_body_bytes: int = 25 * 2**20     # a whole request body (poster upload, JSON id list)
    max_ids: int = 1000                   # ids in one POST /embeddings
    max_response_bytes: int = 32 * 2**20  # JSON of one POST /embeddings answer
    header_timeout: float = 10.0          # seconds from connect (or the previous answer) to complete headers
    body_timeout: float = 60.0            # seconds from complete headers to the end of the body
    refresh_seconds: float = 2.0          # how often the store is checked for a newer version


class LimitExceeded(HTTPException):
    """A 4xx raised from inside the body stream; FastAPI re-raises HTTPExceptions untouched."""

    def __init__(self, status, kind, detail):
        super().__init__(status, detail, headers={"connection": "close"})
        self.kind = kind


def too_large(limit):
    return LimitExceeded(413, "too_large", f"request body over the server's limit of {limit} bytes "
                                           f"(--max-upload-mb)")


def too_slow(seconds):
    return LimitExceeded(408, "request_timeout", f"request body not received within {seconds:g} s")


async def _send_error(send, exc):
    body = orjson.dumps({"error": exc.kind, "detail": exc.detail})
    await send({"type": "http.response.start", "status": exc.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Pure ASGI middleware: a size limit and a deadline on each request body."""

    def __init__(self, app, max_body_bytes, body_timeout):
        self.app, self.limit, self.timeout = app, max_body_bytes, body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            return await _send_error(send, too_large(self.limit))
        deadline = time.monotonic() + self.timeout
        state = {"read": 0, "done": False, "started": False}

        async def guarded_receive():
            if state["done"]:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                raise too_slow(self.timeout) from None
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > self.limit:
                    raise too_large(self.limit)
                state["done"] = not message.get("more_body", False)
            return message

        async def watched_send(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, watched_send)
        except LimitExceeded as exc:          # raised where no handler turned it into an answer
            if state["started"]:
                raise
            await _send_error(send, exc)


class AccessLog:
    """Pure ASGI middleware: one INFO line per request on ``onesheet.serve.access``: method, path, status, ms."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = [499]  # nothing sent: the client went away first

        async def watched_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            access_log.info("%s %s %d %.1fms", scope["method"], scope["path"], status[0],
                            (time.perf_counter() - t0) * 1e3)
