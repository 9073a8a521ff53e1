"""One shape for every failure: ``{"error": kind, "detail": text}``, without server paths.

FastAPI and Starlette answer some failures themselves (422 validation, 400 unreadable body,
404 unknown route, 405); the handlers here give those the same JSON shape, describe a
validation failure as ``field: message`` rather than a Python repr, and strip absolute
filesystem paths from every message before it leaves the server.
"""

import http
import logging
import os
import re

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from store.errors import OnesheetError, UnknownFeatureError, UnknownIdsError

log = logging.getLogger("onesheet.serve")

# an absolute path: "/" after a non-word character, at least two components
_ABS_PATH = re.compile(r"(?<![\w.~/-])/(?:[\w.@+~-]+/)+([\w.@+~-]+)")


class Scrubber:
    """Replaces the server's own paths (and any other absolute path) in a message by their last component."""

    def __init__(self, paths=()):
        known = set()
        for p in paths:
            for q in (str(p), os.path.abspath(str(p)), os.path.realpath(str(p))):
                known.add(q.rstrip("/"))
        self.known = sorted((k for k in known if k), key=len, reverse=True)

    def __call__(self, text):
        for path in self.known:
            text = text.replace(path, os.path.basename(path) or "the server")
        return _ABS_PATH.sub(r"\1", text)


def kind_of(status):
    """404 -> 'not_found' (the HTTP reason phrase in snake case)."""
    try:
        return http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_response(status, kind, detail, scrub=None, headers=None, **extra):
    content = {"error": kind, "detail": scrub(detail) if scrub else detail, **extra}
    return JSONResponse(status_code=status, content=content, headers=headers)


def describe_validation(errors):
    """Pydantic's error list as 'body.ids: Field required; year: ...' (no reprs of the input)."""
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "form")) or "body"
        msg = e.get("msg", "invalid")
        if e.get("type") == "json_invalid":
            msg = f"malformed JSON ({e.get('ctx', {}).get('error', 'decode error')})"
            loc = "body"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)[:2000]


def install(app, scrub):
    """Register the handlers that give every failure the ErrorBody shape."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, exc):
        return error_response(422, "invalid_request", describe_validation(exc.errors()), scrub)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        detail = exc.detail if isinstance(exc.detail, str) else kind_of(exc.status_code)
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:       # FastAPI hides why a body was unreadable
            reason = "nesting too deep" if isinstance(cause, RecursionError) else (str(cause) or type(cause).__name__)
            detail = f"{detail}: {reason}"
        kind = getattr(exc, "kind", None) or kind_of(exc.status_code)
        return error_response(exc.status_code, kind, detail, scrub, headers=exc.headers)

    @app.exception_handler(UnknownIdsError)
    async def unknown_ids(request, exc):
        return error_response(404, "unknown_ids", str(exc), scrub, ids=[str(i) for i in exc.ids[:100]])

    @app.exception_handler(UnknownFeatureError)
    async def unknown_feature(request, exc):
        return error_response(404, "unknown_feature", str(exc), scrub)

    @app.exception_handler(OnesheetError)
    async def onesheet_error(request, exc):
        return error_response(400, "bad_request", str(exc), scrub)

    @app.exception_handler(Exception)
    async def internal_error(request, exc):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "the server failed on this request; see its log")
