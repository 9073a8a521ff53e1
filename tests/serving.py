"""Run the HTTP app under a real uvicorn server in a thread (with onesheet's protocol and limits)."""

import contextlib
import os
import shutil
import socket
import threading
import time

import httpx
import uvicorn

from classifiers.serve.app import create_app
from classifiers.serve.limits import ServeLimits
from classifiers.serve.server import server_config
from store import schema

# small limits so tests can reach them quickly
LIMITS = ServeLimits(max_body_bytes=3_000_000, max_ids=50, max_response_bytes=200_000,
                     header_timeout=2.0, body_timeout=2.0, refresh_seconds=0.2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(app, limits):
    """Serve ``app`` on a free loopback port; yields (host, port)."""
    config = server_config(app, "127.0.0.1", free_port(), limits, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    try:
        yield "127.0.0.1", config.port
    finally:
        srv.should_exit = True
        thread.join(10)


def serve_fitted(fitted, limits=LIMITS, store=None):
    """Generator for a module fixture: (httpx client, store path) of a server over ``fitted``."""
    default_store, models, _ = fitted
    app = create_app(store or default_store, models, max_batch=8, max_wait_ms=20, limits=limits)
    with running(app, limits) as (host, port):
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=60) as client:
            yield client, store or default_store


def copy_store(src, dst):
    """A private copy of a store (master file and its pieces folder) to write into."""
    src, dst = str(src), str(dst)
    shutil.copy2(src, dst)
    folder = schema.pieces_dir_name
    shutil.copytree(os.path.join(os.path.dirname(src), folder(os.path.basename(src))),
                    os.path.join(os.path.dirname(dst), folder(os.path.basename(dst))))
    return dst


served = contextlib.contextmanager(serve_fitted)   # the same, as a with-statement
